using MiBounds.Tensors;
using MiBounds.Tensors.Nn;
using MiBounds.Tensors.Optim;

namespace MiBounds.Tensors.Tests;

public class CoreTests
{
    private static Tensor R(int seed, params int[] shape) => Tensor.RandomNormal(new Rng((ulong)seed), shape);

    [Fact]
    public void MatMulAllTransposeCombinationsMatchFiniteDifferences()
    {
        foreach (bool ta in new[] { false, true })
            foreach (bool tb in new[] { false, true })
            {
                var a = ta ? R(1, 5, 3) : R(1, 3, 5);
                var b = tb ? R(2, 4, 5) : R(2, 5, 4);
                GradCheck.Check(x => Tensor.MatMul(x[0], x[1], ta, tb), [a, b]);
            }
    }

    [Fact]
    public void MatMulMatchesNaiveProduct()
    {
        var a = R(3, 37, 70); var b = R(4, 70, 41);
        var c = Tensor.MatMul(a, b);
        for (int i = 0; i < 37; i++)
            for (int j = 0; j < 41; j++)
            {
                double s = 0;
                for (int k = 0; k < 70; k++) s += a[i, k] * b[k, j];
                Assert.True(Math.Abs(s - c[i, j]) < 1e-3, $"({i},{j}): {s} vs {c[i, j]}");
            }
    }

    [Fact]
    public void BroadcastBinaryOpsMatchFiniteDifferences()
    {
        GradCheck.Check(x => x[0] * x[1] + x[0] / (x[1].Square() + 1f), [R(1, 4, 3), R(2, 1, 3)]);
        GradCheck.Check(x => x[0] - x[1], [R(1, 4, 3), R(2, 4, 1)]);
        GradCheck.Check(x => x[0] * x[1], [R(1, 4, 3), R(2, 3)]);
        GradCheck.Check(x => 2.5f / (x[0].Square() + 1f), [R(3, 4, 3)]);
        // c / a gives exactly the values of a tensor filled with c divided by a (the VIM kernel relies on it).
        var a = R(4, 5, 2).Square() + 0.5f;
        Assert.Equal((Tensor.Full(2.5f, 1, 1) / a).ToArray(), (2.5f / a).ToArray());
    }

    [Fact]
    public void SlicesPassGradientsBackIncludingEmptyOnes()
    {
        GradCheck.Check(x => x[0].Slice(1, 1, 2), [R(5, 3, 4)]);
        var a = Tensor.Parameter(R(6, 3, 4), "a");
        var loss = a.Slice(1, 0, 2).Sum() + a.Slice(1, 2, 0).Sum(); // an empty slice contributes nothing
        loss.Backward();
        var grad = a.Grad!.ToArray();
        for (int i = 0; i < grad.Length; i++) Assert.Equal(i % 4 < 2 ? 1f : 0f, grad[i]);
        // No rows at all (outer = 0): the backward has nothing to pass and must not divide by the empty size.
        var none = Tensor.Parameter(Tensor.Zeros(0, 4), "none");
        (none.Slice(1, 1, 2).Sum() + a.Sum()).Backward();
        Assert.Equal(0, none.Grad?.Size ?? 0);
    }

    [Fact]
    public void ReductionsMatchFiniteDifferences()
    {
        GradCheck.Check(x => x[0].LogSumExp(1), [R(1, 4, 5)]);
        GradCheck.Check(x => x[0].LogSumExp(0, keepDim: true), [R(1, 4, 5)]);
        GradCheck.Check(x => x[0].Mean(1), [R(1, 2, 3, 4)]);
        GradCheck.Check(x => x[0].MaskedLogMeanExp(Tensor.OffDiagonalMask(4, 4)), [R(1, 4, 4)]);
        GradCheck.Check(x => x[0].Diagonal(), [R(1, 4, 4)]);
    }

    [Fact]
    public void MlpTrainedWithAdamFitsRegression()
    {
        var rng = new Rng(0);
        var x = Tensor.RandomNormal(rng, [128, 3]);
        var y = Tensor.Zeros(128, 1);
        for (int i = 0; i < 128; i++) y[i, 0] = MathF.Sin(x[i, 0]) + 0.5f * x[i, 1] * x[i, 2];
        var mlp = new Mlp(3, 32, 1, 2, rng);
        var opt = new Adam(mlp.Parameters(), 1e-2f);
        float first = 0, last = 0;
        for (int step = 0; step < 300; step++)
        {
            opt.ZeroGrad();
            var loss = (mlp.Forward(x) - y).Square().Mean();
            loss.Backward();
            opt.Step();
            if (step == 0) first = loss.Item();
            last = loss.Item();
        }
        Assert.True(last < first / 10, $"loss fell only from {first} to {last}");
    }
}
