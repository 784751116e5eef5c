using System.Buffers;
using System.Numerics.Tensors;
using System.Text;

namespace MiBounds.Tensors;

/// <summary>
/// A float32, contiguous, row-major tensor of rank 0–4 that can record the operations producing it,
/// so that <see cref="Backward()"/> on a scalar result fills <see cref="Grad"/> of every leaf that requires a gradient.
/// </summary>
public sealed partial class Tensor
{
    /// <summary>Largest supported rank.</summary>
    public const int MaxRank = 4;

    // Not readonly: a header from a TensorWorkspace's pool is pointed at new storage each time it is handed out.
    internal float[] _data;
    // The storage came from ArrayPool<float>.Shared (it may be longer than Size) and goes back when its owner is done.
    internal bool _pooled;
    // Never written in place once a tensor has it, so tensors (and the shape cache) share shape arrays.
    internal int[] _shape;
    internal GradNode? _node;

    /// <summary>Number of elements.</summary>
    public int Size { get; private set; }

    /// <summary>Whether gradients flow to (and, for leaves, accumulate in) this tensor.</summary>
    public bool RequiresGrad { get; set; }

    /// <summary>The accumulated gradient, same shape as this tensor; null until a backward pass reaches it.</summary>
    public Tensor? Grad { get; set; }

    /// <summary>An optional name, used in error messages and when saving parameters.</summary>
    public string? Name { get; set; }

    /// <summary>Creates a tensor over <paramref name="data"/> (not copied) with the given shape.</summary>
    internal Tensor(float[] data, int[] shape, bool checkLength = true)
    {
        if (shape.Length > MaxRank) throw new ArgumentException($"rank {shape.Length} exceeds the supported {MaxRank} (shape {ShapeString(shape)})");
        int size = 1;
        foreach (int d in shape)
        {
            if (d < 0) throw new ArgumentException($"negative dimension in shape {ShapeString(shape)}");
            size = checked(size * d);
        }
        if (checkLength && data.Length != size)
            throw new ArgumentException($"data has {data.Length} values but shape {ShapeString(shape)} holds {size}");
        _data = data;
        _shape = shape;
        Size = size;
    }

    /// <summary>Rank (number of axes).</summary>
    public int Rank => _shape.Length;

    /// <summary>A copy of the shape.</summary>
    public int[] Shape => (int[])_shape.Clone();

    /// <summary>Length of axis <paramref name="axis"/> (negative counts from the end).</summary>
    public int Dim(int axis) => _shape[NormalizeAxis(axis)];

    /// <summary>The values, row-major. Writing to them bypasses autodiff.</summary>
    public Span<float> Data => _data.AsSpan(0, Size);

    /// <summary>The values as a read-only span.</summary>
    public ReadOnlySpan<float> Values => _data.AsSpan(0, Size);

    /// <summary>Whether this tensor was produced by a recorded operation (as opposed to a leaf).</summary>
    public bool IsLeaf => _node is null;

    /// <summary>The single value of a one-element tensor.</summary>
    public float Item()
    {
        if (Size != 1) throw new InvalidOperationException($"Item() needs a one-element tensor, shape is {ShapeString(_shape)}");
        return _data[0];
    }

    /// <summary>Value at a 2-D index.</summary>
    [System.Runtime.CompilerServices.IndexerName("At")]
    public float this[int i, int j]
    {
        get { CheckRank(2); return _data[i * _shape[1] + j]; }
        set { CheckRank(2); _data[i * _shape[1] + j] = value; }
    }

    /// <summary>Value at a flat (row-major) index.</summary>
    [System.Runtime.CompilerServices.IndexerName("At")]
    public float this[int flat]
    {
        get => _data[flat];
        set => _data[flat] = value;
    }

    /// <summary>A copy of the values.</summary>
    public float[] ToArray() => Values.ToArray();

