using System.Buffers;
using System.Runtime.Intrinsics;
using System.Numerics.Tensors;

namespace MiBounds.Tensors;

public sealed partial class Tensor
{
    /// <summary>
    /// Batch normalization over [N, C] (statistics over N) or [N, C, H, W] (statistics over N, H, W), then the
    /// per-channel affine map γ·x̂ + β. In training mode the batch statistics are used (biased variance) and, when
    /// given, <paramref name="runningMean"/>/<paramref name="runningVar"/> are updated in place as PyTorch does:
    /// r ← (1 − momentum)·r + momentum·stat, with the unbiased variance. In evaluation mode the running statistics are used.
    /// </summary>
    /// <param name="x">Input, [N, C] or [N, C, H, W].</param>
    /// <param name="gamma">Scale [C], or null for 1.</param>
    /// <param name="beta">Shift [C], or null for 0.</param>
    /// <param name="runningMean">Running mean [C] (required when <paramref name="training"/> is false).</param>
    /// <param name="runningVar">Running variance [C] (required when <paramref name="training"/> is false).</param>
    /// <param name="training">Batch statistics (true) or running statistics (false).</param>
    /// <param name="momentum">Weight of the new batch statistic in the running average.</param>
    /// <param name="epsilon">Added to the variance.</param>
    public static Tensor BatchNorm(Tensor x, Tensor? gamma, Tensor? beta, Tensor? runningMean, Tensor? runningVar,
        bool training, float momentum = 0.1f, float epsilon = 1e-5f)
    {
        if (x.Rank != 2 && x.Rank != 4) throw new ArgumentException($"BatchNorm: input must be [N, C] or [N, C, H, W], got {ShapeString(x._shape)}");
        int n = x._shape[0], c = x._shape[1], inner = x.Rank == 4 ? x._shape[2] * x._shape[3] : 1;
        void CheckC(Tensor? t, string what)
        {
            if (t is not null && (t.Rank != 1 || t._shape[0] != c))
                throw new ArgumentException($"BatchNorm: {what} {ShapeString(t._shape)} does not fit input {ShapeString(x._shape)} (expected [{c}])");
        }
        CheckC(gamma, "gamma"); CheckC(beta, "beta"); CheckC(runningMean, "running mean"); CheckC(runningVar, "running variance");
        if ((runningMean is null) != (runningVar is null)) throw new ArgumentException("BatchNorm: give both running statistics or neither");
        if (!(epsilon > 0)) throw new ArgumentOutOfRangeException(nameof(epsilon), epsilon, "BatchNorm: epsilon must be positive");
        if (training)
        {
            if (n * inner <= 1) throw new ArgumentException($"BatchNorm: training needs more than one value per channel, input is {ShapeString(x._shape)}");
            if (momentum is < 0 or > 1) throw new ArgumentOutOfRangeException(nameof(momentum), momentum, "BatchNorm: momentum must be in [0, 1]");
        }
        else if (runningMean is null) throw new ArgumentException("BatchNorm: evaluation mode needs the running statistics");
        // Per-channel statistics live in pooled arrays that the recorded node returns (nothing allocated per call).
        var mean = ArrayPool<float>.Shared.Rent(c);
        var invStd = ArrayPool<float>.Shared.Rent(c);
        var output = NewOutputOverwritten(x._shape);
        var pass = BatchNormPass.Rent(x, n, c, inner, mean, invStd, gamma, beta, training);
        pass.Out = output._data; pass.RunningMean = runningMean?._data; pass.RunningVar = runningVar?._data;
        pass.Momentum = momentum; pass.Epsilon = epsilon;
        pass.Run();
        GradNode? node = (gamma, beta) switch
        {
            (not null, not null) => RecordOp(output, BatchNormBackward, [x, gamma, beta], ReturnBatchNormState),
            (not null, null) => RecordOp(output, BatchNormBackward, [x, gamma], ReturnBatchNormState),
            (null, not null) => RecordOp(output, BatchNormBackward, [x, beta], ReturnBatchNormState),
            _ => RecordOp(output, BatchNormBackward, [x], ReturnBatchNormState),
        };
        if (node is null)
        {
            ArrayPool<float>.Shared.Return(mean); ArrayPool<float>.Shared.Return(invStd);
            return output;
        }
        node.O0 = mean; node.O1 = invStd; node.B0 = training; node.B1 = gamma is not null; node.I0 = beta is not null ? 1 : 0;
        return output;
    }

