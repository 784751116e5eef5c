using MiBounds.Tensors;

namespace MiBounds.Tensors.Tests;

public class GroupedMmdTests
{
    /// <summary>The value in double straight from the definition: C·(mean of G over same-group pairs − mean of G).</summary>
    private static double Reference(float[][] x, int groups, double tau)
    {
        int m = x.Length, d = x[0].Length;
        double same = 0, all = 0;
        for (int a = 0; a < m; a++)
            for (int b = 0; b < m; b++)
            {
                double s = 0;
                for (int u = 0; u < d; u++) s += ((double)x[a][u] - x[b][u]) * ((double)x[a][u] - x[b][u]);
                double g = Math.Exp(-s / tau);
                all += g;
                if (a % groups == b % groups) same += g;
            }
        return groups * (same / ((double)m * m / groups) - all / ((double)m * m));
    }

    [Theory]
    [InlineData(1, 12, 3, 5)]
    [InlineData(2, 40, 10, 16)]
    [InlineData(3, 21, 7, 33)]
    public void ValueMatchesTheDefinitionAndGradientMatchesFiniteDifferences(int seed, int m, int groups, int d)
    {
        var x = Tensor.RandomNormal(new Rng((ulong)seed), [m, d]);
        double tau = 2.0 * d;
        Assert.Equal(Reference(x.ToRows(), groups, tau), Tensor.GroupedGaussianMmd(x, groups, tau).Value.Item(), 1e-5);
        // Scaled up so the gradients are of order 1 and the check's absolute floor does not hide a relative error.
        GradCheck.Check(xs => Tensor.GroupedGaussianMmd(xs[0], groups, tau).Value * 1000f, [x], eps: 1e-2, tol: 5e-3);
    }

    [Fact]
    public void TheMedianBandwidthIsTheSortedOffDiagonalMiddleAndTheGradientTreatsItAsConstant()
    {
        int m = 30, groups = 5, d = 8;
        var x = Tensor.RandomNormal(new Rng(4), [m, d]);
        var rows = x.ToRows();
        var sq = new List<float>();
        for (int a = 0; a < m; a++)
            for (int b = 0; b < m; b++)
                if (a != b)
                {
                    double s = 0;
                    for (int u = 0; u < d; u++) s += ((double)rows[a][u] - rows[b][u]) * ((double)rows[a][u] - rows[b][u]);
                    sq.Add((float)s);
                }
        sq.Sort();
        var (value, tau) = Tensor.GroupedGaussianMmd(x, groups);
        Assert.Equal(sq[sq.Count / 2], tau, 1e-4 * sq[sq.Count / 2]);
        Assert.Equal(Reference(rows, groups, tau), value.Item(), 1e-5);
        // The median-bandwidth gradient is the fixed-bandwidth gradient at the same τ.
        x.RequiresGrad = true;
        Tensor.GroupedGaussianMmd(x, groups).Value.Backward();
        var median = x.Grad!.ToArray();
        x.Grad = null;
        Tensor.GroupedGaussianMmd(x, groups, tau).Value.Backward();
        Assert.Equal(x.Grad!.ToArray(), median);
    }

    [Fact]
    public void GradientAgreesWithTheComposedOpsOnTheHypothesisShape()
    {
        // The composition the op replaces: relu(‖a‖² + ‖b‖² − 2·a·b), exp, same-group mean minus mean.
        int m = 200, groups = 10, d = 64;
        var x = Tensor.RandomNormal(new Rng(9), [m, d]).Relu();
        x.RequiresGrad = true;
        var (fused, tau) = Tensor.GroupedGaussianMmd(x, groups);
        fused.Backward();
        var fusedGrad = x.Grad!.ToArray();
        x.Grad = null;
        var norms = x.Square().Sum(1, keepDim: true);
        var squared = (norms + norms.Reshape(1, m) - 2f * Tensor.MatMul(x, x, transB: true)).Relu();
        var mask = new bool[m * m];
        for (int a = 0; a < m; a++) for (int b = a % groups; b < m; b += groups) mask[a * m + b] = true;
        var gram = (squared * (float)(-1 / tau)).Exp();
        var composed = (gram.MaskedMean(mask) - gram.Mean()) * groups;
        composed.Backward();
        Assert.Equal(composed.Item(), fused.Item(), 1e-5);
        var composedGrad = x.Grad!.ToArray();
        double scale = composedGrad.Max(Math.Abs);
        for (int i = 0; i < composedGrad.Length; i++) Assert.True(Math.Abs(composedGrad[i] - fusedGrad[i]) <= 1e-4 * scale, $"element {i}: {fusedGrad[i]} vs {composedGrad[i]}");
    }