    /// <summary>Values of a rank-2 tensor as a jagged array.</summary>
    public float[][] ToRows()
    {
        CheckRank(2);
        var rows = new float[_shape[0]][];
        for (int i = 0; i < rows.Length; i++) rows[i] = _data.AsSpan(i * _shape[1], _shape[1]).ToArray();
        return rows;
    }

    // ---------- creation ----------

    /// <summary>
    /// A tensor holding a copy of <paramref name="values"/> with the given shape; with no shape, a 1-D tensor of all the values
    /// (so <c>FromArray([1f, 2f])</c> means the same with either overload; use <see cref="Scalar"/> for rank 0).
    /// </summary>
    public static Tensor FromArray(ReadOnlySpan<float> values, params int[] shape)
    {
        if (shape.Length == 0) shape = [values.Length];
        var t = new Tensor(new float[ShapeSize(shape)], (int[])shape.Clone());
        if (values.Length != t.Size)
            throw new ArgumentException($"{values.Length} values do not fill shape {ShapeString(shape)} ({t.Size} values)");
        values.CopyTo(t._data);
        return t;
    }

    /// <summary>A copy of <paramref name="values"/> with exactly <paramref name="shape"/> (rank 0 allowed).</summary>
    internal static Tensor CopyOf(ReadOnlySpan<float> values, int[] shape)
    {
        var t = new Tensor(new float[ShapeSize(shape)], (int[])shape.Clone());
        if (values.Length != t.Size) throw new ArgumentException($"{values.Length} values do not fill shape {ShapeString(shape)} ({t.Size} values)");
        values.CopyTo(t._data);
        return t;
    }

    /// <summary>A 1-D tensor copying <paramref name="values"/>.</summary>
    public static Tensor FromArray(float[] values) => FromArray(values, values.Length);

    /// <summary>A 2-D tensor from rows of equal length.</summary>
    public static Tensor FromRows(float[][] rows)
    {
        if (rows.Length == 0) throw new ArgumentException("no rows given");
        int cols = rows[0].Length;
        var t = Zeros(rows.Length, cols);
        for (int i = 0; i < rows.Length; i++)
        {
            if (rows[i].Length != cols) throw new ArgumentException($"row {i} has {rows[i].Length} values, row 0 has {cols}");
            rows[i].CopyTo(t._data, i * cols);
        }
        return t;
    }

    /// <summary>A rank-0 tensor holding <paramref name="value"/>.</summary>
    public static Tensor Scalar(float value) => new([value], []);

    /// <summary>All zeros.</summary>
    public static Tensor Zeros(params int[] shape) => new(new float[ShapeSize(shape)], (int[])shape.Clone());

    /// <summary>All ones.</summary>
    public static Tensor Ones(params int[] shape) => Full(1f, shape);

    /// <summary>Every element equal to <paramref name="value"/>.</summary>
    public static Tensor Full(float value, params int[] shape)
    {
        var t = Zeros(shape);
        t.Data.Fill(value);
        return t;
    }

    /// <summary>A zero tensor with the shape of <paramref name="like"/>.</summary>
    public static Tensor ZerosLike(Tensor like) => Zeros(like._shape);

    /// <summary>Standard normal draws (scaled by <paramref name="std"/>, shifted by <paramref name="mean"/>).</summary>
    public static Tensor RandomNormal(Rng rng, int[] shape, float mean = 0f, float std = 1f)
    {
        var t = Zeros(shape);
        rng.FillNormal(t.Data, mean, std);
        return t;
    }

    /// <summary>
    /// Normal draws shaped like <paramref name="like"/>, made as an op result: from the active
    /// <see cref="TensorWorkspace"/>'s pool when there is one (so a training step's noise allocates nothing), else new.
    /// The same draws as <see cref="RandomNormal"/>(rng, like.Shape, mean, std).
    /// </summary>
    public static Tensor RandomNormalLike(Tensor like, Rng rng, float mean = 0f, float std = 1f)
    {
        var t = NewOutput(like._shape);
        rng.FillNormal(t.Data, mean, std);
        return t;
    }

