using MiBounds.Tensors;
using MiBounds.Training;
using MiBounds.Vib.Dim;
using MiBounds.Vib.Data;
using MiBounds.Vib.Commands;
using MiBounds.TestSupport;

namespace MiBounds.Vib.Tests;

public class DimTests
{
    private const int Side = 16;

    private static ImageDataset Synthetic(int n, ulong seed)
    {
        var rng = new Rng(seed);
        var images = Tensor.RandomUniform(rng, [n, Side * Side], -1f, 1f);
        var labels = Enumerable.Range(0, n).Select(i => i % 10).ToArray();
        return new ImageDataset(images, labels, Side, Side, 10);
    }

    private static DimTrainer Trainer(string estimator, DimMode mode, int batch = 6, double prior = 0, double lr = 1e-4) =>
        new(new DimConfig { Estimator = estimator, Mode = mode, BatchSize = batch, Width = 8, LearningRate = lr, PriorWeight = prior }, Synthetic(64, 3));

    private static double Dot(float[] a, float[] b) { double s = 0; for (int i = 0; i < a.Length; i++) s += (double)a[i] * b[i]; return s; }

    private static double Softplus(double x) => x > 0 ? x + Math.Log(1 + Math.Exp(-x)) : Math.Log(1 + Math.Exp(x));

    // The bound's training objective and reported value on a K×K matrix with positives on the diagonal, by hand.
    private static (double Objective, double Value) HandBound(string estimator, double[,] s)
    {
        int k = s.GetLength(0);
        double pos = 0, negExp = 0, negSoftplus = 0, nce = 0;
        for (int i = 0; i < k; i++)
        {
            pos += s[i, i];
            double rowSum = 0;
            for (int j = 0; j < k; j++)
            {
                rowSum += Math.Exp(s[i, j]);
                if (i != j) { negExp += Math.Exp(s[i, j]); negSoftplus += Softplus(s[i, j]); }
            }
            nce += s[i, i] - Math.Log(rowSum);
        }
        pos /= k; negExp /= k * (k - 1); negSoftplus /= k * (k - 1);
        switch (estimator)
        {
            case "dv":
                double dv = pos - Math.Log(negExp);
                return (dv, dv);
            case "infonce":
                double v = Math.Log(k) + nce / k;
                return (v, v);
            default:
                double jsObjective = 0;
                for (int i = 0; i < k; i++) jsObjective -= Softplus(-s[i, i]) / k;
                jsObjective -= negSoftplus;
                return (jsObjective, pos + 1 - negExp); // NWJ(S + 1) = mean(S+1)_pos − e⁻¹·mean_neg e^{S+1}
        }
    }

    [Theory]
    [InlineData("js")]
    [InlineData("infonce")]
    [InlineData("dv")]
    public void PerLocationAndGlobalScoreMatricesGiveTheHandComputedBound(string estimator)
    {
        var trainer = Trainer(estimator, DimMode.Both);
        var net = trainer.Network;
        var images = Synthetic(6, 11).Images;
        var (objective, globalValue, localValue, _) = trainer.Objective(images, training: false);
        using var _ = Tensor.NoGrad();
        var (local, code) = net.Encoder.Forward(images); // training-mode batch-norm: same batch, same values
        int k = 6, c = net.Encoder.LocalChannels, side = net.Encoder.LocalSide, width = net.Width;
        float[][] Rows(Tensor t) => t.ToRows();
        var localCode = Rows(net.LocalCode.Forward(code));
        var globalCode = Rows(net.GlobalCode.Forward(code));
        var flat = local.Reshape(k, c * side * side);
        var globalFeatures = Rows(net.GlobalFeatures.Forward(flat));
        var lv = local.Values;

        var sGlobal = new double[k, k];
        for (int i = 0; i < k; i++)
            for (int j = 0; j < k; j++) sGlobal[i, j] = Dot(globalCode[i], globalFeatures[j]) / Math.Sqrt(width);
        var (gObjective, gValue) = HandBound(estimator, sGlobal);

        double lObjective = 0, lValue = 0;
        var all = net.LocalScores(local, code);
        for (int y = 0; y < side; y++)
            for (int x = 0; x < side; x++)
            {
                int l = y * side + x;
                var vectors = new float[k][];
                for (int j = 0; j < k; j++)
                {
                    var v = new float[c];
                    for (int ch = 0; ch < c; ch++) v[ch] = lv[((j * c + ch) * side + y) * side + x];
                    vectors[j] = net.LocalFeatures.Forward(Tensor.FromArray(v, 1, c)).ToArray();
                }
                var s = new double[k, k];
                var fromNetwork = DimNetwork.LocationScores(all, l);
                for (int i = 0; i < k; i++)
                    for (int j = 0; j < k; j++)
                    {
                        s[i, j] = Dot(localCode[i], vectors[j]) / Math.Sqrt(width);
                        Assert.Equal(s[i, j], fromNetwork[i, j], 1e-3);
                    }
                var (o, val) = HandBound(estimator, s);
                lObjective += o; lValue += val;
            }
        int locations = side * side;
        Assert.Equal(gObjective + lObjective / locations, objective.Item(), 1e-3);
        Assert.Equal(gValue, globalValue, 1e-3);
        Assert.Equal(lValue / locations, localValue, 1e-3);
    }

