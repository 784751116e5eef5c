using System.Buffers;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace MiBounds.Tensors;

/// <summary>
/// Fused kernels for a joint (concat) critic evaluated on every pair of a batch, after its first layer was factored into a
/// per-row part V and a per-column part U: the first hidden layer relu(V[i] + U[j]) is formed block by block and never
/// materialized as a broadcast copy, the later layers run on row blocks that stay in cache, and the backward pass
/// recomputes the first hidden layer instead of storing it and reduces its gradient over i and j directly.
/// </summary>
public static class FusedPairwise
{
    /// <summary>Rows of the pair matrix processed per block (rounded to whole rows of V).</summary>
    private const int BlockRows = 512;

    /// <summary>Most lanes (groups of blocks run as one part) an evaluation is split into; fixed, so results do not depend on the thread count.</summary>
    private const int MaxLanes = 4;

    /// <summary>
    /// Scores S[i, j] = MLP(relu(V[i] + U[j])) of a ReLU network for all pairs: <paramref name="v"/> [Kv, H0] and
    /// <paramref name="u"/> [Ku, H0] are the two halves of the first pre-activation; <paramref name="weights"/>[l] ([H_{l+1}, H_l],
    /// PyTorch's layout) and <paramref name="biases"/>[l] ([H_{l+1}] or null) are the later layers, each but the last followed by
    /// ReLU; the last has one output. Returns [Kv, Ku]. Same values as expanding V and U to [Kv·Ku, H0] and applying the layers.
    /// </summary>
    public static Tensor ReluMlpScores(Tensor v, Tensor u, IReadOnlyList<Tensor> weights, IReadOnlyList<Tensor?> biases)
    {
        ArgumentNullException.ThrowIfNull(v);
        ArgumentNullException.ThrowIfNull(u);
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(biases);
        if (v.Rank != 2 || u.Rank != 2 || v._shape[1] != u._shape[1])
            throw new ArgumentException($"ReluMlpScores: V {Tensor.ShapeString(v._shape)} and U {Tensor.ShapeString(u._shape)} must be [Kv, H] and [Ku, H] with the same H");
        if (weights.Count == 0) throw new ArgumentException("ReluMlpScores: at least the output layer is needed");
        if (biases.Count != weights.Count) throw new ArgumentException($"ReluMlpScores: {weights.Count} weights but {biases.Count} biases (pass null for a layer without bias)");
        Span<int> widths = weights.Count < 64 ? stackalloc int[weights.Count + 1] : new int[weights.Count + 1];
        LaterWidths(v._shape[1], weights, biases, 0, widths, "ReluMlpScores");
        var op = PairwiseMlp.Rent(weights, biases, 0, widths);
        op.UseTensors(v, u);
        return Evaluate(op, v, u, weights, biases);
    }

    /// <summary>Runs the forward pass of an armed op and records it (or releases it at once when no gradient is needed).</summary>
    private static Tensor Evaluate(PairwiseMlp op, Tensor a, Tensor b, IReadOnlyList<Tensor> weights, IReadOnlyList<Tensor?> biases)
    {
        Tensor output;
        try
        {
            output = Tensor.NewOutput(op.Kv, op.Ku);
            op.Forward(output._data);
        }
        catch
        {
            op.Release();
            throw;
        }
        if (!FusedMlp.NeedsGrad(a, b, weights, biases))
        {
            op.Release();
            return output;
        }
        return Tensor.Record(output, op.BackwardAction, op.SetInputs(a, b, weights, biases), op.ReleaseAction);
    }