    /// <summary>Uniform draws in [lo, hi).</summary>
    public static Tensor RandomUniform(Rng rng, int[] shape, float lo = 0f, float hi = 1f)
    {
        var t = Zeros(shape);
        rng.FillUniform(t.Data, lo, hi);
        return t;
    }

    /// <summary>A leaf parameter: marks <paramref name="t"/> as requiring gradients and names it.</summary>
    public static Tensor Parameter(Tensor t, string? name = null)
    {
        if (!t.IsLeaf) throw new ArgumentException("a parameter must be a leaf tensor");
        t.RequiresGrad = true;
        t.Name = name;
        return t;
    }

    /// <summary>A deep copy without history.</summary>
    public Tensor Clone() => CopyOf(Values, _shape);

    /// <summary>A tensor sharing this one's values but cut from the graph.</summary>
    public Tensor Detach() => new(_data, _shape, checkLength: false);

    /// <summary>Copies values from <paramref name="source"/> (same shape), bypassing autodiff.</summary>
    public void CopyFrom(Tensor source)
    {
        ShapeCheck.Same(this, source, "CopyFrom");
        source.Values.CopyTo(Data);
    }

    /// <summary>Clears the gradient (sets it to zero if present).</summary>
    public void ZeroGrad() => Grad?.Data.Clear();

    /// <summary>Throws if any value is NaN or infinite, naming <paramref name="what"/> and the first bad index.</summary>
    public Tensor EnsureFinite(string what)
    {
        var v = Values;
        for (int i = 0; i < v.Length; i++)
        {
            if (!float.IsFinite(v[i]))
                throw new ArgumentException($"{what} contains {(float.IsNaN(v[i]) ? "NaN" : "an infinite value")} at flat index {i} (shape {ShapeString(_shape)})");
        }
        return this;
    }

    /// <summary>Whether every value is finite.</summary>
    public bool AllFinite()
    {
        var v = Values;
        for (int i = 0; i < v.Length; i++) if (!float.IsFinite(v[i])) return false;
        return true;
    }

    /// <inheritdoc />
    public override string ToString()
    {
        var sb = new StringBuilder();
        sb.Append("Tensor").Append(ShapeString(_shape));
        if (Size <= 16)
        {
            sb.Append(" [");
            for (int i = 0; i < Size; i++) { if (i > 0) sb.Append(", "); sb.Append(_data[i].ToString("G6", System.Globalization.CultureInfo.InvariantCulture)); }
            sb.Append(']');
        }
        return sb.ToString();
    }

    // ---------- shape helpers ----------

    /// <summary>Formats a shape as "[a, b]".</summary>
    public static string ShapeString(ReadOnlySpan<int> shape) => "[" + string.Join(", ", shape.ToArray()) + "]";

    internal static int ShapeSize(ReadOnlySpan<int> shape)
    {
        int s = 1;
        foreach (int d in shape)
        {
            if (d < 0) throw new ArgumentException($"negative dimension in shape {ShapeString(shape)}");
            s = checked(s * d);
        }
        return s;
    }

    internal int NormalizeAxis(int axis)
    {
        int a = axis < 0 ? axis + Rank : axis;
        if (a < 0 || a >= Rank) throw new ArgumentOutOfRangeException(nameof(axis), $"axis {axis} is out of range for shape {ShapeString(_shape)}");
        return a;
    }

    internal void CheckRank(int rank)
    {
        if (Rank != rank) throw new ArgumentException($"expected a rank-{rank} tensor, got shape {ShapeString(_shape)}");
    }

    internal bool SameShape(Tensor other) => _shape.AsSpan().SequenceEqual(other._shape);

    // ---------- autodiff ----------