    [Theory]
    [InlineData("js", DimMode.Both)]
    [InlineData("infonce", DimMode.Local)]
    [InlineData("dv", DimMode.Global)]
    public void TrainingLossFallsOnSyntheticImages(string estimator, DimMode mode)
    {
        // One batch of all 16 images per epoch: 25 epochs are 25 steps on the same images.
        var trainer = new DimTrainer(new DimConfig { Estimator = estimator, Mode = mode, BatchSize = 16, Width = 8, LearningRate = 1e-3, Epochs = 25 }, Synthetic(16, 5));
        trainer.Train();
        var losses = trainer.Epochs.Select(e => e.Loss).ToArray();
        Assert.Equal(25, losses.Length);
        Assert.All(losses, l => Assert.True(double.IsFinite(l)));
        Assert.True(losses[^3..].Average() < losses[..3].Average() - 0.05, $"loss did not fall: {string.Join(", ", losses.Select(l => l.ToString("F3")))}");
    }

    [Fact]
    public void CheckpointRestoresParametersOptimizerAndRng()
    {
        var dir = Directory.CreateTempSubdirectory("dim-ckpt").FullName;
        var other = Directory.CreateTempSubdirectory("dim-ckpt").FullName;
        try
        {
            var config = new DimConfig { Estimator = "js", Mode = DimMode.Global, BatchSize = 8, Width = 8, PriorWeight = 0.5, TrainCount = 16, Epochs = 1 };
            var data = Synthetic(16, 9);
            var a = new DimTrainer(config, data, dir);
            a.Train();
            // Resumed with a larger epoch budget (the one option --resume may change).
            var b = new DimTrainer(config with { Epochs = 2 }, data, dir);
            Assert.Equal(1, b.Resume());
            foreach (var ((name, ta), (_, tb)) in a.Network.NamedState().Zip(b.Network.NamedState()))
                Assert.True(ta.Values.SequenceEqual(tb.Values), $"{name} differs after resume");
            // Same state, same next epoch (optimizer moments, discriminator and RNG included) as a run of two epochs.
            var full = new DimTrainer(config with { Epochs = 2 }, data, other);
            full.Train();
            b.Train();
            Assert.Equal(full.Epochs[1].Loss, b.Epochs.Single().Loss, 1e-6);
        }
        finally { Directory.Delete(dir, recursive: true); Directory.Delete(other, recursive: true); }
    }

    // Global and local objectives and the prior term: both optimizers and every CSV column are covered.
    private static readonly DimConfig ResumeConfig = new() { Estimator = "js", Mode = DimMode.Both, BatchSize = 8, Width = 8, PriorWeight = 0.5, TrainCount = 24, Epochs = 3, LearningRate = 1e-3 };