    private static void ReturnBatchNormState(GradNode node)
    {
        if (node.O0 is float[] mean) ArrayPool<float>.Shared.Return(mean);
        if (node.O1 is float[] invStd) ArrayPool<float>.Shared.Return(invStd);
        node.O0 = node.O1 = null;
    }

    private static void BatchNormBackward(GradNode node, Tensor g)
    {
        var x = node[0];
        var gamma = node.B1 ? node[1] : null;
        var beta = node.I0 == 1 ? node[node.B1 ? 2 : 1] : null;
        int n = x._shape[0], c = x._shape[1], inner = x.Rank == 4 ? x._shape[2] * x._shape[3] : 1;
        var pass = BatchNormPass.Rent(x, n, c, inner, (float[])node.O0!, (float[])node.O1!, gamma, beta, node.B0);
        pass.G = g._data;
        if (gamma is not null && gamma.RequiresGrad) { GradBuffer(gamma); pass.DGamma = gamma.Grad!._data; }
        if (beta is not null && beta.RequiresGrad) { GradBuffer(beta); pass.DBeta = beta.Grad!._data; }
        if (x.RequiresGrad) { GradBuffer(x); pass.Dx = x.Grad!._data; }
        pass.Run();
    }

    /// <summary>
    /// One batch-norm pass (forward, or backward when <see cref="G"/> is set), split into ranges of channels that run on
    /// the engine's threads. Every channel's sums run over the batch in the same order whatever the split, so the values
    /// do not depend on the thread count.
    /// </summary>
    private sealed class BatchNormPass : IPartWork
    {
        private static readonly Stack<BatchNormPass> Pool = new();

        // Below this many values a pass runs on the calling thread: measured, the split shortened only the largest pass (the
        // authors' DIM local critic, [64, 512, 7, 7]: 4.5–5.4 → 3.2–4.3 ms) and not the hypothesis bn1 (627 K values).
        private const int ParallelValues = 1 << 20;

        public float[] X = [], Mean = [], InvStd = [];
        public float[]? Gamma, Beta, Out, RunningMean, RunningVar, G, DGamma, DBeta, Dx;
        public int N, C, Inner, Parts;
        public bool Training;
        public float Momentum, Epsilon;

        public static BatchNormPass Rent(Tensor x, int n, int c, int inner, float[] mean, float[] invStd, Tensor? gamma, Tensor? beta, bool training)
        {
            BatchNormPass? p;
            lock (Pool) p = Pool.Count > 0 ? Pool.Pop() : null;
            p ??= new BatchNormPass();
            p.X = x._data; p.N = n; p.C = c; p.Inner = inner; p.Mean = mean; p.InvStd = invStd;
            p.Gamma = gamma?._data; p.Beta = beta?._data; p.Training = training;
            return p;
        }

        public void Run()
        {
            try
            {
                int threads = Engine.MaxThreads;
                Parts = threads > 1 && C > 1 && (long)N * C * Inner >= ParallelValues ? Math.Min(C, 2 * threads) : 1;
                if (Parts == 1) RunPart(0);
                else PartRunner.Run(this, Parts, threads);
            }
            finally
            {
                X = Mean = InvStd = [];
                Gamma = Beta = Out = RunningMean = RunningVar = G = DGamma = DBeta = Dx = null;
                lock (Pool) Pool.Push(this);
            }
        }

        public void RunPart(int part)
        {
            int from = (int)((long)C * part / Parts), to = (int)((long)C * (part + 1) / Parts);
            var tmp = ArrayPool<float>.Shared.Rent(Inner);
            try
            {
                if (G is null) Forward(from, to, tmp);
                else Backward(from, to, tmp);
            }
            finally { ArrayPool<float>.Shared.Return(tmp); }
        }

