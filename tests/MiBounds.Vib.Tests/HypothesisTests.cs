using MiBounds.Tensors;
using MiBounds.Training;
using MiBounds.Vib.Hypothesis;
using MiBounds.Vib.Data;

namespace MiBounds.Vib.Tests;

public class HypothesisTests
{
    private const int Side = 12, Classes = 10;

    // Class templates plus noise: learnable in a few steps.
    private static ImageDataset Synthetic(int n, ulong seed)
    {
        var rng = new Rng(seed);
        var templates = Tensor.RandomUniform(new Rng(77), [Classes, Side * Side], -1f, 1f);
        var images = Tensor.Zeros(n, Side * Side);
        var labels = new int[n];
        var data = images.Data;
        for (int i = 0; i < n; i++)
        {
            labels[i] = rng.NextInt(Classes);
            for (int p = 0; p < Side * Side; p++) data[i * Side * Side + p] = Math.Clamp(templates[labels[i], p] + 0.5f * rng.NextNormal(), -1f, 1f);
        }
        return new ImageDataset(images, labels, Side, Side, Classes);
    }

    private static double Softplus(double x) => x > 0 ? x + Math.Log(1 + Math.Exp(-x)) : Math.Log(1 + Math.Exp(x));

    [Fact]
    public void FactoredFirstLayerEqualsConcatenatingTheOneHotHypothesis()
    {
        var net = new HypothesisNetwork(new Rng(1), Side, Classes);
        var images = Synthetic(3, 2).Images;
        var (scores, reps) = net.Forward(images);
        using var _ = Tensor.NoGrad();
        var h = net.Trunk.Forward(images).ToRows();
        for (int i = 0; i < 3; i++)
            for (int k = 0; k < Classes; k++)
            {
                var input = new float[h[i].Length + Classes];
                h[i].CopyTo(input, 0);
                input[h[i].Length + k] = 1f;
                var z = net.FirstLayer.Forward(Tensor.FromArray(input, 1, input.Length)).Relu();
                var r = net.RepresentationLayer.Forward(z).Relu();
                var t = net.ScoreLayer.Forward(net.ThirdLayer.Forward(r).Relu()).Item();
                Assert.True(Math.Abs(t - scores[i, k]) < 1e-4, $"T({i}, {k}): concatenated {t}, factored {scores[i, k]}");
                var rv = r.Values;
                for (int u = 0; u < rv.Length; u++) Assert.True(Math.Abs(rv[u] - reps[i * Classes + k, u]) < 1e-4, $"representation ({i}, {k})[{u}]");
            }
    }

    [Theory]
    [InlineData("dv")]
    [InlineData("js")]
    public void PositivesAtTheLabelsGiveTheHandComputedBound(string objective)
    {
        var data = Synthetic(8, 3);
        var trainer = new HypothesisTrainer(new HypothesisConfig { Objective = objective, BatchSize = 8 }, data);
        var (loss, bound, _) = trainer.Loss(data.Images, data.Labels, training: false);
        float[][] s;
        using (Tensor.NoGrad()) s = trainer.Hypothesis!.Scores(data.Images).ToRows();
        int n = 8;
        double pos = 0, negExp = 0, negSoftplus = 0, posSoftplus = 0;
        for (int i = 0; i < n; i++)
            for (int k = 0; k < Classes; k++)
            {
                if (k == data.Labels[i]) { pos += s[i][k]; posSoftplus += Softplus(-s[i][k]); }
                else { negExp += Math.Exp(s[i][k]); negSoftplus += Softplus(s[i][k]); }
            }
        int negatives = n * (Classes - 1);
        pos /= n; posSoftplus /= n; negExp /= negatives; negSoftplus /= negatives;
        if (objective == "dv")
        {
            double dv = pos - Math.Log(negExp);
            Assert.Equal(-dv, loss.Item(), 1e-4);
            Assert.Equal(dv, bound, 1e-4);
        }
        else
        {
            Assert.Equal(posSoftplus + negSoftplus, loss.Item(), 1e-4);
            Assert.Equal(pos + 1 - negExp, bound, 1e-4);
        }
    }

    private static double Kernel(float[] a, float[] b, double sigma)
    {
        double d = 0;
        for (int i = 0; i < a.Length; i++) d += (a[i] - b[i]) * (double)(a[i] - b[i]);
        return Math.Exp(-d / (2 * sigma * sigma));
    }

    private static double MeanKernel(List<float[]> a, List<float[]> b, double sigma) =>
        a.Sum(x => b.Sum(y => Kernel(x, y, sigma))) / (a.Count * b.Count);

    private static double Mmd(List<float[]> a, List<float[]> b, double sigma) =>
        MeanKernel(a, a, sigma) + MeanKernel(b, b, sigma) - 2 * MeanKernel(a, b, sigma);