    /// <summary>
    /// Back-propagates from this scalar: every tensor in its history that requires a gradient gets
    /// d(this)/d(tensor) added to its <see cref="Grad"/>. Intermediate gradients are released afterwards, and so is
    /// the graph (a second backward through it throws) unless <paramref name="retainGraph"/> is true.
    /// </summary>
    public void Backward(bool retainGraph = false)
    {
        if (Size != 1) throw new InvalidOperationException($"Backward() needs a scalar, shape is {ShapeString(_shape)}; use Backward(gradient)");
        BackwardCore(OneValue, retainGraph);
    }

    /// <summary>Back-propagates from this scalar (the graph is released afterwards).</summary>
    public void Backward() => Backward(retainGraph: false);

    /// <summary>Back-propagates a given output gradient of this tensor's shape (the graph is released afterwards).</summary>
    public void Backward(Tensor gradient) => Backward(gradient, retainGraph: false);

    /// <summary>Back-propagates a given output gradient of this tensor's shape.</summary>
    public void Backward(Tensor gradient, bool retainGraph)
    {
        ShapeCheck.Same(this, gradient, "Backward");
        BackwardCore(gradient.Values, retainGraph);
    }

    private static readonly float[] OneValue = [1f];

    private void BackwardCore(ReadOnlySpan<float> gradient, bool retainGraph)
    {
        if (!RequiresGrad) throw new InvalidOperationException("Backward() on a tensor that does not require gradients (was it computed under NoGrad, or from inputs without RequiresGrad?)");
        if (_released) throw ReleasedError();
        var walk = _walk is { InUse: false } w ? w : new GraphWalk();
        _walk = walk;
        walk.InUse = true;
        try
        {
            var order = walk.TopologicalOrder(this);
            AccumulateGrad(this, gradient);
            for (int i = order.Count - 1; i >= 0; i--)
            {
                var t = order[i];
                if (t._node is null || t.Grad is null) continue;
                var g = t.Grad;
                t._node.Backward(g);
                // Free intermediate gradients: only leaves keep theirs.
                t.Grad = null;
                if (g._pooled) ArrayPool<float>.Shared.Return(g._data);
            }
            if (!retainGraph) ReleaseGraph(order);
        }
        finally
        {
            walk.Clear();
            walk.InUse = false;
        }
    }

    /// <summary>Reusable traversal state (one per thread), so a backward pass allocates no bookkeeping.</summary>
    private sealed class GraphWalk
    {
        public bool InUse;
        private readonly List<Tensor> _order = [];
        private readonly HashSet<Tensor> _visited = new(ReferenceEqualityComparer.Instance);
        private readonly Stack<(Tensor t, bool expanded)> _stack = new();

        public List<Tensor> TopologicalOrder(Tensor root)
        {
            _stack.Push((root, false));
            while (_stack.Count > 0)
            {
                var (t, expanded) = _stack.Pop();
                if (expanded) { _order.Add(t); continue; }
                if (!_visited.Add(t)) continue;
                if (t._released) throw ReleasedError();
                _stack.Push((t, true));
                if (t._node is null) continue;
                var node = t._node;
                for (int i = 0; i < node.Count; i++)
                {
                    var input = node[i];
                    if (input.RequiresGrad && !_visited.Contains(input)) _stack.Push((input, false));
                }
            }
            return _order; // inputs before outputs
        }

        public void Clear()
        {
            _order.Clear(); _visited.Clear(); _stack.Clear();
        }
    }

    [ThreadStatic] private static GraphWalk? _walk;

    // Set on a non-leaf whose graph a backward pass released: reaching it again would silently stop the gradient.
    private bool _released;

    private static InvalidOperationException ReleasedError() => new(
        "Backward() reached a tensor whose graph an earlier Backward() already released; recompute the forward pass, " +
        "add the losses and call Backward() once, or pass retainGraph: true to the earlier call");

