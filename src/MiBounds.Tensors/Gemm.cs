using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace MiBounds.Tensors;

/// <summary>
/// Single-precision matrix products on row-major storage: C (+)= op(A)·op(B).
/// </summary>
/// <remarks>
/// Goto/BLIS structure: op(B) is packed into KC×NC blocks of NR-column panels, op(A) into MC×KC blocks of MR-row panels
/// (transposes are handled by the packing), and a register-blocked micro-kernel computes MR×NR tiles of C:
/// 8×32 with Vector512 (16 zmm accumulators), 6×16 with Vector256 otherwise. Work is split across up to
/// <see cref="Engine.MaxThreads"/> threads along whichever of m or n gives the most even split; small products run on the
/// calling thread. Each element of C is summed in a fixed order (KC blocks in sequence, each accumulated in k order), which
/// does not depend on the thread count, so results are deterministic. Packing buffers are per thread and reused, so a call
/// allocates nothing in steady state.
/// </remarks>
public static unsafe partial class Gemm
{
    private const int KC = 256;
    private const int NC = 2048;
    /// <summary>Below this many multiply-adds a product runs on the calling thread.</summary>
    private const long ParallelFmaThreshold = 1L << 20;

    private static readonly bool Use512 = Vector512.IsHardwareAccelerated;
    private static readonly int MR = Use512 ? 8 : 6;
    private static readonly int NR = Use512 ? 32 : 16;
    private static readonly int MC = Use512 ? 128 : 96;

    /// <summary>
    /// C[m×n] = op(A)·op(B) (+ C when <paramref name="accumulate"/>). op(A) is m×k: A is m×k (lda ≥ k) or,
    /// transposed, k×m (lda ≥ m). op(B) is k×n: B is k×n (ldb ≥ n) or, transposed, n×k (ldb ≥ k).
    /// </summary>
    public static void Multiply(bool transA, bool transB, int m, int n, int k,
        ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, Span<float> c, int ldc, bool accumulate)
    {
        if (m < 0 || n < 0 || k < 0) throw new ArgumentOutOfRangeException(nameof(m), $"negative size {m}×{n}×{k}");
        if (m == 0 || n == 0) return;
        if (ldc < n || c.Length < (long)(m - 1) * ldc + n) throw new ArgumentException($"C too small for {m}×{n} with ldc {ldc}");
        if (k == 0)
        {
            if (!accumulate) for (int i = 0; i < m; i++) c.Slice(i * ldc, n).Clear();
            return;
        }
        int aRows = transA ? k : m, aCols = transA ? m : k, bRows = transB ? n : k, bCols = transB ? k : n;
        if (lda < aCols || a.Length < (long)(aRows - 1) * lda + aCols) throw new ArgumentException($"A too small for {aRows}×{aCols} with lda {lda}");
        if (ldb < bCols || b.Length < (long)(bRows - 1) * ldb + bCols) throw new ArgumentException($"B too small for {bRows}×{bCols} with ldb {ldb}");

        fixed (float* pa = a, pb = b, pc = c)
        {
            var p = new Problem(pa, lda, transA, pb, ldb, transB, pc, ldc, m, n, k, accumulate);
            int threads = Engine.MaxThreads;
            if (threads <= 1 || (long)m * n * k < ParallelFmaThreshold) Serial(p);
            else RunParallel(p, threads);
        }
    }

    /// <summary>One product, or one thread's part of it.</summary>
    private readonly struct Problem(float* a, int lda, bool ta, float* b, int ldb, bool tb, float* c, int ldc, int m, int n, int k, bool acc)
    {
        public readonly float* A = a, B = b, C = c;
        public readonly int Lda = lda, Ldb = ldb, Ldc = ldc, M = m, N = n, K = k;
        public readonly bool TA = ta, TB = tb, Acc = acc;

        /// <summary>Rows [r0, r0+rows) of C.</summary>
        public Problem Rows(int r0, int rows) => new(TA ? A + r0 : A + (long)r0 * Lda, Lda, TA, B, Ldb, TB, C + (long)r0 * Ldc, Ldc, rows, N, K, Acc);

        /// <summary>Columns [c0, c0+cols) of C.</summary>
        public Problem Cols(int c0, int cols) => new(A, Lda, TA, TB ? B + (long)c0 * Ldb : B + c0, Ldb, TB, C + c0, Ldc, M, cols, K, Acc);
    }

