using System.Text.RegularExpressions;
using MiBounds.Vib.Data;
using MiBounds.Tensors;
using MiBounds.Tensors.Nn;
using MiBounds.Training;
using MiBounds.Vib;
using MiBounds.Vib.Models;
using MiBounds.Vib.Training;
using MiBounds.Vib.Reports;

namespace MiBounds.Vib.Tests;

public sealed class TrainingTests : IDisposable
{
    private readonly List<string> _dirs = [];

    public void Dispose()
    {
        foreach (var d in _dirs)
            try { Directory.Delete(d, recursive: true); } catch (IOException) { }
    }

    private string TempDir()
    {
        var dir = Path.Combine(Path.GetTempPath(), "vibtrain-" + Guid.NewGuid().ToString("N"));
        _dirs.Add(dir);
        return dir;
    }

    private static TrainConfig Tiny(ModelKind kind) => new()
    {
        Kind = kind, Bottleneck = 4, Hidden = 32, BatchSize = 20, Epochs = 1, Beta = kind == ModelKind.Vim ? 1 : 1e-2,
        LearningRate = 3e-3, Polyak = 0.9, TrainEvalCount = 0, Seed = 4,
    };

    [Theory]
    [InlineData(ModelKind.Vib)]
    [InlineData(ModelKind.Vim)]
    [InlineData(ModelKind.Deterministic)]
    [InlineData(ModelKind.Dropout)]
    [InlineData(ModelKind.Vib, EncoderKind.Conv)]
    [InlineData(ModelKind.Vim, EncoderKind.Conv)]
    public void LossFallsOverAFewSteps(ModelKind kind, EncoderKind encoder = EncoderKind.Mlp)
    {
        var data = encoder == EncoderKind.Conv ? new ImageData(Synthetic.Dataset(120, side: 8, seed: 1), Synthetic.Dataset(60, side: 8, seed: 2), "synthetic") : Synthetic.Data();
        var trainer = new VibTrainer(Tiny(kind) with { Encoder = encoder }, data);
        var x = data.Train.Images.Slice(0, 0, 60).Detach();
        var y = data.Train.Labels[..60];
        double first = 0, last = 0;
        for (int s = 0; s < 40; s++)
        {
            double l = trainer.Step(x, y);
            if (s < 5) first += l / 5;
            if (s >= 35) last += l / 5;
        }
        Assert.True(last < 0.5 * first, $"{kind}: loss went from {first:F3} to {last:F3}");
    }

    [Fact]
    public void VibLossIsCrossEntropyPlusBetaTimesKlInBits()
    {
        var data = Synthetic.Data();
        var config = Tiny(ModelKind.Vib) with { Beta = 0.25 };
        var x = data.Train.Images.Slice(0, 0, 10).Detach();
        var y = data.Train.Labels[..10];
        var (loss, ce, kl) = new VibTrainer(config, data).Loss(x, y);
        Assert.Equal(ce + 0.25 * kl, loss.Item(), 4);
        // A fresh network's σ ≈ softplus(−5) ≈ 0.0067, so KL ≈ K·(−ln σ − ½)/ln 2 bits.
        double sigma = Math.Log(1 + Math.Exp(-5));
        Assert.InRange(kl, 0.8 * 4 * (-Math.Log(sigma) - 0.5) / Math.Log(2), 1.2 * 4 * (-Math.Log(sigma) - 0.5) / Math.Log(2) + 1);
    }

    [Fact]
    public void EpochEvaluatesBoundsAndLearningRateDecays()
    {
        var data = Synthetic.Data();
        var trainer = new VibTrainer(Tiny(ModelKind.Vib) with { Polyak = 0.5, Epochs = 3 }, data);
        Assert.Equal(StopReason.Completed, trainer.Train().Reason);
        var r = trainer.Results.Epochs[^1];
        Assert.Equal(3, r.Epoch);
        Assert.True(r.TestAcc12 > 0.9, $"12-sample test accuracy {r.TestAcc12}");
        Assert.InRange(r.IzyBits, 0.5, Math.Log2(3) + 1e-9); // I(Z;Y) ≤ H(Y) = log2 3 for balanced labels
        Assert.True(r.IzxBits > r.IzyBits, "I(Z;X) bound below I(Z;Y) bound");
        Assert.Equal(trainer.Config.LearningRate * 0.97, trainer.LearningRateAt(2), 9);
        Assert.Equal(trainer.Config.LearningRate, trainer.LearningRateAt(1), 9);
        Assert.Equal(Math.Log2(3), trainer.LabelEntropyBits, 2);
    }

