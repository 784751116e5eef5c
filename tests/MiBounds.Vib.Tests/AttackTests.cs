using MiBounds.Tensors;
using MiBounds.Vib;
using MiBounds.Vib.Data;
using MiBounds.Vib.Models;
using MiBounds.Vib.Training;
using MiBounds.Vib.Attacks;

namespace MiBounds.Vib.Tests;

public class AttackTests
{
    private static (VibTrainer Trainer, ImageDataset Test) TrainedTinyModel(ModelKind kind)
    {
        var config = new TrainConfig { Kind = kind, Bottleneck = 4, Hidden = 32, BatchSize = 20, LearningRate = 3e-3, Polyak = 0.5, TrainEvalCount = 0, Seed = 2, Epochs = 4 };
        var trainer = new VibTrainer(config, Synthetic.Data(train: 120, test: 60));
        trainer.Train();
        return (trainer, trainer.Data.Test);
    }

    [Theory]
    [InlineData(ModelKind.Deterministic)]
    [InlineData(ModelKind.Vib)]
    public void AttacksReduceAccuracy(ModelKind kind)
    {
        var (trainer, test) = TrainedTinyModel(kind);
        var model = trainer.Predictor(new Rng(1));
        double clean = AdversarialAttacks.Accuracy(model, test.Images, test.Labels);
        double fgsm = AdversarialAttacks.AdversarialAccuracy(model, test.Images, test.Labels, AttackSpec.Fgsm(0.4), new Rng(2), batch: 30);
        double pgd = AdversarialAttacks.AdversarialAccuracy(model, test.Images, test.Labels, AttackSpec.Pgd(0.4, steps: 20, stepSize: 0.05), new Rng(3), batch: 30);
        Assert.True(clean > 0.9, $"clean accuracy {clean}");
        Assert.True(fgsm < clean - 0.3, $"FGSM: {fgsm} vs clean {clean}");
        Assert.True(pgd <= fgsm + 0.05, $"PGD {pgd} should be at least about as strong as FGSM {fgsm}");
        Assert.Equal(clean, AdversarialAttacks.AdversarialAccuracy(model, test.Images, test.Labels, AttackSpec.Pgd(0), new Rng(4)), 6);
    }

    [Fact]
    public void PerturbationsStayInTheEpsilonBallAndThePixelRange()
    {
        var (trainer, test) = TrainedTinyModel(ModelKind.Deterministic);
        var model = trainer.Predictor(new Rng(1));
        foreach (var spec in new[] { AttackSpec.Fgsm(0.1), AttackSpec.Pgd(0.1, steps: 5, stepSize: 0.03) })
        {
            var adv = AdversarialAttacks.Perturb(model, test.Images, test.Labels, spec, new Rng(5));
            var a = adv.Values; var x = test.Images.Values;
            float eps = 0.2f; // 0.1 in [0,1] pixel units is 0.2 on the [−1, 1] scale
            double maxMove = 0;
            for (int i = 0; i < a.Length; i++)
            {
                Assert.InRange(a[i], -1f, 1f);
                Assert.True(Math.Abs(a[i] - x[i]) <= eps + 1e-6, $"{spec.Name}: moved {a[i] - x[i]} at {i}");
                maxMove = Math.Max(maxMove, Math.Abs(a[i] - x[i]));
            }
            Assert.True(maxMove > 0.9 * eps, $"{spec.Name} barely moved ({maxMove})");
        }
    }

    [Fact]
    public void FgsmStepsAlongTheGradientSign()
    {
        // A fixed linear classifier: the loss gradient's sign is known, so FGSM's output is too.
        var w = Tensor.FromArray([1f, -1f, 0f, 0f, -1f, 1f], 2, 3);
        Func<Tensor, Tensor> model = x => { var l = Tensor.MatMul(x, w, transB: true); return l - l.LogSumExp(1, keepDim: true); };
        var images = Tensor.FromArray([0.2f, 0.1f, 0.0f], 1, 3);
        var adv = AdversarialAttacks.Perturb(model, images, [0], AttackSpec.Fgsm(0.05), new Rng(1));
        // label 0: ∂loss/∂x = p1·(W1 − W0) = p1·[−1, 0, 1], so x0 goes down by 2ε = 0.1, x1 (zero gradient) stays, x2 goes up.
        Assert.Equal([0.1f, 0.1f, 0.1f], adv.ToArray().Select(v => MathF.Round(v, 5)).ToArray());
    }
}
