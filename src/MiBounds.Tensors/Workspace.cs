using System.Buffers;

namespace MiBounds.Tensors;

public sealed partial class Tensor
{
    [ThreadStatic] private static TensorWorkspace? _workspace;

    internal static TensorWorkspace? CurrentWorkspace { get => _workspace; set => _workspace = value; }

    /// <summary>A tensor over a pooled buffer (the buffer is not registered anywhere: the caller returns it).</summary>
    internal static Tensor Pooled(int[] shape, bool clear)
    {
        int size = ShapeSize(shape);
        var buf = ArrayPool<float>.Shared.Rent(Math.Max(size, 1));
        if (clear) buf.AsSpan(0, size).Clear();
        // Shape arrays are never written after a tensor is made, so the caller's (or another tensor's) array is shared.
        return Header(buf, shape);
    }

    /// <summary>
    /// A tensor over <paramref name="data"/> (not copied, may be longer than the shape) with <paramref name="shape"/>
    /// (shared, not copied): its header comes from the active workspace's pool when there is one.
    /// </summary>
    internal static Tensor Header(float[] data, int[] shape)
    {
        var ws = _workspace;
        if (ws is null) return new Tensor(data, shape, checkLength: false);
        if (shape.Length > MaxRank) throw new ArgumentException($"rank {shape.Length} exceeds the supported {MaxRank} (shape {ShapeString(shape)})");
        int size = ShapeSize(shape);
        if (data.Length < size) throw new ArgumentException($"internal: storage of {data.Length} values for shape {ShapeString(shape)}");
        return ws.RentHeader(data, shape, size);
    }

    /// <summary>Points a pooled header at new storage, as good as new.</summary>
    internal void Reuse(float[] data, int[] shape, int size)
    {
        _data = data;
        _shape = shape;
        Size = size;
        _pooled = false;
        _node = null;
        _released = false;
        RequiresGrad = false;
        Grad = null;
        Name = null;
    }

    private static readonly int[] RetiredShape = [0];

    /// <summary>Cuts a tensor from a graph node its workspace took back: a later backward through it throws.</summary>
    internal void DetachRetiredNode()
    {
        _node = null;
        _released = true;
    }

    /// <summary>
    /// Empties a header whose workspace scope ended: size 0 and released, so a tensor kept past its scope (against the
    /// rule) reads no stale values until the header is handed out again.
    /// </summary>
    internal void Retire()
    {
        Reuse([], RetiredShape, 0);
        _released = true;
    }

    /// <summary>
    /// A zeroed tensor for an op's result: from the current <see cref="TensorWorkspace"/>'s pool when one is active on
    /// this thread, else newly allocated.
    /// </summary>
    internal static Tensor NewOutput(params int[] shape)
    {
        var ws = _workspace;
        if (ws is null) return Zeros(shape);
        var t = Pooled(shape, clear: true);
        ws.Track(t._data);
        return t;
    }

    /// <summary>
    /// As <see cref="NewOutput(int[])"/> for an op that writes every element of its result: a pooled buffer is not cleared
    /// first (a result made outside a workspace is still new, hence zero).
    /// </summary>
    internal static Tensor NewOutputOverwritten(int[] shape)
    {
        var ws = _workspace;
        if (ws is null) return Zeros(shape);
        var t = Pooled(shape, clear: false);
        ws.Track(t._data);
        return t;
    }

    /// <summary>As <see cref="NewOutputOverwritten(int[])"/>, with the shape array from the per-thread cache.</summary>
    internal static Tensor NewOutputOverwritten(params ReadOnlySpan<int> shape) => NewOutputOverwritten(InternShape(shape));

    /// <summary>As <see cref="NewOutput(int[])"/>, with the shape array taken from a per-thread cache (no allocation).</summary>
    internal static Tensor NewOutput(params ReadOnlySpan<int> shape) => NewOutput(InternShape(shape));

    internal static Tensor NewScalar(float value)
    {
        var t = NewOutput(Array.Empty<int>());
        t._data[0] = value;
        return t;
    }

    private const int ShapeCacheSize = 64;
    [ThreadStatic] private static int[][]? _shapeCache;
    [ThreadStatic] private static int _shapeCacheNext;

    /// <summary>
    /// A shape array equal to <paramref name="shape"/>: one cached on this thread if present, else a new one that is then
    /// cached (round robin over 64 slots). Safe to share because a tensor's shape array is never written.
    /// </summary>
    internal static int[] InternShape(ReadOnlySpan<int> shape)
    {
        if (shape.Length == 0) return Array.Empty<int>();
        var cache = _shapeCache ??= new int[ShapeCacheSize][];
        for (int i = 0; i < cache.Length; i++)
        {
            var c = cache[i];
            if (c is null) break; // filled in order: nothing after an empty slot
            if (c.AsSpan().SequenceEqual(shape)) return c;
        }
        var fresh = shape.ToArray();
        cache[_shapeCacheNext] = fresh;
        _shapeCacheNext = (_shapeCacheNext + 1) % ShapeCacheSize;
        return fresh;
    }
}

