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

        var job = Job.Rent();
        int helpers = Math.Min(threads, parts) - 1;
        job.Start(p, splitM, per, parts, helpers);
        for (int h = 0; h < helpers; h++) ThreadPool.UnsafeQueueUserWorkItem(job, preferLocal: false);
        job.RunParts();
        var spin = new SpinWait();
        while (Volatile.Read(ref job.Done) < parts) spin.SpinOnce(sleep1Threshold: -1);
        job.Release();
    }

    /// <summary>A product shared between the calling thread and pooled helpers; pooled, so a call allocates nothing.</summary>
    private sealed class Job : IThreadPoolWorkItem
    {
        private static readonly Stack<Job> Pool = new();
        private Problem _p;
        private bool _splitM;
        private int _per, _parts;
        private int _next, _refs;
        public int Done;

        public static Job Rent()
        {
            lock (Pool) return Pool.Count > 0 ? Pool.Pop() : new Job();
        }

        public void Start(in Problem p, bool splitM, int per, int parts, int helpers)
        {
            _p = p; _splitM = splitM; _per = per; _parts = parts;
            Done = 0; _next = 0;
            // The caller plus one reference per queued helper; the last one out returns the job to the pool.
            Volatile.Write(ref _refs, helpers + 1);
        }

        public void RunParts()
        {
            int i;
            while ((i = Interlocked.Increment(ref _next) - 1) < _parts)
            {
                int start = i * _per;
                if (_splitM) Serial(_p.Rows(start, Math.Min(_per, _p.M - start)));
                else Serial(_p.Cols(start, Math.Min(_per, _p.N - start)));
                Interlocked.Increment(ref Done);
            }
        }

        public void Release()
        {
            if (Interlocked.Decrement(ref _refs) == 0)
                lock (Pool) Pool.Push(this);
        }

        void IThreadPoolWorkItem.Execute()
        {
            RunParts();
            Release();
        }
    }
}