    /// <summary>A 3-epoch run of 3 steps each into <paramref name="dir"/>; cancelled or crashing (an exception out of a callback) after <paramref name="stopAfter"/> steps.</summary>
    private static (DimTrainer Trainer, Exception? Crash) RunDim(string dir, int? stopAfter = null, bool crash = false, bool resume = false)
    {
        var cancel = new CancellationTokenSource();
        var trainer = new DimTrainer(ResumeConfig, Synthetic(24, 21), dir, cancel.Token);
        if (resume) trainer.Resume();
        int steps = 0;
        var e = Record.Exception(() => trainer.Train(onStep: _ =>
        {
            if (++steps != stopAfter) return;
            if (crash) throw new IOException("simulated crash");
            cancel.Cancel();
        }));
        return (trainer, e);
    }

    private static float[][] State(DimTrainer t) =>
        t.Network.NamedState().Concat(t.Prior!.NamedState()).Select(p => p.Tensor.ToArray()).ToArray();

    [Fact]
    public void InterruptedMidEpochAndResumedEqualsUninterrupted()
    {
        using var dirs = new TempDirs(2);
        var (full, _) = RunDim(dirs[0]);
        var (cut, _) = RunDim(dirs[1], stopAfter: 5); // epoch 2, after its 2nd of 3 steps
        Assert.Equal((1, 2), (cut.EpochsDone, cut.StepInEpoch));
        Assert.Single(CsvRows(dirs[1]));
        var (resumed, error) = RunDim(dirs[1], resume: true);
        Assert.Null(error);
        Assert.Equal(2, resumed.Epochs.Count);
        Assert.Equal(State(full), State(resumed));
        Assert.Equal(WithoutSeconds(dirs[0]), WithoutSeconds(dirs[1]));
        Assert.All(CsvRows(dirs[0]), r => Assert.DoesNotContain("nan", r));
    }

    [Fact]
    public void CrashedRunResumesFromItsLastEpochCheckpoint()
    {
        using var dirs = new TempDirs(2);
        var (full, _) = RunDim(dirs[0]);
        var (_, crash) = RunDim(dirs[1], stopAfter: 8, crash: true); // epoch 3, no final checkpoint: epoch 2's remains
        Assert.IsType<IOException>(crash);
        var (resumed, error) = RunDim(dirs[1], resume: true);
        Assert.Null(error);
        Assert.Single(resumed.Epochs);
        Assert.Equal(State(full), State(resumed));
        Assert.Equal(WithoutSeconds(dirs[0]), WithoutSeconds(dirs[1]));
    }

    [Fact]
    public void CheckpointsOfAnotherConfigurationOrTheOldFormatAreRefusedInOneLine()
    {
        using var dirs = new TempDirs(1);
        RunDim(dirs[0], stopAfter: 2);
        var other = new DimTrainer(ResumeConfig with { LearningRate = 2e-3 }, Synthetic(24, 21), dirs[0]);
        var e = Assert.Throws<DataException>(() => other.Resume());
        Assert.DoesNotContain('\n', e.Message);
        Assert.Contains("LearningRate: 0.001 in the checkpoint, 0.002 now", e.Message);

        // The format before the spine: model.* tensors and "epochs"/"rng" metadata, no "format" entry.
        var old = new DimTrainer(ResumeConfig, Synthetic(24, 21), dirs[0]);
        SafeTensors.Save(Path.Combine(dirs[0], "checkpoint.safetensors"), old.Network.NamedState().ToDictionary(p => "model." + p.Name, p => p.Tensor),
            new Dictionary<string, string> { ["epochs"] = "1", ["rng"] = "1,2,3,4" });
        var o = Assert.Throws<DataException>(() => old.Resume());
        Assert.DoesNotContain('\n', o.Message);
        Assert.Contains("older or foreign format", o.Message);
    }

    [Fact]
    public void FeaturesUseRunningStatisticsOneImageAloneEqualsItsRowInABatch()
    {
        using var dirs = new TempDirs(1);
        var (trainer, _) = RunDim(dirs[0], stopAfter: 4); // trained a little: running statistics are not the initial ones
        var encoder = trainer.Network.Encoder;
        encoder.Train(); // as after a training step: Features must switch to evaluation mode itself, and back
        var images = Synthetic(5, 8).Images;
        var (global, conv) = DimTrainer.Features(encoder, images);
        var (alone, aloneConv) = DimTrainer.Features(encoder, images.Slice(0, 3, 1));
        Assert.True(encoder.Training);
        int code = encoder.CodeSize, local = encoder.LocalFeatures;
        for (int i = 0; i < code; i++) Assert.Equal(global.Values[3 * code + i], alone.Values[i], 1e-4f);
        for (int i = 0; i < local; i++) Assert.Equal(conv.Values[3 * local + i], aloneConv.Values[i], 1e-4f);
    }