    private static void ReleaseGraph(List<Tensor> order)
    {
        // Dropping the nodes lets the graph's buffers be collected (or returned to their pools).
        foreach (var t in order)
        {
            if (t._node is null) continue;
            t._node.RunRelease();
            t._node = null;
            t._released = true;
        }
    }

    internal static void AccumulateGrad(Tensor t, ReadOnlySpan<float> g)
    {
        if (!t.RequiresGrad) return;
        if (g.Length != t.Size) throw new InvalidOperationException($"internal: gradient of size {g.Length} for tensor of shape {ShapeString(t._shape)}");
        if (t.Grad is null)
        {
            if (t._node is null) t.Grad = CopyOf(g, t._shape);
            else { t.Grad = Pooled(t._shape, clear: false); t.Grad._pooled = true; g.CopyTo(t.Grad._data); }
        }
        else TensorPrimitives.Add(t.Grad.Values, g, t.Grad.Data);
    }

    /// <summary>Gradient buffer of <paramref name="t"/>, created zeroed if absent (for kernels that accumulate in place).</summary>
    internal static Span<float> GradBuffer(Tensor t)
    {
        // Leaves keep their gradient across steps; a recorded tensor's gradient lives only during the backward pass, so it is pooled.
        if (t.Grad is null)
        {
            t.Grad = t._node is null ? Zeros(t._shape) : Pooled(t._shape, clear: true);
            t.Grad._pooled = t._node is not null;
        }
        return t.Grad.Data;
    }

    [ThreadStatic] private static int _noGradDepth;

    /// <summary>Whether operations on the calling thread currently record history.</summary>
    public static bool GradEnabled => _noGradDepth == 0;

    /// <summary>Within the returned scope (on this thread) no operation records history.</summary>
    public static IDisposable NoGrad()
    {
        _noGradDepth++;
        return new NoGradScope();
    }

    private sealed class NoGradScope : IDisposable
    {
        private bool _disposed;
        public void Dispose()
        {
            if (_disposed) return;
            _disposed = true;
            _noGradDepth--;
        }
    }

    /// <summary>Wraps a freshly computed output: records <paramref name="backward"/> if any input requires grad.</summary>
    internal static Tensor Record(Tensor output, Action<Tensor> backward, params ReadOnlySpan<Tensor> inputs)
    {
        if (AnyInputRequiresGrad(inputs))
        {
            output.RequiresGrad = true;
            output._node = NewNode(output, inputs);
            output._node.SetBackward(backward, null);
        }
        return output;
    }

    /// <summary>
    /// As <see cref="Record(Tensor, Action{Tensor}, ReadOnlySpan{Tensor})"/> (the node keeps <paramref name="inputs"/>
    /// itself); <paramref name="release"/> runs once when the graph is released after a backward pass, or when the
    /// workspace scope the op ran in ends (to return pooled workspaces). If nothing is recorded it runs at once.
    /// </summary>
    internal static Tensor Record(Tensor output, Action<Tensor> backward, Tensor[] inputs, Action? release)
    {
        if (AnyInputRequiresGrad(inputs))
        {
            output.RequiresGrad = true;
            output._node = NewNode(output, inputs);
            output._node.SetBackward(backward, release);
            return output;
        }
        release?.Invoke();
        return output;
    }

    /// <summary>
    /// Closure-free recording: if gradients are on and <paramref name="a"/> requires one, gives <paramref name="output"/> a
    /// node (from the active <see cref="TensorWorkspace"/>'s pool when there is one) whose backward pass calls
    /// <paramref name="backward"/>(node, d loss/d output), and returns the node so the caller can store what the backward
    /// pass needs in its slots (<see cref="GradNode.F0"/>, <see cref="GradNode.I0"/>, <see cref="GradNode.O0"/>, …).
    /// Pass a static method or a <c>static</c> lambda (the compiler caches those), so recording allocates nothing.
    /// Returns null when nothing was recorded.
    /// </summary>
    internal static GradNode? RecordOp(Tensor output, BackwardFn backward, Tensor a)
    {
        if (!GradEnabled || !a.RequiresGrad) return null;
        var node = NewNode(output, new ReadOnlySpan<Tensor>(in a));
        node.SetBackward(backward, null);
        output.RequiresGrad = true;
        output._node = node;
        return node;
    }

