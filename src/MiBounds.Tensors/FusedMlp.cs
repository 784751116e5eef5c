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
        var widths = new int[weights.Count + 1];
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
        int n = x._shape[0], layers = weights.Count;
        var stored = new float[layers - 1][];
        for (int l = 0; l < layers - 1; l++) stored[l] = ArrayPool<float>.Shared.Rent(checked(n * widths[l + 1]));
        var output = Tensor.NewOutput(n, widths[^1]);
        ReadOnlySpan<float> prev = x.Values;
        for (int l = 0; l < layers; l++)
        {
            int din = widths[l], dout = widths[l + 1];
            Span<float> dst = (l < layers - 1 ? stored[l] : output._data).AsSpan(0, n * dout);
            var bias = biases[l];
            if (bias is not null) for (int r = 0; r < n; r++) bias.Values.CopyTo(dst.Slice(r * dout, dout));
            Gemm.Multiply(false, true, n, dout, din, prev, din, weights[l].Values, din, dst, dout, accumulate: bias is not null);
            if (l < layers - 1) TensorPrimitives.Max(dst, 0f, dst);
            prev = dst;
        }
        void Release()
        {
            for (int l = 0; l < stored.Length; l++)
            {
                if (stored[l] is null) continue;
                ArrayPool<float>.Shared.Return(stored[l]);
                stored[l] = null!;
            }
        }
        if (!NeedsGrad(x, null, weights, biases))
        {
            Release();
            return output;
        }
        return Tensor.Record(output, g => Backward(g.Values, x, weights, biases, widths, stored), GraphInputs(x, null, weights, biases), Release);
    }

    /// <summary>Whether a fused network op must be recorded (no LINQ: this runs every step).</summary>
    internal static bool NeedsGrad(Tensor a, Tensor? b, IReadOnlyList<Tensor> weights, IReadOnlyList<Tensor?> biases)
    {
        if (!Tensor.GradEnabled) return false;
        if (a.RequiresGrad || (b?.RequiresGrad ?? false)) return true;
        for (int l = 0; l < weights.Count; l++) if (weights[l].RequiresGrad || (biases[l]?.RequiresGrad ?? false)) return true;
        return false;
    }

    /// <summary>The graph inputs of a fused network op: a, b (if given), the weights, then the non-null biases.</summary>
    internal static Tensor[] GraphInputs(Tensor a, Tensor? b, IReadOnlyList<Tensor> weights, IReadOnlyList<Tensor?> biases)
    {
        int count = (b is null ? 1 : 2) + weights.Count;
        for (int l = 0; l < biases.Count; l++) if (biases[l] is not null) count++;
        var inputs = new Tensor[count];
        int n = 0;
        inputs[n++] = a;
        if (b is not null) inputs[n++] = b;
        for (int l = 0; l < weights.Count; l++) inputs[n++] = weights[l];
        for (int l = 0; l < biases.Count; l++) if (biases[l] is { } bias) inputs[n++] = bias;
        return inputs;
    }

    private static void Backward(ReadOnlySpan<float> g, Tensor x, IReadOnlyList<Tensor> weights, IReadOnlyList<Tensor?> biases, int[] widths, float[][] stored)
    {
        int n = x._shape[0], layers = weights.Count, maxW = 0;
        foreach (int w in widths) maxW = Math.Max(maxW, w);
        foreach (var s in stored) if (s is null) throw new InvalidOperationException("internal: the MLP's activations were already released");
        float[] bufA = ArrayPool<float>.Shared.Rent(n * maxW), bufB = ArrayPool<float>.Shared.Rent(n * maxW);
        try
        {
            ReadOnlySpan<float> dz = g; // d loss / d pre-activation of layer l, [n, widths[l+1]]
            for (int l = layers - 1; l >= 0; l--)
            {
                int din = widths[l], dout = widths[l + 1];
                var w = weights[l];
                ReadOnlySpan<float> input = l == 0 ? x.Values : stored[l - 1].AsSpan(0, n * din);
                if (w.RequiresGrad) Gemm.Multiply(true, false, dout, din, n, dz, dout, input, din, Tensor.GradBuffer(w), din, accumulate: true);
                var bias = biases[l];
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
