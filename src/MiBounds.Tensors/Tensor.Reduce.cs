using System.Numerics.Tensors;

namespace MiBounds.Tensors;

public sealed partial class Tensor
{
    // An axis reduction views the tensor as [outer, n, inner].
    private (int outer, int n, int inner) AxisView(int axis)
    {
        int outer = 1, inner = 1;
        for (int i = 0; i < axis; i++) outer *= _shape[i];
        for (int i = axis + 1; i < Rank; i++) inner *= _shape[i];
        return (outer, _shape[axis], inner);
    }

    private int[] ReducedShape(int axis, bool keepDim)
    {
        Span<int> shape = stackalloc int[MaxRank];
        int r = 0;
        for (int i = 0; i < Rank; i++)
        {
            if (i != axis) shape[r++] = _shape[i];
            else if (keepDim) shape[r++] = 1;
        }
        return InternShape(shape[..r]);
    }

    /// <summary>Sum of all elements (double accumulation), as a scalar.</summary>
    public Tensor Sum()
    {
        var output = NewScalar((float)SumDouble(Values));
        RecordOp(output, static (node, g) =>
        {
            var d = GradBuffer(node[0]);
            TensorPrimitives.Add(d, g._data[0], d);
        }, this);
        return output;
    }

    /// <summary>Mean of all elements, as a scalar.</summary>
    public Tensor Mean()
    {
        if (Size == 0) throw new InvalidOperationException("Mean() of an empty tensor");
        var output = NewScalar((float)(SumDouble(Values) / Size));
        RecordOp(output, static (node, g) =>
        {
            var a = node[0];
            var d = GradBuffer(a);
            TensorPrimitives.Add(d, g._data[0] / a.Size, d);
        }, this);
        return output;
    }

    internal static double SumDouble(ReadOnlySpan<float> v)
    {
        // Pairs of float partial sums of 256 values keep the error small at near-float speed.
        double total = 0;
        for (int i = 0; i < v.Length; i += 256)
            total += TensorPrimitives.Sum(v.Slice(i, Math.Min(256, v.Length - i)));
        return total;
    }

    /// <summary>Sum over one axis.</summary>
    public Tensor Sum(int axis, bool keepDim = false) => AxisReduce(axis, keepDim, mean: false);

    /// <summary>Mean over one axis.</summary>
    public Tensor Mean(int axis, bool keepDim = false) => AxisReduce(axis, keepDim, mean: true);

    private Tensor AxisReduce(int axis, bool keepDim, bool mean)
    {
        axis = NormalizeAxis(axis);
        var (outer, n, inner) = AxisView(axis);
        if (mean && n == 0) throw new InvalidOperationException($"Mean over an empty axis {axis} of shape {ShapeString(_shape)}");
        var output = NewOutput(ReducedShape(axis, keepDim));
        float scale = mean ? 1f / n : 1f;
        var src = Values; var dst = output.Data;
        for (int o = 0; o < outer; o++)
        {
            var row = dst.Slice(o * inner, inner);
            for (int k = 0; k < n; k++) TensorPrimitives.Add(row, src.Slice((o * n + k) * inner, inner), row);
            if (mean) TensorPrimitives.Multiply(row, scale, row);
        }
        if (RecordOp(output, AxisReduceBackward, this) is { } node)
        {
            node.I0 = outer; node.I1 = n; node.I2 = inner; node.B0 = mean; node.F0 = scale;
        }
        return output;
    }

    private static void AxisReduceBackward(GradNode node, Tensor g)
    {
        int outer = node.I0, n = node.I1, inner = node.I2;
        bool mean = node.B0;
        float scale = node.F0;
        var d = GradBuffer(node[0]); var gv = g.Values;
        for (int o = 0; o < outer; o++)
        {
            var gr = gv.Slice(o * inner, inner);
            for (int k = 0; k < n; k++)
            {
                var dr = d.Slice((o * n + k) * inner, inner);
                if (mean) TensorPrimitives.MultiplyAdd(gr, scale, dr, dr); else TensorPrimitives.Add(dr, gr, dr);
            }
        }
    }

