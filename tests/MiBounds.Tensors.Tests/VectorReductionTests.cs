namespace MiBounds.Tensors.Tests;

/// <summary>
/// The vectorized reductions (log-sum-exp, masked sums and log-mean-exps, softplus, log-add-exp) against direct double-precision
/// evaluations, at lengths around the vector width, with extreme and non-finite values in masked-out entries.
/// </summary>
public class VectorReductionTests
{
    private static (float[] X, bool[] Mask) Data(int n, int seed, float scale)
    {
        var rng = new Rng((ulong)seed);
        var x = new float[n];
        var mask = new bool[n];
        for (int i = 0; i < n; i++) { x[i] = scale * (rng.NextFloat() - 0.5f); mask[i] = rng.NextFloat() < 0.6f; }
        mask[n / 2] = true;
        return (x, mask);
    }

    private static void Close(double expected, float actual, string what) =>
        Assert.True(Math.Abs(expected - actual) <= 2e-6 * Math.Max(1, Math.Abs(expected)), $"{what}: {actual} vs {expected}");

    [Theory]
    [InlineData(1, 4f)]
    [InlineData(7, 4f)]
    [InlineData(8, 40f)]
    [InlineData(19, 160f)]
    [InlineData(64, 4f)]
    [InlineData(1000, 200f)]
    public void MatchDirectDoubleEvaluation(int n, float scale)
    {
        var (xs, mask) = Data(n, n, scale);
        var x = Tensor.FromArray(xs);
        var kept = xs.Where((_, i) => mask[i]).Select(v => (double)v).ToArray();
        double m = kept.Max(), lse = m + Math.Log(kept.Sum(v => Math.Exp(v - m)));
        Close(kept.Sum(), x.MaskedSum(mask).Item(), "masked sum");
        Close(kept.Average(), x.MaskedMean(mask).Item(), "masked mean");
        Close(lse, x.MaskedLogSumExp(mask).Item(), "masked logsumexp");
        Close(lse - Math.Log(kept.Length), x.MaskedLogMeanExp(mask).Item(), "masked logmeanexp");
        double all = xs.Max(), lseAll = all + Math.Log(xs.Sum(v => Math.Exp(v - all)));
        Close(lseAll, x.LogSumExp().Item(), "logsumexp");
        var sp = x.Softplus();
        for (int i = 0; i < n; i++)
        {
            double v = xs[i], expected = Math.Max(v, 0) + Math.Log(1 + Math.Exp(-Math.Abs(v)));
            Assert.True(Math.Abs(expected - sp[i]) <= 2e-6 * Math.Max(1, Math.Abs(expected)), $"softplus({v}): {sp[i]} vs {expected}");
        }
        // Gradients: the masked log-sum-exp's is the softmax over the kept entries, zero elsewhere.
        x.RequiresGrad = true;
        x.MaskedLogSumExp(mask).Backward();
        for (int i = 0; i < n; i++)
        {
            double expected = mask[i] ? Math.Exp(xs[i] - lse) : 0;
            Assert.True(Math.Abs(expected - x.Grad![i]) <= 1e-6, $"gradient {i}: {x.Grad[i]} vs {expected}");
        }
    }

    [Fact]
    public void MaskedOutValuesNeverLeak()
    {
        var (xs, mask) = Data(29, 3, 2f);
        var clean = Tensor.FromArray(xs);
        var dirty = (float[])xs.Clone();
        for (int i = 0; i < xs.Length; i++) if (!mask[i]) dirty[i] = i % 3 == 0 ? float.NaN : i % 3 == 1 ? float.PositiveInfinity : float.NegativeInfinity;
        var d = Tensor.FromArray(dirty);
        d.RequiresGrad = true;
        Assert.Equal(clean.MaskedMean(mask).Item(), d.MaskedMean(mask).Item());
        Assert.Equal(clean.MaskedLogMeanExp(mask).Item(), d.MaskedLogMeanExp(mask).Item());
        (d.MaskedMean(mask) + d.MaskedLogSumExp(mask)).Backward();
        Assert.All(d.Grad!.ToArray(), g => Assert.True(float.IsFinite(g)));
        for (int i = 0; i < xs.Length; i++) if (!mask[i]) Assert.Equal(0f, d.Grad[i]);
    }

