namespace MiBounds.Tensors;

/// <summary>Work split into numbered parts that may run on different threads in any order.</summary>
internal interface IPartWork
{
    /// <summary>Runs part <paramref name="part"/>; kernels it starts run on the calling thread only.</summary>
    void RunPart(int part);
}

/// <summary>
/// Runs the parts of an <see cref="IPartWork"/> on the calling thread and up to threads−1 pooled helpers, which claim
/// parts one at a time; the calling thread also takes any part no helper has started, so a busy thread pool never stalls
/// the work. Inside a part, <see cref="Engine.MaxThreads"/> is 1 (the parts are the parallelism). Allocation-free in
/// steady state. Results depend only on how the work is split into parts, never on which thread runs a part.
/// </summary>
internal static class PartRunner
{
    public static void Run(IPartWork work, int parts, int threads)
    {
        if (parts <= 0) return;
        int helpers = Math.Min(threads, parts) - 1;
        if (helpers <= 0)
        {
            int previous = Engine.ExchangeThreadLimit(1);
            try { for (int i = 0; i < parts; i++) work.RunPart(i); }
            finally { Engine.ExchangeThreadLimit(previous); }
            return;
        }
        var job = Job.Rent();
        job.Start(work, parts, helpers);
        for (int h = 0; h < helpers; h++) ThreadPool.UnsafeQueueUserWorkItem(job, preferLocal: false);
        job.RunParts();
        var spin = new SpinWait();
        while (Volatile.Read(ref job.Done) < parts) spin.SpinOnce(sleep1Threshold: -1);
        var error = job.Error;
        job.Release();
        if (error is not null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(error);
    }

    private sealed class Job : IThreadPoolWorkItem
    {
        private static readonly Stack<Job> Pool = new();
        private IPartWork? _work;
        private int _parts, _next, _refs;
        public int Done;
        public Exception? Error;

        public static Job Rent()
        {
            lock (Pool) return Pool.Count > 0 ? Pool.Pop() : new Job();
        }

        public void Start(IPartWork work, int parts, int helpers)
        {
            _work = work; _parts = parts;
            Done = 0; _next = 0; Error = null;
            // The caller plus one reference per queued helper; the last one out returns the job to the pool.
            Volatile.Write(ref _refs, helpers + 1);
        }

        public void RunParts()
        {
            var work = _work!;
            int previous = Engine.ExchangeThreadLimit(1);
            try
            {
                int i;
                while ((i = Interlocked.Increment(ref _next) - 1) < _parts)
                {
                    try { work.RunPart(i); }
                    catch (Exception e) { Interlocked.CompareExchange(ref Error, e, null); }
                    Interlocked.Increment(ref Done);
                }
            }
            finally { Engine.ExchangeThreadLimit(previous); }
        }

        public void Release()
        {
            if (Interlocked.Decrement(ref _refs) != 0) return;
            _work = null;
            lock (Pool) Pool.Push(this);
        }

        void IThreadPoolWorkItem.Execute()
        {
            RunParts();
            Release();
        }
    }
}