    // ---------------------------------------------------------------- per-thread packing buffers

    private sealed class Buffers
    {
        private readonly float[] _storage;
        public readonly float* A, B;
        public readonly float* Tile;

        public Buffers()
        {
            int aSize = MC * KC, bSize = KC * NC, tile = 8 * 32;
            // Pinned (POH) so the pointers stay valid; 16 extra floats to align each region to 64 bytes.
            _storage = GC.AllocateUninitializedArray<float>(aSize + bSize + tile + 48, pinned: true);
            float* p = (float*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_storage));
            p = Align(p); A = p; p = Align(p + aSize); B = p; p = Align(p + bSize); Tile = p;
        }

        private static float* Align(float* p) => (float*)(((nint)p + 63) & ~(nint)63);
    }

    [ThreadStatic] private static Buffers? t_buffers;

    // ---------------------------------------------------------------- serial driver

    /// <summary>
    /// C (+)= op(A)·op(B) on this thread. With <paramref name="shared"/>, one operand (op(A) for the column parts of a
    /// split product, op(B) for its row parts) comes from a buffer the parts share: whichever part first needs a block
    /// packs it there, and the others use it, so the operand is packed once instead of once per part.
    /// </summary>
    private static void Serial(in Problem p, SharedOperand? shared = null)
    {
        var buf = t_buffers ??= new Buffers();
        int mr = MR, nr = NR, mcMax = MC;
        float* packedA = shared is { OfB: false } ? shared.Packed : null, packedB = shared is { OfB: true } ? shared.Packed : null;
        long mPadded = PaddedRows(p.M);
        int mBlocks = (p.M + MC - 1) / MC, kBlocks = (p.K + KC - 1) / KC;
        for (int jc = 0; jc < p.N; jc += NC)
        {
            int nc = Math.Min(NC, p.N - jc);
            for (int pc = 0; pc < p.K; pc += KC)
            {
                int kc = Math.Min(KC, p.K - pc);
                bool overwrite = !p.Acc && pc == 0;
                float* b = buf.B;
                if (packedB is null) PackB(p, pc, jc, kc, nc, b, nr);
                else
                {
                    b = packedB + (long)jc * p.K + pc * PaddedCols(nc);
                    int block = jc / NC * kBlocks + pc / KC;
                    if (shared!.Claim(block)) { PackB(p, pc, jc, kc, nc, b, nr); shared.Done(block); }
                }
                for (int ic = 0; ic < p.M; ic += mcMax)
                {
                    int mc = Math.Min(mcMax, p.M - ic);
                    float* a = buf.A;
                    if (packedA is null) PackA(p, ic, pc, mc, kc, a, mr);
                    else
                    {
                        a = packedA + pc * mPadded + (long)ic * kc;
                        int block = pc / KC * mBlocks + ic / MC;
                        if (shared!.Claim(block)) { PackA(p, ic, pc, mc, kc, a, mr); shared.Done(block); }
                    }
                    float* c = p.C + (long)ic * p.Ldc + jc;
                    if (Use512) Macro512(a, b, mc, nc, kc, c, p.Ldc, overwrite, buf.Tile);
                    else Macro256(a, b, mc, nc, kc, c, p.Ldc, overwrite, buf.Tile);
                }
            }
        }
    }

    // All of op(A) packed: the (pc, ic) block's MR-row panels at pc·M' + ic·kc (M' = m rounded up to MR), the order
    // Serial visits them. All of op(B): the (jc, pc) block's NR-column panels at jc·K + pc·nc' (nc' = nc rounded up to NR).
    private static long PaddedRows(int m) => (long)(m + MR - 1) / MR * MR;

    private static long PaddedCols(int n) => (long)(n + NR - 1) / NR * NR;

    /// <summary>
    /// One operand of a split product, packed whole into a buffer its parts share, block by block as they first need it.
    /// A block's state goes 0 (not packed) → 1 (a part is packing it) → 2 (packed); a part that finds it at 1 waits for
    /// the packer, which is running and never waits itself.
    /// </summary>
    private sealed class SharedOperand
    {
        public float* Packed;
        public bool OfB;
        private int[] _state = [];

        /// <summary>Floats of the packed operand (op(B) with <paramref name="ofB"/>, else op(A)).</summary>
        public static long Size(in Problem p, bool ofB) => ofB
            ? (long)(p.N - 1) / NC * NC * p.K + PaddedCols(p.N - (p.N - 1) / NC * NC) * p.K
            : PaddedRows(p.M) * p.K;

        public void Reset(in Problem p, bool ofB, float* packed)
        {
            OfB = ofB; Packed = packed;
            int blocks = (ofB ? (p.N + NC - 1) / NC : (p.M + MC - 1) / MC) * ((p.K + KC - 1) / KC);
            if (_state.Length < blocks) _state = new int[blocks];
            Array.Clear(_state, 0, blocks);
        }

        /// <summary>True when the caller is to pack block <paramref name="block"/> (then call <see cref="Done"/>); false once it is packed.</summary>
        public bool Claim(int block)
        {
            ref int state = ref _state[block];
            if (Volatile.Read(ref state) == 2) return false;
            if (Interlocked.CompareExchange(ref state, 1, 0) == 0) return true;
            var spin = new SpinWait();
            while (Volatile.Read(ref state) != 2) spin.SpinOnce(sleep1Threshold: -1);
            return false;
        }

        public void Done(int block) => Volatile.Write(ref _state[block], 2);
    }

    // ---------------------------------------------------------------- packing

    /// <summary>op(A)[ic..ic+mc, pc..pc+kc] → MR-row panels, each kc×MR (k-major), zero-padded to whole panels.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackA(in Problem p, int ic, int pc, int mc, int kc, float* dst, int mr)
    {
        for (int ir = 0; ir < mc; ir += mr)
        {
            int rows = Math.Min(mr, mc - ir);
            float* d = dst + ir * kc;
            if (p.TA)
            {
                // op(A)[i, q] = A[q, i]: each k step is a contiguous run of rows.
                float* s = p.A + (long)pc * p.Lda + ic + ir;
                if (rows == 8 && mr == 8)
                {
                    for (int q = 0; q < kc; q++, s += p.Lda, d += 8) Vector256.Store(Vector256.Load(s), d);
                }
                else
                {
                    for (int q = 0; q < kc; q++, s += p.Lda, d += mr)
                    {
                        int r = 0;
                        for (; r < rows; r++) d[r] = s[r];
                        for (; r < mr; r++) d[r] = 0;
                    }
                }
            }
            else
            {
                // op(A)[i, q] = A[i, q]: gather one element from each of the panel's rows per k step.
                float* s = p.A + (long)(ic + ir) * p.Lda + pc;
                if (rows == mr)
                {
                    if (mr == 8) PackRows8(s, p.Lda, kc, d);
                    else
                        for (int r = 0; r < mr; r++)
                        {
                            float* sr = s + (long)r * p.Lda;
                            for (int q = 0; q < kc; q++) d[q * mr + r] = sr[q];
                        }
                }
                else
                {
                    for (int r = 0; r < mr; r++)
                    {
                        if (r < rows)
                        {
                            float* sr = s + (long)r * p.Lda;
                            for (int q = 0; q < kc; q++) d[q * mr + r] = sr[q];
                        }
                        else
                            for (int q = 0; q < kc; q++) d[q * mr + r] = 0;
                    }
                }
            }
        }
    }

    /// <summary>8 rows (stride ld) × kc → kc×8, with an 8×8 in-register transpose per block of 8 k.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackRows8(float* s, int ld, int kc, float* d)
    {
        int q = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; q + 8 <= kc; q += 8)
            {
                var r0 = Vector256.Load(s + q); var r1 = Vector256.Load(s + ld + q);
                var r2 = Vector256.Load(s + 2L * ld + q); var r3 = Vector256.Load(s + 3L * ld + q);
                var r4 = Vector256.Load(s + 4L * ld + q); var r5 = Vector256.Load(s + 5L * ld + q);
                var r6 = Vector256.Load(s + 6L * ld + q); var r7 = Vector256.Load(s + 7L * ld + q);
                Transpose8x8(ref r0, ref r1, ref r2, ref r3, ref r4, ref r5, ref r6, ref r7);
                float* o = d + q * 8;
                r0.Store(o); r1.Store(o + 8); r2.Store(o + 16); r3.Store(o + 24);
                r4.Store(o + 32); r5.Store(o + 40); r6.Store(o + 48); r7.Store(o + 56);
            }
        }
        for (; q < kc; q++)
            for (int r = 0; r < 8; r++) d[q * 8 + r] = s[(long)r * ld + q];
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose8x8(ref Vector256<float> r0, ref Vector256<float> r1, ref Vector256<float> r2, ref Vector256<float> r3,
        ref Vector256<float> r4, ref Vector256<float> r5, ref Vector256<float> r6, ref Vector256<float> r7)
    {
        // Stage 1: interleave pairs of rows (unpacklo/hi on 32-bit lanes within 128-bit halves).
        var t0 = System.Runtime.Intrinsics.X86.Avx.UnpackLow(r0, r1); var t1 = System.Runtime.Intrinsics.X86.Avx.UnpackHigh(r0, r1);
        var t2 = System.Runtime.Intrinsics.X86.Avx.UnpackLow(r2, r3); var t3 = System.Runtime.Intrinsics.X86.Avx.UnpackHigh(r2, r3);
        var t4 = System.Runtime.Intrinsics.X86.Avx.UnpackLow(r4, r5); var t5 = System.Runtime.Intrinsics.X86.Avx.UnpackHigh(r4, r5);
        var t6 = System.Runtime.Intrinsics.X86.Avx.UnpackLow(r6, r7); var t7 = System.Runtime.Intrinsics.X86.Avx.UnpackHigh(r6, r7);
        // Stage 2: 64-bit shuffles.
        var u0 = System.Runtime.Intrinsics.X86.Avx.Shuffle(t0, t2, 0x44); var u1 = System.Runtime.Intrinsics.X86.Avx.Shuffle(t0, t2, 0xEE);
        var u2 = System.Runtime.Intrinsics.X86.Avx.Shuffle(t1, t3, 0x44); var u3 = System.Runtime.Intrinsics.X86.Avx.Shuffle(t1, t3, 0xEE);
        var u4 = System.Runtime.Intrinsics.X86.Avx.Shuffle(t4, t6, 0x44); var u5 = System.Runtime.Intrinsics.X86.Avx.Shuffle(t4, t6, 0xEE);
        var u6 = System.Runtime.Intrinsics.X86.Avx.Shuffle(t5, t7, 0x44); var u7 = System.Runtime.Intrinsics.X86.Avx.Shuffle(t5, t7, 0xEE);
        // Stage 3: swap 128-bit halves.
        r0 = System.Runtime.Intrinsics.X86.Avx.Permute2x128(u0, u4, 0x20); r1 = System.Runtime.Intrinsics.X86.Avx.Permute2x128(u1, u5, 0x20);
        r2 = System.Runtime.Intrinsics.X86.Avx.Permute2x128(u2, u6, 0x20); r3 = System.Runtime.Intrinsics.X86.Avx.Permute2x128(u3, u7, 0x20);
        r4 = System.Runtime.Intrinsics.X86.Avx.Permute2x128(u0, u4, 0x31); r5 = System.Runtime.Intrinsics.X86.Avx.Permute2x128(u1, u5, 0x31);
        r6 = System.Runtime.Intrinsics.X86.Avx.Permute2x128(u2, u6, 0x31); r7 = System.Runtime.Intrinsics.X86.Avx.Permute2x128(u3, u7, 0x31);
    }

    /// <summary>op(B)[pc..pc+kc, jc..jc+nc] → NR-column panels, each kc×NR (k-major), zero-padded to whole panels.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackB(in Problem p, int pc, int jc, int kc, int nc, float* dst, int nr)
    {
        for (int jr = 0; jr < nc; jr += nr)
        {
            int cols = Math.Min(nr, nc - jr);
            float* d = dst + jr * kc;
            if (!p.TB)
            {
                // op(B)[q, j] = B[q, j]: each k step is a contiguous run of columns.
                float* s = p.B + (long)pc * p.Ldb + jc + jr;
                if (cols == nr && nr == 32 && Vector512.IsHardwareAccelerated)
                {
                    for (int q = 0; q < kc; q++, s += p.Ldb, d += 32)
                    {
                        Vector512.Store(Vector512.Load(s), d);
                        Vector512.Store(Vector512.Load(s + 16), d + 16);
                    }
                }
                else if (cols == nr && nr == 16)
                {
                    for (int q = 0; q < kc; q++, s += p.Ldb, d += 16)
                    {
                        Vector256.Store(Vector256.Load(s), d);
                        Vector256.Store(Vector256.Load(s + 8), d + 8);
                    }
                }
                else
                {
                    for (int q = 0; q < kc; q++, s += p.Ldb, d += nr)
                    {
                        int j = 0;
                        if (Vector256.IsHardwareAccelerated)
                            for (; j + 8 <= cols; j += 8) Vector256.Store(Vector256.Load(s + j), d + j);
                        for (; j < cols; j++) d[j] = s[j];
                        for (; j < nr; j++) d[j] = 0;
                    }
                }
            }
            else
            {
                // op(B)[q, j] = B[j, q]: gather from each of the panel's columns (rows of B), 8 at a time with a transpose.
                float* s = p.B + (long)(jc + jr) * p.Ldb + pc;
                int j = 0;
                if (Vector256.IsHardwareAccelerated)
                    for (; j + 8 <= cols; j += 8) PackCols8(s + (long)j * p.Ldb, p.Ldb, kc, d + j, nr);
                for (; j < cols; j++)
                {
                    float* sj = s + (long)j * p.Ldb;
                    for (int q = 0; q < kc; q++) d[q * nr + j] = sj[q];
                }
                for (; j < nr; j++)
                    for (int q = 0; q < kc; q++) d[q * nr + j] = 0;
            }
        }
    }

    /// <summary>8 rows of B (stride ld) × kc → columns j..j+8 of a k-major panel with row stride nr.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackCols8(float* s, int ld, int kc, float* d, int nr)
    {
        int q = 0;
        for (; q + 8 <= kc; q += 8)
        {
            var r0 = Vector256.Load(s + q); var r1 = Vector256.Load(s + ld + q);
            var r2 = Vector256.Load(s + 2L * ld + q); var r3 = Vector256.Load(s + 3L * ld + q);
            var r4 = Vector256.Load(s + 4L * ld + q); var r5 = Vector256.Load(s + 5L * ld + q);
            var r6 = Vector256.Load(s + 6L * ld + q); var r7 = Vector256.Load(s + 7L * ld + q);
            Transpose8x8(ref r0, ref r1, ref r2, ref r3, ref r4, ref r5, ref r6, ref r7);
            float* o = d + q * nr;
            r0.Store(o); r1.Store(o + nr); r2.Store(o + 2 * nr); r3.Store(o + 3 * nr);
            r4.Store(o + 4 * nr); r5.Store(o + 5 * nr); r6.Store(o + 6 * nr); r7.Store(o + 7 * nr);
        }
        for (; q < kc; q++)
            for (int r = 0; r < 8; r++) d[q * nr + r] = s[(long)r * ld + q];
    }

    // ---------------------------------------------------------------- macro- and micro-kernels

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Macro512(float* pa, float* pb, int mc, int nc, int kc, float* c, int ldc, bool overwrite, float* tile)
    {
        for (int jr = 0; jr < nc; jr += 32)
        {
            int cols = Math.Min(32, nc - jr);
            float* b = pb + jr * kc;
            for (int ir = 0; ir < mc; ir += 8)
            {
                int rows = Math.Min(8, mc - ir);
                float* a = pa + ir * kc;
                float* cc = c + (long)ir * ldc + jr;
                if (cols > 16)
                {
                    if (rows == 8 && cols == 32) Kernel8x32(a, b, kc, cc, ldc, overwrite);
                    else
                    {
                        Kernel8x32(a, b, kc, tile, 32, overwrite: true);
                        MergeTile(tile, 32, cc, ldc, rows, cols, overwrite);
                    }
                }
                else if (rows == 8 && cols == 16) Kernel8x16(a, b, kc, cc, ldc, overwrite);
                else
                {
                    // A narrow last panel (n mod 32 ≤ 16): half the work of a full tile.
                    Kernel8x16(a, b, kc, tile, 32, overwrite: true);
                    MergeTile(tile, 32, cc, ldc, rows, cols, overwrite);
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Macro256(float* pa, float* pb, int mc, int nc, int kc, float* c, int ldc, bool overwrite, float* tile)
    {
        for (int jr = 0; jr < nc; jr += 16)
        {
            int cols = Math.Min(16, nc - jr);
            float* b = pb + jr * kc;
            for (int ir = 0; ir < mc; ir += 6)
            {
                int rows = Math.Min(6, mc - ir);
                float* a = pa + ir * kc;
                float* cc = c + (long)ir * ldc + jr;
                if (rows == 6 && cols == 16) Kernel6x16(a, b, kc, cc, ldc, overwrite);
                else
                {
                    Kernel6x16(a, b, kc, tile, 16, overwrite: true);
                    MergeTile(tile, 16, cc, ldc, rows, cols, overwrite);
                }
            }
        }
    }

    private static void MergeTile(float* tile, int ldt, float* c, int ldc, int rows, int cols, bool overwrite)
    {
        for (int r = 0; r < rows; r++)
        {
            float* t = tile + r * ldt; float* cr = c + (long)r * ldc;
            int j = 0;
            if (Vector256.IsHardwareAccelerated)
                for (; j + 8 <= cols; j += 8)
                    (overwrite ? Vector256.Load(t + j) : Vector256.Load(t + j) + Vector256.Load(cr + j)).Store(cr + j);
            if (overwrite) for (; j < cols; j++) cr[j] = t[j];
            else for (; j < cols; j++) cr[j] += t[j];
        }
    }

    /// <summary>C[8×32] (+)= Apanel(kc×8)ᵀ·Bpanel(kc×32); 16 zmm accumulators.</summary>
    [SkipLocalsInit, MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel8x32(float* a, float* b, int kc, float* c, int ldc, bool overwrite)
    {
        Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default, c30 = default, c31 = default,
            c40 = default, c41 = default, c50 = default, c51 = default, c60 = default, c61 = default, c70 = default, c71 = default;
        for (int q = 0; q < kc; q++)
        {
            var b0 = Vector512.Load(b); var b1 = Vector512.Load(b + 16);
            var x = Vector512.Create(a[0]); c00 = Vector512.FusedMultiplyAdd(x, b0, c00); c01 = Vector512.FusedMultiplyAdd(x, b1, c01);
            x = Vector512.Create(a[1]); c10 = Vector512.FusedMultiplyAdd(x, b0, c10); c11 = Vector512.FusedMultiplyAdd(x, b1, c11);
            x = Vector512.Create(a[2]); c20 = Vector512.FusedMultiplyAdd(x, b0, c20); c21 = Vector512.FusedMultiplyAdd(x, b1, c21);
            x = Vector512.Create(a[3]); c30 = Vector512.FusedMultiplyAdd(x, b0, c30); c31 = Vector512.FusedMultiplyAdd(x, b1, c31);
            x = Vector512.Create(a[4]); c40 = Vector512.FusedMultiplyAdd(x, b0, c40); c41 = Vector512.FusedMultiplyAdd(x, b1, c41);
            x = Vector512.Create(a[5]); c50 = Vector512.FusedMultiplyAdd(x, b0, c50); c51 = Vector512.FusedMultiplyAdd(x, b1, c51);
            x = Vector512.Create(a[6]); c60 = Vector512.FusedMultiplyAdd(x, b0, c60); c61 = Vector512.FusedMultiplyAdd(x, b1, c61);
            x = Vector512.Create(a[7]); c70 = Vector512.FusedMultiplyAdd(x, b0, c70); c71 = Vector512.FusedMultiplyAdd(x, b1, c71);
            a += 8; b += 32;
        }
        if (overwrite)
        {
            c00.Store(c); c01.Store(c + 16); c += ldc; c10.Store(c); c11.Store(c + 16); c += ldc;
            c20.Store(c); c21.Store(c + 16); c += ldc; c30.Store(c); c31.Store(c + 16); c += ldc;
            c40.Store(c); c41.Store(c + 16); c += ldc; c50.Store(c); c51.Store(c + 16); c += ldc;
            c60.Store(c); c61.Store(c + 16); c += ldc; c70.Store(c); c71.Store(c + 16);
        }
        else
        {
            Add(c, c00); Add(c + 16, c01); c += ldc; Add(c, c10); Add(c + 16, c11); c += ldc;
            Add(c, c20); Add(c + 16, c21); c += ldc; Add(c, c30); Add(c + 16, c31); c += ldc;
            Add(c, c40); Add(c + 16, c41); c += ldc; Add(c, c50); Add(c + 16, c51); c += ldc;
            Add(c, c60); Add(c + 16, c61); c += ldc; Add(c, c70); Add(c + 16, c71);
        }
    }

    /// <summary>C[8×16] (+)= Apanel(kc×8)ᵀ·(first 16 columns of a 32-wide Bpanel); 8 zmm accumulators.</summary>
    [SkipLocalsInit, MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel8x16(float* a, float* b, int kc, float* c, int ldc, bool overwrite)
    {
        Vector512<float> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default, c6 = default, c7 = default;
        for (int q = 0; q < kc; q++)
        {
            var b0 = Vector512.Load(b);
            c0 = Vector512.FusedMultiplyAdd(Vector512.Create(a[0]), b0, c0); c1 = Vector512.FusedMultiplyAdd(Vector512.Create(a[1]), b0, c1);
            c2 = Vector512.FusedMultiplyAdd(Vector512.Create(a[2]), b0, c2); c3 = Vector512.FusedMultiplyAdd(Vector512.Create(a[3]), b0, c3);
            c4 = Vector512.FusedMultiplyAdd(Vector512.Create(a[4]), b0, c4); c5 = Vector512.FusedMultiplyAdd(Vector512.Create(a[5]), b0, c5);
            c6 = Vector512.FusedMultiplyAdd(Vector512.Create(a[6]), b0, c6); c7 = Vector512.FusedMultiplyAdd(Vector512.Create(a[7]), b0, c7);
            a += 8; b += 32;
        }
        if (overwrite)
        {
            c0.Store(c); c += ldc; c1.Store(c); c += ldc; c2.Store(c); c += ldc; c3.Store(c); c += ldc;
            c4.Store(c); c += ldc; c5.Store(c); c += ldc; c6.Store(c); c += ldc; c7.Store(c);
        }
        else
        {
            Add(c, c0); c += ldc; Add(c, c1); c += ldc; Add(c, c2); c += ldc; Add(c, c3); c += ldc;
            Add(c, c4); c += ldc; Add(c, c5); c += ldc; Add(c, c6); c += ldc; Add(c, c7);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Add(float* c, Vector512<float> v) => (Vector512.Load(c) + v).Store(c);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Add(float* c, Vector256<float> v) => (Vector256.Load(c) + v).Store(c);

    /// <summary>C[6×16] (+)= Apanel(kc×6)ᵀ·Bpanel(kc×16); 12 ymm accumulators.</summary>
    [SkipLocalsInit, MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel6x16(float* a, float* b, int kc, float* c, int ldc, bool overwrite)
    {
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default,
            c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        for (int q = 0; q < kc; q++)
        {
            var b0 = Vector256.Load(b); var b1 = Vector256.Load(b + 8);
            var x = Vector256.Create(a[0]); c00 = Vector256.FusedMultiplyAdd(x, b0, c00); c01 = Vector256.FusedMultiplyAdd(x, b1, c01);
            x = Vector256.Create(a[1]); c10 = Vector256.FusedMultiplyAdd(x, b0, c10); c11 = Vector256.FusedMultiplyAdd(x, b1, c11);
            x = Vector256.Create(a[2]); c20 = Vector256.FusedMultiplyAdd(x, b0, c20); c21 = Vector256.FusedMultiplyAdd(x, b1, c21);
            x = Vector256.Create(a[3]); c30 = Vector256.FusedMultiplyAdd(x, b0, c30); c31 = Vector256.FusedMultiplyAdd(x, b1, c31);
            x = Vector256.Create(a[4]); c40 = Vector256.FusedMultiplyAdd(x, b0, c40); c41 = Vector256.FusedMultiplyAdd(x, b1, c41);
            x = Vector256.Create(a[5]); c50 = Vector256.FusedMultiplyAdd(x, b0, c50); c51 = Vector256.FusedMultiplyAdd(x, b1, c51);
            a += 6; b += 16;
        }
        if (overwrite)
        {
            c00.Store(c); c01.Store(c + 8); c += ldc; c10.Store(c); c11.Store(c + 8); c += ldc;
            c20.Store(c); c21.Store(c + 8); c += ldc; c30.Store(c); c31.Store(c + 8); c += ldc;
            c40.Store(c); c41.Store(c + 8); c += ldc; c50.Store(c); c51.Store(c + 8);
        }
        else
        {
            Add(c, c00); Add(c + 8, c01); c += ldc; Add(c, c10); Add(c + 8, c11); c += ldc;
            Add(c, c20); Add(c + 8, c21); c += ldc; Add(c, c30); Add(c + 8, c31); c += ldc;
            Add(c, c40); Add(c + 8, c41); c += ldc; Add(c, c50); Add(c + 8, c51);
        }
    }
}