    [Fact]
    public void GradientsMatchFiniteDifferencesAcrossVectorTails()
    {
        var (_, mask) = Data(19, 5, 1f);
        GradCheck.Check(x => x[0].MaskedLogMeanExp(mask) + x[0].MaskedMean(mask) * 0.5f, [Tensor.RandomNormal(new Rng(6), [19])]);
        GradCheck.Check(x => x[0].LogSumExp(1), [Tensor.RandomNormal(new Rng(7), [3, 19], 0f, 3f)]);
        GradCheck.Check(x => x[0].Softplus(), [Tensor.RandomNormal(new Rng(8), [19], 0f, 3f)]);
    }

    // log(1 + u) in double without the formula under test: its Taylor series where u is small, else Math.Log.
    private static double LogOnePlusReference(double u) => u < 1e-4 ? u - u * u / 2 + u * u * u / 3 - u * u * u * u / 4 : Math.Log(1 + u);

    [Fact]
    public void SoftplusAndLogAddExpKeepTheirRelativeAccuracyFarBelowZero()
    {
        // softplus(x) ≈ eˣ for x ≪ 0. In float, log(1 + eˣ) is 0 below x ≈ −16.6 (1 + eˣ rounds to 1): the VIB's K = 2
        // encoder, whose σ = softplus(·), diverged on log σ = −∞. 101 values: vector lanes and a tail.
        var xs = Enumerable.Range(0, 101).Select(i => -87f + 0.87f * i).ToArray();
        var sp = Tensor.FromArray(xs).Softplus();
        var lae = Tensor.LogAddExp(Tensor.FromArray(xs), Tensor.Zeros(1)); // log(eˣ + e⁰) = softplus(x)
        for (int i = 0; i < xs.Length; i++)
        {
            double expected = LogOnePlusReference(Math.Exp(xs[i]));
            double tolerance = 6e-7 * expected; // a few float ulps, relative
            Assert.True(Math.Abs(sp[i] - expected) <= tolerance, $"softplus({xs[i]}): {sp[i]} vs {expected}");
            Assert.True(Math.Abs(lae[i] - expected) <= tolerance, $"logaddexp({xs[i]}, 0): {lae[i]} vs {expected}");
            Assert.True(Math.Abs(Tensor.SoftplusScalar(xs[i]) - expected) <= tolerance, $"SoftplusScalar({xs[i]}): {Tensor.SoftplusScalar(xs[i])} vs {expected}");
        }
        // Below float's normal range eˣ is subnormal: still positive, never 0 or NaN, until eˣ itself rounds to 0.
        Assert.True(Tensor.FromArray([-100f]).Softplus().Item() is > 0 and < 1e-40f);
        Assert.Equal(0f, Tensor.FromArray([-200f]).Softplus().Item());
    }

    [Fact]
    public void LogAddExpMatchesDoubleEvaluationWithBroadcastingAndExtremes()
    {
        var rng = new Rng(12);
        var a = Tensor.RandomNormal(rng, [5, 13], 0f, 30f);
        var b = Tensor.RandomNormal(rng, [5, 1], 0f, 30f);
        a[0] = 80f; a[1] = -80f; a[2] = b[0]; // far apart both ways, and equal
        a.RequiresGrad = true; b.RequiresGrad = true;
        var o = Tensor.LogAddExp(a, b);
        o.Sum().Backward();
        var gb = new double[5];
        for (int i = 0; i < 5; i++)
            for (int j = 0; j < 13; j++)
            {
                double x = a[i, j], y = b[i], m = Math.Max(x, y), expected = m + Math.Log(Math.Exp(x - m) + Math.Exp(y - m));
                Assert.True(Math.Abs(expected - o[i, j]) <= 2e-6 * Math.Max(1, Math.Abs(expected)), $"({i},{j}): {o[i, j]} vs {expected}");
                double ga = Math.Exp(x - expected);
                Assert.True(Math.Abs(ga - a.Grad![i, j]) <= 1e-5, $"d/da ({i},{j}): {a.Grad[i, j]} vs {ga}");
                gb[i] += Math.Exp(y - expected);
            }
        for (int i = 0; i < 5; i++) Assert.True(Math.Abs(gb[i] - b.Grad![i]) <= 1e-5 * Math.Max(1, gb[i]), $"d/db {i}: {b.Grad[i]} vs {gb[i]}");
    }
}