    [Fact]
    public void InformationEliminationMatchesNaiveMmdSums()
    {
        int n = 4, c = 3, d = 5;
        var reps = Tensor.RandomNormal(new Rng(8), [n * c, d]);
        var rows = reps.ToRows();
        var perHypothesis = Enumerable.Range(0, c).Select(k => Enumerable.Range(0, n).Select(i => rows[i * c + k]).ToList()).ToArray();
        var pooled = rows.ToList();
        double sigma = 1.7;
        double toPooled = perHypothesis.Sum(r => Mmd(r, pooled, sigma));
        double pairwise = 0;
        for (int k = 0; k < c; k++)
            for (int k2 = k + 1; k2 < c; k2++) pairwise += Mmd(perHypothesis[k], perHypothesis[k2], sigma);
        double ie = InformationElimination.Regularizer(reps, c, sigma).Item();
        Assert.Equal(toPooled, ie, 1e-4);
        Assert.Equal(pairwise / c, ie, 1e-4);

        // Median heuristic: 2σ² = median of the squared distances between distinct rows.
        var sq = new List<double>();
        for (int a = 0; a < rows.Length; a++)
            for (int b = 0; b < rows.Length; b++)
            {
                if (a == b) continue;
                double s = 0;
                for (int u = 0; u < d; u++) s += (rows[a][u] - rows[b][u]) * (double)(rows[a][u] - rows[b][u]);
                sq.Add(s);
            }
        sq.Sort();
        double medianSigma = Math.Sqrt(sq[sq.Count / 2] / 2);
        Assert.Equal(perHypothesis.Sum(r => Mmd(r, pooled, medianSigma)), InformationElimination.Regularizer(reps, c).Item(), 1e-3);

        // Identical representations under every hypothesis leave nothing to eliminate.
        var same = Tensor.Zeros(n * c, d);
        for (int i = 0; i < n; i++) for (int k = 0; k < c; k++) for (int u = 0; u < d; u++) same[i * c + k, u] = rows[i * c][u];
        Assert.Equal(0, InformationElimination.Regularizer(same, c, sigma).Item(), 1e-5);
    }

    [Theory]
    [InlineData("cnn", 0.0)]
    [InlineData("dv", 0.0)]
    [InlineData("js", 0.0)]
    [InlineData("dv", 1.0)]
    [InlineData("js", 1.0)]
    public void TrainingLossFallsOnSyntheticImages(string objective, double lambda)
    {
        var data = Synthetic(40, 4);
        // One batch of all 40 images per epoch: 20 epochs are 20 steps on the same images.
        var trainer = new HypothesisTrainer(new HypothesisConfig { Objective = objective, Lambda = lambda, BatchSize = 40, Epochs = 20 }, data);
        trainer.Train(data);
        var losses = trainer.Epochs.Select(e => e.Loss).ToArray();
        Assert.Equal(20, losses.Length);
        Assert.All(losses, l => Assert.True(double.IsFinite(l)));
        Assert.True(losses[^3..].Average() < losses[..3].Average() - 0.05, $"loss did not fall: {string.Join(", ", losses.Select(l => l.ToString("F3")))}");
        Assert.True(trainer.TestAccuracy(data) > 0.5, "the trained model should fit its training images");
    }

    // The regularizer on: every CSV column is a number.
    private static HypothesisConfig ResumeConfig(string objective) =>
        new() { Objective = objective, Lambda = objective == "cnn" ? 0 : 0.5, BatchSize = 8, TrainCount = 24, Epochs = 3 };

    /// <summary>A 3-epoch run of 3 steps each into <paramref name="dir"/>; cancelled or crashing (an exception out of a callback) after <paramref name="stopAfter"/> steps.</summary>
    private static (HypothesisTrainer Trainer, Exception? Crash) RunHypothesis(string dir, string objective, int? stopAfter = null, bool crash = false, bool resume = false)
    {
        var cancel = new CancellationTokenSource();
        var trainer = new HypothesisTrainer(ResumeConfig(objective), Synthetic(24, 31), dir, cancel.Token);
        if (resume) trainer.Resume();
        int steps = 0;
        var e = Record.Exception(() => trainer.Train(Synthetic(20, 32), _ =>
        {
            if (++steps != stopAfter) return;
            if (crash) throw new IOException("simulated crash");
            cancel.Cancel();
        }));
        return (trainer, e);
    }

    private static float[][] State(HypothesisTrainer t) => t.Module.NamedState().Select(p => p.Tensor.ToArray()).ToArray();

    [Theory]
    [InlineData("dv")]
    [InlineData("cnn")]
    public void InterruptedMidEpochOrCrashedAndResumedEqualsUninterrupted(string objective)
    {
        using var dirs = new TempDirs(3);
        var (full, _) = RunHypothesis(dirs[0], objective);
        Assert.Equal(3, full.Epochs.Count);

        var (cut, _) = RunHypothesis(dirs[1], objective, stopAfter: 4); // epoch 2, after its first step
        Assert.Equal((1, 1), (cut.EpochsDone, cut.StepInEpoch));
        var (resumed, error) = RunHypothesis(dirs[1], objective, resume: true);
        Assert.Null(error);
        Assert.Equal(State(full), State(resumed));
        Assert.Equal(DimTests.WithoutSeconds(dirs[0]), DimTests.WithoutSeconds(dirs[1]));

        var (_, crash) = RunHypothesis(dirs[2], objective, stopAfter: 5, crash: true); // no final checkpoint: epoch 1's remains
        Assert.IsType<IOException>(crash);
        var (afterCrash, crashError) = RunHypothesis(dirs[2], objective, resume: true);
        Assert.Null(crashError);
        Assert.Equal(2, afterCrash.Epochs.Count);
        Assert.Equal(State(full), State(afterCrash));
        Assert.Equal(DimTests.WithoutSeconds(dirs[0]), DimTests.WithoutSeconds(dirs[2]));
    }