    internal static List<string> CsvRows(string dir) => File.ReadAllLines(Path.Combine(dir, "training.csv")).Skip(1).ToList();

    // training.csv without its seconds column (the only one that may differ between runs).
    internal static List<string> WithoutSeconds(string dir)
    {
        var lines = File.ReadAllLines(Path.Combine(dir, "training.csv"));
        int seconds = Array.IndexOf(lines[0].Split(','), "seconds");
        Assert.True(seconds >= 0, "training.csv has a seconds column");
        return lines.Select(l => string.Join(",", l.Split(',').Where((_, i) => i != seconds))).ToList();
    }

    [Fact]
    public void ProbeSeparatesLinearlySeparableFeaturesAndRandomEncoderIsNormalized()
    {
        var rng = new Rng(4);
        int n = 200, d = 5;
        var x = Tensor.RandomNormal(rng, [n, d]);
        var y = new int[n];
        for (int i = 0; i < n; i++) { y[i] = x[i, 0] + 0.5f * x[i, 1] > 0 ? 1 : 0; x[i, 2] *= 100f; }
        double acc = Probes.Accuracy(x, y, x, y, 2, ProbeKind.Linear, new ProbeSettings(Epochs: 30, BatchSize: 20, LearningRate: 1e-2), rng);
        Assert.True(acc > 0.9, $"linear probe accuracy {acc}");
        var (train, _) = Probes.Standardize(x, x);
        double mean = 0, sq = 0;
        for (int i = 0; i < n; i++) { mean += train[i, 2]; sq += train[i, 2] * train[i, 2]; }
        Assert.Equal(0, mean / n, 1e-3);
        Assert.Equal(1, sq / n, 1e-2);
    }

    [Fact]
    public void ScoreBoundsRejectBaselineBoundsAndUnknownNames()
    {
        Assert.Throws<ArgumentException>(() => ScoreBounds.Create("tuba"));
        Assert.Throws<FormatException>(() => ScoreBounds.Create("nope"));
        Assert.IsType<MiBounds.Bounds.DonskerVaradhan>(ScoreBounds.Create("dv"));
    }

    [Theory]
    [InlineData(new[] { "dim", "--estimator", "nwj" }, "--estimator must be one of js, infonce, dv")]
    [InlineData(new[] { "dim", "--mode", "sideways" }, "--mode must be one of")]
    [InlineData(new[] { "dim", "--batch", "1" }, "--batch must be in")]
    [InlineData(new[] { "dim", "--epocs", "3" }, "unknown option --epocs")]
    [InlineData(new[] { "dim", "--resume", "--out", "/nonexistent/dim-run" }, "nothing to resume")]
    public void DimCommandLineErrorsAreOneLineUsageErrors(string[] args, string expected)
    {
        var (rc, _, err) = Run(args);
        Assert.Equal(2, rc);
        Assert.Contains(expected, err);
    }

