using MiBounds.Tensors;
using MiBounds.Vib.Attacks;
using MiBounds.Vib.Hypothesis;
using MiBounds.Vib.Reproductions;

namespace MiBounds.Vib.Tests;

public class GuessFirstTests
{
    private static HypothesisTrainer Trained(string objective, int epochs = 6, double lr = 3e-3)
    {
        var t = new HypothesisTrainer(new HypothesisConfig { Objective = objective, Epochs = epochs, BatchSize = 20, LearningRate = lr, Seed = 3 }, Synthetic.Dataset(120, side: 12, seed: 1));
        t.Train(Synthetic.Dataset(60, side: 12, seed: 2));
        return t;
    }

    [Theory]
    [InlineData("vib")]
    [InlineData("lenet")]
    public void NewObjectivesLearnTheSyntheticClasses(string objective)
    {
        var t = Trained(objective);
        Assert.True(t.Epochs[^1].TestAccuracy > 0.9, $"{objective}: {t.Epochs[^1].TestAccuracy}");
        if (objective == "vib") Assert.True(t.Epochs[^1].Regularizer > 0, "the KL is logged");
    }

    [Fact]
    public void VibConfigWithoutBetaKeepsTheOldJson()
    {
        Assert.DoesNotContain("Beta", new HypothesisConfig().ToJson());
        Assert.Contains("\"Beta\": 0.01", new HypothesisConfig { Objective = "vib", Beta = 0.01 }.ToJson());
    }

    [Fact]
    public void GridAttacksMatchTheSpecsTheyWrapAndBlackBoxOnItselfIsWhiteBox()
    {
        var t = Trained("cnn", epochs: 1, lr: 1e-5); // barely trained: the loss is not saturated, so gradients are informative
        var test = Synthetic.Dataset(40, side: 12, seed: 2);
        Func<Tensor, Tensor> f = t.Classifier.LogProbabilities;
        t.Module.Eval();
        var fgsm = AttackCatalog.Create("fgsm")!;
        Assert.Equal(AdversarialAttacks.Perturb(f, test.Images, test.Labels, AttackSpec.Fgsm(0.2), new Rng(1)).ToArray(),
            fgsm.Perturb(f, test.Images, test.Labels, 0.2, new Rng(1)).ToArray());
        var pgd = (PgdAttack)AttackCatalog.Create("pgd")!;
        Assert.Equal(AdversarialAttacks.Perturb(f, test.Images, test.Labels, AttackSpec.Pgd(0.3, 40, 0.01), new Rng(4)).ToArray(),
            pgd.Perturb(f, test.Images, test.Labels, 0.3, new Rng(4)).ToArray()); // Foolbox's rule: 0.01 at ε = 0.3
        var adv = AttackCatalog.Craft(fgsm, f, test.Images, test.Labels, 0.6, new Rng(2), batch: 15);
        double black = AdversarialAttacks.Accuracy(f, adv, test.Labels);
        double white = AttackCatalog.Accuracy(fgsm, f, f, test.Images, test.Labels, 0.6, new Rng(2), batch: 15);
        Assert.Equal(white, black);
        // The synthetic classes are too far apart to flip, but the attack must raise the loss.
        float Loss(Tensor x) { using (Tensor.NoGrad()) return -f(x).PickPerRow(test.Labels).Mean().Item(); }
        Assert.True(Loss(adv) > Loss(test.Images) + 0.01f, $"loss {Loss(adv)} vs clean {Loss(test.Images)}");
        // The perturbation stays inside the L∞ ball (2ε in the [−1, 1] pixel scale).
        var d = adv.ToArray().Zip(test.Images.ToArray(), (a, b) => Math.Abs(a - b)).Max();
        Assert.True(d <= 1.2f + 1e-5f, $"max change {d}");
    }

    [Fact]
    public void TheCwCellKeepsOnlyAdversariesWithinItsL2Budget()
    {
        Assert.Null(AttackCatalog.Missing("cw"));
        var t = Trained("cnn", epochs: 1, lr: 1e-5);
        var test = Synthetic.Dataset(12, side: 12, seed: 2);
        Func<Tensor, Tensor> f = t.Classifier.LogProbabilities;
        t.Module.Eval();
        var cw = (CarliniWagnerAttack)AttackCatalog.Create("cw")!;
        var full = CarliniWagner.Attack(f, test.Images, test.Labels, null, cw.Options);
        int d = test.Images.Dim(1);
        foreach (double size in new[] { 0.0, 0.5, 100.0 })
        {
            var adv = cw.Perturb(f, test.Images, test.Labels, size, new Rng(1));
            for (int i = 0; i < test.Labels.Length; i++)
            {
                var row = adv.Values.Slice(i * d, d).ToArray();
                bool kept = full.Success[i] && full.L2[i] / 2 <= size; // pixels span [−1, 1]: L2 in [0, 1] units is half
                Assert.Equal(kept ? full.Adversarial.Values.Slice(i * d, d).ToArray() : test.Images.Values.Slice(i * d, d).ToArray(), row);
            }
        }
        Assert.Contains(full.Success, s => s); // with no budget (size 100) the untrained model is fooled somewhere
        Assert.Equal(1, cw.AttacksRun); // the three budgets shared one C&W run (a fresh delegate of the same method included)
        cw.Perturb(t.Classifier.LogProbabilities, test.Images, test.Labels, 1.0, new Rng(1));
        Assert.Equal(1, cw.AttacksRun);
        var other = test.Images.Clone();
        other.Data[0] += 0.01f; // other pixels: a new attack
        cw.Perturb(f, other, test.Labels, 1.0, new Rng(1));
        Assert.Equal(2, cw.AttacksRun);
    }

    [Fact]
    public void SmallRunFillsTheGridAndARerunWithMoreEpochsRemeasures()
    {
        var dir = Path.Combine(Path.GetTempPath(), "gf-" + Guid.NewGuid().ToString("N"));
        try
        {
            var data = new Data.ImageData(Synthetic.Dataset(40, side: 12, seed: 1), Synthetic.Dataset(20, side: 12, seed: 2), "synthetic");
            var o = new GuessFirstOptions { Models = ["cnn", "c-dv"], Epochs = 1, SubstituteEpochs = 1, BatchSize = 20, AttackCount = 10, FgsmSizes = [0.3], PgdSizes = [0.3], Attacks = ["fgsm", "pgd"] };
            var r = GuessFirst.Run(o, data, dir, new GuessFirstResults(), _ => { }, TextWriter.Null, default);
            Assert.Equal(2 * 2 * 2, r.Cells.Count); // 2 models × (fgsm, pgd) × (white, black); C&W not asked for
            Assert.DoesNotContain(r.Cells, c => c.Attack == "cw");
            Assert.Equal(2, r.Clean.Count);
            var again = GuessFirst.Run(o, data, dir, r, _ => { }, TextWriter.Null, default);
            Assert.Equal(8, again.Cells.Count); // nothing re-measured
            var more = GuessFirst.Run(o with { Models = ["cnn"], Epochs = 2 }, data, dir, again, _ => { }, TextWriter.Null, default);
            Assert.Equal(2, more.TrainedEpochs["CNN"]);
            Assert.Equal(2, more.Epochs.Count(e => e.Model == "CNN"));
            Assert.Equal(4, more.Cells.Count(c => c.Model == "CNN")); // re-measured on the longer-trained model
        }
        finally { if (Directory.Exists(dir)) Directory.Delete(dir, true); }
    }
}
