namespace MiBounds.Tensors;

/// <summary>Work split into numbered parts that may run on different threads in any order.</summary>
internal interface IPartWork
{
    /// <summary>Runs part <paramref name="part"/>; kernels it starts run on the calling thread only.</summary>
    void RunPart(int part);
}

/// <summary>
/// Runs the parts of an <see cref="IPartWork"/> on the calling thread and up to threads−1 of the engine's own worker
/// threads, which claim parts one at a time; the calling thread also takes any part no worker has started, so busy or
/// absent workers never stall the work. Inside a part, <see cref="Engine.MaxThreads"/> is 1 (the parts are the
/// parallelism). Results depend only on how the work is split into parts, never on which thread runs a part.
/// </summary>
/// <remarks>
/// The workers are dedicated background threads (processor count − 1, started on first use) rather than thread-pool
/// items: the same few threads keep their per-thread buffers (GEMM packing, pooled arrays), nothing is queued, and a
/// steady-state call allocates nothing. An idle worker polls for its next job for 0.5 ms before it blocks, so the
/// posts of a training step (forward, backward, a few hundred µs apart) find it awake.
/// </remarks>
internal static class PartRunner
{
    private static readonly Lazy<Worker[]> Workers = new(() =>
    {
        var workers = new Worker[Math.Max(0, Environment.ProcessorCount - 1)];
        for (int i = 0; i < workers.Length; i++) workers[i] = new Worker(i);
        return workers;
    });

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
        job.Start(work, parts);
        foreach (var worker in Workers.Value)
        {
            if (helpers == 0) break;
            if (worker.TryPost(job)) helpers--;
        }
        job.RunParts();
        var spin = new SpinWait();
        while (Volatile.Read(ref job.Done) < parts) spin.SpinOnce(sleep1Threshold: -1);
        var error = job.Error;
        job.Release();
        if (error is not null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(error);
    }

    /// <summary>One dedicated thread that runs the parts of one posted job at a time.</summary>
    private sealed class Worker
    {
        /// <summary>How long an idle worker polls for its next job before it blocks (training steps post every few hundred µs).</summary>
        private static readonly long SpinTicks = System.Diagnostics.Stopwatch.Frequency / 2000; // 0.5 ms

        private readonly ManualResetEventSlim _signal = new(false, spinCount: 0);
        private Job? _job;
        private int _blocked;

        public Worker(int index)
        {
            var thread = new Thread(Loop) { IsBackground = true, Name = $"MiBounds worker {index + 1}" };
            thread.Start();
        }

        /// <summary>Hands <paramref name="job"/> to this worker if it is idle.</summary>
        public bool TryPost(Job job)
        {
            job.AddRef();
            if (Interlocked.CompareExchange(ref _job, job, null) is not null && !TryPostAfterFinishing(job))
            {
                job.Release();
                return false;
            }
            // The exchange above is a full fence, so either the worker sees the job before it blocks or we see it blocked.
            if (Volatile.Read(ref _blocked) != 0) _signal.Set();
            return true;
        }

        // The worker counts its last part done before it clears _job, so a caller that posts its next product straight
        // after the previous one finished can find the worker still holding the old job for a few instructions (and
        // then ran every part alone). Waits that long for it, not for a worker busy with another caller's parts.
        private bool TryPostAfterFinishing(Job job)
        {
            for (int i = 0; i < 64; i++)
            {
                var current = Volatile.Read(ref _job);
                if (current is null) return Interlocked.CompareExchange(ref _job, job, null) is null;
                if (!ReferenceEquals(current, job) && !current.Finished) return false; // the same object: already released, pooled and rented again
                Thread.SpinWait(8);
            }
            return false;
        }

        private void Loop()
        {
            while (true)
            {
                var job = Volatile.Read(ref _job);
                if (job is null)
                {
                    long until = System.Diagnostics.Stopwatch.GetTimestamp() + SpinTicks;
                    while ((job = Volatile.Read(ref _job)) is null && System.Diagnostics.Stopwatch.GetTimestamp() < until) Thread.SpinWait(32);
                }
                if (job is null)
                {
                    Interlocked.Exchange(ref _blocked, 1);
                    if (Volatile.Read(ref _job) is null) _signal.Wait();
                    Interlocked.Exchange(ref _blocked, 0);
                    _signal.Reset();
                    continue;
                }
                job.RunParts();
                job.Release();
                Volatile.Write(ref _job, null);
            }
        }
    }

    private sealed class Job
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

        public void Start(IPartWork work, int parts)
        {
            _work = work; _parts = parts;
            Done = 0; _next = 0; Error = null;
            // The caller's reference; each worker it is posted to adds one. The last one out returns the job to the pool.
            Volatile.Write(ref _refs, 1);
        }

        public void AddRef() => Interlocked.Increment(ref _refs);

        /// <summary>Whether every part has been claimed (the job's remaining work is at most the parts in progress).</summary>
        public bool Finished => Volatile.Read(ref _next) >= _parts;

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
    }
}