    /// <summary>Maximum over one axis (gradient to the first maximal element).</summary>
    public Tensor Max(int axis, bool keepDim = false)
    {
        axis = NormalizeAxis(axis);
        var (outer, n, inner) = AxisView(axis);
        if (n == 0) throw new InvalidOperationException($"Max over an empty axis of shape {ShapeString(_shape)}");
        var output = NewOutput(ReducedShape(axis, keepDim));
        var arg = new int[outer * inner];
        var src = Values; var dst = output.Data;
        for (int o = 0; o < outer; o++)
            for (int i = 0; i < inner; i++)
            {
                int best = 0; float bv = src[o * n * inner + i];
                for (int k = 1; k < n; k++)
                {
                    float v = src[(o * n + k) * inner + i];
                    if (v > bv || float.IsNaN(v)) { bv = v; best = k; }
                }
                dst[o * inner + i] = bv; arg[o * inner + i] = best;
            }
        if (!AnyRequiresGrad(this)) return output;
        var a = this;
        return Record(output, g =>
        {
            var d = GradBuffer(a); var gv = g.Values;
            for (int o = 0; o < outer; o++)
                for (int i = 0; i < inner; i++)
                    d[(o * n + arg[o * inner + i]) * inner + i] += gv[o * inner + i];
        }, a);
    }

    /// <summary>Maximum of all elements, as a scalar.</summary>
    public Tensor Max() => Reshape(Size).Max(0);

    /// <summary>Index of the maximum along the last axis of a rank-2 tensor, per row.</summary>
    public int[] ArgMaxRows()
    {
        CheckRank(2);
        int rows = _shape[0], cols = _shape[1];
        var result = new int[rows];
        for (int r = 0; r < rows; r++) result[r] = TensorPrimitives.IndexOfMax(Values.Slice(r * cols, cols));
        return result;
    }

    /// <summary>log Σ exp over one axis, with a max shift (exp in float vectors, each term ≤ 1; sums in double).</summary>
    public Tensor LogSumExp(int axis, bool keepDim = false)
    {
        axis = NormalizeAxis(axis);
        var (outer, n, inner) = AxisView(axis);
        if (n == 0) throw new InvalidOperationException($"LogSumExp over an empty axis of shape {ShapeString(_shape)}");
        var output = NewOutput(ReducedShape(axis, keepDim));
        var src = Values; var dst = output.Data;
        if (inner == 1)
        {
            // Contiguous rows (the last axis, or all elements): one vector pass per row.
            using var scratch = new Scratch(n);
            for (int o = 0; o < outer; o++)
            {
                var row = src.Slice(o * n, n);
                float m = TensorPrimitives.Max(row);
                dst[o] = float.IsNegativeInfinity(m) ? m : (float)(m + Math.Log(ExpMath.ExpShifted(row, m, scratch.Span)));
            }
        }
        else
        {
            for (int o = 0; o < outer; o++)
                for (int i = 0; i < inner; i++)
                {
                    float m = float.NegativeInfinity;
                    for (int k = 0; k < n; k++) m = MathF.Max(m, src[(o * n + k) * inner + i]);
                    if (float.IsNegativeInfinity(m)) { dst[o * inner + i] = m; continue; }
                    double s = 0;
                    for (int k = 0; k < n; k++) s += MathF.Exp(src[(o * n + k) * inner + i] - m);
                    dst[o * inner + i] = (float)(m + Math.Log(s));
                }
        }
        if (RecordOp(output, LogSumExpBackward, this) is { } node)
        {
            node.I0 = outer; node.I1 = n; node.I2 = inner;
        }
        return output;
    }

    private static void LogSumExpBackward(GradNode node, Tensor g)
    {
        var a = node[0];
        int outer = node.I0, n = node.I1, inner = node.I2;
        {
            var d = GradBuffer(a); var gv = g.Values; var ov = node.Output.Values; var sv = a.Values;
            if (inner == 1)
            {
                using var scratch = new Scratch(n);
                var e = scratch.Span;
                for (int o = 0; o < outer; o++)
                {
                    float lse = ov[o];
                    if (float.IsNegativeInfinity(lse)) continue;
                    TensorPrimitives.Subtract(sv.Slice(o * n, n), lse, e);
                    TensorPrimitives.Exp(e, e);
                    var dr = d.Slice(o * n, n);
                    TensorPrimitives.MultiplyAdd(e, gv[o], dr, dr);
                }
                return;
            }
            for (int o = 0; o < outer; o++)
                for (int i = 0; i < inner; i++)
                {
                    float lse = ov[o * inner + i], gg = gv[o * inner + i];
                    if (float.IsNegativeInfinity(lse)) continue;
                    for (int k = 0; k < n; k++)
                    {
                        int idx = (o * n + k) * inner + i;
                        d[idx] += gg * MathF.Exp(sv[idx] - lse);
                    }
                }
        }
    }

    /// <summary>log Σ exp of all elements, as a scalar.</summary>
    public Tensor LogSumExp() => Reshape(Size).LogSumExp(0);

    // ---------- masked reductions (mask has one flag per element) ----------