    /// <summary>
    /// Scores S[i, j] = MLP([x_j, y_i]) of a ReLU network on the concatenation of every pair, for <paramref name="x"/> [Kx, dx]
    /// and <paramref name="y"/> [Ky, dy]: <paramref name="weights"/>[0] is the first layer [H0, dx + dy] (x's columns first),
    /// the later weights and all biases as in <see cref="ReluMlpScores"/>. The first layer is applied factored
    /// (V = y·W_yᵀ + b₀ and U = x·W_xᵀ on Ky + Kx rows, reading the two column blocks of W₀ in place), so no pair is ever
    /// concatenated. Returns [Ky, Kx] (rows y, columns x).
    /// </summary>
    public static Tensor ConcatReluMlpScores(Tensor x, Tensor y, IReadOnlyList<Tensor> weights, IReadOnlyList<Tensor?> biases)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(y);
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(biases);
        if (x.Rank != 2 || y.Rank != 2) throw new ArgumentException($"ConcatReluMlpScores: X {Tensor.ShapeString(x._shape)} and Y {Tensor.ShapeString(y._shape)} must be rank 2");
        if (weights.Count < 2) throw new ArgumentException("ConcatReluMlpScores: needs the first layer and an output layer");
        if (biases.Count != weights.Count) throw new ArgumentException($"ConcatReluMlpScores: {weights.Count} weights but {biases.Count} biases (pass null for a layer without bias)");
        int dx = x._shape[1], dy = y._shape[1];
        var w0 = weights[0];
        if (w0.Rank != 2 || w0._shape[1] != dx + dy)
            throw new ArgumentException($"ConcatReluMlpScores: first weight {Tensor.ShapeString(w0._shape)} does not fit X {Tensor.ShapeString(x._shape)} and Y {Tensor.ShapeString(y._shape)} (expected [H, {dx + dy}])");
        int h0 = w0._shape[0];
        var b0 = biases[0];
        if (b0 is not null && (b0.Rank != 1 || b0._shape[0] != h0))
            throw new ArgumentException($"ConcatReluMlpScores: bias 0 has shape {Tensor.ShapeString(b0._shape)}, expected [{h0}]");
        Span<int> widths = weights.Count < 64 ? stackalloc int[weights.Count] : new int[weights.Count];
        LaterWidths(h0, weights, biases, 1, widths, "ConcatReluMlpScores");
        var op = PairwiseMlp.Rent(weights, biases, 1, widths);
        op.UseConcat(x, y, w0, b0);
        return Evaluate(op, x, y, weights, biases);
    }

    /// <summary>
    /// Widths H0, H1, …, 1 of layers <paramref name="first"/>, first+1, … of <paramref name="weights"/> (the layers after the
    /// factored first one), validated (<see cref="FusedMlp.LayerWidths"/>, plus one output at the end), into
    /// <paramref name="widths"/> (length weights.Count − first + 1).
    /// </summary>
    private static void LaterWidths(int h0, IReadOnlyList<Tensor> weights, IReadOnlyList<Tensor?> biases, int first, Span<int> widths, string op)
    {
        if (weights.Count <= first) throw new ArgumentException($"{op}: at least the output layer is needed");
        FusedMlp.LayerWidths(h0, weights, biases, first, widths, op);
        if (widths[^1] != 1) throw new ArgumentException($"{op}: the last layer must have one output, weight {weights.Count - 1} has shape {Tensor.ShapeString(weights[^1]._shape)}");
    }

    /// <summary>Where V [Kv, H0] and U [Ku, H0] come from, and where their gradients go.</summary>
    private interface IFirstLayer
    {
        int Kv { get; }
        int Ku { get; }
        bool NeedsGrad { get; }
        ReadOnlySpan<float> V { get; }
        ReadOnlySpan<float> U { get; }
        /// <summary>Zeroed buffers for dV and dU (may be empty when that side needs no gradient).</summary>
        (Memory<float> Dv, Memory<float> Du) GradientTargets();
        /// <summary>Called after dV and dU are complete.</summary>
        void FinishBackward();
        void Release();
    }

    /// <summary>V and U given as tensors: their gradients accumulate directly in them.</summary>
    private sealed class TensorFirstLayer : IFirstLayer
    {
        private Tensor? _v, _u;
        private Tensor Vt => _v ?? throw Released();
        private Tensor Ut => _u ?? throw Released();

        public void Arm(Tensor v, Tensor u) { _v = v; _u = u; }
        public int Kv => Vt._shape[0];
        public int Ku => Ut._shape[0];
        public bool NeedsGrad => Vt.RequiresGrad || Ut.RequiresGrad;
        public ReadOnlySpan<float> V => Vt.Values;
        public ReadOnlySpan<float> U => Ut.Values;
        public (Memory<float> Dv, Memory<float> Du) GradientTargets()
        {
            Tensor v = Vt, u = Ut;
            if (v.RequiresGrad) Tensor.GradBuffer(v);
            if (u.RequiresGrad) Tensor.GradBuffer(u);
            return (v.RequiresGrad ? v.Grad!._data.AsMemory(0, v.Size) : Memory<float>.Empty, u.RequiresGrad ? u.Grad!._data.AsMemory(0, u.Size) : Memory<float>.Empty);
        }
        public void FinishBackward() { }
        public void Release() { _v = _u = null; }
    }

    private static InvalidOperationException Released() => new("internal: the pairwise op's inputs were already released");

    /// <summary>V = y·W_yᵀ + b and U = x·W_xᵀ computed here from the concat layer's weight, into pooled buffers.</summary>
    private sealed class ConcatFirstLayer : IFirstLayer
    {
        private Tensor? _x, _y, _w, _b;
        private int _dx, _dy, _h;
        private float[]? _v, _u, _dv, _du;

        public void Arm(Tensor x, Tensor y, Tensor w, Tensor? b)
        {
            _x = x; _y = y; _w = w; _b = b;
            _dx = x._shape[1]; _dy = y._shape[1]; _h = w._shape[0];
            Kv = y._shape[0]; Ku = x._shape[0];
            _v = ArrayPool<float>.Shared.Rent(Kv * _h);
            _u = ArrayPool<float>.Shared.Rent(Ku * _h);
            int ld = _dx + _dy;
            var vs = _v.AsSpan(0, Kv * _h);
            if (b is not null) for (int r = 0; r < Kv; r++) b.Values.CopyTo(vs.Slice(r * _h, _h));
            Gemm.Multiply(false, true, Kv, _h, _dy, y.Values, _dy, w.Values.Slice(_dx), ld, vs, _h, accumulate: b is not null);
            Gemm.Multiply(false, true, Ku, _h, _dx, x.Values, _dx, w.Values, ld, _u.AsSpan(0, Ku * _h), _h, accumulate: false);
        }

        public int Kv { get; private set; }
        public int Ku { get; private set; }
        public bool NeedsGrad => _x!.RequiresGrad || _y!.RequiresGrad || _w!.RequiresGrad || (_b?.RequiresGrad ?? false);
        public ReadOnlySpan<float> V => (_v ?? throw Released()).AsSpan(0, Kv * _h);
        public ReadOnlySpan<float> U => (_u ?? throw Released()).AsSpan(0, Ku * _h);

        public (Memory<float> Dv, Memory<float> Du) GradientTargets()
        {
            _dv ??= ArrayPool<float>.Shared.Rent(Kv * _h);
            _du ??= ArrayPool<float>.Shared.Rent(Ku * _h);
            _dv.AsSpan(0, Kv * _h).Clear();
            _du.AsSpan(0, Ku * _h).Clear();
            return (_dv.AsMemory(0, Kv * _h), _du.AsMemory(0, Ku * _h));
        }

        public void FinishBackward()
        {
            Tensor x = _x ?? throw Released(), y = _y!, w = _w!;
            int ld = _dx + _dy;
            ReadOnlySpan<float> dv = _dv.AsSpan(0, Kv * _h), du = _du.AsSpan(0, Ku * _h);
            if (w.RequiresGrad)
            {
                var dw = Tensor.GradBuffer(w);
                Gemm.Multiply(true, false, _h, _dy, Kv, dv, _h, y.Values, _dy, dw.Slice(_dx), ld, accumulate: true);
                Gemm.Multiply(true, false, _h, _dx, Ku, du, _h, x.Values, _dx, dw, ld, accumulate: true);
            }
            if (_b is not null && _b.RequiresGrad)
            {
                var db = Tensor.GradBuffer(_b);
                for (int r = 0; r < Kv; r++) TensorPrimitives.Add(db, dv.Slice(r * _h, _h), db);
            }
            if (y.RequiresGrad) Gemm.Multiply(false, false, Kv, _dy, _h, dv, _h, w.Values.Slice(_dx), ld, Tensor.GradBuffer(y), _dy, accumulate: true);
            if (x.RequiresGrad) Gemm.Multiply(false, false, Ku, _dx, _h, du, _h, w.Values, ld, Tensor.GradBuffer(x), _dx, accumulate: true);
        }

        public void Release()
        {
            if (_v is not null) ArrayPool<float>.Shared.Return(_v);
            if (_u is not null) ArrayPool<float>.Shared.Return(_u);
            if (_dv is not null) ArrayPool<float>.Shared.Return(_dv);
            if (_du is not null) ArrayPool<float>.Shared.Return(_du);
            _v = _u = _dv = _du = null;
            _x = _y = _w = _b = null;
        }
    }

    /// <summary>
    /// One recorded evaluation: its inputs and the pooled activations the backward pass needs. The pair blocks are split
    /// into up to <see cref="MaxLanes"/> lanes of consecutive blocks that run on up to <see cref="Engine.MaxThreads"/>
    /// threads (<see cref="PartRunner"/>), each lane with its own scratch; in the backward pass lanes 1, 2, … accumulate the
    /// gradients that sum over blocks (weights, biases, dU) into lane-private partials, added to lane 0's targets in lane
    /// order afterwards. The split depends only on the shape, so results are the same for every thread count.
    /// </summary>
    private sealed class PairwiseMlp : IPartWork
    {
        [ThreadStatic] private static Stack<PairwiseMlp>? t_pool;

        private readonly TensorFirstLayer _tensorFirst = new();
        private readonly ConcatFirstLayer _concatFirst = new();
        private IFirstLayer _first = null!;
        private Tensor[] _w = [];
        private Tensor?[] _b = [];
        private int[] _widths = [];
        private int _hidden;              // hidden layers after the first (their activations are stored)
        private int _blockI;              // rows of V per block
        private int _blocks, _lanes;
        private float[]?[] _stored = [];  // activation of hidden layer l+1, [N, widths[l+1]]
        private bool _live;
        private Tensor[] _inputs = [];

        // State of the pass in progress (PartRunner calls RunPart for each lane).
        private bool _inBackward;
        private float[]? _scores;
        private Tensor? _g;
        private bool _needFirst;
        private Memory<float> _dv, _du;
        private readonly float[]?[] _partials = new float[]?[MaxLanes];  // [lane] gradient partials of lanes ≥ 1
        private int[] _offW = [], _offB = [];
        private int _offDu, _partialSize;

        private PairwiseMlp()
        {
            BackwardAction = Backward;
            ReleaseAction = Release;
        }

        public Action<Tensor> BackwardAction { get; }
        public Action ReleaseAction { get; }
        public int Kv { get; private set; }
        public int Ku { get; private set; }
        private int Rows => Kv * Ku;

        /// <summary>A pooled op for layers first, first+1, … of <paramref name="weights"/>, widths as validated by LaterWidths.</summary>
        public static PairwiseMlp Rent(IReadOnlyList<Tensor> weights, IReadOnlyList<Tensor?> biases, int first, ReadOnlySpan<int> widths)
        {
            var pool = t_pool ??= new Stack<PairwiseMlp>();
            var op = pool.Count > 0 ? pool.Pop() : new PairwiseMlp();
            int layers = weights.Count - first;
            if (op._w.Length != layers)
            {
                op._w = new Tensor[layers];
                op._b = new Tensor?[layers];
                op._widths = new int[layers + 1];
                op._stored = new float[]?[layers - 1];
                op._offW = new int[layers];
                op._offB = new int[layers - 1];
            }
            for (int l = 0; l < layers; l++) { op._w[l] = weights[first + l]; op._b[l] = biases[first + l]; }
            widths.CopyTo(op._widths);
            op._hidden = layers - 1;
            return op;
        }

        /// <summary>Arms the op with V and U given as tensors.</summary>
        public void UseTensors(Tensor v, Tensor u)
        {
            _tensorFirst.Arm(v, u);
            Start(_tensorFirst);
        }

        /// <summary>Arms the op with the concat layer (x, y, W₀, b₀), computing V and U.</summary>
        public void UseConcat(Tensor x, Tensor y, Tensor w0, Tensor? b0)
        {
            _concatFirst.Arm(x, y, w0, b0);
            Start(_concatFirst);
        }

        private void Start(IFirstLayer first)
        {
            _first = first;
            Kv = first.Kv; Ku = first.Ku;
            _blockI = Math.Max(1, BlockRows / Math.Max(1, Ku));
            _blocks = (Kv + _blockI - 1) / _blockI;
            _lanes = Math.Clamp(_blocks, 1, MaxLanes);
            _live = true;
            for (int l = 0; l < _hidden; l++) _stored[l] = ArrayPool<float>.Shared.Rent(checked(Rows * _widths[l + 1]));
        }

        /// <summary>The graph inputs (<see cref="FusedMlp.FillGraphInputs"/>), in an array this op keeps.</summary>
        public Tensor[] SetInputs(Tensor a, Tensor b, IReadOnlyList<Tensor> weights, IReadOnlyList<Tensor?> biases)
            => _inputs = FusedMlp.FillGraphInputs(_inputs, a, b, weights, biases);

        private int MaxWidth()
        {
            int m = 0;
            foreach (int w in _widths) m = Math.Max(m, w);
            return m;
        }

        public void Release()
        {
            if (!_live) return;
            _live = false;
            _first.Release();
            for (int l = 0; l < _stored.Length; l++)
            {
                if (_stored[l] is { } a) ArrayPool<float>.Shared.Return(a);
                _stored[l] = null;
            }
            // Drop references so pooled instances do not keep tensors alive.
            Array.Clear(_w);
            Array.Clear(_b);
            Array.Clear(_inputs);
            (t_pool ??= new Stack<PairwiseMlp>()).Push(this);
        }

        private float[]?[] Stored => _live ? _stored : throw new InvalidOperationException("internal: the pairwise MLP's activations were already released");

        public void RunPart(int lane)
        {
            int b0 = lane * _blocks / _lanes, b1 = (lane + 1) * _blocks / _lanes;
            if (_inBackward) BackwardLane(lane, b0, b1);
            else ForwardLane(b0, b1);
        }

        /// <summary>relu(V[i] + U[j]) for V rows [i0, i0+ni), all j, into <paramref name="dst"/> (row (i−i0)·Ku + j).</summary>
        private void FirstLayer(int i0, int ni, Span<float> dst)
        {
            int h = _widths[0];
            var vv = _first.V; var uv = _first.U;
            for (int i = 0; i < ni; i++)
            {
                var vi = vv.Slice((i0 + i) * h, h);
                for (int j = 0; j < Ku; j++) AddRelu(vi, uv.Slice(j * h, h), dst.Slice((i * Ku + j) * h, h));
            }
        }

        public void Forward(float[] scores)
        {
            _scores = scores;
            _inBackward = false;
            try { PartRunner.Run(this, _lanes, Engine.MaxThreads); }
            finally { _scores = null; }
        }

        private void ForwardLane(int b0, int b1)
        {
            int h0 = _widths[0];
            var stored = Stored;
            var scores = _scores!;
            float[] a0 = ArrayPool<float>.Shared.Rent(_blockI * Ku * h0);
            try
            {
                for (int block = b0; block < b1; block++)
                {
                    int i0 = block * _blockI, ni = Math.Min(_blockI, Kv - i0), rows = ni * Ku, r0 = i0 * Ku;
                    FirstLayer(i0, ni, a0);
                    ReadOnlySpan<float> prev = a0.AsSpan(0, rows * h0);
                    var wOut = _w[_hidden].Values;
                    float bOut = _b[_hidden] is { } outBias ? outBias.Values[0] : 0f;
                    var blockScores = scores.AsSpan(r0, rows);
                    for (int l = 0; l < _hidden; l++)
                    {
                        int din = _widths[l], dout = _widths[l + 1];
                        var dst = stored[l].AsSpan(r0 * dout, rows * dout);
                        Gemm.Multiply(false, true, rows, dout, din, prev, din, _w[l].Values, din, dst, dout, accumulate: false);
                        // One pass per row: bias, ReLU and, after the last hidden layer, the one-output layer's dot product.
                        var bias = _b[l] is { } b ? b.Values : default;
                        bool last = l == _hidden - 1;
                        for (int r = 0; r < rows; r++)
                        {
                            float dot = BiasRelu(dst.Slice(r * dout, dout), bias, last ? wOut : default);
                            if (last) blockScores[r] = dot + bOut;
                        }
                        prev = dst;
                    }
                    if (_hidden == 0)
                        for (int r = 0; r < rows; r++) blockScores[r] = TensorPrimitives.Dot(prev.Slice(r * h0, h0), wOut) + bOut;
                }
            }
            finally { ArrayPool<float>.Shared.Return(a0); }
        }

        /// <summary>Where lane <paramref name="lane"/> adds weight <paramref name="li"/>'s gradient (empty when it needs none).</summary>
        private Span<float> WeightTarget(int lane, int li)
        {
            var w = _w[li];
            if (!w.RequiresGrad) return default;
            return lane == 0 ? Tensor.GradBuffer(w) : _partials[lane]!.AsSpan(_offW[li], w.Size);
        }

        /// <summary>Where lane <paramref name="lane"/> adds bias <paramref name="li"/>'s gradient (empty when there is none to add).</summary>
        private Span<float> BiasTarget(int lane, int li)
        {
            var b = _b[li];
            if (b is null || !b.RequiresGrad) return default;
            return lane == 0 ? Tensor.GradBuffer(b) : _partials[lane]!.AsSpan(_offB[li], b.Size);
        }

        private Span<float> DuTarget(int lane)
        {
            if (_du.IsEmpty) return default;
            return lane == 0 ? _du.Span : _partials[lane]!.AsSpan(_offDu, _du.Length);
        }

        public void Backward(Tensor g)
        {
            _ = Stored;
            _needFirst = _first.NeedsGrad;
            // Gradient buffers are created here, on one thread; the lanes only write into them.
            for (int li = 0; li <= _hidden; li++)
            {
                if (_w[li].RequiresGrad) Tensor.GradBuffer(_w[li]);
                if (li < _hidden && _b[li] is { RequiresGrad: true } bias) Tensor.GradBuffer(bias);
            }
            (_dv, _du) = _needFirst ? _first.GradientTargets() : (Memory<float>.Empty, Memory<float>.Empty);
            if (_b[_hidden] is { RequiresGrad: true } outB) Tensor.GradBuffer(outB)[0] += (float)Tensor.SumDouble(g.Values);

            int size = 0;
            for (int li = 0; li <= _hidden; li++) { _offW[li] = size; size += _w[li].Size; }
            for (int li = 0; li < _hidden; li++) { _offB[li] = size; size += _widths[li + 1]; }
            _offDu = size; size += _du.Length;
            _partialSize = size;
            for (int lane = 1; lane < _lanes; lane++) _partials[lane] = ArrayPool<float>.Shared.Rent(size);
            _g = g;
            _inBackward = true;
            try
            {
                PartRunner.Run(this, _lanes, Engine.MaxThreads);
                for (int lane = 1; lane < _lanes; lane++)
                {
                    for (int li = 0; li <= _hidden; li++)
                    {
                        var dw = WeightTarget(0, li);
                        if (!dw.IsEmpty) TensorPrimitives.Add(dw, WeightTarget(lane, li), dw);
                        if (li == _hidden) continue;
                        var db = BiasTarget(0, li);
                        if (!db.IsEmpty) TensorPrimitives.Add(db, BiasTarget(lane, li), db);
                    }
                    var du = DuTarget(0);
                    if (!du.IsEmpty) TensorPrimitives.Add(du, DuTarget(lane), du);
                }
            }
            finally
            {
                _inBackward = false;
                _g = null;
                for (int lane = 1; lane < _lanes; lane++)
                {
                    if (_partials[lane] is { } a) ArrayPool<float>.Shared.Return(a);
                    _partials[lane] = null;
                }
            }
            if (_needFirst) _first.FinishBackward();
        }

        private void BackwardLane(int lane, int b0, int b1)
        {
            int h0 = _widths[0], maxW = MaxWidth();
            var stored = Stored;
            bool needFirst = _needFirst;
            int blockRows = _blockI * Ku;
            if (lane > 0) _partials[lane]!.AsSpan(0, _partialSize).Clear();
            float[] a0 = ArrayPool<float>.Shared.Rent(blockRows * h0);
            float[] dz = ArrayPool<float>.Shared.Rent(blockRows * maxW);
            float[] dPrev = ArrayPool<float>.Shared.Rent(blockRows * maxW);
            float[] dvRow = ArrayPool<float>.Shared.Rent(h0);
            try
            {
                var g = _g!.Values;
                var outW = _w[_hidden];
                int last = _widths[_hidden];
                Span<float> dwOut = WeightTarget(lane, _hidden);
                Span<float> dv = _dv.Span, du = DuTarget(lane);
                var wOut = outW.Values;
                // The last hidden layer's bias gradient is summed in the output layer's pass (one pass per row).
                Span<float> dbLast = _hidden > 0 ? BiasTarget(lane, _hidden - 1) : default;
                bool wantDz = _hidden > 0 || needFirst;
                for (int block = b0; block < b1; block++)
                {
                    int i0 = block * _blockI, ni = Math.Min(_blockI, Kv - i0), rows = ni * Ku, r0 = i0 * Ku;
                    FirstLayer(i0, ni, a0);
                    ReadOnlySpan<float> Act(int l) => l == 0 ? a0.AsSpan(0, rows * h0) : stored[l - 1].AsSpan(r0 * _widths[l], rows * _widths[l]);

                    // Output layer, one pass per row: dW_out += g[r]·a[r]; dZ = relu'(a) ⊙ (g[r]·w_out); dBias_last += dZ.
                    var aLast = Act(_hidden);
                    var gBlock = g.Slice(r0, rows);
                    var dzs = dz.AsSpan(0, rows * last);
                    for (int r = 0; r < rows; r++)
                        OutputLayerGrad(aLast.Slice(r * last, last), wOut, gBlock[r], wantDz ? dzs.Slice(r * last, last) : default, dwOut, dbLast);
                    if (!wantDz) continue;

                    for (int l = _hidden; l >= 1; l--)
                    {
                        // Layer l maps widths[l-1] → widths[l]; dz holds d loss / d pre-activation of layer l, [rows, widths[l]].
                        int din = _widths[l - 1], dout = _widths[l];
                        var w = _w[l - 1];
                        var dzl = dz.AsSpan(0, rows * dout);
                        var prev = Act(l - 1);
                        var dw = WeightTarget(lane, l - 1);
                        if (!dw.IsEmpty) Gemm.Multiply(true, false, dout, din, rows, dzl, dout, prev, din, dw, din, accumulate: true);
                        if (l != _hidden)
                        {
                            var db = BiasTarget(lane, l - 1);
                            if (!db.IsEmpty) for (int r = 0; r < rows; r++) TensorPrimitives.Add(db, dzl.Slice(r * dout, dout), db);
                        }
                        if (l == 1 && !needFirst) break;
                        var dp = dPrev.AsSpan(0, rows * din);
                        Gemm.Multiply(false, false, rows, din, dout, dzl, dout, w.Values, din, dp, din, accumulate: false);
                        if (l > 1) MaskInPlace(prev, dp);
                        (dz, dPrev) = (dPrev, dz);
                    }
                    if (!needFirst) continue;

                    // First layer: dz = d loss / d a0 (unmasked); mask by relu'(V[i] + U[j]) and reduce over j (dV) and i (dU).
                    var dz0 = dz.AsSpan(0, rows * h0);
                    var dvr = dvRow.AsSpan(0, h0);
                    for (int i = 0; i < ni; i++)
                    {
                        dvr.Clear();
                        for (int j = 0; j < Ku; j++)
                        {
                            int r = i * Ku + j;
                            MaskAccumulate(a0.AsSpan(r * h0, h0), dz0.Slice(r * h0, h0), dvr, du.IsEmpty ? default : du.Slice(j * h0, h0));
                        }
                        if (!dv.IsEmpty) TensorPrimitives.Add(dv.Slice((i0 + i) * h0, h0), dvr, dv.Slice((i0 + i) * h0, h0));
                    }
                }
            }
            finally
            {
                ArrayPool<float>.Shared.Return(a0); ArrayPool<float>.Shared.Return(dz); ArrayPool<float>.Shared.Return(dPrev); ArrayPool<float>.Shared.Return(dvRow);
            }
        }
    }

    // ---------------------------------------------------------------- vector kernels

    /// <summary>dst = max(a + b, 0).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddRelu(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> dst)
    {
        int n = dst.Length, c = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            ref float pa = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(a);
            ref float pb = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(b);
            ref float pd = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(dst);
            for (; c <= n - 16; c += 16)
                Vector512.Max(Vector512.LoadUnsafe(ref pa, (nuint)c) + Vector512.LoadUnsafe(ref pb, (nuint)c), Vector512<float>.Zero).StoreUnsafe(ref pd, (nuint)c);
        }
        for (; c < n; c++) dst[c] = MathF.Max(a[c] + b[c], 0f);
    }

    /// <summary>row = max(row + bias, 0) (bias may be empty); returns Σ row·w over the result when w is given, else 0.</summary>
    private static float BiasRelu(Span<float> row, ReadOnlySpan<float> bias, ReadOnlySpan<float> w)
    {
        int n = row.Length, c = 0;
        bool hasBias = !bias.IsEmpty, hasDot = !w.IsEmpty;
        float dot = 0f;
        if (Vector512.IsHardwareAccelerated)
        {
            ref float pr = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(row);
            ref float pb = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(bias);
            ref float pw = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(w);
            var acc = Vector512<float>.Zero;
            for (; c <= n - 16; c += 16)
            {
                var v = Vector512.LoadUnsafe(ref pr, (nuint)c);
                if (hasBias) v += Vector512.LoadUnsafe(ref pb, (nuint)c);
                v = Vector512.Max(v, Vector512<float>.Zero);
                v.StoreUnsafe(ref pr, (nuint)c);
                if (hasDot) acc = Vector512.FusedMultiplyAdd(v, Vector512.LoadUnsafe(ref pw, (nuint)c), acc);
            }
            if (hasDot) dot = Vector512.Sum(acc);
        }
        for (; c < n; c++)
        {
            float v = MathF.Max(hasBias ? row[c] + bias[c] : row[c], 0f);
            row[c] = v;
            if (hasDot) dot += v * w[c];
        }
        return dot;
    }

    /// <summary>
    /// For one row of a one-output layer with input act (after a ReLU, unless it is the first layer) and output gradient s:
    /// dW += s·act; dz = act &gt; 0 ? s·w : 0 (the gradient through the ReLU); dBias += dz. Any target may be empty (skipped).
    /// </summary>
    private static void OutputLayerGrad(ReadOnlySpan<float> act, ReadOnlySpan<float> w, float s, Span<float> dz, Span<float> dW, Span<float> dBias)
    {
        int n = act.Length, c = 0;
        bool wantDz = !dz.IsEmpty, wantDw = !dW.IsEmpty, wantDb = !dBias.IsEmpty;
        if (Vector512.IsHardwareAccelerated)
        {
            ref float pa = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(act);
            ref float pw = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(w);
            ref float pz = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(dz);
            ref float pdw = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(dW);
            ref float pdb = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(dBias);
            var vs = Vector512.Create(s);
            for (; c <= n - 16; c += 16)
            {
                var a = Vector512.LoadUnsafe(ref pa, (nuint)c);
                if (wantDw) (Vector512.LoadUnsafe(ref pdw, (nuint)c) + a * vs).StoreUnsafe(ref pdw, (nuint)c);
                if (!wantDz) continue;
                var d = Vector512.BitwiseAnd(Vector512.GreaterThan(a, Vector512<float>.Zero), Vector512.LoadUnsafe(ref pw, (nuint)c) * vs);
                d.StoreUnsafe(ref pz, (nuint)c);
                if (wantDb) (Vector512.LoadUnsafe(ref pdb, (nuint)c) + d).StoreUnsafe(ref pdb, (nuint)c);
            }
        }
        for (; c < n; c++)
        {
            if (wantDw) dW[c] += act[c] * s;
            if (!wantDz) continue;
            float d = act[c] > 0 ? s * w[c] : 0f;
            dz[c] = d;
            if (wantDb) dBias[c] += d;
        }
    }

    /// <summary>grad = act &gt; 0 ? grad : 0.</summary>
    internal static void MaskInPlace(ReadOnlySpan<float> act, Span<float> grad)
    {
        int n = grad.Length, c = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            ref float pa = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(act);
            ref float pg = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(grad);
            for (; c <= n - 16; c += 16)
            {
                var mask = Vector512.GreaterThan(Vector512.LoadUnsafe(ref pa, (nuint)c), Vector512<float>.Zero);
                Vector512.BitwiseAnd(mask, Vector512.LoadUnsafe(ref pg, (nuint)c)).StoreUnsafe(ref pg, (nuint)c);
            }
        }
        for (; c < n; c++) if (!(act[c] > 0)) grad[c] = 0f;
    }

    /// <summary>d = act &gt; 0 ? grad : 0; rowSum += d; colSum += d (colSum may be empty).</summary>
    private static void MaskAccumulate(ReadOnlySpan<float> act, ReadOnlySpan<float> grad, Span<float> rowSum, Span<float> colSum)
    {
        int n = grad.Length, c = 0;
        bool col = !colSum.IsEmpty;
        if (Vector512.IsHardwareAccelerated)
        {
            ref float pa = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(act);
            ref float pg = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(grad);
            ref float pr = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(rowSum);
            ref float pc = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(colSum);
            for (; c <= n - 16; c += 16)
            {
                var mask = Vector512.GreaterThan(Vector512.LoadUnsafe(ref pa, (nuint)c), Vector512<float>.Zero);
                var d = Vector512.BitwiseAnd(mask, Vector512.LoadUnsafe(ref pg, (nuint)c));
                (Vector512.LoadUnsafe(ref pr, (nuint)c) + d).StoreUnsafe(ref pr, (nuint)c);
                if (col) (Vector512.LoadUnsafe(ref pc, (nuint)c) + d).StoreUnsafe(ref pc, (nuint)c);
            }
        }
        for (; c < n; c++)
        {
            float d = act[c] > 0 ? grad[c] : 0f;
            rowSum[c] += d;
            if (col) colSum[c] += d;
        }
    }
}