    [Fact]
    public void DimMissingDataNamesTheFile()
    {
        var dir = Directory.CreateTempSubdirectory("dim-nodata").FullName;
        try
        {
            var (rc, _, err) = Run(["dim", "--data", Path.Combine(dir, "missing"), "--out", Path.Combine(dir, "out")]);
            Assert.Equal(2, rc); // bad data is exit code 2, one line naming the file
            Assert.Contains("train-images-idx3-ubyte", err);
            Assert.Single(err.TrimEnd().Split('\n'));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    internal static (int Rc, string Out, string Err) Run(string[] args)
    {
        var root = new System.CommandLine.RootCommand("vib tests");
        foreach (var c in VibCommands.Create()) root.Subcommands.Add(c);
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        using var interruption = new MiBounds.Commands.Interruption();
        int rc = MiBounds.Commands.CommandHost.Run(root, args, stdout, stderr, interruption);
        return (rc, stdout.ToString(), stderr.ToString());
    }

    [Theory]
    [InlineData("js")]
    [InlineData("infonce")]
    [InlineData("dv")]
    public void BatchedLocalBoundMatchesThePerLocationLoop(string estimator)
    {
        // [K, L·K] scores with a wide spread (large positives, as a trained critic gives) and a downstream weight.
        const int k = 7, locations = 5;
        var rng = new Rng(11);
        var data = Tensor.RandomNormal(rng, [k, locations * k], 0f, 3f);
        for (int l = 0; l < locations; l++) for (int i = 0; i < k; i++) data.Data[i * locations * k + l * k + i] += 4f;

        var loopScores = data.Clone(); loopScores.RequiresGrad = true;
        var bound = ScoreBounds.Create(estimator);
        var mask = MiBounds.Bounds.PositiveMask.Diagonal(k);
        Tensor? sum = null;
        double valueSum = 0;
        for (int l = 0; l < locations; l++)
        {
            var o = bound.FromScores(DimNetwork.LocationScores(loopScores, l), null, mask, training: true);
            sum = sum is null ? o.Objective : sum + o.Objective;
            valueSum += o.Value.Item();
        }
        var loopObjective = sum! / locations;
        (loopObjective * 1.7f).Backward();

        var batchedScores = data.Clone(); batchedScores.RequiresGrad = true;
        var (objective, value) = DimNetwork.LocalBound(batchedScores, estimator);
        (objective * 1.7f).Backward();

        Assert.Equal(loopObjective.Item(), objective.Item(), 5e-5);
        Assert.Equal(valueSum / locations, value, 5e-5);
        var g0 = loopScores.Grad!.ToArray(); var g1 = batchedScores.Grad!.ToArray();
        for (int i = 0; i < g0.Length; i++) Assert.True(Math.Abs(g0[i] - g1[i]) <= 1e-6 + 1e-4 * Math.Abs(g0[i]), $"gradient {i}: loop {g0[i]}, batched {g1[i]}");
    }

    [Fact]
    public void BatchedLocalBoundRefusesOtherEstimators() =>
        Assert.Throws<ArgumentException>(() => DimNetwork.LocalBound(Tensor.Zeros(3, 6), "nwj"));
}

[Collection(AllocationMeasurements.Name)]
public class DimAllocationTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void AWarmDimStepWithTheBatchedLocalBoundInAWorkspaceAllocatesNothing(int threads)
    {
        // DimTrainer's step with DimNetwork.LocalBound in place of the per-location loop, at the real 28×28 geometry.
        using var limit = Engine.LimitThreads(threads);
        var rng = new Rng(4);
        var network = new DimNetwork(rng, 28, width: 16);
        var adam = new MiBounds.Tensors.Optim.Adam(network.Parameters(), 1e-3f);
        var images = Tensor.RandomUniform(rng, [8, 784], -1f, 1f);
        var ws = new TensorWorkspace();
        network.Train();
        void Step()
        {
            using (ws.Enter())
            {
                var (local, code) = network.Encoder.Forward(images);
                var (objective, value) = DimNetwork.LocalBound(network.LocalScores(local, code), "js");
                var loss = objective.Neg();
                Assert.True(float.IsFinite(loss.Item()) && double.IsFinite(value));
                adam.ZeroGrad();
                loss.Backward();
                adam.Step();
            }
        }
        for (int i = 0; i < 5; i++) Step();
        // This thread's allocations, the least of three windows (a pool may grow once in the first).
        long perStep = long.MaxValue;
        for (int w = 0; w < 3; w++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 10; i++) Step();
            perStep = Math.Min(perStep, (GC.GetAllocatedBytesForCurrentThread() - before) / 10);
        }
        Assert.True(perStep < 64, $"a warm step allocated {perStep} B");
    }
}

/// <summary>Temporary folders, deleted on dispose.</summary>
internal sealed class TempDirs : IDisposable
{
    private readonly string[] _dirs;

    public TempDirs(int count) => _dirs = Enumerable.Range(0, count).Select(_ => Directory.CreateTempSubdirectory("vib-run").FullName).ToArray();

    public string this[int i] => _dirs[i];

    public void Dispose()
    {
        foreach (var d in _dirs)
            try { Directory.Delete(d, recursive: true); } catch (IOException) { }
    }
}