/// <summary>
/// Pooled storage for the results of operations, so a training step in steady state allocates no managed memory.
/// Within <see cref="Enter"/>'s scope, on the calling thread, every op result (and its gradient) is carved from
/// <see cref="ArrayPool{T}"/>, and the tensor objects themselves (results, views, gradients) and the recorded graph's
/// nodes come from this workspace's own pools; leaving the scope returns them all, and the next scope hands the same
/// objects out again. Tensors made inside the scope (outputs, losses, views of them) must therefore not be used after
/// it ends, not even held on to: a kept reference is emptied when the scope ends (size 0) and later becomes some other
/// op's result. Read the values you need (<c>loss.Item()</c>, <c>Clone()</c>) and run <c>Backward()</c> inside the
/// scope. Parameters, optimizer state, and tensors made with the factory methods (<c>Zeros</c>, <c>FromArray</c>,
/// <c>Clone</c>, …) are never pooled.
/// </summary>
/// <example>
/// <code>
/// var ws = new TensorWorkspace();
/// for (int step = 0; step &lt; steps; step++)
/// {
///     using (ws.Enter())
///     {
///         opt.ZeroGrad();
///         var loss = (mlp.Forward(x) - y).Square().Mean();
///         loss.Backward();
///         opt.Step();
///         losses.Add(loss.Item());
///     }
/// }
/// </code>
/// </example>
public sealed class TensorWorkspace
{
    private readonly List<float[]> _rented = [];
    // Tensor headers and graph nodes handed out in the current scope, and the ones free for the next.
    private readonly List<Tensor> _headers = [];
    private readonly Stack<Tensor> _freeHeaders = new();
    private readonly List<GradNode> _nodes = [];
    private readonly Stack<GradNode> _freeNodes = new();
    private TensorWorkspace? _outer;
    private bool _active;

    /// <summary>Number of buffers currently handed out.</summary>
    public int BuffersInUse => _rented.Count;

    /// <summary>Number of tensor objects (results, views, gradients) currently handed out.</summary>
    public int TensorsInUse => _headers.Count;

    internal void Track(float[] buffer) => _rented.Add(buffer);

    internal Tensor RentHeader(float[] data, int[] shape, int size)
    {
        if (_freeHeaders.TryPop(out var t)) t.Reuse(data, shape, size);
        else t = new Tensor(data, shape, checkLength: false);
        _headers.Add(t);
        return t;
    }

    internal GradNode RentNode()
    {
        if (!_freeNodes.TryPop(out var node)) node = new GradNode();
        _nodes.Add(node);
        return node;
    }

    /// <summary>Makes this workspace current on the calling thread until the returned scope is disposed.</summary>
    public Scope Enter()
    {
        if (_active) throw new InvalidOperationException("this TensorWorkspace is already active");
        _active = true;
        _outer = Tensor.CurrentWorkspace;
        Tensor.CurrentWorkspace = this;
        return new Scope(this);
    }

    private void Exit()
    {
        if (!_active) return;
        if (!ReferenceEquals(Tensor.CurrentWorkspace, this)) throw new InvalidOperationException("TensorWorkspace scopes must be left in the reverse order of entering them, on the same thread");
        Tensor.CurrentWorkspace = _outer;
        _outer = null;
        _active = false;
        foreach (var node in _nodes)
        {
            // A graph that never ran backward still holds pooled work arrays; and an output made outside the pool
            // (CustomOp) must not keep a node that the next scope reuses.
            node.RunRelease();
            var output = node.Output;
            if (output is not null && ReferenceEquals(output._node, node)) output.DetachRetiredNode();
            node.Clear();
            _freeNodes.Push(node);
        }
        _nodes.Clear();
        foreach (var t in _headers)
        {
            t.Retire();
            _freeHeaders.Push(t);
        }
        _headers.Clear();
        foreach (var b in _rented) ArrayPool<float>.Shared.Return(b);
        _rented.Clear();
    }

    /// <summary>Leaves the workspace and returns its buffers to the pool.</summary>
    public readonly struct Scope : IDisposable
    {
        private readonly TensorWorkspace _owner;
        internal Scope(TensorWorkspace owner) => _owner = owner;
        /// <summary>Returns every buffer, tensor object and graph node handed out in the scope.</summary>
        public void Dispose() => _owner?.Exit();
    }
}
