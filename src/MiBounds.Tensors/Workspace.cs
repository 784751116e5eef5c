using System.Buffers;

namespace MiBounds.Tensors;

public sealed partial class Tensor
{
    [ThreadStatic] private static TensorWorkspace? _workspace;

    internal static TensorWorkspace? CurrentWorkspace { get => _workspace; set => _workspace = value; }

    /// <summary>A tensor over a pooled buffer (not registered anywhere: the caller returns it).</summary>
    internal static Tensor Pooled(int[] shape, bool clear)
    {
        int size = ShapeSize(shape);
        var buf = ArrayPool<float>.Shared.Rent(Math.Max(size, 1));
        if (clear) buf.AsSpan(0, size).Clear();
        // Shape arrays are never written after a tensor is made, so the caller's (or another tensor's) array is shared.
        return new Tensor(buf, shape, checkLength: false);
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

    internal static Tensor NewScalar(float value)
    {
        var t = NewOutput([]);
        t._data[0] = value;
        return t;
    }
}

/// <summary>
/// Pooled storage for the results of operations, so a training step in steady state allocates (almost) no managed
/// memory. Within <see cref="Enter"/>'s scope, on the calling thread, every op result (and its gradient) is carved from
/// <see cref="ArrayPool{T}"/>; leaving the scope returns them all. Tensors made inside the scope (outputs, losses,
/// views of them) must not be used after it ends: read the values you need (<c>loss.Item()</c>, <c>Clone()</c>) and
/// run <c>Backward()</c> inside the scope. Parameters, optimizer state, and tensors made with the factory methods
/// (<c>Zeros</c>, <c>FromArray</c>, <c>Clone</c>, …) are never pooled.
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
    private TensorWorkspace? _outer;
    private bool _active;

    /// <summary>Number of buffers currently handed out.</summary>
    public int BuffersInUse => _rented.Count;

    internal void Track(float[] buffer) => _rented.Add(buffer);

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
        foreach (var b in _rented) ArrayPool<float>.Shared.Return(b);
        _rented.Clear();
    }

    /// <summary>Leaves the workspace and returns its buffers to the pool.</summary>
    public readonly struct Scope : IDisposable
    {
        private readonly TensorWorkspace _owner;
        internal Scope(TensorWorkspace owner) => _owner = owner;
        /// <summary>Returns every buffer handed out in the scope.</summary>
        public void Dispose() => _owner?.Exit();
    }
}
