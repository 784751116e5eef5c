using MiBounds.Tensors;
using MiBounds.Vib.Attacks;

namespace MiBounds.Vib.Tests;

public class CarliniWagnerTests
{
    // A linear classifier on 2-D points: logits (x₁, −x₁, x₂ − 0.9), so class 0 wins for x₁ > 0 and the boundary to
    // class 1 is the line x₁ = 0: the least L2 move of (a, b) across it is a (for κ = 0), a + κ/2 with confidence κ.
    private static Tensor Model(Tensor x)
    {
        var w = Tensor.FromArray([1f, -1f, 0f, 0f, 0f, 1f], 2, 3);
        return (Tensor.MatMul(x, w) + Tensor.FromArray([0f, 0f, -0.9f], 1, 3)).LogSoftmax(1);
    }

    private static readonly CarliniWagnerOptions Fast = new() { Iterations = 300, BinarySearchSteps = 8, InitialC = 0.1, LearningRate = 0.01 };

    [Fact]
    public void TargetedAttackFindsTheAnalyticMinimalPerturbation()
    {
        var x = Tensor.FromArray([0.3f, 0.2f, 0.5f, -0.4f], 2, 2);
        var result = CarliniWagner.Attack(Model, x, [0, 0], [1, 1], Fast);
        Assert.All(result.Success, Assert.True);
        Assert.InRange(result.L2[0], 0.3, 0.3 * 1.03);
        Assert.InRange(result.L2[1], 0.5, 0.5 * 1.03);
        var adv = result.Adversarial.ToRows();
        Assert.All(adv, r => Assert.InRange(r[0], -0.02f, 0f));
        Assert.Equal(0.2f, adv[0][1], 2); // the optimum moves only along x₁
        Assert.Equal([1, 1], Model(result.Adversarial).ArgMaxRows());
    }

    [Fact]
    public void ConfidenceMovesTheExampleFurther()
    {
        var x = Tensor.FromArray([0.3f, 0.2f], 1, 2);
        var result = CarliniWagner.Attack(Model, x, [0], [1], Fast with { Confidence = 0.4 });
        Assert.True(result.Success[0]);
        Assert.InRange(result.L2[0], 0.5, 0.5 * 1.03); // x₁ ≤ −κ/2 = −0.2
    }

    [Fact]
    public void UntargetedAttackCrossesTheNearestBoundaryAndStaysInRange()
    {
        // (0.3, 0.75): class 0 (logit 0.3) beats class 2 (−0.15) by 0.45 and class 1 by 0.6; moving toward class 2 along
        // (−1, 1)/√2 closes the gap at rate √2: 0.45/√2 ≈ 0.318 > 0.3, so the nearest boundary is still class 1's.
        var x = Tensor.FromArray([0.3f, 0.75f], 1, 2);
        var result = CarliniWagner.Attack(Model, x, [0], null, Fast);
        Assert.True(result.Success[0]);
        Assert.InRange(result.L2[0], 0.3, 0.3 * 1.04);
        Assert.NotEqual(0, Model(result.Adversarial).ArgMaxRows()[0]);
    }

    [Fact]
    public void AnUnreachableTargetFailsAndLeavesTheCleanImage()
    {
        // Class 1 needs x₁ < 0 but the pixel range is [0.25, 1]: no example exists.
        var x = Tensor.FromArray([0.5f, 0.5f], 1, 2);
        var result = CarliniWagner.Attack(Model, x, [0], [1], Fast with { PixelMin = 0.25f, PixelMax = 1f, BinarySearchSteps = 3, Iterations = 100 });
        Assert.False(result.Success[0]);
        Assert.True(double.IsNaN(result.L2[0]));
        Assert.Equal(x.ToArray(), result.Adversarial.ToArray());
        Assert.Equal(1.0, CarliniWagner.AdversarialAccuracy(Model, x, [0], [1], Fast with { PixelMin = 0.25f, PixelMax = 1f, BinarySearchSteps = 2, Iterations = 50 }));
    }

    [Fact]
    public void RandomTargetsAreNeverTheLabel()
    {
        var labels = Enumerable.Range(0, 200).Select(i => i % 10).ToArray();
        var targets = CarliniWagner.RandomTargets(labels, 10, new Rng(3));
        Assert.All(labels.Zip(targets), p => Assert.NotEqual(p.First, p.Second));
        Assert.All(targets, t => Assert.InRange(t, 0, 9));
        Assert.Equal(10, targets.Distinct().Count());
    }

    [Fact]
    public void PerturbationNormsOfAKnownDifference()
    {
        // On the [−1, 1] scale: moves of 0.4, −0.2, 0 and 0.001 are 0.2, 0.1, 0 and 0.0005 in [0, 1] units.
        var n = PerturbationNorms.Of([0f, 0f, 0f, 0f], [0.4f, -0.2f, 0f, 0.001f]);
        Assert.Equal(2, n.L0); // 0.0005 is under half a grey level
        Assert.Equal(0.3005, n.L1, 6);
        Assert.Equal(Math.Sqrt(0.04 + 0.01 + 0.0005 * 0.0005), n.L2, 6);
        Assert.Equal(0.2, n.LInf, 6);
        var rel = n.RelativeTo(new PerturbationNorms(1, 0.1, 0.5, 0.4));
        Assert.Equal(2, rel.L0); Assert.Equal(0.5, rel.LInf, 6);
    }
}
