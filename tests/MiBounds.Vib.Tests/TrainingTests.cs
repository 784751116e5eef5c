using MiBounds.Tensors;
using MiBounds.Vib;
using MiBounds.Vib.Models;
using MiBounds.Vib.Training;
using MiBounds.Vib.Reports;

namespace MiBounds.Vib.Tests;

public class TrainingTests
{
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
    public void LossFallsOverAFewSteps(ModelKind kind)
    {
        var data = Synthetic.Data();
        var trainer = new VibTrainer(Tiny(kind), data);
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
        var trainer = new VibTrainer(Tiny(ModelKind.Vib) with { Polyak = 0.5 }, data);
        for (int e = 0; e < 3; e++) trainer.TrainEpoch();
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
        var dir = Path.Combine(Path.GetTempPath(), "vibresume-" + Guid.NewGuid().ToString("N"));
        var config = Tiny(ModelKind.Vib);
        var straight = new VibTrainer(config, data);
        straight.TrainEpoch(); straight.TrainEpoch();

        var first = new VibTrainer(config, data, dir);
        first.TrainEpoch();
        var second = new VibTrainer(config, data, dir);
        Assert.Equal(1, second.Resume());
        second.TrainEpoch();
        Assert.Equal(straight.Network.Parameters().First().ToArray(), second.Network.Parameters().First().ToArray());
        Assert.Equal(2, RunResults.Load(dir).Epochs.Count);
        Directory.Delete(dir, true);
    }
}
