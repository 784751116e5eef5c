using MiBounds.Tensors;
using MiBounds.Tensors.Optim;
using Xunit;

namespace MiBounds.Tensors.Tests;

public sealed class ParameterBlocksTests
{
    // Large enough to be split into blocks and run on several threads; one size is no multiple of the block or of 16.
    private static Tensor[] Parameters(int seed) =>
    [
        Tensor.Parameter(Tensor.RandomNormal(new Rng((ulong)seed), [300_007]), "w0"),
        Tensor.Parameter(Tensor.RandomNormal(new Rng((ulong)seed + 1), [5, 7]), "w1"),
        Tensor.Parameter(Tensor.RandomNormal(new Rng((ulong)seed + 2), [2, 70_000]), "w2"),
    ];

    private static float[][] Train(int threads, bool average)
    {
        var ps = Parameters(4);
        var adam = new Adam(ps, 1e-2f, weightDecay: 0.1f);
        var polyak = new ParameterAverage(ps, 0.9f, warmup: true);
        var rng = new Rng(8);
        using (Engine.LimitThreads(threads))
            for (int step = 0; step < 3; step++)
            {
                foreach (var p in ps) p.Grad = Tensor.RandomNormal(rng, p.Shape);
                adam.Step();
                polyak.Update();
            }
        return (average ? polyak.Averages : ps).Select(p => p.Values.ToArray()).ToArray();
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void ZeroGradClearsEveryBlockOfEveryGradientAndSkipsMissingOnes(int threads)
    {
        var ps = Parameters(5);
        var adam = new Adam(ps, 1e-2f);
        var rng = new Rng(9);
        ps[0].Grad = Tensor.RandomNormal(rng, ps[0].Shape);
        ps[2].Grad = Tensor.RandomNormal(rng, ps[2].Shape); // ps[1] has no gradient
        using (Engine.LimitThreads(threads)) adam.ZeroGrad();
        Assert.All(ps[0].Grad!.ToArray(), v => Assert.Equal(0f, v));
        Assert.All(ps[2].Grad!.ToArray(), v => Assert.Equal(0f, v));
        Assert.Null(ps[1].Grad);
    }

    [Fact]
    public void AdamAndPolyakGiveTheSameValuesOnOneThreadAndOnSeveral()
    {
        Assert.Equal(Train(1, average: false), Train(Environment.ProcessorCount + 1, average: false));
        Assert.Equal(Train(1, average: true), Train(Environment.ProcessorCount + 1, average: true));
    }

    [Fact]
    public void TheBlockedAdamStepIsTheTextbookUpdate()
    {
        var ps = Parameters(5);
        var w0 = ps.Select(p => p.Values.ToArray()).ToArray();
        var grads = ps.Select((p, i) => Tensor.RandomNormal(new Rng(20 + (ulong)i), p.Shape)).ToArray();
        for (int i = 0; i < ps.Length; i++) ps[i].Grad = grads[i];
        const float lr = 1e-2f, b1 = 0.9f, b2 = 0.999f, eps = 1e-8f;
        new Adam(ps, lr, b1, b2, eps).Step();
        for (int i = 0; i < ps.Length; i++)
        {
            var g = grads[i].Values;
            for (int j = 0; j < g.Length; j += 997) // first step: m̂ = g, v̂ = g², so w −= lr·g / (|g| + ε) up to rounding
            {
                double expected = w0[i][j] - lr * g[j] / (Math.Abs(g[j]) + eps);
                Assert.Equal(expected, ps[i].Values[j], 1e-5);
            }
        }
    }
}
