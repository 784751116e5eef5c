using MiBounds.Tensors;

namespace MiBounds.Tensors.Tests;

/// <summary>Gemm.Multiply against a naive double-precision reference: every transpose combination, odd sizes, padded
/// leading dimensions, accumulate on and off, 1 and 2 threads.</summary>
public class GemmTests
{
    private static float[] Random(Random rng, int count)
    {
        var x = new float[count];
        for (int i = 0; i < x.Length; i++) x[i] = (float)(rng.NextDouble() * 2 - 1);
        return x;
    }

    /// <summary>Runs one product with padded leading dimensions and checks every element of C, and that padding is untouched.</summary>
    private static void Check(bool ta, bool tb, int m, int n, int k, bool accumulate, int threads, int pad, int seed)
    {
        var rng = new Random(seed);
        int aRows = ta ? k : m, aCols = ta ? m : k, bRows = tb ? n : k, bCols = tb ? k : n;
        int lda = aCols + pad, ldb = bCols + pad, ldc = n + pad;
        var a = Random(rng, Math.Max(0, (aRows - 1) * lda + aCols));
        var b = Random(rng, Math.Max(0, (bRows - 1) * ldb + bCols));
        var c = Random(rng, m * ldc);
        var c0 = (float[])c.Clone();
        using (Engine.LimitThreads(threads))
            Gemm.Multiply(ta, tb, m, n, k, a, lda, b, ldb, c, ldc, accumulate);
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                double s = accumulate ? c0[i * ldc + j] : 0, mag = Math.Abs(s);
                for (int q = 0; q < k; q++)
                {
                    double x = ta ? a[q * lda + i] : a[i * lda + q];
                    double y = tb ? b[j * ldb + q] : b[q * ldb + j];
                    s += x * y; mag += Math.Abs(x * y);
                }
                double err = Math.Abs(s - c[i * ldc + j]);
                Assert.True(err <= 1e-5 * (mag + 1), $"ta={ta} tb={tb} {m}×{n}×{k} acc={accumulate} threads={threads}: C[{i},{j}] = {c[i * ldc + j]}, expected {s}");
            }
            for (int j = n; j < ldc && i * ldc + j < c.Length; j++)
                Assert.Equal(c0[i * ldc + j], c[i * ldc + j]);
        }
    }

    public static IEnumerable<object[]> Transposes() =>
        from ta in new[] { false, true } from tb in new[] { false, true } select new object[] { ta, tb };

    [Theory]
    [MemberData(nameof(Transposes))]
    public void OddSizesMatchReference(bool ta, bool tb)
    {
        int[] sizes = [1, 3, 17, 33, 65];
        int seed = 0;
        foreach (int m in sizes)
            foreach (int n in sizes)
                foreach (int k in sizes)
                {
                    seed++;
                    Check(ta, tb, m, n, k, accumulate: seed % 2 == 0, threads: 1 + seed % 2, pad: seed % 3 == 0 ? 0 : 5, seed);
                }
    }

    [Theory]
    [MemberData(nameof(Transposes))]
    public void LargerThanOneBlockMatchesReference(bool ta, bool tb)
    {
        // Crosses the KC (256) and MC (128) block edges and is large enough to run on 2 threads, split either way.
        foreach (bool accumulate in new[] { false, true })
            foreach (int threads in new[] { 1, 2 })
            {
                Check(ta, tb, 137, 45, 260, accumulate, threads, pad: 3, seed: 11);
                Check(ta, tb, 21, 300, 260, accumulate, threads, pad: 0, seed: 12);
            }
    }

    [Fact]
    public void TallAndWideShapesMatchReference()
    {
        Check(false, true, 1030, 40, 20, accumulate: false, threads: 2, pad: 1, seed: 21);
        Check(true, false, 24, 2050, 64, accumulate: true, threads: 2, pad: 2, seed: 22);
        Check(false, false, 64, 256, 256, accumulate: true, threads: 2, pad: 0, seed: 23);
        Check(true, true, 9, 9, 2000, accumulate: false, threads: 2, pad: 4, seed: 24);
        // Column parts sharing op(A) over three MC and two KC blocks; row parts sharing op(B) over two NC blocks.
        Check(false, true, 260, 1200, 260, accumulate: true, threads: 2, pad: 1, seed: 25);
        Check(true, false, 640, 2080, 40, accumulate: false, threads: 2, pad: 3, seed: 26);
    }

    [Fact]
    public void EmptyInnerDimensionClearsOrKeepsC()
    {
        var c = new float[] { 1, 2, 3, 4, 5, 6 };
        Gemm.Multiply(false, false, 2, 2, 0, [], 0, [], 2, c, 3, accumulate: true);
        Assert.Equal(new float[] { 1, 2, 3, 4, 5, 6 }, c);
        Gemm.Multiply(false, false, 2, 2, 0, [], 0, [], 2, c, 3, accumulate: false);
        Assert.Equal(new float[] { 0, 0, 3, 0, 0, 6 }, c);
    }

    [Fact]
    public void ResultsAreIdenticalAcrossRunsAndThreadCounts()
    {
        var rng = new Random(5);
        int m = 300, n = 200, k = 700;
        var a = Random(rng, m * k); var b = Random(rng, k * n);
        float[] Run(int threads)
        {
            var c = new float[m * n];
            using (Engine.LimitThreads(threads)) Gemm.Multiply(false, false, m, n, k, a, k, b, n, c, n, accumulate: false);
            return c;
        }
        var one = Run(1);
        Assert.Equal(one, Run(2));
        Assert.Equal(one, Run(2));
    }

    [Fact]
    public void TooShortOperandsThrow()
    {
        var c = new float[4];
        Assert.Throws<ArgumentException>(() => Gemm.Multiply(false, false, 2, 2, 2, new float[3], 2, new float[4], 2, c, 2, false));
        Assert.Throws<ArgumentException>(() => Gemm.Multiply(false, false, 2, 2, 2, new float[4], 2, new float[4], 2, new float[3], 2, false));
    }
}
