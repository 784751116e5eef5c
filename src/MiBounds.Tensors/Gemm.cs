using System.Buffers;
using System.Numerics;
using System.Runtime.CompilerServices;

namespace MiBounds.Tensors;

/// <summary>
/// Single-precision matrix products on row-major storage: C (+)= op(A)·op(B).
/// Register-blocked SIMD micro-kernel, K-blocking, and row-parallelism over <see cref="Engine.MaxThreads"/>.
/// </summary>
public static unsafe class Gemm
{
    private const int KBlock = 256;
    private const int ParallelFlopThreshold = 1 << 21;

    /// <summary>
    /// C[m×n] = op(A)·op(B) (+ C when <paramref name="accumulate"/>). op(A) is m×k: A is m×k (lda ≥ k) or,
    /// transposed, k×m (lda ≥ m). op(B) is k×n: B is k×n (ldb ≥ n) or, transposed, n×k (ldb ≥ k).
    /// </summary>
    public static void Multiply(bool transA, bool transB, int m, int n, int k,
        ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, Span<float> c, int ldc, bool accumulate)
    {
        if (m == 0 || n == 0) return;
        if (!accumulate)
            for (int i = 0; i < m; i++) c.Slice(i * ldc, n).Clear();
        if (k == 0) return;

        // Bring both operands to the non-transposed layout the kernel wants.
        float[]? packA = null, packB = null;
        try
        {
            ReadOnlySpan<float> aa = a; int ldaa = lda;
            if (transA)
            {
                packA = ArrayPool<float>.Shared.Rent(m * k);
                TransposeInto(a, k, m, lda, packA);
                aa = packA; ldaa = k;
            }
            ReadOnlySpan<float> bb = b; int ldbb = ldb;
            if (transB)
            {
                packB = ArrayPool<float>.Shared.Rent(k * n);
                TransposeInto(b, n, k, ldb, packB);
                bb = packB; ldbb = n;
            }
            fixed (float* pa = aa, pb = bb, pc = c)
            {
                Run(pa, ldaa, pb, ldbb, pc, ldc, m, n, k);
            }
        }
        finally
        {
            if (packA != null) ArrayPool<float>.Shared.Return(packA);
            if (packB != null) ArrayPool<float>.Shared.Return(packB);
        }
    }

    /// <summary>dst[cols×rows] = src[rows×cols]ᵀ, src with leading dimension ld.</summary>
    internal static void TransposeInto(ReadOnlySpan<float> src, int rows, int cols, int ld, Span<float> dst)
    {
        const int T = 32;
        for (int i0 = 0; i0 < rows; i0 += T)
            for (int j0 = 0; j0 < cols; j0 += T)
            {
                int i1 = Math.Min(rows, i0 + T), j1 = Math.Min(cols, j0 + T);
                for (int i = i0; i < i1; i++)
                    for (int j = j0; j < j1; j++)
                        dst[j * rows + i] = src[i * ld + j];
            }
    }

    private static void Run(float* a, int lda, float* b, int ldb, float* c, int ldc, int m, int n, int k)
    {
        int threads = Engine.MaxThreads;
        long flops = 2L * m * n * k;
        if (threads <= 1 || flops < ParallelFlopThreshold || m < 8)
        {
            Block(a, lda, b, ldb, c, ldc, 0, m, n, k);
            return;
        }
        // Split rows into chunks of 4 so each thread runs whole micro-kernels.
        int chunks = Math.Min(threads, (m + 3) / 4);
        int rowsPer = ((m + chunks - 1) / chunks + 3) & ~3;
        nint pa = (nint)a, pb = (nint)b, pc = (nint)c;
        Parallel.For(0, chunks, new ParallelOptions { MaxDegreeOfParallelism = threads }, t =>
        {
            int r0 = t * rowsPer, r1 = Math.Min(m, r0 + rowsPer);
            if (r0 < r1) Block((float*)pa, lda, (float*)pb, ldb, (float*)pc, ldc, r0, r1, n, k);
        });
    }