        private void Forward(int from, int to, float[] tmp)
        {
            int n = N, c = C, inner = Inner, width = to - from;
            var xv = X; var ov = Out!; var mean = Mean; var invStd = InvStd;
            if (Training)
            {
                var sum = ArrayPool<double>.Shared.Rent(width);
                var ss = ArrayPool<double>.Shared.Rent(width);
                try
                {
                    ChannelSums(from, to, sum, ss, tmp);
                    int m = n * inner;
                    for (int ch = from; ch < to; ch++)
                    {
                        double var = ss[ch - from] / m;
                        invStd[ch] = (float)(1.0 / Math.Sqrt(var + Epsilon));
                        if (RunningMean is { } rm)
                        {
                            rm[ch] = (1 - Momentum) * rm[ch] + Momentum * mean[ch];
                            RunningVar![ch] = (1 - Momentum) * RunningVar[ch] + Momentum * (float)(ss[ch - from] / (m - 1));
                        }
                    }
                }
                finally
                {
                    ArrayPool<double>.Shared.Return(sum);
                    ArrayPool<double>.Shared.Return(ss);
                }
            }
            else
                for (int ch = from; ch < to; ch++)
                {
                    mean[ch] = RunningMean![ch];
                    invStd[ch] = 1f / MathF.Sqrt(RunningVar![ch] + Epsilon);
                }
            if (inner == 1)
            {
                // [N, C]: per-channel scale and shift as rows, applied to each row's channel range at once.
                var scale = ArrayPool<float>.Shared.Rent(width);
                var shift = ArrayPool<float>.Shared.Rent(width);
                for (int ch = from; ch < to; ch++)
                {
                    scale[ch - from] = invStd[ch] * (Gamma?[ch] ?? 1f);
                    shift[ch - from] = (Beta?[ch] ?? 0f) - mean[ch] * scale[ch - from];
                }
                for (int b = 0; b < n; b++)
                {
                    var dst = ov.AsSpan(b * c + from, width);
                    TensorPrimitives.Multiply(xv.AsSpan(b * c + from, width), scale.AsSpan(0, width), dst);
                    TensorPrimitives.Add(dst, shift.AsSpan(0, width), dst);
                }
                ArrayPool<float>.Shared.Return(scale);
                ArrayPool<float>.Shared.Return(shift);
                return;
            }
            for (int b = 0; b < n; b++)
                for (int ch = from; ch < to; ch++)
                {
                    int off = (b * c + ch) * inner;
                    float scale = invStd[ch] * (Gamma?[ch] ?? 1f);
                    float shift = (Beta?[ch] ?? 0f) - mean[ch] * scale;
                    var dst = ov.AsSpan(off, inner);
                    TensorPrimitives.Multiply(xv.AsSpan(off, inner), scale, dst);
                    TensorPrimitives.Add(dst, shift, dst);
                }
        }

        /// <summary>
        /// Channels [from, to): mean (float, into <see cref="Mean"/>), Σx and Σ(x − mean)² (double, indexed from 0) over
        /// the batch and spatial axes: vectorized float partial sums per contiguous run (a row of [N, C] or a channel plane
        /// of [N, C, H, W]), added in double.
        /// </summary>
        private void ChannelSums(int from, int to, double[] sum, double[] ss, float[] tmp)
        {
            int n = N, c = C, inner = Inner, m = n * inner;
            var xv = X; var mean = Mean;
            Array.Clear(sum, 0, to - from);
            Array.Clear(ss, 0, to - from);
            if (inner == 1)
            {
                // [N, C]: walk rows (contiguous over channels), accumulating each channel in double.
                for (int b = 0; b < n; b++)
                {
                    var row = xv.AsSpan(b * c, c);
                    for (int ch = from; ch < to; ch++) sum[ch - from] += row[ch];
                }
                for (int ch = from; ch < to; ch++) mean[ch] = (float)(sum[ch - from] / m);
                for (int b = 0; b < n; b++)
                {
                    var row = xv.AsSpan(b * c, c);
                    for (int ch = from; ch < to; ch++) { double d = row[ch] - (double)mean[ch]; ss[ch - from] += d * d; }
                }
                return;
            }
            for (int b = 0; b < n; b++)
                for (int ch = from; ch < to; ch++) sum[ch - from] += TensorPrimitives.Sum(xv.AsSpan((b * c + ch) * inner, inner));
            for (int ch = from; ch < to; ch++) mean[ch] = (float)(sum[ch - from] / m);
            var t = tmp.AsSpan(0, inner);
            for (int b = 0; b < n; b++)
                for (int ch = from; ch < to; ch++)
                {
                    TensorPrimitives.Subtract(xv.AsSpan((b * c + ch) * inner, inner), mean[ch], t);
                    ss[ch - from] += TensorPrimitives.SumOfSquares(t);
                }
        }

