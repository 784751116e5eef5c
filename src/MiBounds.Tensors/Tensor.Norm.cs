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
        int m = n * inner;
        var mean = new float[c];
        var invStd = new float[c];
        var xv = x._data;
        if (training)
        {
            if (m <= 1) throw new ArgumentException($"BatchNorm: training needs more than one value per channel, input is {ShapeString(x._shape)}");
            if (momentum is < 0 or > 1) throw new ArgumentOutOfRangeException(nameof(momentum), momentum, "BatchNorm: momentum must be in [0, 1]");
            for (int ch = 0; ch < c; ch++)
            {
                double s = 0;
                for (int b = 0; b < n; b++)
                {
                    int off = (b * c + ch) * inner;
                    for (int k = 0; k < inner; k++) s += xv[off + k];
                }
                double mu = s / m, ss = 0;
                for (int b = 0; b < n; b++)
                {
                    int off = (b * c + ch) * inner;
                    for (int k = 0; k < inner; k++) { double d = xv[off + k] - mu; ss += d * d; }
                }
                double var = ss / m;
                mean[ch] = (float)mu;
                invStd[ch] = (float)(1.0 / Math.Sqrt(var + epsilon));
                if (runningMean is not null)
                {
                    runningMean._data[ch] = (1 - momentum) * runningMean._data[ch] + momentum * (float)mu;
                    runningVar!._data[ch] = (1 - momentum) * runningVar._data[ch] + momentum * (float)(ss / (m - 1));
                }
            }
        }
        else
        {
            if (runningMean is null) throw new ArgumentException("BatchNorm: evaluation mode needs the running statistics");
            for (int ch = 0; ch < c; ch++)
            {
                mean[ch] = runningMean._data[ch];
                invStd[ch] = 1f / MathF.Sqrt(runningVar!._data[ch] + epsilon);
            }
        }
        var output = NewOutput(x._shape);
        var ov = output._data;
        for (int b = 0; b < n; b++)
            for (int ch = 0; ch < c; ch++)
            {
                int off = (b * c + ch) * inner;
                float scale = invStd[ch] * (gamma?._data[ch] ?? 1f);
                float shift = (beta?._data[ch] ?? 0f) - mean[ch] * scale;
                var src = xv.AsSpan(off, inner);
                var dst = ov.AsSpan(off, inner);
                TensorPrimitives.Multiply(src, scale, dst);
                TensorPrimitives.Add(dst, shift, dst);
            }
        bool needs = GradEnabled && (x.RequiresGrad || (gamma?.RequiresGrad ?? false) || (beta?.RequiresGrad ?? false));
        if (!needs) return output;
        var inputs = new List<Tensor> { x };
        if (gamma is not null) inputs.Add(gamma);
        if (beta is not null) inputs.Add(beta);
        return Record(output, g =>
        {
            var gv = g._data;
            Span<float> dGamma = gamma is not null && gamma.RequiresGrad ? GradBuffer(gamma) : default;
            Span<float> dBeta = beta is not null && beta.RequiresGrad ? GradBuffer(beta) : default;
            Span<float> dx = x.RequiresGrad ? GradBuffer(x) : default;
            for (int ch = 0; ch < c; ch++)
            {
                float mu = mean[ch], istd = invStd[ch], gam = gamma?._data[ch] ?? 1f;
                double sg = 0, sgx = 0; // Σ g, Σ g·x̂
                for (int b = 0; b < n; b++)
                {
                    int off = (b * c + ch) * inner;
                    for (int k = 0; k < inner; k++)
                    {
                        float gg = gv[off + k];
                        sg += gg;
                        sgx += gg * ((xv[off + k] - mu) * istd);
                    }
                }
                if (!dGamma.IsEmpty) dGamma[ch] += (float)sgx;
                if (!dBeta.IsEmpty) dBeta[ch] += (float)sg;
                if (dx.IsEmpty) continue;
                if (!training)
                {
                    float s = gam * istd;
                    for (int b = 0; b < n; b++)
                    {
                        int off = (b * c + ch) * inner;
                        TensorPrimitives.MultiplyAdd(gv.AsSpan(off, inner), s, dx.Slice(off, inner), dx.Slice(off, inner));
                    }
                    continue;
                }
                // dx = γ·istd·(g − mean(g) − x̂·mean(g·x̂))
                float k1 = gam * istd, mg = (float)(sg / m), mgx = (float)(sgx / m);
                for (int b = 0; b < n; b++)
                {
                    int off = (b * c + ch) * inner;
                    for (int k = 0; k < inner; k++)
                    {
                        float xh = (xv[off + k] - mu) * istd;
                        dx[off + k] += k1 * (gv[off + k] - mg - xh * mgx);
                    }
                }
            }
        }, inputs.ToArray());
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
        var mask = new float[Size];
        float keep = p >= 1 ? 0f : 1f / (1f - p);
        for (int i = 0; i < mask.Length; i++) mask[i] = rng.NextFloat() >= p ? keep : 0f;
        var output = NewOutput(_shape);
        TensorPrimitives.Multiply(Values, mask, output.Data);
        if (!AnyRequiresGrad(this)) return output;
        var a = this;
        return Record(output, g =>
        {
            using var tmp = new Scratch(a.Size);
            TensorPrimitives.Multiply(g.Values, mask, tmp.Span);
            AccumulateGrad(a, tmp.Span);
        }, a);
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
        if (!AnyRequiresGrad(this)) return output;
        var a = this;
        return Record(output, g =>
        {
            var d = GradBuffer(a); var gv = g._data; var ov = output._data;
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
        }, a);
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
        var lse = new float[rows];
        var losses = new float[rows];
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
            losses[r] = lse[r] - row[y];
            total += (double)lse[r] - row[y];
        }
        var output = perSample ? FromArray(losses) : Scalar((float)(total / rows));
        if (!AnyRequiresGrad(logits)) return output;
        return Record(output, g =>
        {
            var d = GradBuffer(logits);
            for (int r = 0; r < rows; r++)
            {
                float gg = perSample ? g._data[r] : g._data[0] / rows;
                int off = r * cols;
                for (int k = 0; k < cols; k++) d[off + k] += gg * MathF.Exp(v[off + k] - lse[r]);
                d[off + labels[r]] -= gg;
            }
        }, logits);
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
