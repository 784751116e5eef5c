namespace MiBounds.Tensors;

public static unsafe partial class Gemm
{
    /// <summary>Relative cost of packing one element, in multiply-adds, for choosing how to split a product.</summary>
    private const double PackCost = 12;

    /// <summary>
    /// Splits C into up to <paramref name="threads"/> parts along m or n (whole MR/NR tiles, fixed by the shape and the
    /// thread count), runs part 0.. on the calling thread and the rest on pooled threads. The calling thread also takes any
    /// part that no helper has started, so a busy thread pool never stalls a product.
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
        int parts = splitM ? tm : tn;
        int tiles = splitM ? mt : nt;
        int per = (tiles + parts - 1) / parts * (splitM ? mr : nr);
        parts = ((splitM ? p.M : p.N) + per - 1) / per;
        if (parts <= 1) { Serial(p); return; }

        var job = Job.Rent();
        job.Start(p, splitM, per, parts);
        for (int h = 1; h < parts; h++) ThreadPool.UnsafeQueueUserWorkItem(job, preferLocal: false);
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

        public void Start(in Problem p, bool splitM, int per, int parts)
        {
            _p = p; _splitM = splitM; _per = per; _parts = parts;
            Done = 0; _next = 0;
            // The caller plus one reference per queued helper; the last one out returns the job to the pool.
            Volatile.Write(ref _refs, parts);
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