    [Fact]
    public void CheckpointsOfAnotherConfigurationOrTheOldFormatAreRefusedInOneLine()
    {
        using var dirs = new TempDirs(1);
        RunHypothesis(dirs[0], "dv", stopAfter: 2);
        var other = new HypothesisTrainer(ResumeConfig("dv") with { Lambda = 0.25 }, Synthetic(24, 31), dirs[0]);
        var e = Assert.Throws<DataException>(() => other.Resume());
        Assert.DoesNotContain('\n', e.Message);
        Assert.Contains("Lambda: 0.5 in the checkpoint, 0.25 now", e.Message);

        // The format before the spine: model.* tensors and "epochs"/"rng" metadata, no "format" entry.
        var old = new HypothesisTrainer(ResumeConfig("dv"), Synthetic(24, 31), dirs[0]);
        SafeTensors.Save(Path.Combine(dirs[0], "checkpoint.safetensors"), old.Module.NamedState().ToDictionary(p => "model." + p.Name, p => p.Tensor),
            new Dictionary<string, string> { ["epochs"] = "1", ["rng"] = "1,2,3,4" });
        var o = Assert.Throws<DataException>(() => old.Resume());
        Assert.DoesNotContain('\n', o.Message);
        Assert.Contains("older or foreign format", o.Message);
    }

    [Fact]
    public void ADivergingRunIsAOneLineErrorNamingTheStepWithoutACheckpoint()
    {
        using var dirs = new TempDirs(1);
        // A NaN pixel makes the loss of every batch holding that image NaN.
        var train = Synthetic(24, 31);
        train.Images[5, 7] = float.NaN;
        var trainer = new HypothesisTrainer(ResumeConfig("dv"), train, dirs[0]);
        var e = Assert.Throws<DataException>(() => trainer.Train(Synthetic(20, 32)));
        Assert.DoesNotContain('\n', e.Message);
        Assert.Matches(@"at step \d+ \(epoch \d+\)", e.Message);
        Assert.Contains("NaN", e.Message);
        Assert.Equal(0, trainer.EpochsDone);
        Assert.Empty(DimTests.CsvRows(dirs[0]));
        Assert.False(File.Exists(Path.Combine(dirs[0], TrainingCheckpoint.FileName))); // nothing of the diverged state is saved
    }

    [Fact]
    public void TestAccuracyIsMeasuredWithRunningStatistics()
    {
        using var dirs = new TempDirs(1);
        var (trainer, _) = RunHypothesis(dirs[0], "dv");
        var test = Synthetic(20, 32);
        // Each image alone: with batch statistics a single image would normalize to nothing; with running ones it is its batch row.
        var batch = trainer.InEvalMode(() => { using var _ = Tensor.NoGrad(); return trainer.Classifier.LogProbabilities(test.Images).ToRows(); });
        int correct = 0;
        for (int i = 0; i < test.Count; i++)
        {
            var alone = trainer.InEvalMode(() => { using var _ = Tensor.NoGrad(); return trainer.Classifier.LogProbabilities(test.Images.Slice(0, i, 1)).ToArray(); });
            for (int k = 0; k < Classes; k++) Assert.Equal(batch[i][k], alone[k], 1e-4f);
            if (Array.IndexOf(alone, alone.Max()) == test.Labels[i]) correct++;
        }
        // The trainer's per-epoch evaluation (after the last step, nothing since) ran in evaluation mode too.
        Assert.Equal((double)correct / test.Count, trainer.Epochs[^1].TestAccuracy, 1e-12);
        Assert.Equal(trainer.Epochs[^1].TestAccuracy, trainer.TestAccuracy(test), 1e-12);
    }

    [Theory]
    [InlineData(new[] { "hypothesis", "--objective", "mine" }, "--objective must be one of dv, js, cnn")]
    [InlineData(new[] { "hypothesis", "--objective", "cnn", "--ie", "1" }, "--ie applies to the hypothesis models")]
    [InlineData(new[] { "hypothesis", "--ie", "-1" }, "--ie must be in")]
    [InlineData(new[] { "hypothesis", "--epsilons", "0.1,2" }, "--epsilons")]
    [InlineData(new[] { "hypothesis", "--resume", "--out", "/nonexistent/hyp-run" }, "nothing to resume")]
    public void HypothesisCommandLineErrorsAreOneLineUsageErrors(string[] args, string expected)
    {
        var (rc, _, err) = DimTests.Run(args);
        Assert.Equal(2, rc);
        Assert.Contains(expected, err);
    }
}
