using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace MiBounds.Tensors;

public static unsafe partial class Gemm
{
    /// <summary>Relative cost of packing one element, in multiply-adds, for choosing how to split a product.</summary>
    private const double PackCost = 12;

    /// <summary>Smallest part worth handing to another thread, in multiply-adds.</summary>
    private const long PartFmas = 1L << 21;

    /// <summary>
    /// Splits C into parts along m or n (whole MR/NR tiles, fixed by the shape and the thread count, so results are
    /// deterministic), which the calling thread and up to threads−1 pooled helpers claim one at a time. The calling thread
    /// also takes any part that no helper has started, so a busy thread pool never stalls a product.
    /// </summary>
    private static void RunParallel(in Problem p, int threads)
    {
        int mr = MR, nr = NR;
        int mt = (p.M + mr - 1) / mr, nt = (p.N + nr - 1) / nr;
        // Cost of the slowest part when splitting rows (each part packs all of B) or columns (each part packs all of A).
        int tm = Math.Min(threads, mt), tn = Math.Min(threads, nt);
        double costM = tm <= 1 ? double.MaxValue
            : (double)((mt + tm - 1) / tm) * mr * p.N * p.K + PackCost * ((double)((mt + tm - 1) / tm) * mr * p.K + (double)p.K * p.N);
        double costN = tn <= 1 ? double.MaxValue
            : (double)((nt + tn - 1) / tn) * nr * p.M * p.K + PackCost * ((double)((nt + tn - 1) / tn) * nr * p.K + (double)p.K * p.M);
        if (costM == double.MaxValue && costN == double.MaxValue) { Serial(p); return; }
        bool splitM = costM <= costN;
        int tiles = splitM ? mt : nt;
        // Up to 4 parts per thread, claimed dynamically, so a helper that is descheduled on a busy machine holds up only a
        // small part; each part keeps at least ~PartFmas multiply-adds so its packing and hand-off stay cheap.
        // Each extra part re-packs the whole other operand (k×n or k×m): keep that under ~10% of a part's multiply-adds.
        long fmas = (long)p.M * p.N * p.K;
        long byPacking = (long)((splitM ? p.M : p.N) / (10 * PackCost));
        int parts = (int)Math.Clamp(Math.Min(fmas / PartFmas, byPacking), threads, 4L * threads);
        parts = Math.Min(parts, tiles);
        int per = (tiles + parts - 1) / parts * (splitM ? mr : nr);
        parts = ((splitM ? p.M : p.N) + per - 1) / per;
        if (parts <= 1) { Serial(p); return; }

        var split = SplitProduct.Rent(p, splitM, per);
        // Every part needs all of the operand the split does not cut (op(B) for row parts, op(A) for column parts): the
        // parts share one packed copy of it rather than each packing it again.
        long shared = SharedOperand.Size(p, ofB: splitM);
        if (shared <= SharedPackMax)
        {
            var buffer = t_sharedPack is { } existing && existing.Length >= shared + 16 ? existing : t_sharedPack = GC.AllocateUninitializedArray<float>((int)shared + 16, pinned: true);
            float* packed = (float*)(((nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(buffer)) + 63) & ~(nint)63);
            split.Shared.Reset(p, ofB: splitM, packed);
            split.UseShared = true;
        }
        PartRunner.Run(split, parts, threads);
        SplitProduct.Return(split);
    }

    /// <summary>Largest shared packed operand, in floats (16 MB); beyond it each part packs its own.</summary>
    private const long SharedPackMax = 1L << 22;

    // The calling thread's buffer for a split product's shared packed operand (pinned, grown as needed, reused).
    [ThreadStatic] private static float[]? t_sharedPack;

    /// <summary>A product cut into row or column parts for <see cref="PartRunner"/>; pooled, so a call allocates nothing.</summary>
    private sealed class SplitProduct : IPartWork
    {
        private static readonly Stack<SplitProduct> Pool = new();
        private Problem _p;
        private bool _splitM;
        private int _per;

        public static SplitProduct Rent(in Problem p, bool splitM, int per)
        {
            SplitProduct? s;
            lock (Pool) s = Pool.Count > 0 ? Pool.Pop() : null;
            s ??= new SplitProduct();
            s._p = p; s._splitM = splitM; s._per = per;
            return s;
        }

        public static void Return(SplitProduct s)
        {
            s.UseShared = false;
            lock (Pool) Pool.Push(s);
        }

        /// <summary>The operand the parts share, when <see cref="UseShared"/> (else each part packs its own).</summary>
        public readonly SharedOperand Shared = new();
        public bool UseShared;

        public void RunPart(int part)
        {
            int start = part * _per;
            var shared = UseShared ? Shared : null;
            if (_splitM) Serial(_p.Rows(start, Math.Min(_per, _p.M - start)), shared);
            else Serial(_p.Cols(start, Math.Min(_per, _p.N - start)), shared);
        }
    }
}