    private static void Block(float* a, int lda, float* b, int ldb, float* c, int ldc, int r0, int r1, int n, int k)
    {
        int w = Vector<float>.Count;
        int nr = 2 * w;
        for (int k0 = 0; k0 < k; k0 += KBlock)
        {
            int kc = Math.Min(KBlock, k - k0);
            int i = r0;
            for (; i + 4 <= r1; i += 4)
            {
                int j = 0;
                for (; j + nr <= n; j += nr) Kernel4x2(a + i * lda + k0, lda, b + k0 * ldb + j, ldb, c + i * ldc + j, ldc, kc);
                for (; j + w <= n; j += w) Kernel4x1(a + i * lda + k0, lda, b + k0 * ldb + j, ldb, c + i * ldc + j, ldc, kc);
                for (int r = 0; r < 4; r++) Tail(a + (i + r) * lda + k0, b + k0 * ldb, ldb, c + (i + r) * ldc, j, n, kc);
            }
            for (; i < r1; i++)
            {
                int j = 0;
                for (; j + w <= n; j += w) Kernel1x1(a + i * lda + k0, b + k0 * ldb + j, ldb, c + i * ldc + j, kc);
                Tail(a + i * lda + k0, b + k0 * ldb, ldb, c + i * ldc, j, n, kc);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<float> Load(float* p) => Unsafe.ReadUnaligned<Vector<float>>(p);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(float* p, Vector<float> v) => Unsafe.WriteUnaligned(p, v);

    private static void Kernel4x2(float* a, int lda, float* b, int ldb, float* c, int ldc, int kc)
    {
        int w = Vector<float>.Count;
        var c00 = Load(c); var c01 = Load(c + w);
        var c10 = Load(c + ldc); var c11 = Load(c + ldc + w);
        var c20 = Load(c + 2 * ldc); var c21 = Load(c + 2 * ldc + w);
        var c30 = Load(c + 3 * ldc); var c31 = Load(c + 3 * ldc + w);
        for (int p = 0; p < kc; p++)
        {
            var b0 = Load(b + p * ldb); var b1 = Load(b + p * ldb + w);
            var a0 = new Vector<float>(a[p]);
            c00 = Vector.FusedMultiplyAdd(a0, b0, c00); c01 = Vector.FusedMultiplyAdd(a0, b1, c01);
            var a1 = new Vector<float>(a[lda + p]);
            c10 = Vector.FusedMultiplyAdd(a1, b0, c10); c11 = Vector.FusedMultiplyAdd(a1, b1, c11);
            var a2 = new Vector<float>(a[2 * lda + p]);
            c20 = Vector.FusedMultiplyAdd(a2, b0, c20); c21 = Vector.FusedMultiplyAdd(a2, b1, c21);
            var a3 = new Vector<float>(a[3 * lda + p]);
            c30 = Vector.FusedMultiplyAdd(a3, b0, c30); c31 = Vector.FusedMultiplyAdd(a3, b1, c31);
        }
        Store(c, c00); Store(c + w, c01);
        Store(c + ldc, c10); Store(c + ldc + w, c11);
        Store(c + 2 * ldc, c20); Store(c + 2 * ldc + w, c21);
        Store(c + 3 * ldc, c30); Store(c + 3 * ldc + w, c31);
    }

    private static void Kernel4x1(float* a, int lda, float* b, int ldb, float* c, int ldc, int kc)
    {
        var c0 = Load(c); var c1 = Load(c + ldc); var c2 = Load(c + 2 * ldc); var c3 = Load(c + 3 * ldc);
        for (int p = 0; p < kc; p++)
        {
            var b0 = Load(b + p * ldb);
            c0 = Vector.FusedMultiplyAdd(new Vector<float>(a[p]), b0, c0);
            c1 = Vector.FusedMultiplyAdd(new Vector<float>(a[lda + p]), b0, c1);
            c2 = Vector.FusedMultiplyAdd(new Vector<float>(a[2 * lda + p]), b0, c2);
            c3 = Vector.FusedMultiplyAdd(new Vector<float>(a[3 * lda + p]), b0, c3);
        }
        Store(c, c0); Store(c + ldc, c1); Store(c + 2 * ldc, c2); Store(c + 3 * ldc, c3);
    }

    private static void Kernel1x1(float* a, float* b, int ldb, float* c, int kc)
    {
        var c0 = Load(c);
        for (int p = 0; p < kc; p++) c0 = Vector.FusedMultiplyAdd(new Vector<float>(a[p]), Load(b + p * ldb), c0);
        Store(c, c0);
    }

    private static void Tail(float* a, float* b, int ldb, float* c, int j0, int n, int kc)
    {
        for (int j = j0; j < n; j++)
        {
            float s = c[j];
            for (int p = 0; p < kc; p++) s += a[p] * b[p * ldb + j];
            c[j] = s;
        }
    }
}