    private void CheckMask(bool[] mask, string op)
    {
        if (mask.Length != Size) throw new ArgumentException($"{op}: mask has {mask.Length} entries, tensor of shape {ShapeString(_shape)} has {Size}");
    }

    private static int CountTrue(bool[] mask) => ExpMath.CountTrue(mask);

    /// <summary>Sum of the elements where <paramref name="mask"/> is true.</summary>
    public Tensor MaskedSum(bool[] mask) => MaskedLinear(mask, mean: false);

    /// <summary>Mean of the elements where <paramref name="mask"/> is true.</summary>
    public Tensor MaskedMean(bool[] mask) => MaskedLinear(mask, mean: true);

    private Tensor MaskedLinear(bool[] mask, bool mean)
    {
        CheckMask(mask, mean ? "MaskedMean" : "MaskedSum");
        int count = CountTrue(mask);
        if (mean && count == 0) throw new ArgumentException("MaskedMean: the mask selects no element");
        var v = Values;
        double s;
        using (var scratch = new Scratch(v.Length))
        {
            ExpMath.MaskSelect(v, mask, 0f, 0f, scratch.Span);
            s = ExpMath.SumWide(scratch.Span);
        }
        float scale = mean ? 1f / count : 1f;
        var output = NewScalar((float)(s * scale));
        if (RecordOp(output, static (node, g) => ExpMath.MaskedAdd(GradBuffer(node[0]), (bool[])node.O0!, g._data[0] * node.F0), this) is { } node)
        {
            node.O0 = mask; node.F0 = scale;
        }
        return output;
    }

    /// <summary>log Σ exp over the elements where <paramref name="mask"/> is true (max-shifted; masked-out entries are skipped, never set to −∞).</summary>
    public Tensor MaskedLogSumExp(bool[] mask) => MaskedLse(mask, logCountShift: false);

    /// <summary>log mean exp over the elements where <paramref name="mask"/> is true.</summary>
    public Tensor MaskedLogMeanExp(bool[] mask) => MaskedLse(mask, logCountShift: true);

    private Tensor MaskedLse(bool[] mask, bool logCountShift)
    {
        CheckMask(mask, "MaskedLogSumExp");
        int count = CountTrue(mask);
        if (count == 0) throw new ArgumentException("MaskedLogSumExp: the mask selects no element");
        var v = Values;
        float lse;
        using (var scratch = new Scratch(v.Length))
        {
            // Masked-out entries become −∞ (exp → 0); the max shift makes every kept term ≤ 1.
            var sel = scratch.Span;
            ExpMath.MaskSelect(v, mask, 0f, float.NegativeInfinity, sel);
            float m = TensorPrimitives.Max(sel);
            lse = float.IsNegativeInfinity(m) ? m : (float)(m + Math.Log(ExpMath.ExpShifted(sel, m, sel)));
        }
        var output = NewScalar(logCountShift ? lse - MathF.Log(count) : lse);
        if (RecordOp(output, MaskedLseBackward, this) is { } node)
        {
            node.O0 = mask; node.F0 = lse;
        }
        return output;
    }

    private static void MaskedLseBackward(GradNode node, Tensor g)
    {
        float lse = node.F0;
        if (float.IsNegativeInfinity(lse)) return;
        var a = node[0];
        var d = GradBuffer(a);
        using var scratch = new Scratch(d.Length);
        var e = scratch.Span;
        ExpMath.MaskSelect(a.Values, (bool[])node.O0!, lse, float.NegativeInfinity, e);
        TensorPrimitives.Exp(e, e);
        TensorPrimitives.MultiplyAdd(e, g._data[0], d, d);
    }

    /// <summary>The diagonal of a rank-2 tensor (length min(rows, cols)).</summary>
    public Tensor Diagonal()
    {
        CheckRank(2);
        int n = Math.Min(_shape[0], _shape[1]), cols = _shape[1];
        var output = NewOutput(n);
        for (int i = 0; i < n; i++) output._data[i] = _data[i * cols + i];
        RecordOp(output, static (node, g) =>
        {
            var a = node[0];
            int n = node.Output.Size, cols = a._shape[1];
            var d = GradBuffer(a);
            for (int i = 0; i < n; i++) d[i * cols + i] += g._data[i];
        }, this);
        return output;
    }

    /// <summary>A mask that is true off the diagonal of a rows×cols matrix.</summary>
    public static bool[] OffDiagonalMask(int rows, int cols)
    {
        var m = new bool[rows * cols];
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++) m[i * cols + j] = i != j;
        return m;
    }
}