        private void Backward(int from, int to, float[] tmp)
        {
            int n = N, c = C, inner = Inner, m = n * inner, width = to - from;
            var gv = G!; var xv = X; var mean = Mean; var invStd = InvStd;
            var sg = ArrayPool<double>.Shared.Rent(width);
            var sgx = ArrayPool<double>.Shared.Rent(width);
            try
            {
                // Σ g and Σ g·x̂ per channel.
                Array.Clear(sg, 0, width); Array.Clear(sgx, 0, width);
                if (inner == 1)
                    for (int b = 0; b < n; b++)
                    {
                        var gr = gv.AsSpan(b * c, c); var xr = xv.AsSpan(b * c, c);
                        for (int ch = from; ch < to; ch++)
                        {
                            float gg = gr[ch];
                            sg[ch - from] += gg;
                            sgx[ch - from] += gg * ((xr[ch] - mean[ch]) * invStd[ch]);
                        }
                    }
                else
                {
                    var t = tmp.AsSpan(0, inner);
                    for (int b = 0; b < n; b++)
                        for (int ch = from; ch < to; ch++)
                        {
                            int off = (b * c + ch) * inner;
                            var gs = gv.AsSpan(off, inner);
                            sg[ch - from] += TensorPrimitives.Sum(gs);
                            TensorPrimitives.Subtract(xv.AsSpan(off, inner), mean[ch], t);
                            sgx[ch - from] += TensorPrimitives.Dot(gs, t) * invStd[ch];
                        }
                }
                for (int ch = from; ch < to; ch++)
                {
                    if (DGamma is { } dGamma) dGamma[ch] += (float)sgx[ch - from];
                    if (DBeta is { } dBeta) dBeta[ch] += (float)sg[ch - from];
                }
                if (Dx is not { } dx) return;
                // Training: dx = γ·istd·(g − mean(g) − x̂·mean(g·x̂)) = a·g + b·(x − μ) + c per channel; evaluation: dx = γ·istd·g.
                for (int b = 0; b < n; b++)
                {
                    if (inner == 1)
                    {
                        var gr = gv.AsSpan(b * c, c); var xr = xv.AsSpan(b * c, c); var dr = dx.AsSpan(b * c, c);
                        for (int ch = from; ch < to; ch++)
                        {
                            float k1 = (Gamma?[ch] ?? 1f) * invStd[ch];
                            if (!Training) { dr[ch] += k1 * gr[ch]; continue; }
                            float mg = (float)(sg[ch - from] / m), mgx = (float)(sgx[ch - from] / m);
                            float xh = (xr[ch] - mean[ch]) * invStd[ch];
                            dr[ch] += k1 * (gr[ch] - mg - xh * mgx);
                        }
                        continue;
                    }
                    for (int ch = from; ch < to; ch++)
                    {
                        int off = (b * c + ch) * inner;
                        float k1 = (Gamma?[ch] ?? 1f) * invStd[ch];
                        var gs = gv.AsSpan(off, inner); var ds = dx.AsSpan(off, inner);
                        if (!Training) { TensorPrimitives.MultiplyAdd(gs, k1, ds, ds); continue; }
                        float mg = (float)(sg[ch - from] / m), mgx = (float)(sgx[ch - from] / m);
                        BatchNormDx(gs, xv.AsSpan(off, inner), ds, k1, mean[ch], invStd[ch] * mgx, mg);
                    }
                }
            }
            finally
            {
                ArrayPool<double>.Shared.Return(sg);
                ArrayPool<double>.Shared.Return(sgx);
            }
        }
    }

    /// <summary>dx += k1·(g − mg − (x − μ)·s), the operations of the scalar formula per element, 16 lanes at a time.</summary>
    private static void BatchNormDx(ReadOnlySpan<float> g, ReadOnlySpan<float> x, Span<float> dx, float k1, float mu, float s, float mg)
    {
        int i = 0;
        if (System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated)
        {
            var vk = System.Runtime.Intrinsics.Vector512.Create(k1); var vmu = System.Runtime.Intrinsics.Vector512.Create(mu);
            var vs = System.Runtime.Intrinsics.Vector512.Create(s); var vmg = System.Runtime.Intrinsics.Vector512.Create(mg);
            ref float pg = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(g);
            ref float px = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(x);
            ref float pd = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(dx);
            for (; i <= g.Length - 16; i += 16)
            {
                var gi = System.Runtime.Intrinsics.Vector512.LoadUnsafe(ref pg, (nuint)i);
                var xi = System.Runtime.Intrinsics.Vector512.LoadUnsafe(ref px, (nuint)i);
                var di = System.Runtime.Intrinsics.Vector512.LoadUnsafe(ref pd, (nuint)i);
                (di + vk * (gi - vmg - (xi - vmu) * vs)).StoreUnsafe(ref pd, (nuint)i);
            }
        }
        for (; i < g.Length; i++) dx[i] += k1 * (g[i] - mg - (x[i] - mu) * s);
    }

