using MiBounds.Critics;
using MiBounds.Estimation;
using MiBounds.Tensors;

namespace MiBounds.Tests;

public class EstimationKsgTests
{
    // x ~ N(0, I_d), y = ρx + √(1−ρ²)ε: I = −(d/2)·log(1−ρ²).
    internal static (double[,] X, double[,] Y, double Mi) Correlated(int n, int d, double rho, ulong seed)
    {
        var rng = new Rng(seed);
        var x = new double[n, d];
        var y = new double[n, d];
        double noise = Math.Sqrt(1 - rho * rho);
        for (int i = 0; i < n; i++)
            for (int k = 0; k < d; k++)
            {
                x[i, k] = rng.NextNormal();
                y[i, k] = rho * x[i, k] + noise * rng.NextNormal();
            }
        return (x, y, -0.5 * d * Math.Log(1 - rho * rho));
    }

    [Fact]
    public void MatchesABruteForceImplementationOfTheFormula()
    {
        var (x, y, _) = Correlated(150, 2, 0.7, seed: 3);
        const int k = 3;
        int n = 150;
        double sum = 0;
        for (int i = 0; i < n; i++)
        {
            var dx = new double[n]; var dy = new double[n]; var joint = new List<double>();
            for (int j = 0; j < n; j++)
            {
                dx[j] = Math.Max(Math.Abs(x[i, 0] - x[j, 0]), Math.Abs(x[i, 1] - x[j, 1]));
                dy[j] = Math.Max(Math.Abs(y[i, 0] - y[j, 0]), Math.Abs(y[i, 1] - y[j, 1]));
                if (j != i) joint.Add(Math.Max(dx[j], dy[j]));
            }
            joint.Sort();
            double eps = joint[k - 1];
            int nx = Enumerable.Range(0, n).Count(j => j != i && dx[j] < eps);
            int ny = Enumerable.Range(0, n).Count(j => j != i && dy[j] < eps);
            sum += HarmonicDigamma(nx + 1) + HarmonicDigamma(ny + 1);
        }
        double expected = HarmonicDigamma(k) + HarmonicDigamma(n) - sum / n;
        Assert.Equal(expected, Ksg.Estimate(x, y, k).EstimateNats, 10);
    }

    // ψ(m) = −γ + Σ_{j<m} 1/j for integers m ≥ 1.
    private static double HarmonicDigamma(int m)
    {
        double s = -0.57721566490153286061; // −γ (Euler–Mascheroni)
        for (int j = 1; j < m; j++) s += 1.0 / j;
        return s;
    }

    [Fact]
    public void EstimatesACorrelatedGaussianNearItsTrueMi()
    {
        // n = 1000, d = 2, I = 1.02 nats. KSG's bias here is about −0.01 and its spread across seeds about 0.03
        // (Kraskov et al. 2004, Fig. 4 and 5), so 0.1 is a > 3σ band that still catches a wrong ψ term (≥ 0.1 off).
        var (x, y, mi) = Correlated(1000, 2, 0.8, seed: 11);
        double estimate = Ksg.Estimate(x, y).EstimateNats;
        Assert.InRange(estimate, mi - 0.1, mi + 0.1);
    }

    [Fact]
    public void GivesNearZeroOnIndependentData()
    {
        var (x, _, _) = Correlated(1000, 2, 0.0, seed: 5);
        var (y, _, _) = Correlated(1000, 2, 0.0, seed: 6);
        double estimate = Ksg.Estimate(x, y).EstimateNats;
        Assert.InRange(estimate, -0.06, 0.06);
        // and it separates independent from weakly dependent data (I = 0.19 nats)
        var (xd, yd, mid) = Correlated(1000, 2, 0.4, seed: 7);
        Assert.True(Ksg.Estimate(xd, yd).EstimateNats > 0.1, $"dependent data (I = {mid:F3}) must score above 0.1");
    }
}