    [Fact]
    public void DeterministicModelsReportNoIzxBound()
    {
        var trainer = new VibTrainer(Tiny(ModelKind.Deterministic), Synthetic.Data());
        var ev = trainer.Evaluate(trainer.Data.Test);
        Assert.True(double.IsNaN(ev.IzxBits));
        Assert.Equal(ev.Accuracy1, ev.AccuracyMany);
    }

    [Fact]
    public void ResumedRunMatchesAnUninterruptedOne()
    {
        var data = Synthetic.Data(train: 80, test: 20);
        var dir = TempDir();
        var config = Tiny(ModelKind.Vib);
        var straight = new VibTrainer(config with { Epochs = 2 }, data);
        straight.Train();

        new VibTrainer(config, data, dir).Train();
        var second = new VibTrainer(config with { Epochs = 2 }, data, dir); // only the epoch budget may change
        Assert.Equal(1, second.Resume());
        second.Train();
        Assert.Equal(straight.Network.Parameters().First().ToArray(), second.Network.Parameters().First().ToArray());
        Assert.Equal(2, RunResults.Load(dir).Epochs.Count);
    }

    // 80 rows in batches of 20: 4 steps per epoch, 12 in the 3-epoch run; 8×8 images, the conv encoder's smallest.
    private static readonly ImageData ResumeData = new(Synthetic.Dataset(80, side: 8, seed: 1), Synthetic.Dataset(20, side: 8, seed: 2), "synthetic");

    private static TrainConfig ResumeConfig(ModelKind kind, EncoderKind encoder = EncoderKind.Mlp) => Tiny(kind) with { Epochs = 3, Encoder = encoder };

    private VibTrainer Uninterrupted(ModelKind kind, out string dir, EncoderKind encoder = EncoderKind.Mlp)
    {
        dir = TempDir();
        var trainer = new VibTrainer(ResumeConfig(kind, encoder), ResumeData, dir);
        Assert.Equal(StopReason.Completed, trainer.Train().Reason);
        return trainer;
    }

    private static void AssertSameRun(VibTrainer expected, string expectedDir, VibTrainer actual, string actualDir)
    {
        Assert.Equal(12, actual.StepsDone);
        Assert.Equal(expected.Network.Parameters().Select(p => p.ToArray()), actual.Network.Parameters().Select(p => p.ToArray()));
        // The files' records: epochs before a resume come back from results.csv at its precision.
        var records = RunResults.Load(actualDir).Epochs.Select(e => e with { Seconds = 0 }).ToArray();
        Assert.Equal([1, 2, 3], records.Select(e => e.Epoch));
        Assert.Equal(RunResults.Load(expectedDir).Epochs.Select(e => e with { Seconds = 0 }), records);
        Assert.Equal(expected.Results.Epochs[^1] with { Seconds = 0 }, actual.Results.Epochs[^1] with { Seconds = 0 });
        var (ec, ej) = WithoutTimes(expectedDir); var (ac, aj) = WithoutTimes(actualDir);
        Assert.Equal(ec, ac);
        Assert.Equal(ej, aj);
        Assert.Equal(expected.Evaluate(ResumeData.Test), actual.Evaluate(ResumeData.Test));
    }

    // The files' text without the timing fields (results.csv's third column, results.json's "seconds").
    private static (string Csv, string Json) WithoutTimes(string dir)
    {
        var csv = File.ReadAllLines(Path.Combine(dir, "results.csv")).Select(l => string.Join(",", l.Split(',').Where((_, i) => i != 2)));
        var json = Regex.Replace(File.ReadAllText(Path.Combine(dir, "results.json")), "\"seconds\": [^,]+,", "");
        return (string.Join("\n", csv), json);
    }