    [Fact]
    public void SameValuesAtAnyThreadCountAndNothingAllocatedWarmInAWorkspace()
    {
        var x = Tensor.RandomNormal(new Rng(5), [300, 64]);
        x.RequiresGrad = true;
        float[] Run(int threads)
        {
            using var _ = Engine.LimitThreads(threads);
            x.Grad = null;
            var (v, _) = Tensor.GroupedGaussianMmd(x, 10);
            v.Backward();
            return [v.Item(), .. x.Grad!.ToArray()];
        }
        var one = Run(1);
        Assert.Equal(one, Run(2));
        var ws = new TensorWorkspace();
        long bytes = 0;
        for (int rep = 0; rep < 4; rep++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            using (ws.Enter()) Tensor.GroupedGaussianMmd(x, 10).Value.Backward();
            bytes = GC.GetAllocatedBytesForCurrentThread() - before;
        }
        Assert.True(bytes < 1024, $"{bytes} bytes allocated");
        Assert.Equal(0, ws.BuffersInUse);
    }

    [Fact]
    public void IdenticalGroupsGiveZeroAndBadInputIsRefused()
    {
        var rows = Tensor.RandomNormal(new Rng(6), [4, 3]);
        var same = Tensor.Zeros(12, 3);
        for (int i = 0; i < 4; i++) for (int k = 0; k < 3; k++) for (int u = 0; u < 3; u++) same[i * 3 + k, u] = rows[i, u];
        Assert.Equal(0, Tensor.GroupedGaussianMmd(same, 3, 1.5).Value.Item(), 1e-6);
        Assert.Throws<ArgumentException>(() => Tensor.GroupedGaussianMmd(Tensor.Zeros(10, 2), 3));
        Assert.Throws<ArgumentException>(() => Tensor.GroupedGaussianMmd(Tensor.Zeros(6), 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => Tensor.GroupedGaussianMmd(Tensor.Zeros(6, 2), 3, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => Tensor.GroupedGaussianMmd(Tensor.Zeros(6, 2), 3, double.NaN));
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 1000)]
    [InlineData(3, 4097)]
    public void RadixSelectFindsWhatSortingPutsAtEachIndex(int seed, int length)
    {
        var rng = new Rng((ulong)seed);
        // Few distinct values (zeros from the clamp, repeats), values sharing a high digit, and spread ones.
        var values = Enumerable.Range(0, length).Select(i => i % 3 == 0 ? 0u : i % 5 == 0 ? 0x1234_0000u + (uint)(i % 7) : (uint)(rng.NextDouble() * uint.MaxValue)).ToArray();
        var sorted = values.Order().ToArray();
        foreach (int k in new[] { 0, length / 2, length - 1, length / 3 }.Distinct())
            Assert.Equal(sorted[k], Tensor.RadixSelect(values, k));
        Assert.Throws<ArgumentOutOfRangeException>(() => Tensor.RadixSelect(values, length));
    }

    [Fact]
    public void UpperTriangleMedianIsTheMiddleOfAllOffDiagonalEntries()
    {
        var rng = new Rng(12);
        foreach (int m in new[] { 2, 3, 17, 64 })
        {
            var a = new float[m * m];
            for (int i = 0; i < m; i++)
                for (int j = i + 1; j < m; j++)
                {
                    // Ties and signed zeros as the clamp leaves them.
                    float v = (i + j) % 4 == 0 ? (j % 2 == 0 ? 0f : -0f) : (i + j) % 4 == 1 ? 2.5f : (float)rng.NextDouble() * 10;
                    a[i * m + j] = v; a[j * m + i] = v;
                }
            var offDiagonal = Enumerable.Range(0, m * m).Where(k => k / m != k % m).Select(k => Math.Abs(a[k])).Order().ToArray();
            Assert.Equal(offDiagonal[offDiagonal.Length / 2], Tensor.UpperTriangleMedian(a, m));
        }
    }
}