public class EstimationUpperBoundTests
{
    // A decoder whose q(y | x) is exactly N(ρx, (1−ρ²)I): trunk [I; −I] with ReLU, mean head [ρI, −ρI], constant log-variance.
    internal static GaussianDecoder ExactDecoder(int d, double rho)
    {
        var decoder = new GaussianDecoder(d, d, new Rng(1), hidden: 2 * d, layers: 1);
        var trunk = decoder.Trunk.Layers[0];
        trunk.Weight.Data.Clear(); trunk.Bias!.Data.Clear();
        decoder.MeanHead.Weight.Data.Clear(); decoder.MeanHead.Bias!.Data.Clear();
        decoder.LogVarianceHead.Weight.Data.Clear();
        for (int k = 0; k < d; k++)
        {
            trunk.Weight[k, k] = 1; trunk.Weight[d + k, k] = -1;
            decoder.MeanHead.Weight[k, k] = (float)rho; decoder.MeanHead.Weight[k, d + k] = (float)-rho;
            decoder.LogVarianceHead.Bias![k] = (float)Math.Log(1 - rho * rho);
        }
        return decoder;
    }

    private static Batch GaussianBatch(int k, int d, double rho, ulong seed)
    {
        var (x, y, _) = EstimationKsgTests.Correlated(k, d, rho, seed);
        var xt = Tensor.Zeros(k, d); var yt = Tensor.Zeros(k, d);
        for (int i = 0; i < k; i++) for (int j = 0; j < d; j++) { xt[i, j] = (float)x[i, j]; yt[i, j] = (float)y[i, j]; }
        return new Batch(xt, yt);
    }

    [Fact]
    public void PairwiseLogDensityMatchesTheAnalyticGaussianCritic()
    {
        const int d = 3; const double rho = 0.6;
        var batch = GaussianBatch(16, d, rho, seed: 2);
        var expected = new GaussianConditionalCritic(d, rho).Scores(batch.X, batch.Y);
        var mean = batch.X * (float)rho;
        var logVar = Tensor.Full((float)Math.Log(1 - rho * rho), 16, d);
        var actual = GaussianUpperBound.PairwiseLogDensity(batch.Y, mean, logVar);
        for (int i = 0; i < 16; i++) for (int j = 0; j < 16; j++) Assert.Equal(expected[i, j], actual[i, j], 3);
        // the decoder path gives the same matrix
        var viaDecoder = new Club(ExactDecoder(d, rho)).Scores(batch.X, batch.Y);
        for (int i = 0; i < 16; i++) for (int j = 0; j < 16; j++) Assert.Equal(expected[i, j], viaDecoder[i, j], 3);
    }

    [Fact]
    public void WithTheTrueConditionalClubAndL1OutLieAboveTheTrueMi()
    {
        const int d = 2; const double rho = 0.6;
        double mi = -0.5 * d * Math.Log(1 - rho * rho);          // 0.446
        double clubExact = d * rho * rho / (1 - rho * rho);         // E[CLUB] with q = p: 1.125
        var club = new Club(ExactDecoder(d, rho));
        var l1Out = new L1Out(ExactDecoder(d, rho));
        double clubSum = 0, l1Sum = 0;
        const int batches = 8;
        for (int b = 0; b < batches; b++)
        {
            var batch = GaussianBatch(256, d, rho, seed: 100 + (ulong)b);
            clubSum += club.Estimate(batch);
            l1Sum += l1Out.Estimate(batch);
        }
        Assert.InRange(clubSum / batches, clubExact - 0.08, clubExact + 0.08);
        Assert.True(l1Sum / batches > mi - 0.03, $"L1Out {l1Sum / batches:F3} should not fall below I = {mi:F3}");
        Assert.True(l1Sum / batches < clubSum / batches, "L1Out is the tighter of the two here");
    }