    [Theory]
    [InlineData(ModelKind.Vib)]
    [InlineData(ModelKind.Vim)]
    [InlineData(ModelKind.Dropout)]
    [InlineData(ModelKind.Vim, EncoderKind.Conv)] // batch-norm running statistics travel in the checkpoint too
    public void InterruptedMidEpochAndResumedEqualsUninterrupted(ModelKind kind, EncoderKind encoder = EncoderKind.Mlp)
    {
        var full = Uninterrupted(kind, out var fullDir, encoder);
        var dir = TempDir();
        using var cancel = new CancellationTokenSource();
        var cut = new VibTrainer(ResumeConfig(kind, encoder), ResumeData, dir, cancel.Token);
        var partial = cut.Train(s => { if (s.Step == 6) cancel.Cancel(); }); // epoch 2, step 2 of 4
        Assert.Equal(StopReason.Interrupted, partial.Reason);
        Assert.Equal((6L, 1), (partial.Steps, partial.Epochs));

        var resumed = new VibTrainer(ResumeConfig(kind, encoder), ResumeData, dir);
        Assert.Equal(1, resumed.Resume());
        Assert.Equal(6, resumed.StepsDone); // mid-epoch: the checkpoint holds the order and the cursor
        Assert.Equal(StopReason.Completed, resumed.Train().Reason);
        AssertSameRun(full, fullDir, resumed, dir);
    }

    [Theory]
    [InlineData(true)]  // thrown after step 10 (epoch 3): the epoch-2 checkpoint remains
    [InlineData(false)] // thrown after epoch 2's results are saved, before its checkpoint: they are dropped on resume
    public void CrashedRunResumesFromItsLastEpochCheckpoint(bool duringStep)
    {
        var full = Uninterrupted(ModelKind.Vib, out var fullDir);
        var dir = TempDir();
        var crashing = new VibTrainer(ResumeConfig(ModelKind.Vib), ResumeData, dir);
        Assert.Throws<IOException>(() => crashing.Train(
            s => { if (duringStep && s.Step == 10) throw new IOException("simulated crash"); },
            e => { if (!duringStep && e.Epoch == 2) throw new IOException("simulated crash"); }));
        Assert.Equal(2, RunResults.Load(dir).Epochs.Count); // epoch 2's results were saved either way

        var resumed = new VibTrainer(ResumeConfig(ModelKind.Vib), ResumeData, dir);
        Assert.Equal(duringStep ? 2 : 1, resumed.Resume());
        Assert.Equal(duringStep ? 2 : 1, resumed.Results.Epochs.Count);
        resumed.Train();
        AssertSameRun(full, fullDir, resumed, dir);
    }

    [Fact]
    public void CheckpointsOfAnotherConfigurationOrTheOldFormatAreRefused()
    {
        var dir = TempDir();
        var config = Tiny(ModelKind.Vib);
        new VibTrainer(config, ResumeData, dir).Train();
        var path = Path.Combine(dir, TrainingCheckpoint.FileName);

        var beta = Assert.Throws<DataException>(() => new VibTrainer(config with { Beta = 0.5 }, ResumeData, dir).Resume());
        Assert.Contains("Beta: 0.01 in the checkpoint, 0.5 now", beta.Message);
        Assert.Contains(path, beta.Message);
        Assert.DoesNotContain('\n', beta.Message);
        var k = Assert.Throws<DataException>(() => new VibTrainer(config with { Bottleneck = 8 }, ResumeData, dir).Resume());
        Assert.Contains("Bottleneck: 4 in the checkpoint, 8 now", k.Message);
        Assert.Equal(1, new VibTrainer(config with { Epochs = 5 }, ResumeData, dir).Resume());

        // What the old VIB checkpoint wrote: model/polyak/adam tensors, epochs and RNG in the metadata, no "format" entry.
        var old = new VibTrainer(config, ResumeData);
        var tensors = old.Network.StateDict().ToDictionary(kv => "model." + kv.Key, kv => kv.Value);
        SafeTensors.Save(path, tensors, new Dictionary<string, string> { ["epochs"] = "1", ["rng"] = "1,2,3,4", ["polyak_updates"] = "4" });
        var format = Assert.Throws<DataException>(() => new VibTrainer(config, ResumeData, dir).Resume());
        Assert.Contains("older or foreign format", format.Message);
        Assert.DoesNotContain('\n', format.Message);

        var none = Assert.Throws<DataException>(() => new VibTrainer(config, ResumeData, TempDir()).Resume());
        Assert.Contains("no checkpoint to resume from", none.Message);
    }