    /// <summary>As <see cref="RecordOp(Tensor, BackwardFn, Tensor)"/> for two inputs (node[0] = a, node[1] = b).</summary>
    internal static GradNode? RecordOp(Tensor output, BackwardFn backward, Tensor a, Tensor b)
    {
        if (!GradEnabled || !(a.RequiresGrad || b.RequiresGrad)) return null;
        var node = NewNode(output, [a, b]);
        node.SetBackward(backward, null);
        output.RequiresGrad = true;
        output._node = node;
        return node;
    }

    /// <summary>
    /// As <see cref="RecordOp(Tensor, BackwardFn, Tensor)"/> for any number of inputs (copied into the node's own reusable
    /// array); <paramref name="release"/> (optional, static) runs exactly once with the node when the graph is released
    /// after a backward pass, or when the workspace scope ends, whichever comes first: return pooled state kept in the
    /// node's slots there. When this returns null nothing was recorded and <paramref name="release"/> never runs: free
    /// such state yourself.
    /// </summary>
    internal static GradNode? RecordOp(Tensor output, BackwardFn backward, ReadOnlySpan<Tensor> inputs, Action<GradNode>? release = null)
    {
        if (!AnyInputRequiresGrad(inputs)) return null;
        var node = NewNode(output, inputs);
        node.SetBackward(backward, release);
        output.RequiresGrad = true;
        output._node = node;
        return node;
    }

    private static GradNode NewNode(Tensor output, ReadOnlySpan<Tensor> inputs)
    {
        if (inputs.Length == 0) throw new ArgumentException("internal: an op needs at least one input");
        var node = _workspace?.RentNode() ?? new GradNode();
        node.SetInputs(output, inputs);
        return node;
    }

    private static GradNode NewNode(Tensor output, Tensor[] inputs)
    {
        if (inputs.Length == 0) throw new ArgumentException("internal: an op needs at least one input");
        var node = _workspace?.RentNode() ?? new GradNode();
        node.SetInputs(output, inputs);
        return node;
    }

    private static bool AnyInputRequiresGrad(ReadOnlySpan<Tensor> inputs)
    {
        if (!GradEnabled) return false;
        foreach (var input in inputs) if (input.RequiresGrad) return true;
        return false;
    }

    internal static bool AnyRequiresGrad(Tensor a) => GradEnabled && a.RequiresGrad;
    internal static bool AnyRequiresGrad(Tensor a, Tensor b) => GradEnabled && (a.RequiresGrad || b.RequiresGrad);
}

/// <summary>The backward pass of an op recorded with <see cref="Tensor.RecordOp(Tensor, BackwardFn, Tensor)"/>: reads the
/// inputs (<c>node[i]</c>), the output (<see cref="GradNode.Output"/>) and the op's state (the node's slots) and adds each
/// input's gradient from <paramref name="grad"/> = d loss/d output.</summary>
internal delegate void BackwardFn(GradNode node, Tensor grad);

/// <summary>
/// The recorded producer of a tensor: its inputs and how to push an output gradient into them. Nodes made inside a
/// <see cref="TensorWorkspace"/> scope come from its pool and go back (cleared) when the scope ends; so do the closure-free
/// ops' state slots below, which hold whatever the op's backward pass needs (sizes, flags, constants, arrays).
/// </summary>
internal sealed class GradNode
{
    // One or two inputs (almost every op) are kept inline, so recording an op allocates no input array.
    private Tensor? _first, _second;
    private Tensor[]? _all;      // the caller's array, or _own
    private Tensor[]? _own;      // reusable copy of more than two span inputs
    private Action<Tensor>? _closure;
    private BackwardFn? _backward;
    private Action? _release;
    private Action<GradNode>? _releaseNode;