    [Fact]
    public void TrainedClubBracketsTheTruthWithInfoNce()
    {
        var (x, y, mi) = EstimationKsgTests.Correlated(1200, 2, 0.6, seed: 21);
        var common = new EstimationOptions { Hidden = 32, Steps = 300, BatchSize = 64, LearningRate = 2e-3f, Seed = 4 };
        var club = MiEstimation.Estimate(x, y, common with { Estimator = "club" });
        var infoNce = MiEstimation.Estimate(x, y, common with { Estimator = "infonce" });
        Assert.Equal("upper bound", club.Kind);
        Assert.Equal("lower bound", infoNce.Kind);
        Assert.True(club.EstimateNats > mi, $"CLUB {club.EstimateNats:F3} must exceed I = {mi:F3}");
        Assert.True(infoNce.EstimateNats < mi + 3 * infoNce.StderrNats, $"InfoNCE {infoNce.EstimateNats:F3} ± {infoNce.StderrNats:F3} must not exceed I = {mi:F3}");
        Assert.True(infoNce.EstimateNats > 0.5 * mi, "InfoNCE learned something");
    }
}

public class EstimationWarningTests
{
    private static readonly EstimationOptions Small = new() { Hidden = 32, Embed = 16, LearningRate = 2e-3f, Seed = 9 };

