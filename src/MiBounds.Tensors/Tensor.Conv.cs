using System.Buffers;
using System.Numerics.Tensors;

namespace MiBounds.Tensors;

public sealed partial class Tensor
{
    /// <summary>
    /// 2-D convolution (cross-correlation, as PyTorch's conv2d) of an NCHW input [N, C, H, W] with a weight
    /// [O, C, kh, kw] and an optional bias [O]; output [N, O, Ho, Wo] with Ho = (H + 2·padding − kh) / stride + 1.
    /// Implemented as im2col followed by one matrix product over the whole batch.
    /// </summary>
    public static Tensor Conv2d(Tensor input, Tensor weight, Tensor? bias = null, int stride = 1, int padding = 0)
    {
        if (input.Rank != 4) throw new ArgumentException($"Conv2d: input must be [N, C, H, W], got {ShapeString(input._shape)}");
        if (weight.Rank != 4) throw new ArgumentException($"Conv2d: weight must be [O, C, kh, kw], got {ShapeString(weight._shape)}");
        if (stride < 1) throw new ArgumentOutOfRangeException(nameof(stride), stride, "Conv2d: stride must be at least 1");
        if (padding < 0) throw new ArgumentOutOfRangeException(nameof(padding), padding, "Conv2d: padding must be ≥ 0");
        int n = input._shape[0], c = input._shape[1], h = input._shape[2], w = input._shape[3];
        int o = weight._shape[0], kh = weight._shape[2], kw = weight._shape[3];
        if (weight._shape[1] != c)
            throw new ArgumentException($"Conv2d: input {ShapeString(input._shape)} has {c} channels but weight {ShapeString(weight._shape)} expects {weight._shape[1]}");
        if (bias is not null && (bias.Rank != 1 || bias._shape[0] != o))
            throw new ArgumentException($"Conv2d: bias {ShapeString(bias._shape)} does not fit weight {ShapeString(weight._shape)} (expected [{o}])");
        int ho = (h + 2 * padding - kh) / stride + 1, wo = (w + 2 * padding - kw) / stride + 1;
        if (h + 2 * padding < kh || w + 2 * padding < kw || ho <= 0 || wo <= 0)
            throw new ArgumentException($"Conv2d: kernel {kh}×{kw} does not fit input {ShapeString(input._shape)} with padding {padding}");
        var geo = new ConvGeometry(n, c, h, w, o, kh, kw, ho, wo, stride, padding);

        int rows = geo.ColRows, cols = geo.ColCols;
        float[] colBuf = ArrayPool<float>.Shared.Rent(rows * cols);
        float[] tmp = ArrayPool<float>.Shared.Rent(o * cols);
        var output = NewOutputOverwritten(n, o, ho, wo);
        try
        {
            Im2Col(input._data, colBuf, geo);
            Gemm.Multiply(false, false, o, cols, rows, weight.Values, rows, colBuf.AsSpan(0, rows * cols), cols, tmp.AsSpan(0, o * cols), cols, accumulate: false);
            // tmp is [O, N·L]; the output is [N, O, L].
            int l = ho * wo;
            var dst = output._data;
            for (int b = 0; b < n; b++)
                for (int oc = 0; oc < o; oc++)
                {
                    var src = tmp.AsSpan(oc * cols + b * l, l);
                    var d = dst.AsSpan((b * o + oc) * l, l);
                    if (bias is null) src.CopyTo(d);
                    else TensorPrimitives.Add(src, bias._data[oc], d);
                }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(tmp);
        }
        // Closure-free: the geometry and the im2col buffer ride in a pooled state object that the node returns.
        var state = ConvState.Rent(geo, colBuf);
        var node = bias is null ? RecordOp(output, ConvBackward, [input, weight], ConvState.Release) : RecordOp(output, ConvBackward, [input, weight, bias], ConvState.Release);
        if (node is null) ConvState.Return(state);
        else node.O0 = state;
        return output;
    }

    /// <summary>What a convolution's backward pass needs besides its inputs: the geometry and the im2col columns (pooled).</summary>
    private sealed class ConvState
    {
        private static readonly Stack<ConvState> Pool = new();
        public ConvGeometry Geo;
        public float[] Cols = [];

