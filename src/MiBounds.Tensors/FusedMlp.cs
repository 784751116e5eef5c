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
        LayerWidths(x._shape[1], weights, biases, 0, widths, "ReluMlp", x);
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

    /// <summary>
    /// Widths of layers <paramref name="first"/>, first+1, … of <paramref name="weights"/> for an input of width
    /// <paramref name="inWidth"/>, validated, into <paramref name="widths"/> (length weights.Count − first + 1). Messages
    /// start with <paramref name="op"/> and name <paramref name="input"/>'s shape when it is given.
    /// </summary>
    internal static void LayerWidths(int inWidth, IReadOnlyList<Tensor> weights, IReadOnlyList<Tensor?> biases, int first, Span<int> widths, string op, Tensor? input = null)
    {
        widths[0] = inWidth;
        for (int l = 0; l < weights.Count - first; l++)
        {
            var w = weights[first + l];
            if (w.Rank != 2 || w._shape[1] != widths[l])
                throw new ArgumentException($"{op}: weight {l + first} has shape {Tensor.ShapeString(w._shape)}, expected [out, {widths[l]}]"
                    + (input is null ? "" : $" (input {Tensor.ShapeString(input._shape)})"));
            widths[l + 1] = w._shape[0];
            var b = biases[first + l];
            if (b is not null && (b.Rank != 1 || b._shape[0] != widths[l + 1]))
                throw new ArgumentException($"{op}: bias {l + first} has shape {Tensor.ShapeString(b._shape)}, expected [{widths[l + 1]}]");
        }
    }

    /// <summary>
    /// Whether <paramref name="mlp"/> can run as a fused op (<see cref="ReluMlp"/>, <see cref="SeparableScores"/>,
    /// <see cref="FusedPairwise.ConcatReluMlpScores"/>): ReLU activation and no layer checking for non-finite values
    /// (neither per layer nor through <see cref="Engine.CheckFinite"/>), since the fused ops have no per-layer checks.
    /// </summary>
    public static bool CanFuse(Mlp mlp)
    {
        ArgumentNullException.ThrowIfNull(mlp);
        return mlp.Activation == Activation.Relu && !Engine.CheckFinite && !mlp.AnyLayerChecksFinite;
    }

    /// <summary>
    /// The score matrix S = h(Y)·g(X)ᵀ of a separable critic as one op, S[i, j] = h(y_i)·g(x_j) for <paramref name="x"/>
    /// [Kx, in_g] and <paramref name="y"/> [Ky, in_h]; returns [Ky, Kx]. Both networks must be fusable (<see cref="CanFuse"/>)
    /// and have the same output width. The two networks are independent, so with <see cref="Engine.MaxThreads"/> ≥ 2 they run
    /// side by side, one per thread, in the forward and in the backward pass (each network's own products then run on its
    /// thread alone); their results do not depend on the thread count. Same values as
    /// <c>Tensor.MatMul(ReluMlp(y, h…), ReluMlp(x, g…), transB: true)</c>.
    /// </summary>
    public static Tensor SeparableScores(Mlp g, Tensor x, Mlp h, Tensor y)
    {
        ArgumentNullException.ThrowIfNull(g);
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(h);
        ArgumentNullException.ThrowIfNull(y);
        if (!CanFuse(g) || !CanFuse(h)) throw new ArgumentException("SeparableScores: both networks must use ReLU and no finite checks (see FusedMlp.CanFuse)");
        if (x.Rank != 2 || x._shape[1] != g.InFeatures) throw new ArgumentException($"SeparableScores: X {Tensor.ShapeString(x._shape)} does not fit g (expected [N, {g.InFeatures}])");
        if (y.Rank != 2 || y._shape[1] != h.InFeatures) throw new ArgumentException($"SeparableScores: Y {Tensor.ShapeString(y._shape)} does not fit h (expected [N, {h.InFeatures}])");
        if (g.OutFeatures != h.OutFeatures) throw new ArgumentException($"SeparableScores: g embeds into {g.OutFeatures} dimensions but h into {h.OutFeatures}");
        Span<int> gw = g.Weights.Count < 64 ? stackalloc int[g.Weights.Count + 1] : new int[g.Weights.Count + 1];
        Span<int> hw = h.Weights.Count < 64 ? stackalloc int[h.Weights.Count + 1] : new int[h.Weights.Count + 1];
        LayerWidths(x._shape[1], g.Weights, g.Biases, 0, gw, "SeparableScores (g)", x);
        LayerWidths(y._shape[1], h.Weights, h.Biases, 0, hw, "SeparableScores (h)", y);
        var op = SeparableOp.Rent(g, x, gw, h, y, hw);
        Tensor output;
        try
        {
            output = Tensor.NewOutput(y._shape[0], x._shape[0]);
            op.Forward(output._data);
        }
        catch
        {
            op.Release();
            throw;
        }
        if (!NeedsGrad(x, y, g.Weights, g.Biases) && !NeedsGrad(x, y, h.Weights, h.Biases))
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
    internal static Tensor[] FillGraphInputs(Tensor[] reuse, Tensor a, Tensor? b, IReadOnlyList<Tensor> weights, IReadOnlyList<Tensor?> biases,
        IReadOnlyList<Tensor>? weights2 = null, IReadOnlyList<Tensor?>? biases2 = null)
    {
        int count = (b is null ? 1 : 2) + Count(weights, biases) + (weights2 is null ? 0 : Count(weights2, biases2!));
        var inputs = reuse.Length == count ? reuse : new Tensor[count];
        int n = 0;
        inputs[n++] = a;
        if (b is not null) inputs[n++] = b;
        Fill(weights, biases);
        if (weights2 is not null) Fill(weights2, biases2!);
        return inputs;

        static int Count(IReadOnlyList<Tensor> w, IReadOnlyList<Tensor?> bs)
        {
            int c = w.Count;
            for (int l = 0; l < bs.Count; l++) if (bs[l] is not null) c++;
            return c;
        }

        void Fill(IReadOnlyList<Tensor> w, IReadOnlyList<Tensor?> bs)
        {
            for (int l = 0; l < w.Count; l++) inputs[n++] = w[l];
            for (int l = 0; l < bs.Count; l++) if (bs[l] is { } bias) inputs[n++] = bias;
        }
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

        /// <summary>Creates every gradient buffer the backward pass writes (on the calling thread, before parallel parts run).</summary>
        public void PrepareGradients()
        {
            if (_x!.RequiresGrad) Tensor.GradBuffer(_x);
            for (int l = 0; l < _w.Length; l++)
            {
                if (_w[l].RequiresGrad) Tensor.GradBuffer(_w[l]);
                if (_b[l] is { RequiresGrad: true } bias) Tensor.GradBuffer(bias);
            }
        }

        /// <summary>Whether this op and <paramref name="other"/> write the gradient of a common tensor (input, weight or bias).</summary>
        public bool Shares(MlpOp other)
        {
            if (ReferenceEquals(_x, other._x)) return true;
            foreach (var w in _w) if (Array.IndexOf(other._w, w) >= 0) return true;
            foreach (var b in _b) if (b is not null && Array.IndexOf(other._b, b) >= 0) return true;
            return false;
        }

        public void Backward(ReadOnlySpan<float> g)
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
    /// One recorded <see cref="SeparableScores"/>: the two networks' ops (parts 0 and 1 for <see cref="PartRunner"/>), their
    /// pooled embeddings and embedding gradients; pooled per thread like <see cref="MlpOp"/>.
    /// </summary>
    private sealed class SeparableOp : IPartWork
    {
        [ThreadStatic] private static Stack<SeparableOp>? t_pool;

        private MlpOp? _g, _h;
        private float[]? _gx, _hy, _dgx, _dhy;   // g(X) [Kx, E], h(Y) [Ky, E] and their gradients
        private int _kx, _ky, _e;
        private bool _inBackward, _live;

        private SeparableOp()
        {
            BackwardAction = Backward;
            ReleaseAction = Release;
        }

        public Action<Tensor> BackwardAction { get; }
        public Action ReleaseAction { get; }
        public Tensor[] Inputs { get; private set; } = [];

        /// <summary>A pooled op for g on X and h on Y, with their widths as validated by <see cref="LayerWidths"/>.</summary>
        public static SeparableOp Rent(Mlp g, Tensor x, ReadOnlySpan<int> gw, Mlp h, Tensor y, ReadOnlySpan<int> hw)
        {
            var pool = t_pool ??= new Stack<SeparableOp>();
            var op = pool.Count > 0 ? pool.Pop() : new SeparableOp();
            op._kx = x._shape[0]; op._ky = y._shape[0]; op._e = g.OutFeatures;
            op._g = MlpOp.Rent(x, g.Weights, g.Biases, gw);
            op._h = MlpOp.Rent(y, h.Weights, h.Biases, hw);
            op._gx = ArrayPool<float>.Shared.Rent(Math.Max(1, op._kx * op._e));
            op._hy = ArrayPool<float>.Shared.Rent(Math.Max(1, op._ky * op._e));
            op.Inputs = FillGraphInputs(op.Inputs, x, y, g.Weights, g.Biases, h.Weights, h.Biases);
            op._live = true;
            return op;
        }

        public void RunPart(int part)
        {
            var net = part == 0 ? _g! : _h!;
            if (_inBackward) net.Backward((part == 0 ? _dgx : _dhy).AsSpan(0, (part == 0 ? _kx : _ky) * _e));
            else net.Forward(part == 0 ? _gx! : _hy!);
        }

        public void Forward(float[] scores)
        {
            _inBackward = false;
            PartRunner.Run(this, 2, Engine.MaxThreads);
            // S = h(Y)·g(X)ᵀ.
            Gemm.Multiply(false, true, _ky, _kx, _e, _hy, _e, _gx, _e, scores, _kx, accumulate: false);
        }

        private void Backward(Tensor gradient)
        {
            if (!_live) throw new InvalidOperationException("internal: the separable op's embeddings were already released");
            var gs = gradient.Values;
            _dgx ??= ArrayPool<float>.Shared.Rent(Math.Max(1, _kx * _e)); // kept for a second backward (retainGraph)
            _dhy ??= ArrayPool<float>.Shared.Rent(Math.Max(1, _ky * _e));
            // d h(Y) = dS·g(X), d g(X) = dSᵀ·h(Y).
            Gemm.Multiply(false, false, _ky, _e, _kx, gs, _kx, _gx, _e, _dhy, _e, accumulate: false);
            Gemm.Multiply(true, false, _kx, _e, _ky, gs, _kx, _hy, _e, _dgx, _e, accumulate: false);
            _g!.PrepareGradients();
            _h!.PrepareGradients();
            // Two networks that write one gradient (the same input or a shared parameter) must not run at once.
            int threads = _g.Shares(_h) ? 1 : Engine.MaxThreads;
            _inBackward = true;
            try { PartRunner.Run(this, 2, threads); }
            finally { _inBackward = false; }
        }

        public void Release()
        {
            if (!_live) return;
            _live = false;
            _g!.Release(); _h!.Release();
            _g = _h = null;
            foreach (var a in (ReadOnlySpan<float[]?>)[_gx, _hy, _dgx, _dhy]) if (a is not null) ArrayPool<float>.Shared.Return(a);
            _gx = _hy = _dgx = _dhy = null;
            Array.Clear(Inputs);
            (t_pool ??= new Stack<SeparableOp>()).Push(this);
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
        if (!CanFuse(mlp)) return mlp.Forward(input);
        if (input.Rank != 2 || input._shape[1] != mlp.InFeatures)
            throw new ArgumentException($"Mlp({mlp.InFeatures}→{mlp.OutFeatures}): input {Tensor.ShapeString(input._shape)} does not fit (expected [N, {mlp.InFeatures}])");
        return ReluMlp(input, mlp.Weights, mlp.Biases);
    }
}
