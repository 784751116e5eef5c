using System.Buffers;
using System.Numerics.Tensors;
using MiBounds.Tensors.Nn;

namespace MiBounds.Tensors;

/// <summary>
/// A whole ReLU MLP as one recorded op: the hidden activations live in pooled buffers that are returned when the graph is
/// released, the ReLU derivative is applied in place while back-propagating, and only the output (and the gradients of
/// inputs and parameters) are tensors. Same values as applying <see cref="Tensor.Linear"/> and <see cref="Tensor.Relu"/>
/// layer by layer, with fewer passes over memory and no per-layer allocations.
/// </summary>
public static class FusedMlp
{
    /// <summary>
    /// x·W₀ᵀ + b₀ → ReLU → … → ·W_Lᵀ + b_L: every layer but the last is followed by ReLU. <paramref name="x"/> is [N, in],
    /// <paramref name="weights"/>[l] is [out_l, in_l] (PyTorch's layout), <paramref name="biases"/>[l] is [out_l] or null.
    /// </summary>
    public static Tensor ReluMlp(Tensor x, IReadOnlyList<Tensor> weights, IReadOnlyList<Tensor?> biases)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(biases);
        if (x.Rank != 2) throw new ArgumentException($"ReluMlp: input must be [N, in], got {Tensor.ShapeString(x._shape)}");
        if (weights.Count == 0) throw new ArgumentException("ReluMlp: no layers given");
        if (biases.Count != weights.Count) throw new ArgumentException($"ReluMlp: {weights.Count} weights but {biases.Count} biases (pass null for a layer without bias)");
        Span<int> widths = weights.Count < 64 ? stackalloc int[weights.Count + 1] : new int[weights.Count + 1];
        widths[0] = x._shape[1];
        for (int l = 0; l < weights.Count; l++)
        {
            var w = weights[l];
            if (w.Rank != 2 || w._shape[1] != widths[l])
                throw new ArgumentException($"ReluMlp: weight {l} has shape {Tensor.ShapeString(w._shape)}, expected [out, {widths[l]}] (input {Tensor.ShapeString(x._shape)})");
            widths[l + 1] = w._shape[0];
            var b = biases[l];
            if (b is not null && (b.Rank != 1 || b._shape[0] != widths[l + 1]))
                throw new ArgumentException($"ReluMlp: bias {l} has shape {Tensor.ShapeString(b._shape)}, expected [{widths[l + 1]}]");
        }
        var op = MlpOp.Rent(x, weights, biases, widths);
        var output = Tensor.NewOutput(x._shape[0], widths[^1]);
        op.Forward(output._data);
        if (!NeedsGrad(x, null, weights, biases))
        {
            op.Release();
            return output;
        }
        return Tensor.Record(output, op.BackwardAction, op.Inputs, op.ReleaseAction);
    }

    /// <summary>Whether a fused network op must be recorded (no LINQ: this runs every step).</summary>
    internal static bool NeedsGrad(Tensor a, Tensor? b, IReadOnlyList<Tensor> weights, IReadOnlyList<Tensor?> biases)
    {
        if (!Tensor.GradEnabled) return false;
        if (a.RequiresGrad || (b?.RequiresGrad ?? false)) return true;
        for (int l = 0; l < weights.Count; l++) if (weights[l].RequiresGrad || (biases[l]?.RequiresGrad ?? false)) return true;
        return false;
    }

    /// <summary>
    /// The graph inputs of a fused network op: a, b (if given), the weights, then the non-null biases; written into
    /// <paramref name="reuse"/> when it has the right length (pooled ops keep theirs), else into a new array.
    /// </summary>
    internal static Tensor[] FillGraphInputs(Tensor[] reuse, Tensor a, Tensor? b, IReadOnlyList<Tensor> weights, IReadOnlyList<Tensor?> biases)
    {
        int count = (b is null ? 1 : 2) + weights.Count;
        for (int l = 0; l < biases.Count; l++) if (biases[l] is not null) count++;
        var inputs = reuse.Length == count ? reuse : new Tensor[count];
        int n = 0;
        inputs[n++] = a;
        if (b is not null) inputs[n++] = b;
        for (int l = 0; l < weights.Count; l++) inputs[n++] = weights[l];
        for (int l = 0; l < biases.Count; l++) if (biases[l] is { } bias) inputs[n++] = bias;
        return inputs;
    }

    /// <summary>
    /// One recorded evaluation: its inputs, pooled hidden activations and cached delegates. Instances are pooled per thread
    /// and re-armed by <see cref="Rent"/>, so a steady-state step allocates nothing here; <see cref="Release"/> (run when the
    /// graph is released) returns the activations and the instance.
    /// </summary>
    private sealed class MlpOp
    {
        [ThreadStatic] private static Stack<MlpOp>? t_pool;

        private Tensor? _x;
        private Tensor[] _w = [];
        private Tensor?[] _b = [];
        private int[] _widths = [];
        private float[]?[] _stored = [];
        private bool _live;

        private MlpOp()
        {
            BackwardAction = g => Backward(g.Values);
            ReleaseAction = Release;
        }

        public Action<Tensor> BackwardAction { get; }
        public Action ReleaseAction { get; }
        /// <summary>The graph inputs (<see cref="FillGraphInputs"/>'s order), reused while the layer count stays the same.</summary>
        public Tensor[] Inputs { get; private set; } = [];

        public static MlpOp Rent(Tensor x, IReadOnlyList<Tensor> weights, IReadOnlyList<Tensor?> biases, ReadOnlySpan<int> widths)
        {
            var pool = t_pool ??= new Stack<MlpOp>();
            var op = pool.Count > 0 ? pool.Pop() : new MlpOp();
            int layers = weights.Count;
            if (op._w.Length != layers)
            {
                op._w = new Tensor[layers];
                op._b = new Tensor?[layers];
                op._widths = new int[layers + 1];
                op._stored = new float[]?[layers - 1];
            }
            op._x = x;
            widths.CopyTo(op._widths);
            for (int l = 0; l < layers; l++) { op._w[l] = weights[l]; op._b[l] = biases[l]; }
            int n = x._shape[0];
            for (int l = 0; l < layers - 1; l++) op._stored[l] = ArrayPool<float>.Shared.Rent(checked(n * widths[l + 1]));
            op.Inputs = FillGraphInputs(op.Inputs, x, null, weights, biases);
            op._live = true;
            return op;
        }

        public void Forward(float[] output)
        {
            var x = _x!;
            int n = x._shape[0], layers = _w.Length;
            ReadOnlySpan<float> prev = x.Values;
            for (int l = 0; l < layers; l++)
            {
                int din = _widths[l], dout = _widths[l + 1];
                Span<float> dst = (l < layers - 1 ? _stored[l]! : output).AsSpan(0, n * dout);
                var bias = _b[l];
                if (bias is not null) for (int r = 0; r < n; r++) bias.Values.CopyTo(dst.Slice(r * dout, dout));
                Gemm.Multiply(false, true, n, dout, din, prev, din, _w[l].Values, din, dst, dout, accumulate: bias is not null);
                if (l < layers - 1) TensorPrimitives.Max(dst, 0f, dst);
                prev = dst;
            }
        }

        public void Release()
        {
            if (!_live) return;
            _live = false;
            for (int l = 0; l < _stored.Length; l++)
            {
                if (_stored[l] is { } a) ArrayPool<float>.Shared.Return(a);
                _stored[l] = null;
            }
            // Drop references so pooled instances do not keep tensors alive.
            _x = null;
            Array.Clear(_w);
            Array.Clear(_b);
            Array.Clear(Inputs);
            (t_pool ??= new Stack<MlpOp>()).Push(this);
        }

        private void Backward(ReadOnlySpan<float> g)
        {
            if (!_live) throw new InvalidOperationException("internal: the MLP's activations were already released");
            var x = _x!;
            int n = x._shape[0], layers = _w.Length, maxW = 0;
            foreach (int w in _widths) maxW = Math.Max(maxW, w);
            float[] bufA = ArrayPool<float>.Shared.Rent(n * maxW), bufB = ArrayPool<float>.Shared.Rent(n * maxW);
            try
            {
                ReadOnlySpan<float> dz = g; // d loss / d pre-activation of layer l, [n, widths[l+1]]
                for (int l = layers - 1; l >= 0; l--)
                {
                    int din = _widths[l], dout = _widths[l + 1];
                    var w = _w[l];
                    ReadOnlySpan<float> input = l == 0 ? x.Values : _stored[l - 1].AsSpan(0, n * din);
                    if (w.RequiresGrad) Gemm.Multiply(true, false, dout, din, n, dz, dout, input, din, Tensor.GradBuffer(w), din, accumulate: true);
                    var bias = _b[l];
                    if (bias is not null && bias.RequiresGrad)
                    {
                        var db = Tensor.GradBuffer(bias);
                        for (int r = 0; r < n; r++) TensorPrimitives.Add(db, dz.Slice(r * dout, dout), db);
                    }
                    if (l == 0)
                    {
                        if (x.RequiresGrad) Gemm.Multiply(false, false, n, din, dout, dz, dout, w.Values, din, Tensor.GradBuffer(x), din, accumulate: true);
                        break;
                    }
                    var dst = bufA.AsSpan(0, n * din);
                    Gemm.Multiply(false, false, n, din, dout, dz, dout, w.Values, din, dst, din, accumulate: false);
                    FusedPairwise.MaskInPlace(input, dst);
                    dz = dst;
                    (bufA, bufB) = (bufB, bufA);
                }
            }
            finally { ArrayPool<float>.Shared.Return(bufA); ArrayPool<float>.Shared.Return(bufB); }
        }
    }

    /// <summary>
    /// Applies <paramref name="mlp"/> through <see cref="ReluMlp"/> when its activation is ReLU and no layer checks for
    /// non-finite values (the same values as <see cref="Mlp.Forward"/>); otherwise calls <see cref="Mlp.Forward"/>.
    /// </summary>
    public static Tensor Forward(Mlp mlp, Tensor input)
    {
        ArgumentNullException.ThrowIfNull(mlp);
        ArgumentNullException.ThrowIfNull(input);
        if (mlp.Activation != Activation.Relu || Engine.CheckFinite || mlp.AnyLayerChecksFinite) return mlp.Forward(input);
        if (input.Rank != 2 || input._shape[1] != mlp.InFeatures)
            throw new ArgumentException($"Mlp({mlp.InFeatures}→{mlp.OutFeatures}): input {Tensor.ShapeString(input._shape)} does not fit (expected [N, {mlp.InFeatures}])");
        return ReluMlp(input, mlp.Weights, mlp.Biases);
    }
}
