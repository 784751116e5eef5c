namespace MiBounds.Tensors;

/// <summary>Global engine settings.</summary>
public static class Engine
{
    private static int _maxThreads = Environment.ProcessorCount;
    [ThreadStatic] private static int _threadLimit;

    /// <summary>
    /// Most threads one kernel (matmul, conv) may use. Defaults to the processor count.
    /// Results are reproducible for a fixed value.
    /// </summary>
    public static int MaxThreads
    {
        get => _threadLimit > 0 ? Math.Min(_threadLimit, _maxThreads) : _maxThreads;
        set => _maxThreads = value >= 1 ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "must be at least 1");
    }

    /// <summary>
    /// When true, checked layers (<see cref="Nn.Linear"/>, <see cref="Nn.Conv2d"/>) verify that their inputs and outputs are
    /// finite and throw an <see cref="ArgumentException"/> naming the layer otherwise. Each layer also has its own flag.
    /// Off by default (it costs a pass over the data).
    /// </summary>
    public static bool CheckFinite { get; set; }

    /// <summary>
    /// Limits kernels started from the calling thread to <paramref name="threads"/> threads until disposed;
    /// used when independent runs already occupy every core.
    /// </summary>
    public static IDisposable LimitThreads(int threads)
    {
        if (threads < 1) throw new ArgumentOutOfRangeException(nameof(threads), threads, "must be at least 1");
        int previous = _threadLimit;
        _threadLimit = threads;
        return new Restore(() => _threadLimit = previous);
    }

    /// <summary>Sets this thread's kernel thread limit (0 = none) and returns the previous one; allocation-free for hot paths.</summary>
    internal static int ExchangeThreadLimit(int limit)
    {
        int previous = _threadLimit;
        _threadLimit = limit;
        return previous;
    }

    private sealed class Restore(Action undo) : IDisposable
    {
        private Action? _undo = undo;
        public void Dispose() { _undo?.Invoke(); _undo = null; }
    }
}
