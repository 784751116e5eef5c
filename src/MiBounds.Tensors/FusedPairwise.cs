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
        int width = v._shape[1];
        var widths = new int[weights.Count + 1];
        widths[0] = width;
        for (int l = 0; l < weights.Count; l++)
        {
            var w = weights[l];
            if (w.Rank != 2 || w._shape[1] != widths[l])
                throw new ArgumentException($"ReluMlpScores: weight {l} has shape {Tensor.ShapeString(w._shape)}, expected [out, {widths[l]}]");
            widths[l + 1] = w._shape[0];
            var b = biases[l];
            if (b is not null && (b.Rank != 1 || b._shape[0] != widths[l + 1]))
                throw new ArgumentException($"ReluMlpScores: bias {l} has shape {Tensor.ShapeString(b._shape)}, expected [{widths[l + 1]}]");
        }
        if (widths[^1] != 1) throw new ArgumentException($"ReluMlpScores: the last layer must have one output, weight {weights.Count - 1} has shape {Tensor.ShapeString(weights[^1]._shape)}");

        var op = new PairwiseMlp(v, u, weights, biases, widths);
        var output = Tensor.Zeros(op.Kv, op.Ku);
        op.Forward(output._data);
        bool needs = Tensor.GradEnabled && (v.RequiresGrad || u.RequiresGrad || weights.Any(w => w.RequiresGrad) || biases.Any(b => b?.RequiresGrad ?? false));
        if (!needs)
        {
            op.Release();
            return output;
        }
        var inputs = new List<Tensor> { v, u };
        inputs.AddRange(weights);
        foreach (var b in biases) if (b is not null) inputs.Add(b);
        return Tensor.Record(output, g => op.Backward(g.Values), inputs.ToArray(), op.Release);
    }

    /// <summary>One recorded evaluation: its inputs and the pooled activations the backward pass needs.</summary>
    private sealed class PairwiseMlp
    {
        private readonly Tensor _v, _u;
        private readonly Tensor[] _w;
        private readonly Tensor?[] _b;
        private readonly int[] _widths;
        private readonly int _hidden;     // hidden layers after the first (their activations are stored)
        private readonly int _blockI;     // rows of V per block
        private float[][]? _stored;       // activation of hidden layer l+1, [N, widths[l+1]]

        public int Kv { get; }
        public int Ku { get; }
        private int Rows => Kv * Ku;

        public PairwiseMlp(Tensor v, Tensor u, IReadOnlyList<Tensor> weights, IReadOnlyList<Tensor?> biases, int[] widths)
        {
            _v = v; _u = u; _w = weights.ToArray(); _b = biases.ToArray(); _widths = widths;
            Kv = v._shape[0]; Ku = u._shape[0];
            _hidden = weights.Count - 1;
            _blockI = Math.Max(1, BlockRows / Math.Max(1, Ku));
            _stored = new float[_hidden][];
            for (int l = 0; l < _hidden; l++) _stored[l] = FloatPool.Rent(checked(Rows * widths[l + 1]));
        }

        private int MaxWidth()
        {
            int m = 0;
            foreach (int w in _widths) m = Math.Max(m, w);
            return m;
        }

        public void Release()
        {
            var stored = _stored;
            _stored = null;
            if (stored is null) return;
            foreach (var a in stored) FloatPool.Return(a);
        }

        private float[][] Stored => _stored ?? throw new InvalidOperationException("internal: the pairwise MLP's activations were already released");

        /// <summary>relu(V[i] + U[j]) for V rows [i0, i0+ni), all j, into <paramref name="dst"/> (row (i−i0)·Ku + j).</summary>
        private void FirstLayer(int i0, int ni, Span<float> dst)
        {
            int h = _widths[0];
            var vv = _v.Values; var uv = _u.Values;
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
            float[] a0 = FloatPool.Rent(_blockI * Ku * h0);
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
            finally { FloatPool.Return(a0); }
        }

        public void Backward(ReadOnlySpan<float> g)
        {
            int h0 = _widths[0], maxW = MaxWidth();
            var stored = Stored;
            bool needFirst = _v.RequiresGrad || _u.RequiresGrad;
            int blockRows = _blockI * Ku;
            float[] a0 = FloatPool.Rent(blockRows * h0);
            float[] dz = FloatPool.Rent(blockRows * maxW);
            float[] dPrev = FloatPool.Rent(blockRows * maxW);
            float[] dvRow = FloatPool.Rent(h0);
            try
            {
                var outW = _w[_hidden];
                var outB = _b[_hidden];
                int last = _widths[_hidden];
                Span<float> dwOut = outW.RequiresGrad ? Tensor.GradBuffer(outW) : default;
                Span<float> du = _u.RequiresGrad ? Tensor.GradBuffer(_u) : default;
                Span<float> dv = _v.RequiresGrad ? Tensor.GradBuffer(_v) : default;
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
                    if (outW.RequiresGrad)
                        for (int r = 0; r < rows; r++) TensorPrimitives.MultiplyAdd(aLast.Slice(r * last, last), gBlock[r], dwOut, dwOut);
                    if (_hidden == 0 && !needFirst) continue;
                    var dzs = dz.AsSpan(0, rows * last);
                    for (int r = 0; r < rows; r++) ScaledMasked(aLast.Slice(r * last, last), wOut, gBlock[r], dzs.Slice(r * last, last));

                    for (int l = _hidden; l >= 1; l--)
                    {
                        // Layer l maps widths[l-1] → widths[l]; dz holds d loss / d pre-activation of layer l, [rows, widths[l]].
                        int din = _widths[l - 1], dout = _widths[l];
                        var w = _w[l - 1];
                        var bias = _b[l - 1];
                        var dzl = dz.AsSpan(0, rows * dout);
                        var prev = Act(l - 1);
                        if (w.RequiresGrad) Gemm.Multiply(true, false, dout, din, rows, dzl, dout, prev, din, Tensor.GradBuffer(w), din, accumulate: true);
                        if (bias is not null && bias.RequiresGrad)
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
            }
            finally
            {
                FloatPool.Return(a0); FloatPool.Return(dz); FloatPool.Return(dPrev); FloatPool.Return(dvRow);
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

    /// <summary>dst = act &gt; 0 ? s·w : 0 (the gradient of a one-output layer through the ReLU before it).</summary>
    private static void ScaledMasked(ReadOnlySpan<float> act, ReadOnlySpan<float> w, float s, Span<float> dst)
    {
        int n = dst.Length, c = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            ref float pa = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(act);
            ref float pw = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(w);
            ref float pd = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(dst);
            var vs = Vector512.Create(s);
            for (; c <= n - 16; c += 16)
            {
                var mask = Vector512.GreaterThan(Vector512.LoadUnsafe(ref pa, (nuint)c), Vector512<float>.Zero);
                Vector512.BitwiseAnd(mask, Vector512.LoadUnsafe(ref pw, (nuint)c) * vs).StoreUnsafe(ref pd, (nuint)c);
            }
        }
        for (; c < n; c++) dst[c] = act[c] > 0 ? s * w[c] : 0f;
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

/// <summary>
/// Exact-length float arrays reused across training steps (fused ops rent their workspaces here and return them when the
/// graph is released), so steady-state steps do not allocate large buffers.
/// </summary>
internal static class FloatPool
{
    private static readonly Dictionary<int, Stack<float[]>> Free = [];
    /// <summary>Arrays kept per length; more are left to the GC.</summary>
    private const int MaxPerLength = 16;

    public static float[] Rent(int length)
    {
        if (length == 0) return [];
        lock (Free)
        {
            if (Free.TryGetValue(length, out var stack) && stack.Count > 0) return stack.Pop();
        }
        return GC.AllocateUninitializedArray<float>(length);
    }

    public static void Return(float[] array)
    {
        if (array.Length == 0) return;
        lock (Free)
        {
            if (!Free.TryGetValue(array.Length, out var stack)) Free[array.Length] = stack = new Stack<float[]>();
            if (stack.Count < MaxPerLength) stack.Push(array);
        }
    }
}