        public static ConvState Rent(ConvGeometry geo, float[] cols)
        {
            ConvState? s;
            lock (Pool) s = Pool.Count > 0 ? Pool.Pop() : null;
            s ??= new ConvState();
            s.Geo = geo; s.Cols = cols;
            return s;
        }

        /// <summary>Returns the columns to the array pool and the state to its pool.</summary>
        public static void Return(ConvState s)
        {
            ArrayPool<float>.Shared.Return(s.Cols);
            s.Cols = [];
            lock (Pool) Pool.Push(s);
        }

        public static readonly Action<GradNode> Release = static node =>
        {
            if (node.O0 is ConvState s) Return(s);
            node.O0 = null;
        };
    }

    private static void ConvBackward(GradNode node, Tensor g)
    {
        Tensor input = node[0], weight = node[1];
        var bias = node.Count > 2 ? node[2] : null;
        var state = (ConvState)node.O0!;
        var geo = state.Geo;
        float[] colBuf = state.Cols;
        int n = geo.N, o = geo.O, l = geo.Ho * geo.Wo, rows = geo.ColRows, cols = geo.ColCols;
        float[] gt = ArrayPool<float>.Shared.Rent(o * cols);
        try
        {
            var gv = g._data;
            for (int b = 0; b < n; b++)
                for (int oc = 0; oc < o; oc++)
                    gv.AsSpan((b * o + oc) * l, l).CopyTo(gt.AsSpan(oc * cols + b * l, l));
            var gts = gt.AsSpan(0, o * cols);
            if (bias is not null && bias.RequiresGrad)
            {
                var db = GradBuffer(bias);
                for (int oc = 0; oc < o; oc++) db[oc] += (float)SumDouble(gts.Slice(oc * cols, cols));
            }
            if (weight.RequiresGrad)
                Gemm.Multiply(false, true, o, rows, cols, gts, cols, colBuf.AsSpan(0, rows * cols), cols, GradBuffer(weight), rows, accumulate: true);
            if (input.RequiresGrad)
            {
                float[] dcol = ArrayPool<float>.Shared.Rent(rows * cols);
                try
                {
                    Gemm.Multiply(true, false, rows, cols, o, weight.Values, rows, gts, cols, dcol.AsSpan(0, rows * cols), cols, accumulate: false);
                    Col2ImAdd(dcol, GradBuffer(input), geo);
                }
                finally { ArrayPool<float>.Shared.Return(dcol); }
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(gt);
        }
    }

    private readonly record struct ConvGeometry(int N, int C, int H, int W, int O, int Kh, int Kw, int Ho, int Wo, int Stride, int Padding)
    {
        public int ColRows => C * Kh * Kw;
        public int ColCols => N * Ho * Wo;
    }

    // cols[(c·kh + i)·kw + j, b·L + oy·Wo + ox] = x[b, c, oy·s − p + i, ox·s − p + j] (0 outside).
    private static void Im2Col(float[] x, float[] cols, ConvGeometry g)
    {
        int rows = g.ColRows;
        long work = (long)rows * g.ColCols;
        int threads = Engine.MaxThreads;
        if (work < (1 << 16) || threads <= 1)
        {
            for (int r = 0; r < rows; r++) Im2ColRow(x, cols, g, r);
            return;
        }
        unsafe { ConvParts.Run(ConvParts.Kind.Im2Col, x, cols, null, g, rows, threads); }
    }

    /// <summary>
    /// Im2Col rows or Col2Im channels split into contiguous ranges for <see cref="PartRunner"/> (the engine's own workers,
    /// as the products use, not the thread pool); each range writes only its own rows or channels, so the result does
    /// not depend on the split. Pooled, so a call allocates nothing.
    /// </summary>
    private sealed unsafe class ConvParts : IPartWork
    {
        public enum Kind { Im2Col, Col2Im }
        private static readonly Stack<ConvParts> Pool = new();
        private Kind _kind;
        private float[] _x = null!, _cols = null!;
        private float* _dx;
        private ConvGeometry _g;
        private int _count, _per;

        public static void Run(Kind kind, float[] x, float[] cols, float* dx, ConvGeometry g, int count, int threads)
        {
            ConvParts? w;
            lock (Pool) w = Pool.Count > 0 ? Pool.Pop() : null;
            w ??= new ConvParts();
            int parts = Math.Min(count, 4 * threads);
            w._kind = kind; w._x = x; w._cols = cols; w._dx = dx; w._g = g; w._count = count; w._per = (count + parts - 1) / parts;
            try { PartRunner.Run(w, (count + w._per - 1) / w._per, threads); }
            finally
            {
                w._x = null!; w._cols = null!; w._dx = null;
                lock (Pool) Pool.Push(w);
            }
        }

        public void RunPart(int part)
        {
            int start = part * _per, end = Math.Min(_count, start + _per);
            for (int i = start; i < end; i++)
                if (_kind == Kind.Im2Col) Im2ColRow(_x, _cols, _g, i);
                else Col2ImChannel(_cols, _dx, _g, i);
        }
    }

    /// <summary>The output columns ox whose input column ox·stride − padding + j lies inside the image: [lo, hi).</summary>
    private static (int Lo, int Hi) StridedRange(ConvGeometry g, int j)
    {
        int lo = 0, hi = g.Wo;
        while (lo < hi && lo * g.Stride - g.Padding + j < 0) lo++;
        while (hi > lo && (hi - 1) * g.Stride - g.Padding + j >= g.W) hi--;
        return (lo, hi);
    }

    private static void Im2ColRow(float[] x, float[] cols, ConvGeometry g, int r)
    {
        int j = r % g.Kw, i = (r / g.Kw) % g.Kh, c = r / (g.Kw * g.Kh);
        int l = g.Ho * g.Wo, ncols = g.ColCols;
        var dstRow = cols.AsSpan(r * ncols, ncols);
        for (int b = 0; b < g.N; b++)
        {
            int xBase = (b * g.C + c) * g.H * g.W;
            for (int oy = 0; oy < g.Ho; oy++)
            {
                var dst = dstRow.Slice(b * l + oy * g.Wo, g.Wo);
                int iy = oy * g.Stride - g.Padding + i;
                if (iy < 0 || iy >= g.H) { dst.Clear(); continue; }
                int rowBase = xBase + iy * g.W;
                if (g.Stride == 1)
                {
                    // ix = ox − p + j, valid for ox in [lo, hi).
                    int lo = Math.Max(0, g.Padding - j), hi = Math.Min(g.Wo, g.W + g.Padding - j);
                    if (hi <= lo) { dst.Clear(); continue; }
                    dst.Slice(0, lo).Clear();
                    x.AsSpan(rowBase + lo - g.Padding + j, hi - lo).CopyTo(dst.Slice(lo, hi - lo));
                    dst.Slice(hi).Clear();
                }
                else
                {
                    // ix = ox·s − p + j is inside [0, W) for ox in [lo, hi): zero the edges, gather the middle without tests.
                    var (lo, hi) = StridedRange(g, j);
                    dst.Slice(0, lo).Clear();
                    int s = g.Stride, src = rowBase - g.Padding + j;
                    for (int ox = lo; ox < hi; ox++) dst[ox] = x[src + ox * s];
                    dst.Slice(hi).Clear();
                }
            }
        }
    }

    // The adjoint of Im2Col: dx[b, c, iy, ix] += Σ cols entries that read it. Parallel over channels (each owns its slice of dx).
    private static void Col2ImAdd(float[] cols, Span<float> dx, ConvGeometry g)
    {
        if (dx.Length != g.N * g.C * g.H * g.W) throw new InvalidOperationException("internal: Col2Im size mismatch");
        unsafe
        {
            fixed (float* pdx = dx)
            {
                long work = (long)g.ColRows * g.ColCols;
                int threads = Engine.MaxThreads;
                if (work < (1 << 16) || threads <= 1 || g.C == 1)
                    for (int c = 0; c < g.C; c++) Col2ImChannel(cols, pdx, g, c);
                else ConvParts.Run(ConvParts.Kind.Col2Im, [], cols, pdx, g, g.C, threads);
            }
        }
    }

    private static unsafe void Col2ImChannel(float[] cols, float* dx, ConvGeometry g, int c)
    {
        int l = g.Ho * g.Wo, ncols = g.ColCols;
        for (int i = 0; i < g.Kh; i++)
            for (int j = 0; j < g.Kw; j++)
            {
                int r = (c * g.Kh + i) * g.Kw + j;
                for (int b = 0; b < g.N; b++)
                {
                    float* xBase = dx + (long)(b * g.C + c) * g.H * g.W;
                    int srcBase = r * ncols + b * l;
                    for (int oy = 0; oy < g.Ho; oy++)
                    {
                        int iy = oy * g.Stride - g.Padding + i;
                        if (iy < 0 || iy >= g.H) continue;
                        float* row = xBase + iy * g.W;
                        int s = srcBase + oy * g.Wo;
                        if (g.Stride == 1)
                        {
                            int lo = Math.Max(0, g.Padding - j), hi = Math.Min(g.Wo, g.W + g.Padding - j);
                            if (hi <= lo) continue;
                            var d = new Span<float>(row + lo - g.Padding + j, hi - lo);
                            TensorPrimitives.Add(d, cols.AsSpan(s + lo, hi - lo), d);
                        }
                        else
                        {
                            var (lo, hi) = StridedRange(g, j);
                            float* dst = row - g.Padding + j;
                            int st = g.Stride;
                            for (int ox = lo; ox < hi; ox++) dst[ox * st] += cols[s + ox];
                        }
                    }
                }
            }
    }

    /// <summary>2×2 max pooling with stride 2 over an NCHW tensor (odd trailing rows/columns are dropped, as in PyTorch). Gradient goes to the first maximal element of each window.</summary>
    public Tensor MaxPool2x2() => Pool2x2(max: true);

    /// <summary>2×2 average pooling with stride 2 over an NCHW tensor (odd trailing rows/columns are dropped).</summary>
    public Tensor AvgPool2x2() => Pool2x2(max: false);

    private Tensor Pool2x2(bool max)
    {
        string op = max ? "MaxPool2x2" : "AvgPool2x2";
        if (Rank != 4) throw new ArgumentException($"{op}: input must be [N, C, H, W], got {ShapeString(_shape)}");
        int n = _shape[0], c = _shape[1], h = _shape[2], w = _shape[3];
        int ho = h / 2, wo = w / 2;
        if (ho == 0 || wo == 0) throw new ArgumentException($"{op}: input {ShapeString(_shape)} is smaller than the 2×2 window");
        var output = NewOutput(n, c, ho, wo);
        int planes = n * c;
        int[]? arg = max ? new int[planes * ho * wo] : null;
        var src = _data; var dst = output._data;
        for (int pl = 0; pl < planes; pl++)
        {
            int sb = pl * h * w, db = pl * ho * wo;
            for (int y = 0; y < ho; y++)
                for (int x = 0; x < wo; x++)
                {
                    int i0 = sb + 2 * y * w + 2 * x;
                    float a = src[i0], b = src[i0 + 1], cc = src[i0 + w], d = src[i0 + w + 1];
                    int o = db + y * wo + x;
                    if (max)
                    {
                        int best = i0; float bv = a;
                        if (b > bv || float.IsNaN(b)) { bv = b; best = i0 + 1; }
                        if (cc > bv || float.IsNaN(cc)) { bv = cc; best = i0 + w; }
                        if (d > bv || float.IsNaN(d)) { bv = d; best = i0 + w + 1; }
                        dst[o] = bv; arg![o] = best;
                    }
                    else dst[o] = 0.25f * (a + b + cc + d);
                }
        }
        if (!AnyRequiresGrad(this)) return output;
        var input = this;
        return Record(output, g =>
        {
            var dx = GradBuffer(input); var gv = g._data;
            if (max)
            {
                for (int o = 0; o < arg!.Length; o++) dx[arg[o]] += gv[o];
                return;
            }
            for (int pl = 0; pl < planes; pl++)
            {
                int sb = pl * h * w, db = pl * ho * wo;
                for (int y = 0; y < ho; y++)
                    for (int x = 0; x < wo; x++)
                    {
                        float q = 0.25f * gv[db + y * wo + x];
                        int i0 = sb + 2 * y * w + 2 * x;
                        dx[i0] += q; dx[i0 + 1] += q; dx[i0 + w] += q; dx[i0 + w + 1] += q;
                    }
            }
        }, input);
    }

    /// <summary>Flattens every axis after the first: [N, …] → [N, prod(…)]. Shares storage.</summary>
    public Tensor Flatten()
    {
        if (Rank == 0) throw new ArgumentException("Flatten needs rank ≥ 1");
        return Reshape(_shape[0], _shape[0] == 0 ? 0 : Size / _shape[0]);
    }
}