    /// <summary>The tensor this node produced.</summary>
    public Tensor Output = null!;

    /// <summary>State slots for closure-free ops (cleared when the node is reused).</summary>
    public float F0, F1;
    /// <summary>State slots for closure-free ops.</summary>
    public int I0, I1, I2, I3;
    /// <summary>State slots for closure-free ops.</summary>
    public bool B0, B1;
    /// <summary>State slots for closure-free ops (arrays, masks, delegates, op objects).</summary>
    public object? O0, O1, O2;

    /// <summary>Number of inputs.</summary>
    public int Count { get; private set; }

    /// <summary>Input <paramref name="i"/>.</summary>
    public Tensor this[int i] => _all is not null ? _all[i] : i == 0 ? _first! : _second!;

    internal void SetInputs(Tensor output, ReadOnlySpan<Tensor> inputs)
    {
        Output = output;
        Count = inputs.Length;
        _first = inputs[0];
        _second = inputs.Length > 1 ? inputs[1] : null;
        if (inputs.Length > 2)
        {
            if (_own is null || _own.Length < inputs.Length) _own = new Tensor[Math.Max(inputs.Length, 4)];
            inputs.CopyTo(_own);
            _all = _own;
        }
        else _all = null;
    }

    internal void SetInputs(Tensor output, Tensor[] inputs)
    {
        Output = output;
        Count = inputs.Length;
        _first = inputs[0];
        _second = null;
        _all = inputs;
    }

    internal void SetBackward(Action<Tensor> closure, Action? release)
    {
        _closure = closure;
        _release = release;
    }

    internal void SetBackward(BackwardFn backward, Action<GradNode>? release)
    {
        _backward = backward;
        _releaseNode = release;
    }

    /// <summary>Pushes <paramref name="grad"/> (d loss/d output) into the inputs' gradients.</summary>
    public void Backward(Tensor grad)
    {
        if (_backward is not null) _backward(this, grad);
        else if (_closure is not null) _closure(grad);
        else throw new InvalidOperationException("internal: a gradient node was used after its workspace scope ended");
    }

    /// <summary>Runs the release callback (returns pooled buffers), at most once.</summary>
    public void RunRelease()
    {
        var release = _release;
        var releaseNode = _releaseNode;
        _release = null;
        _releaseNode = null;
        release?.Invoke();
        releaseNode?.Invoke(this);
    }

    /// <summary>Drops every reference (so the graph can be collected) before the node goes back to its pool.</summary>
    internal void Clear()
    {
        if (_own is not null && _all == _own) Array.Clear(_own, 0, Count);
        _first = _second = null;
        _all = null;
        _closure = null;
        _backward = null;
        _release = null;
        _releaseNode = null;
        Output = null!;
        Count = 0;
        F0 = F1 = 0;
        I0 = I1 = I2 = I3 = 0;
        B0 = B1 = false;
        O0 = O1 = O2 = null;
    }
}

/// <summary>Shape checks whose messages name both shapes.</summary>
public static class ShapeCheck
{
    /// <summary>Throws unless <paramref name="a"/> and <paramref name="b"/> have the same shape.</summary>
    public static void Same(Tensor a, Tensor b, string op)
    {
        if (!a.SameShape(b))
            throw new ArgumentException($"{op}: shapes {Tensor.ShapeString(a._shape)} and {Tensor.ShapeString(b._shape)} must match");
    }

    /// <summary>Throws unless <paramref name="t"/> has exactly the expected shape.</summary>
    public static void Is(Tensor t, string what, params int[] expected)
    {
        if (!t._shape.AsSpan().SequenceEqual(expected))
            throw new ArgumentException($"{what}: expected shape {Tensor.ShapeString(expected)}, got {Tensor.ShapeString(t._shape)}");
    }
}
