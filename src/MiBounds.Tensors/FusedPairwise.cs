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
        var widths = LaterWidths(v._shape[1], weights, biases, "ReluMlpScores", 0);
        var op = new PairwiseMlp(new TensorFirstLayer(v, u), weights.ToArray(), biases.ToArray(), widths);
        var output = Tensor.NewOutput(op.Kv, op.Ku);
        op.Forward(output._data);
        if (!FusedMlp.NeedsGrad(v, u, weights, biases))
        {
            op.Release();
            return output;
        }
        return Tensor.Record(output, g => op.Backward(g.Values), FusedMlp.GraphInputs(v, u, weights, biases), op.Release);
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
        var later = weights.Skip(1).ToArray();
        var laterBiases = biases.Skip(1).ToArray();
        var widths = LaterWidths(h0, later, laterBiases, "ConcatReluMlpScores", 1);
        var first = new ConcatFirstLayer(x, y, w0, b0);
        var op = new PairwiseMlp(first, later, laterBiases, widths);
        var output = Tensor.NewOutput(first.Kv, first.Ku);
        op.Forward(output._data);
        if (!FusedMlp.NeedsGrad(x, y, weights, biases))
        {
            op.Release();
            return output;
        }
        return Tensor.Record(output, g => op.Backward(g.Values), FusedMlp.GraphInputs(x, y, weights, biases), op.Release);
    }

    /// <summary>Widths H0, H1, …, 1 of the layers after the first, validated (layer numbers in messages start at <paramref name="firstIndex"/>).</summary>
    private static int[] LaterWidths(int h0, IReadOnlyList<Tensor> weights, IReadOnlyList<Tensor?> biases, string op, int firstIndex)
    {
        if (weights.Count == 0) throw new ArgumentException($"{op}: at least the output layer is needed");
        var widths = new int[weights.Count + 1];
        widths[0] = h0;
        for (int l = 0; l < weights.Count; l++)
        {
            var w = weights[l];
            if (w.Rank != 2 || w._shape[1] != widths[l])
                throw new ArgumentException($"{op}: weight {l + firstIndex} has shape {Tensor.ShapeString(w._shape)}, expected [out, {widths[l]}]");
            widths[l + 1] = w._shape[0];
            var b = biases[l];
            if (b is not null && (b.Rank != 1 || b._shape[0] != widths[l + 1]))
                throw new ArgumentException($"{op}: bias {l + firstIndex} has shape {Tensor.ShapeString(b._shape)}, expected [{widths[l + 1]}]");
        }
        if (widths[^1] != 1) throw new ArgumentException($"{op}: the last layer must have one output, weight {weights.Count - 1 + firstIndex} has shape {Tensor.ShapeString(weights[^1]._shape)}");
        return widths;
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
    private sealed class TensorFirstLayer(Tensor v, Tensor u) : IFirstLayer
    {
        public int Kv => v._shape[0];
        public int Ku => u._shape[0];
        public bool NeedsGrad => v.RequiresGrad || u.RequiresGrad;
        public ReadOnlySpan<float> V => v.Values;
        public ReadOnlySpan<float> U => u.Values;
        public (Memory<float> Dv, Memory<float> Du) GradientTargets()
        {
            if (v.RequiresGrad) Tensor.GradBuffer(v);
            if (u.RequiresGrad) Tensor.GradBuffer(u);
            return (v.RequiresGrad ? v.Grad!._data.AsMemory(0, v.Size) : Memory<float>.Empty, u.RequiresGrad ? u.Grad!._data.AsMemory(0, u.Size) : Memory<float>.Empty);
        }
        public void FinishBackward() { }
        public void Release() { }
    }

    /// <summary>V = y·W_yᵀ + b and U = x·W_xᵀ computed here from the concat layer's weight, into pooled buffers.</summary>
    private sealed class ConcatFirstLayer : IFirstLayer
    {
        private readonly Tensor _x, _y, _w;
        private readonly Tensor? _b;
        private readonly int _dx, _dy, _h;
        private float[]? _v, _u, _dv, _du;

        public ConcatFirstLayer(Tensor x, Tensor y, Tensor w, Tensor? b)
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

        public int Kv { get; }
        public int Ku { get; }
        public bool NeedsGrad => _x.RequiresGrad || _y.RequiresGrad || _w.RequiresGrad || (_b?.RequiresGrad ?? false);
        public ReadOnlySpan<float> V => (_v ?? throw Released()).AsSpan(0, Kv * _h);
        public ReadOnlySpan<float> U => (_u ?? throw Released()).AsSpan(0, Ku * _h);
        private static InvalidOperationException Released() => new("internal: the concat layer's buffers were already released");

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
            int ld = _dx + _dy;
            ReadOnlySpan<float> dv = _dv.AsSpan(0, Kv * _h), du = _du.AsSpan(0, Ku * _h);
            if (_w.RequiresGrad)
            {
                var dw = Tensor.GradBuffer(_w);
                Gemm.Multiply(true, false, _h, _dy, Kv, dv, _h, _y.Values, _dy, dw.Slice(_dx), ld, accumulate: true);
                Gemm.Multiply(true, false, _h, _dx, Ku, du, _h, _x.Values, _dx, dw, ld, accumulate: true);
            }
            if (_b is not null && _b.RequiresGrad)
            {
                var db = Tensor.GradBuffer(_b);
                for (int r = 0; r < Kv; r++) TensorPrimitives.Add(db, dv.Slice(r * _h, _h), db);
            }
            if (_y.RequiresGrad) Gemm.Multiply(false, false, Kv, _dy, _h, dv, _h, _w.Values.Slice(_dx), ld, Tensor.GradBuffer(_y), _dy, accumulate: true);
            if (_x.RequiresGrad) Gemm.Multiply(false, false, Ku, _dx, _h, du, _h, _w.Values, ld, Tensor.GradBuffer(_x), _dx, accumulate: true);
        }

        public void Release()
        {
            if (_v is not null) ArrayPool<float>.Shared.Return(_v);
            if (_u is not null) ArrayPool<float>.Shared.Return(_u);
            if (_dv is not null) ArrayPool<float>.Shared.Return(_dv);
            if (_du is not null) ArrayPool<float>.Shared.Return(_du);
            _v = _u = _dv = _du = null;
        }
    }

    /// <summary>One recorded evaluation: its inputs and the pooled activations the backward pass needs.</summary>
    private sealed class PairwiseMlp
    {
        private readonly IFirstLayer _first;
        private readonly Tensor[] _w;
        private readonly Tensor?[] _b;
        private readonly int[] _widths;
        private readonly int _hidden;     // hidden layers after the first (their activations are stored)
        private readonly int _blockI;     // rows of V per block
        private float[][]? _stored;       // activation of hidden layer l+1, [N, widths[l+1]]

        public int Kv { get; }
        public int Ku { get; }
        private int Rows => Kv * Ku;

        public PairwiseMlp(IFirstLayer first, Tensor[] weights, Tensor?[] biases, int[] widths)
        {
            _first = first; _w = weights; _b = biases; _widths = widths;
            Kv = first.Kv; Ku = first.Ku;
            _hidden = weights.Length - 1;
            _blockI = Math.Max(1, BlockRows / Math.Max(1, Ku));
            _stored = new float[_hidden][];
            for (int l = 0; l < _hidden; l++) _stored[l] = ArrayPool<float>.Shared.Rent(checked(Rows * widths[l + 1]));
        }

        private int MaxWidth()
        {
            int m = 0;
            foreach (int w in _widths) m = Math.Max(m, w);
            return m;
        }

        public void Release()
        {
            _first.Release();
            var stored = _stored;
            _stored = null;
            if (stored is null) return;
            foreach (var a in stored) ArrayPool<float>.Shared.Return(a);
        }

        private float[][] Stored => _stored ?? throw new InvalidOperationException("internal: the pairwise MLP's activations were already released");

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

        public void Forward(Span<float> scores)
        {
            int h0 = _widths[0];
            var stored = Stored;
            float[] a0 = ArrayPool<float>.Shared.Rent(_blockI * Ku * h0);
            try
            {
                for (int i0 = 0; i0 < Kv; i0 += _blockI)
                {
                    int ni = Math.Min(_blockI, Kv - i0), rows = ni * Ku, r0 = i0 * Ku;
                    FirstLayer(i0, ni, a0);
                    ReadOnlySpan<float> prev = a0.AsSpan(0, rows * h0);
                    for (int l = 0; l < _hidden; l++)
                    {
                        int din = _widths[l], dout = _widths[l + 1];
                        var dst = stored[l].AsSpan(r0 * dout, rows * dout);
                        var bias = _b[l];
                        if (bias is not null) for (int r = 0; r < rows; r++) bias.Values.CopyTo(dst.Slice(r * dout, dout));
                        Gemm.Multiply(false, true, rows, dout, din, prev, din, _w[l].Values, din, dst, dout, accumulate: bias is not null);
                        TensorPrimitives.Max(dst, 0f, dst);
                        prev = dst;
                    }
                    int last = _widths[_hidden];
                    var wOut = _w[_hidden].Values;
                    float bOut = _b[_hidden] is { } outBias ? outBias.Values[0] : 0f;
                    for (int r = 0; r < rows; r++) scores[r0 + r] = TensorPrimitives.Dot(prev.Slice(r * last, last), wOut) + bOut;
                }
            }
            finally { ArrayPool<float>.Shared.Return(a0); }
        }

        public void Backward(ReadOnlySpan<float> g)
        {
            int h0 = _widths[0], maxW = MaxWidth();
            var stored = Stored;
            bool needFirst = _first.NeedsGrad;
            int blockRows = _blockI * Ku;
            float[] a0 = ArrayPool<float>.Shared.Rent(blockRows * h0);
            float[] dz = ArrayPool<float>.Shared.Rent(blockRows * maxW);
            float[] dPrev = ArrayPool<float>.Shared.Rent(blockRows * maxW);
            float[] dvRow = ArrayPool<float>.Shared.Rent(h0);
            try
            {
                var outW = _w[_hidden];
                var outB = _b[_hidden];
                int last = _widths[_hidden];
                Span<float> dwOut = outW.RequiresGrad ? Tensor.GradBuffer(outW) : default;
                var (dvMemory, duMemory) = needFirst ? _first.GradientTargets() : (Memory<float>.Empty, Memory<float>.Empty);
                Span<float> dv = dvMemory.Span, du = duMemory.Span;
                if (outB is not null && outB.RequiresGrad) Tensor.GradBuffer(outB)[0] += (float)Tensor.SumDouble(g);
                var wOut = outW.Values;
                for (int i0 = 0; i0 < Kv; i0 += _blockI)
                {
                    int ni = Math.Min(_blockI, Kv - i0), rows = ni * Ku, r0 = i0 * Ku;
                    FirstLayer(i0, ni, a0);
                    ReadOnlySpan<float> Act(int l) => l == 0 ? a0.AsSpan(0, rows * h0) : stored[l - 1].AsSpan(r0 * _widths[l], rows * _widths[l]);

                    // Output layer: dW_out += Σ_r g[r]·a[r]; dZ = relu'(a) ⊙ (g ⊗ w_out).
                    var aLast = Act(_hidden);
                    var gBlock = g.Slice(r0, rows);
                    // One pass per row: dW_out, dZ of the last hidden layer and its bias gradient (same row order as separate passes).
                    var lastBias = _hidden > 0 ? _b[_hidden - 1] : null;
                    bool lastBiasDone = lastBias is not null && lastBias.RequiresGrad;
                    Span<float> dbLast = lastBiasDone ? Tensor.GradBuffer(lastBias!) : default;
                    bool wantDz = _hidden > 0 || needFirst;
                    var dzs = dz.AsSpan(0, rows * last);
                    for (int r = 0; r < rows; r++)
                        OutputLayerGrad(aLast.Slice(r * last, last), wOut, gBlock[r], wantDz ? dzs.Slice(r * last, last) : default, outW.RequiresGrad ? dwOut : default, dbLast);
                    if (!wantDz) continue;

                    for (int l = _hidden; l >= 1; l--)
                    {
                        // Layer l maps widths[l-1] → widths[l]; dz holds d loss / d pre-activation of layer l, [rows, widths[l]].
                        int din = _widths[l - 1], dout = _widths[l];
                        var w = _w[l - 1];
                        var bias = _b[l - 1];
                        var dzl = dz.AsSpan(0, rows * dout);
                        var prev = Act(l - 1);
                        if (w.RequiresGrad) Gemm.Multiply(true, false, dout, din, rows, dzl, dout, prev, din, Tensor.GradBuffer(w), din, accumulate: true);
                        if (bias is not null && bias.RequiresGrad && !(l == _hidden && lastBiasDone))
                        {
                            var db = Tensor.GradBuffer(bias);
                            for (int r = 0; r < rows; r++) TensorPrimitives.Add(db, dzl.Slice(r * dout, dout), db);
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
                if (needFirst) _first.FinishBackward();
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
