using MiBounds.Estimation;

namespace MiBounds.Tests;

public class AutoEstimationTests
{
    private static (double[,] X, double[,] Y, double Mi) Correlated(int n, int d, double rho, ulong seed) => EstimationKsgTests.Correlated(n, d, rho, seed);

    // Short budgets keep the tests quick; the rules under test do not depend on the budget.
    private static readonly EstimationOptions Quick = new() { Steps = 600, MinSteps = 200 };

    [Fact]
    public void AutoReportsTheLargestComponentAndNamesIt()
    {
        var (x, y, mi) = Correlated(2000, 3, 0.8, seed: 21);
        var r = MiEstimation.Estimate(x, y, Quick);
        Assert.Equal("auto", r.Estimator);
        Assert.Equal(["infonce", "gcmi", "ksg", "cca"], r.Components.Keys);
        double best = new[] { r.Components["infonce"], r.Components["gcmi"], r.Components["ksg"] }.Max();
        Assert.Equal(best, r.EstimateNats);
        Assert.Equal(best, r.Components[r.Source!]);
        Assert.Contains(r.Source!, r.SourceReason, StringComparison.OrdinalIgnoreCase);
        Assert.InRange(r.EstimateNats, 0.85 * mi, 1.15 * mi); // 1.53 nats, Gaussian: GCMI is exact up to noise
        Assert.Equal(1000, r.BatchSize); // InfoNCE evaluated on the whole held-out half, not on training-size batches
    }

    [Fact]
    public void APlantedOutlierNoLongerCutsTheEstimateAndIsWarnedAbout()
    {
        // The case: 1.532 nats, one value of 1e6 in one column; standardization squashed that column.
        var (x, y, mi) = Correlated(2000, 3, 0.8, seed: 22);
        var clean = MiEstimation.Estimate(x, y, Quick with { Estimator = "infonce" });
        x[17, 0] = 1e6;
        var auto = MiEstimation.Estimate(x, y, Quick);
        Assert.InRange(auto.EstimateNats, 0.85 * mi, 1.15 * mi);
        Assert.Contains(auto.Warnings, w => w.Contains("X column 1 has 1 value", StringComparison.Ordinal) && w.Contains("row 18", StringComparison.Ordinal));
        var ranked = MiEstimation.Estimate(x, y, Quick with { Estimator = "infonce" }); // transform auto = normal scores
        Assert.True(Math.Abs(ranked.EstimateNats - clean.EstimateNats) < 0.1, $"normal scores: {ranked.EstimateNats} with the outlier vs {clean.EstimateNats} without");
        var standardized = MiEstimation.Estimate(x, y, Quick with { Estimator = "infonce", Transform = "standardize" });
        Assert.Contains(standardized.Warnings, w => w.Contains("standardization squashes", StringComparison.Ordinal));
        Assert.True(standardized.EstimateNats < ranked.EstimateNats - 0.2, $"standardized {standardized.EstimateNats} vs ranked {ranked.EstimateNats}: the outlier should cost the standardized critic a column");
        var gcmiClean = MiEstimation.Estimate(Correlated(2000, 3, 0.8, seed: 22).X, y, new EstimationOptions { Estimator = "gcmi" });
        var gcmi = MiEstimation.Estimate(x, y, new EstimationOptions { Estimator = "gcmi" });
        Assert.True(Math.Abs(gcmi.EstimateNats - gcmiClean.EstimateNats) < 0.01, "one rank moves, GCMI barely does");
    }

    [Fact]
    public void HeldOutEvaluationOnTheWholeSplitIsNotCappedByTheTrainingBatch()
    {
        // 5 nats; trained on batches of 16 (log 16 = 2.77), evaluated on the 2000 held-out rows at once.
        var (x, y, _) = Correlated(4000, 5, Math.Sqrt(1 - Math.Exp(-2)), seed: 23);
        var r = MiEstimation.Estimate(x, y, new EstimationOptions { Estimator = "infonce", BatchSize = 16, EvalBatchSize = 0, Steps = 1500 });
        Assert.Equal(2000, r.BatchSize);
        Assert.True(r.EstimateNats > Math.Log(16) + 0.3, $"held-out {r.EstimateNats} vs training log K {Math.Log(16):F2}");
        Assert.True(double.IsFinite(r.StderrNats) && r.StderrNats > 0, "per-row standard error of the one held-out batch");
    }

    [Fact]
    public void PermutationPValuesSeparateDependenceFromIndependence()
    {
        var (x, y, _) = Correlated(1200, 2, 0.6, seed: 24);
        var dependent = MiEstimation.Estimate(x, y, Quick with { Estimator = "infonce", Permutations = 49 });
        Assert.Equal(0.02, dependent.PValue, 12); // 1/(1 + 49): no shuffled pairing reaches the observed value
        Assert.Equal(49, dependent.Permutations);
        var (xi, yi, _) = Correlated(1200, 2, 0.0, seed: 25);
        var independent = MiEstimation.Estimate(xi, yi, Quick with { Estimator = "infonce", Permutations = 49 });
        Assert.True(independent.PValue > 0.05, $"independent data, p = {independent.PValue}");
        Assert.True(double.IsNaN(MiEstimation.Estimate(xi, yi, Quick with { Estimator = "infonce" }).PValue));
    }

    [Fact]
    public void MinimumBudgetAndTimeLimitGovernStopping()
    {
        var (x, y, _) = Correlated(800, 2, 0.5, seed: 26);
        var patient = MiEstimation.Estimate(x, y, new EstimationOptions { Estimator = "infonce", Steps = 900, MinSteps = 600, Patience = 1, EvalEvery = 50, Smoothing = 3 });
        Assert.True(patient.Folds[0].StepsRun >= 600, $"stopped after {patient.Folds[0].StepsRun} steps, before the minimum 600");
        var hurried = MiEstimation.Estimate(x, y, new EstimationOptions { Estimator = "infonce", Steps = 5000, TimeLimitSeconds = 0.001, EvalEvery = 10 });
        Assert.Equal("time-limit", hurried.Folds[0].StopReason);
        Assert.True(hurried.Folds[0].StepsRun < 5000);
    }

    [Fact]
    public void BmiProtocolEvaluatesOnTheWholeHeldOutHalf()
    {
        var (x, y, mi) = Correlated(1000, 1, 0.8, seed: 27);
        var r = MiEstimation.Estimate(x, y, new EstimationOptions { Estimator = "bmi-infonce", Steps = 1000 });
        Assert.Equal("lower bound", r.Kind);
        Assert.Equal(500, r.BatchSize);
        Assert.InRange(r.EstimateNats, 0.6 * mi, 1.1 * mi);
    }
}