    [Fact]
    public void EvaluationRunsInEvaluationModeWhileStepsUseDropout()
    {
        var data = Synthetic.Data();
        var config = Tiny(ModelKind.Dropout) with { DropoutRate = 0.5 };
        // Same seed, same weights: with dropout off in evaluation the two kinds evaluate identically.
        var dropout = new VibTrainer(config, data);
        var plain = new VibTrainer(config with { Kind = ModelKind.Deterministic }, data);
        Assert.Equal(plain.Evaluate(data.Test), dropout.Evaluate(data.Test));

        // Training steps draw masks: two steps at a negligible rate on one batch see different losses.
        var slow = new VibTrainer(config with { LearningRate = 1e-12 }, data);
        var x = data.Train.Images.Slice(0, 0, 40).Detach();
        var y = data.Train.Labels[..40];
        Assert.NotEqual(slow.Step(x, y), slow.Step(x, y), 6);
        var slowPlain = new VibTrainer(config with { Kind = ModelKind.Deterministic, LearningRate = 1e-12 }, data);
        Assert.Equal(slowPlain.Step(x, y), slowPlain.Step(x, y), 6);

        // The trainer's per-epoch evaluation (averaged weights, evaluation mode) is repeatable afterwards.
        var trained = new VibTrainer(config with { Epochs = 2 }, data);
        trained.Train();
        var once = trained.Evaluate(data.Test);
        Assert.Equal(once, trained.Evaluate(data.Test));
        var record = trained.Results.Epochs[^1];
        Assert.Equal((record.TestAcc1, record.IzyBits), (once.Accuracy1, once.IzyBits));
        Assert.True(double.IsNaN(record.IzxBits));
    }

    [Fact]
    public void PolyakZeroEvaluatesTheCurrentWeightsAndLeavesTrainingAlone()
    {
        var data = Synthetic.Data();
        var config = Tiny(ModelKind.Deterministic) with { Polyak = 0.9 };
        var averaged = new VibTrainer(config, data);
        var off = new VibTrainer(config with { Polyak = 0 }, data);
        var x = data.Train.Images.Slice(0, 0, 40).Detach();
        var y = data.Train.Labels[..40];
        // The first update of an average copies the weights, so after one step both evaluate the same weights.
        Assert.Equal(averaged.Step(x, y), off.Step(x, y));
        Assert.Equal(averaged.Evaluate(data.Test), off.Evaluate(data.Test));
        for (int i = 0; i < 3; i++) Assert.Equal(averaged.Step(x, y), off.Step(x, y));
        // Averaging never touches the trained weights ...
        var a = averaged.Network.Parameters().ToArray();
        var o = off.Network.Parameters().ToArray();
        for (int i = 0; i < a.Length; i++) Assert.True(a[i].Values.SequenceEqual(o[i].Values), $"parameter {i} differs");
        // ... but after four steps the average (0.9 of the old weights) evaluates differently from the current weights.
        Assert.NotEqual(averaged.Evaluate(data.Test).IzyBits, off.Evaluate(data.Test).IzyBits);

        // With averaging off no average is kept: the checkpoint holds none.
        string withAverage = TempDir(), without = TempDir();
        new VibTrainer(config, data, withAverage).Train();
        new VibTrainer(config with { Polyak = 0 }, data, without).Train();
        static bool HasAverage(string dir) => SafeTensors.Load(Path.Combine(dir, "checkpoint.safetensors")).Keys.Any(k => k.StartsWith("average.", StringComparison.Ordinal));
        Assert.True(HasAverage(withAverage));
        Assert.False(HasAverage(without));
    }

    [Fact]
    public void ADivergingRunStopsNamingTheStepAndEpoch()
    {
        var dir = TempDir();
        var trainer = new VibTrainer(Tiny(ModelKind.Deterministic) with { LearningRate = 1e30 }, ResumeData, dir);
        var e = Assert.Throws<DataException>(() => trainer.Train());
        Assert.Matches(@"at step \d+ \(epoch 1\)", e.Message);
        Assert.DoesNotContain('\n', e.Message);
        Assert.Empty(trainer.Results.Epochs);
        Assert.False(File.Exists(Path.Combine(dir, "checkpoint.safetensors")), "no checkpoint of the diverged state");
    }
}