    /// <summary>
    /// Inverted dropout: in training mode each element is zeroed with probability <paramref name="p"/> and the rest are
    /// scaled by 1/(1 − p); in evaluation mode (or with p = 0) the input is returned unchanged.
    /// </summary>
    public Tensor Dropout(float p, Rng rng, bool training = true)
    {
        if (p is < 0 or > 1 || float.IsNaN(p)) throw new ArgumentOutOfRangeException(nameof(p), p, "Dropout: p must be in [0, 1]");
        ArgumentNullException.ThrowIfNull(rng);
        if (!training || p == 0) return this;
        var mask = NewOutputOverwritten(_shape); // pooled with the step's other results; the backward reads it
        var m = mask.Data;
        float keep = p >= 1 ? 0f : 1f / (1f - p);
        for (int i = 0; i < m.Length; i++) m[i] = rng.NextFloat() >= p ? keep : 0f;
        var output = NewOutputOverwritten(_shape);
        TensorPrimitives.Multiply(Values, m, output.Data);
        if (RecordOp(output, DropoutBackward, this) is { } node) node.O0 = mask;
        return output;
    }

    private static void DropoutBackward(GradNode node, Tensor g)
    {
        var a = node[0];
        using var tmp = new Scratch(a.Size);
        TensorPrimitives.Multiply(g.Values, ((Tensor)node.O0!).Values, tmp.Span);
        AccumulateGrad(a, tmp.Span);
    }

    /// <summary>log softmax along <paramref name="axis"/>: x − logsumexp(x) (max-shifted, double accumulation).</summary>
    public Tensor LogSoftmax(int axis = -1) => SoftmaxCore(axis, log: true);

    /// <summary>Softmax along <paramref name="axis"/> (max-shifted).</summary>
    public Tensor Softmax(int axis = -1) => SoftmaxCore(axis, log: false);

    private Tensor SoftmaxCore(int axis, bool log)
    {
        axis = NormalizeAxis(axis);
        var (outer, n, inner) = AxisView(axis);
        var output = NewOutput(_shape);
        var src = _data; var dst = output._data;
        for (int o = 0; o < outer; o++)
            for (int i = 0; i < inner; i++)
            {
                int b = o * n * inner + i;
                float mx = float.NegativeInfinity;
                for (int k = 0; k < n; k++) mx = MathF.Max(mx, src[b + k * inner]);
                if (float.IsNegativeInfinity(mx)) mx = 0; // an all −∞ row gives NaN, as in PyTorch
                double s = 0;
                for (int k = 0; k < n; k++) s += Math.Exp(src[b + k * inner] - mx);
                float lse = mx + (float)Math.Log(s);
                for (int k = 0; k < n; k++)
                {
                    float v = src[b + k * inner] - lse;
                    dst[b + k * inner] = log ? v : MathF.Exp(v);
                }
            }
        if (RecordOp(output, SoftmaxBackward, this) is { } node)
        {
            node.I0 = outer; node.I1 = n; node.I2 = inner; node.B0 = log;
        }
        return output;
    }

    private static void SoftmaxBackward(GradNode node, Tensor g)
    {
        int outer = node.I0, n = node.I1, inner = node.I2;
        bool log = node.B0;
        var d = GradBuffer(node[0]); var gv = g._data; var ov = node.Output._data;
        for (int o = 0; o < outer; o++)
                for (int i = 0; i < inner; i++)
                {
                    int b = o * n * inner + i;
                    double s = 0;
                    if (log)
                    {
                        // dx = g − softmax·Σg
                        for (int k = 0; k < n; k++) s += gv[b + k * inner];
                        for (int k = 0; k < n; k++) d[b + k * inner] += gv[b + k * inner] - MathF.Exp(ov[b + k * inner]) * (float)s;
                    }
                    else
                    {
                        // dx = y·(g − Σ g·y)
                        for (int k = 0; k < n; k++) s += gv[b + k * inner] * ov[b + k * inner];
                        for (int k = 0; k < n; k++) d[b + k * inner] += ov[b + k * inner] * (gv[b + k * inner] - (float)s);
                    }
                }
    }