    [Fact]
    public void InfoNceNearLogKWarns()
    {
        // I = 31 nats, far above log 8 = 2.08: InfoNCE saturates at its ceiling.
        var (x, y, _) = EstimationKsgTests.Correlated(480, 10, 0.999, seed: 1);
        var r = MiEstimation.Estimate(x, y, Small with { Estimator = "infonce", BatchSize = 8, Steps = 1500, Patience = 1000 });
        Assert.True(r.Warnings.Any(w => w.Contains("log K", StringComparison.Ordinal) && w.Contains("--batch", StringComparison.Ordinal)),
            $"InfoNCE reached {r.EstimateNats:F3} of log 8 = {Math.Log(8):F3}; warnings: {string.Join(" | ", r.Warnings)}");
        // the same data with SMILE (no ceiling) does not trigger it
        var smile = MiEstimation.Estimate(x, y, Small with { Estimator = "smile5", BatchSize = 8, Steps = 300 });
        Assert.DoesNotContain(smile.Warnings, w => w.Contains("log K", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(2UL, 9UL)]
    [InlineData(5UL, 1UL)]
    public void TinyDataOverfitsAndWarnsAboutTheGapAndTheBatchSize(ulong dataSeed, ulong seed)
    {
        // 30 training rows, a 128-wide critic, full-batch steps: InfoNCE memorizes them (its training value reaches its
        // ceiling log 30) while the held-out value falls. InfoNCE is bounded, so the gap is large on every trajectory;
        // NWJ's unbounded exponentials made an earlier version of this test depend on where its divergence went.
        var (x, y, _) = EstimationKsgTests.Correlated(60, 6, 0.8, seed: dataSeed);
        var r = MiEstimation.Estimate(x, y, Small with { Estimator = "infonce", Hidden = 128, BatchSize = 128, Steps = 400, Patience = 1000, Seed = seed });
        var f = r.Folds[0];
        string state = $"train {r.TrainNats:F3} held-out {r.EstimateNats:F3}, last train {f.FinalTrainNats:F3} last held-out {f.FinalHeldOutNats:F3}, best step {f.BestStep}";
        Assert.True(r.Warnings.Any(w => w.Contains("overfits", StringComparison.Ordinal)), state);
        Assert.Contains(r.Warnings, w => w.Contains("fewer samples than the batch size", StringComparison.Ordinal));
        Assert.Equal(30, r.BatchSize);
        Assert.True(f.FinalTrainNats > Math.Log(30) - 0.2, state);  // memorized
        Assert.True(f.FinalTrainNats > f.FinalHeldOutNats + 1, state);
        Assert.True(r.TrainNats > r.EstimateNats + 0.5, state);     // already at the best checkpoint
    }

    [Fact]
    public void VeryFewStepsWarnStillRising()
    {
        var (x, y, _) = EstimationKsgTests.Correlated(600, 2, 0.8, seed: 3);
        var r = MiEstimation.Estimate(x, y, Small with { Estimator = "smile5", BatchSize = 64, Steps = 12 });
        Assert.Contains(r.Warnings, w => w.Contains("still rising", StringComparison.Ordinal));
        Assert.Equal("budget", r.Folds[0].StopReason);
        // a long enough run that stops early does not say so
        var converged = MiEstimation.Estimate(x, y, Small with { Estimator = "smile5", BatchSize = 64, Steps = 600, Patience = 5 });
        Assert.DoesNotContain(converged.Warnings, w => w.Contains("still rising", StringComparison.Ordinal));
    }

    [Fact]
    public void CancellingStillReportsTheBestCheckpointWithAWarning()
    {
        var (x, y, _) = EstimationKsgTests.Correlated(200, 2, 0.6, seed: 8);
        using var cancel = new CancellationTokenSource();
        int evaluations = 0;
        var r = MiEstimation.Estimate(x, y, Small with
        {
            Estimator = "infonce", BatchSize = 32, Steps = 1000, EvalEvery = 5,
            Progress = _ => { if (++evaluations == 3) cancel.Cancel(); }, Cancellation = cancel.Token,
        });
        Assert.Equal("cancelled", r.Folds[0].StopReason);
        Assert.Equal(10, r.Folds[0].StepsRun);
        Assert.Contains(r.Warnings, w => w.Contains("interrupted after 10 steps", StringComparison.Ordinal));
        Assert.True(double.IsFinite(r.EstimateNats));
    }

    [Fact]
    public void KFoldReportsMeanAndStandardErrorOverFolds()
    {
        var (x, y, _) = EstimationKsgTests.Correlated(300, 2, 0.6, seed: 4);
        var r = MiEstimation.Estimate(x, y, Small with { Estimator = "infonce", BatchSize = 32, Steps = 60, Folds = 3 });
        Assert.Equal(3, r.Folds.Count);
        Assert.Equal(r.Folds.Average(f => f.HeldOutNats), r.EstimateNats, 12);
        Assert.True(double.IsFinite(r.StderrNats) && r.StderrNats > 0);
        Assert.Equal(r.EstimateNats / Math.Log(2), r.EstimateBits, 12);
        Assert.All(r.Folds, f => Assert.Equal(100, f.HeldOutRows));
    }

    [Fact]
    public void BadInputsFailWithRowAndColumn()
    {
        var (x, y, _) = EstimationKsgTests.Correlated(20, 2, 0.5, seed: 5);
        var constant = (double[,])x.Clone();
        for (int i = 0; i < 20; i++) constant[i, 1] = 3;
        var e = Assert.Throws<ArgumentException>(() => MiEstimation.Estimate(constant, y));
        Assert.Contains("X column 2 is constant", e.Message);
        var nan = (double[,])y.Clone();
        nan[6, 0] = double.NaN;
        e = Assert.Throws<ArgumentException>(() => MiEstimation.Estimate(x, nan));
        Assert.Contains("Y row 7, column 1", e.Message);
        e = Assert.Throws<ArgumentException>(() => MiEstimation.Estimate(new double[3, 1] { { 1 }, { 2 }, { 3 } }, new double[3, 1] { { 1 }, { 3 }, { 2 } }));
        Assert.Contains("at least 4 rows", e.Message);
        Assert.Throws<FormatException>(() => MiEstimation.Estimate(x, y, new EstimationOptions { Estimator = "bogus" }));
    }

    [Fact]
    public void KsgThroughTheApiReportsAStandardError()
    {
        var (x, y, mi) = EstimationKsgTests.Correlated(800, 1, 0.8, seed: 6);
        var r = MiEstimation.Estimate(x, y, new EstimationOptions { Estimator = "ksg" });
        Assert.InRange(r.EstimateNats, mi - 0.1, mi + 0.1);
        Assert.InRange(r.StderrNats, 0.005, 0.1);
        Assert.True(double.IsNaN(r.TrainNats));
    }
}
