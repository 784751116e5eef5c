using System.Buffers;
using System.Numerics.Tensors;
using System.Runtime.Intrinsics;

namespace MiBounds.Tensors;

public sealed partial class Tensor
{
    /// <summary>
    /// 2-D convolution (cross-correlation, as PyTorch's conv2d) of an NCHW input [N, C, H, W] with a weight
    /// [O, C, kh, kw] and an optional bias [O]; output [N, O, Ho, Wo] with Ho = (H + 2·padding − kh) / stride + 1.
    /// Implemented as im2col and a matrix product over chunks of images whose columns stay in cache (see
    /// <c>ConvChunks</c>); the same values at any thread count.
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

        var output = NewOutputOverwritten(n, o, ho, wo);
        unsafe
        {
            fixed (float* px = input._data, pw = weight._data, py = output._data, pb = bias is null ? null : bias._data)
                ConvChunks.Run(new ConvChunks.Args { Geo = geo, X = px, W = pw, Y = py, Bias = pb, Forward = true });
        }
        var node = bias is null ? RecordOp(output, ConvBackward, [input, weight]) : RecordOp(output, ConvBackward, [input, weight, bias]);
        if (node is not null) node.O0 = ConvState.Box(geo);
        return output;
    }

    /// <summary>The geometry a convolution's backward pass needs, boxed once per distinct shape (a step allocates nothing).</summary>
    private static class ConvState
    {
        private static readonly Dictionary<ConvGeometry, object> Boxes = [];

        public static object Box(ConvGeometry geo)
        {
            lock (Boxes)
            {
                if (!Boxes.TryGetValue(geo, out var box)) Boxes[geo] = box = geo;
                return box;
            }
        }
    }

    private static unsafe void ConvBackward(GradNode node, Tensor g)
    {
        Tensor input = node[0], weight = node[1];
        var bias = node.Count > 2 ? node[2] : null;
        var geo = (ConvGeometry)node.O0!;
        bool needW = weight.RequiresGrad, needX = input.RequiresGrad, needB = bias is not null && bias.RequiresGrad;
        if (!needW && !needX && !needB) return;
        var dW = needW ? GradBuffer(weight) : default;
        var dx = needX ? GradBuffer(input) : default;
        var db = needB ? GradBuffer(bias!) : default;
        fixed (float* px = input._data, pw = weight._data, pg = g._data, pdW = dW, pdx = dx, pdb = db)
            ConvChunks.Run(new ConvChunks.Args { Geo = geo, X = px, W = pw, Y = pg, DW = pdW, DX = pdx, DBias = pdb });
    }

    /// <summary>
    /// A convolution over the batch in chunks of <see cref="ConvGeometry.ChunkImages"/> images, each chunk's im2col columns
    /// built in a buffer that stays in cache (the whole batch's columns, 10–20 MB for the image models, would go through
    /// memory several times), and rebuilt in the backward pass rather than kept. The chunks form at most
    /// <see cref="MaxGroups"/> contiguous groups, fixed by the shape, which run in parallel; within a group, and in the
    /// final sum of the groups' weight and bias gradients, the order is fixed, so results do not depend on the threads.
    /// </summary>
    private sealed unsafe class ConvChunks : IPartWork
    {
        private const int MaxGroups = 4;
        private static readonly Stack<ConvChunks> Pool = new();

        /// <summary>Forward: X, W, Y (output), Bias (or null). Backward: X, W, Y (the output's gradient), DW, DX, DBias (each null if not needed).</summary>
        public struct Args
        {
            public ConvGeometry Geo;
            public float* X, W, Y, Bias, DW, DX, DBias;
            public bool Forward;
        }

        private Args _a;
        private int _chunk, _chunks, _groups;
        private float[] _dwParts = [];
        private double[] _dbParts = [];

        public static void Run(in Args a)
        {
            ConvChunks? w;
            lock (Pool) w = Pool.Count > 0 ? Pool.Pop() : null;
            w ??= new ConvChunks();
            var geo = a.Geo;
            w._a = a;
            w._chunk = geo.ChunkImages;
            w._chunks = (geo.N + w._chunk - 1) / w._chunk;
            w._groups = Math.Min(MaxGroups, w._chunks);
            int wSize = geo.O * geo.ColRows;
            bool partial = !a.Forward && w._groups > 1;
            if (partial && a.DW != null) w._dwParts = ArrayPool<float>.Shared.Rent(w._groups * wSize);
            if (!a.Forward && a.DBias != null) w._dbParts = ArrayPool<double>.Shared.Rent(w._groups * geo.O);
            try
            {
                // One group (a small batch) runs here, so its products and im2col may still use every thread.
                if (w._groups == 1) w.RunPart(0);
                else PartRunner.Run(w, w._groups, Engine.MaxThreads);
                if (!a.Forward && a.DBias != null)
                    for (int oc = 0; oc < geo.O; oc++)
                    {
                        double sum = 0;
                        for (int gi = 0; gi < w._groups; gi++) sum += w._dbParts[gi * geo.O + oc];
                        a.DBias[oc] += (float)sum;
                    }
                if (partial && a.DW != null)
                    fixed (float* parts = w._dwParts)
                        for (int gi = 0; gi < w._groups; gi++)
                        {
                            var dst = new Span<float>(a.DW, wSize);
                            TensorPrimitives.Add(dst, new ReadOnlySpan<float>(parts + (long)gi * wSize, wSize), dst);
                        }
            }
            finally
            {
                if (w._dwParts.Length > 0) ArrayPool<float>.Shared.Return(w._dwParts);
                if (w._dbParts.Length > 0) ArrayPool<double>.Shared.Return(w._dbParts);
                w._dwParts = []; w._dbParts = []; w._a = default;
                lock (Pool) Pool.Push(w);
            }
        }

        public void RunPart(int group)
        {
            var geo = _a.Geo;
            int o = geo.O, rows = geo.ColRows, l = geo.Ho * geo.Wo, cap = _chunk * l;
            // The backward rebuilds the columns only for the weight gradient (frozen weights, as in attacks, need none).
            float[] colBuf = ArrayPool<float>.Shared.Rent(_a.Forward || _a.DW != null ? rows * cap : 0);
            float[] tmp = ArrayPool<float>.Shared.Rent(o * cap);
            float[] dcol = ArrayPool<float>.Shared.Rent(!_a.Forward && _a.DX != null ? rows * cap : 0);
            try
            {
                fixed (float* pcol = colBuf, ptmp = tmp, pdcol = dcol, pparts = _dwParts)
                {
                    var weight = new ReadOnlySpan<float>(_a.W, o * rows);
                    // With one group the weight gradient accumulates in place; otherwise into this group's own slice.
                    float* dW = _groups > 1 ? pparts + (long)group * o * rows : _a.DW;
                    // Chunks spread evenly: group g takes [g·chunks/G, (g+1)·chunks/G).
                    int first = (int)((long)group * _chunks / _groups), last = (int)((long)(group + 1) * _chunks / _groups);
                    if (!_a.Forward && _a.DBias != null) _dbParts.AsSpan(group * o, o).Clear();
                    for (int ci = first; ci < last; ci++)
                    {
                        int b0 = ci * _chunk;
                        var part = geo with { N = Math.Min(_chunk, geo.N - b0) };
                        int cols = part.ColCols;
                        var colSpan = colBuf.Length == 0 ? default : new Span<float>(pcol, rows * cols);
                        var tmpSpan = new Span<float>(ptmp, o * cols);
                        float* x = _a.X + (long)b0 * geo.ImageSize;
                        // The output (or its gradient) is [N, O, L]; the product's side is [O, chunk·L].
                        float* y = _a.Y + (long)b0 * o * l;
                        if (_a.Forward)
                        {
                            Im2Col(x, pcol, part);
                            Gemm.Multiply(false, false, o, cols, rows, weight, rows, colSpan, cols, tmpSpan, cols, accumulate: false);
                            for (int b = 0; b < part.N; b++)
                                for (int oc = 0; oc < o; oc++)
                                {
                                    var src = tmpSpan.Slice(oc * cols + b * l, l);
                                    var d = new Span<float>(y + (b * o + oc) * l, l);
                                    if (_a.Bias == null) src.CopyTo(d);
                                    else TensorPrimitives.Add(src, _a.Bias[oc], d);
                                }
                            continue;
                        }
                        for (int b = 0; b < part.N; b++)
                            for (int oc = 0; oc < o; oc++)
                                new ReadOnlySpan<float>(y + (b * o + oc) * l, l).CopyTo(tmpSpan.Slice(oc * cols + b * l, l));
                        if (_a.DBias != null)
                            for (int oc = 0; oc < o; oc++) _dbParts[group * o + oc] += SumDouble(tmpSpan.Slice(oc * cols, cols));
                        if (_a.DW != null)
                        {
                            Im2Col(x, pcol, part);
                            bool overwrite = _groups > 1 && ci == first;
                            Gemm.Multiply(false, true, o, rows, cols, tmpSpan, cols, colSpan, cols, new Span<float>(dW, o * rows), rows, accumulate: !overwrite);
                        }
                        if (_a.DX != null)
                        {
                            Gemm.Multiply(true, false, rows, cols, o, weight, rows, tmpSpan, cols, new Span<float>(pdcol, rows * cols), cols, accumulate: false);
                            Col2ImAdd(pdcol, _a.DX + (long)b0 * geo.ImageSize, part);
                        }
                    }
                }
            }
            finally
            {
                ArrayPool<float>.Shared.Return(colBuf);
                ArrayPool<float>.Shared.Return(tmp);
                ArrayPool<float>.Shared.Return(dcol);
            }
        }
    }

    private readonly record struct ConvGeometry(int N, int C, int H, int W, int O, int Kh, int Kw, int Ho, int Wo, int Stride, int Padding)
    {
        public int ColRows => C * Kh * Kw;
        public int ColCols => N * Ho * Wo;
        public int ImageSize => C * H * W;

        /// <summary>An input row fits one Vector512 and an output row half of one: im2col and col2im permute whole rows.</summary>
        public bool IsNarrow => Vector512.IsHardwareAccelerated && W <= 16 && Wo <= 8 && Kw <= 16;

        /// <summary>
        /// Images per im2col chunk: about 128 K column entries (512 KB, within a core's L2), but at least 128 product
        /// columns (and up to 256 where that is more) so the products keep their efficiency. Fixed by the shape, so
        /// results do not depend on threads.
        /// </summary>
        public int ChunkImages
        {
            get
            {
                int l = Ho * Wo;
                // At least 128 product columns, and, where L allows, at most 256: the weight gradient's product then sums
                // a chunk in one k block of the matrix product.
                int byCache = (1 << 17) / Math.Max(1, ColRows * l), byWidth = Math.Max(1, 256 / l);
                if (byWidth * l < 128) byWidth = (128 + l - 1) / l;
                return Math.Clamp(Math.Max(byCache, byWidth), 1, Math.Max(1, N));
            }
        }
    }

    // cols[(c·kh + i)·kw + j, b·L + oy·Wo + ox] = x[b, c, oy·s − p + i, ox·s − p + j] (0 outside).
    private static unsafe void Im2Col(float* x, float* cols, ConvGeometry g)
    {
        // Narrow images (a row within one vector, as the image models' 14×14 second convolutions) go a (channel, kernel
        // row) at a time: each input row is loaded once and permuted into its kw output segments.
        bool narrow = g.IsNarrow;
        var kind = narrow ? ConvParts.Kind.Im2ColNarrow : ConvParts.Kind.Im2Col;
        int units = narrow ? g.C * g.Kh : g.ColRows;
        long work = (long)g.ColRows * g.ColCols;
        int threads = Engine.MaxThreads;
        if (work < (1 << 16) || threads <= 1)
            for (int u = 0; u < units; u++) ConvParts.RunUnit(kind, x, cols, g, u);
        else ConvParts.Run(kind, x, cols, g, units, threads);
    }

    /// <summary>
    /// Im2Col rows or Col2Im channels split into contiguous ranges for <see cref="PartRunner"/> (the engine's own workers,
    /// as the products use, not the thread pool); each range writes only its own rows or channels, so the result does
    /// not depend on the split. Pooled, so a call allocates nothing. The pointers are pinned by the caller for the run.
    /// </summary>
    private sealed unsafe class ConvParts : IPartWork
    {
        public enum Kind { Im2Col, Im2ColNarrow, Col2Im, Col2ImNarrow }
        private static readonly Stack<ConvParts> Pool = new();
        private Kind _kind;
        private float* _x, _cols;
        private ConvGeometry _g;
        private int _count, _per;

        /// <summary>Im2Col: <paramref name="x"/> is read, <paramref name="cols"/> written; Col2Im: cols is read, x accumulated.</summary>
        public static void Run(Kind kind, float* x, float* cols, ConvGeometry g, int count, int threads)
        {
            ConvParts? w;
            lock (Pool) w = Pool.Count > 0 ? Pool.Pop() : null;
            w ??= new ConvParts();
            int parts = Math.Min(count, 4 * threads);
            w._kind = kind; w._x = x; w._cols = cols; w._g = g; w._count = count; w._per = (count + parts - 1) / parts;
            try { PartRunner.Run(w, (count + w._per - 1) / w._per, threads); }
            finally
            {
                w._x = null; w._cols = null;
                lock (Pool) Pool.Push(w);
            }
        }

        public void RunPart(int part)
        {
            int start = part * _per, end = Math.Min(_count, start + _per);
            for (int i = start; i < end; i++) RunUnit(_kind, _x, _cols, _g, i);
        }

        /// <summary>One row of the columns (Im2Col), one (channel, kernel row) (Im2ColNarrow) or one channel (Col2Im, Col2ImNarrow).</summary>
        public static void RunUnit(Kind kind, float* x, float* cols, ConvGeometry g, int unit)
        {
            if (kind == Kind.Im2Col) Im2ColRow(x, cols, g, unit);
            else if (kind == Kind.Im2ColNarrow) Im2ColNarrowRows(x, cols, g, unit / g.Kh, unit % g.Kh);
            else if (kind == Kind.Col2ImNarrow) Col2ImNarrowChannel(cols, x, g, unit);
            else Col2ImChannel(cols, x, g, unit);
        }
    }

    /// <summary>
    /// The outputs o in [0, outSize) whose input o·stride − padding + offset lies inside [0, inSize): [lo, hi) (empty when
    /// lo = hi). Computed once per kernel tap, so the copy loops below run without bounds tests.
    /// </summary>
    private static (int Lo, int Hi) InsideRange(int outSize, int inSize, int stride, int padding, int offset)
    {
        int lo = 0, hi = outSize;
        while (lo < hi && lo * stride - padding + offset < 0) lo++;
        while (hi > lo && (hi - 1) * stride - padding + offset >= inSize) hi--;
        return (lo, hi);
    }

    private static unsafe void Im2ColRow(float* x, float* cols, ConvGeometry g, int r)
    {
        int j = r % g.Kw, i = (r / g.Kw) % g.Kh, c = r / (g.Kw * g.Kh);
        int l = g.Ho * g.Wo, wo = g.Wo, s = g.Stride, plane = g.H * g.W;
        var (yLo, yHi) = InsideRange(g.Ho, g.H, s, g.Padding, i);
        var (xLo, xHi) = InsideRange(g.Wo, g.W, s, g.Padding, j);
        float* dstRow = cols + (long)r * g.ColCols;
        for (int b = 0; b < g.N; b++)
        {
            float* dst = dstRow + (long)b * l;
            if (yLo > 0) new Span<float>(dst, yLo * wo).Clear();
            if (yHi < g.Ho) new Span<float>(dst + yHi * wo, (g.Ho - yHi) * wo).Clear();
            float* image = x + (long)(b * g.C + c) * plane;
            for (int oy = yLo; oy < yHi; oy++)
            {
                float* d = dst + oy * wo;
                // Input row oy·s − p + i, shifted so that src[ox·s] is column ox·s − p + j.
                float* src = image + (oy * s - g.Padding + i) * g.W - g.Padding + j;
                for (int ox = 0; ox < xLo; ox++) d[ox] = 0;
                if (s == 1) new ReadOnlySpan<float>(src + xLo, xHi - xLo).CopyTo(new Span<float>(d + xLo, xHi - xLo));
                else for (int ox = xLo; ox < xHi; ox++) d[ox] = src[ox * s];
                for (int ox = xHi; ox < wo; ox++) d[ox] = 0;
            }
        }
    }

    /// <summary>
    /// The kw rows of the columns for channel c and kernel row i, for images of width ≤ 16 and Wo ≤ 8: each input row is
    /// loaded once (lanes ≥ W zeroed) and permuted into the kw segments; a permutation index outside the row (the padding)
    /// gives 0. Segments are stored 8 lanes wide, the lanes past Wo landing in the row's next segment, which is written
    /// (or cleared) after it; a row's last segment is stored lane by lane, since the next row may belong to another thread.
    /// </summary>
    private static unsafe void Im2ColNarrowRows(float* x, float* cols, ConvGeometry g, int c, int i)
    {
        int l = g.Ho * g.Wo, wo = g.Wo, s = g.Stride, p = g.Padding, kw = g.Kw, plane = g.H * g.W;
        long ncols = g.ColCols;
        var (yLo, yHi) = InsideRange(g.Ho, g.H, s, p, i);
        float* end = x + (long)g.N * g.ImageSize;
        var lane = Vector512.Create(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
        var inRow = Vector512.LessThan(lane, Vector512.Create(g.W)).AsSingle();
        // Lane ox reads column ox·s − p + j; lanes past Wo read nothing.
        var baseIndex = Vector512.ConditionalSelect(Vector512.LessThan(lane, Vector512.Create(wo)), lane * s - Vector512.Create(p), Vector512.Create(1 << 20));
        float* rows0 = cols + (long)(c * g.Kh + i) * kw * ncols;
        float* buffer = stackalloc float[16];
        for (int b = 0; b < g.N; b++)
        {
            float* image = x + (long)b * g.ImageSize + (long)c * plane;
            long segment0 = (long)b * l;
            for (int oy = yLo; oy < yHi; oy++)
            {
                float* src = image + (oy * s - p + i) * g.W;
                Vector512<float> row;
                if (src + 16 <= end) row = Vector512.ConditionalSelect(inRow, Vector512.Load(src), Vector512<float>.Zero);
                else
                {
                    new Span<float>(buffer, 16).Clear();
                    new ReadOnlySpan<float>(src, g.W).CopyTo(new Span<float>(buffer, 16));
                    row = Vector512.Load(buffer);
                }
                long at = segment0 + oy * wo;
                bool wide = at + 8 <= ncols;
                for (int j = 0; j < kw; j++)
                {
                    var v = Vector512.Shuffle(row, baseIndex + Vector512.Create(j));
                    float* d = rows0 + j * ncols + at;
                    if (wide) v.GetLower().Store(d);
                    else for (int ox = 0; ox < wo; ox++) d[ox] = v[ox];
                }
            }
            // Rows of the kernel tap outside the image, cleared after the segments so that no spill lands on them.
            for (int j = 0; j < kw; j++)
            {
                float* d = rows0 + j * ncols + segment0;
                if (yLo > 0) new Span<float>(d, yLo * wo).Clear();
                if (yHi < g.Ho) new Span<float>(d + yHi * wo, (g.Ho - yHi) * wo).Clear();
            }
        }
    }

    // The adjoint of Im2Col: dx[b, c, iy, ix] += Σ cols entries that read it. Parallel over channels (each owns its slice of dx).
    private static unsafe void Col2ImAdd(float* cols, float* dx, ConvGeometry g)
    {
        long work = (long)g.ColRows * g.ColCols;
        int threads = Engine.MaxThreads;
        var kind = g.IsNarrow ? ConvParts.Kind.Col2ImNarrow : ConvParts.Kind.Col2Im;
        if (work < (1 << 16) || threads <= 1 || g.C == 1)
            for (int c = 0; c < g.C; c++) ConvParts.RunUnit(kind, dx, cols, g, c);
        else ConvParts.Run(kind, dx, cols, g, g.C, threads);
    }

    /// <summary>
    /// Col2Im of channel c for narrow images (see <see cref="Im2ColNarrowRows"/>): per kernel row and output row, the input
    /// row is loaded once and each tap's segment, permuted back to input columns, added in tap order (the order of
    /// <see cref="Col2ImChannel"/>, so the sums are the same); lanes past the row add 0 to the next row of the same plane,
    /// and a plane's last rows, whose next lanes may be another channel's, go through a buffer.
    /// </summary>
    private static unsafe void Col2ImNarrowChannel(float* cols, float* dx, ConvGeometry g, int c)
    {
        int l = g.Ho * g.Wo, wo = g.Wo, s = g.Stride, p = g.Padding, kw = g.Kw, plane = g.H * g.W;
        long ncols = g.ColCols;
        // Input column ix takes tap j's output ox = (ix + p − j) / s when that divides and lies in [0, Wo).
        int* inverse = stackalloc int[16 * kw];
        for (int j = 0; j < kw; j++)
            for (int ix = 0; ix < 16; ix++)
            {
                int t = ix + p - j;
                inverse[j * 16 + ix] = ix < g.W && t >= 0 && t % s == 0 && t / s < wo ? t / s : 1 << 20;
            }
        float* buffer = stackalloc float[16];
        float* segment = stackalloc float[8];
        for (int i = 0; i < g.Kh; i++)
        {
            var (yLo, yHi) = InsideRange(g.Ho, g.H, s, p, i);
            float* rows0 = cols + (long)(c * g.Kh + i) * kw * ncols;
            for (int b = 0; b < g.N; b++)
            {
                float* image = dx + (long)b * g.ImageSize + (long)c * plane;
                long segment0 = (long)b * l;
                for (int oy = yLo; oy < yHi; oy++)
                {
                    int iy = oy * s - p + i;
                    float* d = image + iy * g.W;
                    bool inPlane = iy * g.W + 16 <= plane;
                    if (!inPlane)
                    {
                        new Span<float>(buffer, 16).Clear();
                        new ReadOnlySpan<float>(d, g.W).CopyTo(new Span<float>(buffer, 16));
                    }
                    var row = Vector512.Load(inPlane ? d : buffer);
                    long at = segment0 + oy * wo;
                    bool wide = at + 8 <= ncols;
                    for (int j = 0; j < kw; j++)
                    {
                        float* src = rows0 + j * ncols + at;
                        if (!wide)
                        {
                            new Span<float>(segment, 8).Clear();
                            new ReadOnlySpan<float>(src, wo).CopyTo(new Span<float>(segment, 8));
                        }
                        var seg = Vector512.Create(Vector256.Load(wide ? src : segment), Vector256<float>.Zero);
                        row += Vector512.Shuffle(seg, Vector512.Load(inverse + j * 16));
                    }
                    if (inPlane) row.Store(d);
                    else
                    {
                        row.Store(buffer);
                        new ReadOnlySpan<float>(buffer, g.W).CopyTo(new Span<float>(d, g.W));
                    }
                }
            }
        }
    }

    private static unsafe void Col2ImChannel(float* cols, float* dx, ConvGeometry g, int c)
    {
        int l = g.Ho * g.Wo, wo = g.Wo, s = g.Stride, plane = g.H * g.W;
        long ncols = g.ColCols;
        for (int i = 0; i < g.Kh; i++)
        {
            var (yLo, yHi) = InsideRange(g.Ho, g.H, s, g.Padding, i);
            for (int j = 0; j < g.Kw; j++)
            {
                var (xLo, xHi) = InsideRange(g.Wo, g.W, s, g.Padding, j);
                if (xHi <= xLo) continue;
                float* srcRow = cols + ((c * g.Kh + i) * g.Kw + j) * ncols;
                for (int b = 0; b < g.N; b++)
                {
                    float* image = dx + (long)(b * g.C + c) * plane;
                    float* srcB = srcRow + (long)b * l;
                    for (int oy = yLo; oy < yHi; oy++)
                    {
                        float* src = srcB + oy * wo;
                        float* d = image + (oy * s - g.Padding + i) * g.W - g.Padding + j;
                        if (s == 1)
                        {
                            var span = new Span<float>(d + xLo, xHi - xLo);
                            TensorPrimitives.Add(span, new ReadOnlySpan<float>(src + xLo, xHi - xLo), span);
                        }
                        else for (int ox = xLo; ox < xHi; ox++) d[ox * s] += src[ox];
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