    /// <summary>
    /// Mean cross-entropy (nats) of <paramref name="logits"/> [N, C] against integer <paramref name="labels"/> (length N):
    /// mean_i (logsumexp_j logits[i, j] − logits[i, labels[i]]), fused and max-shifted. Non-finite logits throw.
    /// </summary>
    public static Tensor CrossEntropy(Tensor logits, int[] labels) => CrossEntropyCore(logits, labels, perSample: false);

    /// <summary>Per-sample cross-entropy (nats), a [N] tensor; see <see cref="CrossEntropy(Tensor, int[])"/>.</summary>
    public static Tensor CrossEntropyPerSample(Tensor logits, int[] labels) => CrossEntropyCore(logits, labels, perSample: true);

    private static Tensor CrossEntropyCore(Tensor logits, int[] labels, bool perSample)
    {
        ArgumentNullException.ThrowIfNull(labels);
        if (logits.Rank != 2) throw new ArgumentException($"CrossEntropy: logits must be [N, C], got {ShapeString(logits._shape)}");
        int rows = logits._shape[0], cols = logits._shape[1];
        if (labels.Length != rows) throw new ArgumentException($"CrossEntropy: {labels.Length} labels for logits {ShapeString(logits._shape)}");
        if (rows == 0 || cols == 0) throw new ArgumentException($"CrossEntropy: empty logits {ShapeString(logits._shape)}");
        logits.EnsureFinite("CrossEntropy logits");
        var lseTensor = NewOutputOverwritten(rows); // pooled with the step's results; the backward reads it
        var lse = lseTensor._data;
        var losses = perSample ? NewOutputOverwritten(rows) : null;
        double total = 0;
        var v = logits._data;
        for (int r = 0; r < rows; r++)
        {
            int y = labels[r];
            if (y < 0 || y >= cols) throw new ArgumentOutOfRangeException(nameof(labels), $"CrossEntropy: label {y} at {r} is outside [0, {cols})");
            var row = v.AsSpan(r * cols, cols);
            float mx = TensorPrimitives.Max(row);
            double s = 0;
            for (int k = 0; k < cols; k++) s += Math.Exp(row[k] - mx);
            lse[r] = mx + (float)Math.Log(s);
            if (losses is not null) losses._data[r] = lse[r] - row[y];
            total += (double)lse[r] - row[y];
        }
        var output = losses ?? NewScalar((float)(total / rows));
        if (RecordOp(output, CrossEntropyBackward, logits) is { } node)
        {
            node.O0 = lseTensor; node.O1 = labels; node.B0 = perSample;
        }
        return output;
    }

    private static void CrossEntropyBackward(GradNode node, Tensor g)
    {
        var logits = node[0];
        var lse = ((Tensor)node.O0!)._data;
        var labels = (int[])node.O1!;
        bool perSample = node.B0;
        int rows = logits._shape[0], cols = logits._shape[1];
        var d = GradBuffer(logits);
        var v = logits._data;
        for (int r = 0; r < rows; r++)
        {
            float gg = perSample ? g._data[r] : g._data[0] / rows;
            int off = r * cols;
            for (int k = 0; k < cols; k++) d[off + k] += gg * MathF.Exp(v[off + k] - lse[r]);
            d[off + labels[r]] -= gg;
        }
    }

    /// <summary>Fraction of rows of <paramref name="logits"/> [N, C] whose arg-max equals the label.</summary>
    public static float Accuracy(Tensor logits, int[] labels)
    {
        var pred = logits.ArgMaxRows();
        if (pred.Length != labels.Length) throw new ArgumentException($"Accuracy: {labels.Length} labels for logits {ShapeString(logits._shape)}");
        int hit = 0;
        for (int i = 0; i < pred.Length; i++) if (pred[i] == labels[i]) hit++;
        return pred.Length == 0 ? 0f : (float)hit / pred.Length;
    }
}
