using System.Buffers;
using System.Numerics.Tensors;

namespace MiBounds.Tensors;

public sealed partial class Tensor
{
    /// <summary>
    /// Exact leave-one-out log-mean-exp of each row of a [R, C] matrix (C ≥ 2): out[i, j] = log mean_{k≠j} e^{x[i,k]},
    /// in O(R·C) without cancellation (the row's argmax column is handled around the second largest value). Vectorized
    /// (float exp of max-shifted scores, each ≤ 1; sums in double); its work arrays are pooled and go back when the graph
    /// is released.
    /// </summary>
    public Tensor LeaveOneOutLogMeanExp()
    {
        if (Rank != 2 || _shape[1] < 2) throw new ArgumentException($"leave-one-out needs a matrix with ≥ 2 columns, got {ShapeString(_shape)}");
        int rows = _shape[0], cols = _shape[1];
        // Kept for the backward pass: r[i, j] = 1/(z_i − e_ij) = e^{m_i − L_ij} for j ≠ a_i, and per row (m, m2, z2, a).
        var inv = ArrayPool<float>.Shared.Rent(rows * cols);
        var rowInfo = ArrayPool<double>.Shared.Rent(3 * rows);
        var argmax = ArrayPool<int>.Shared.Rent(rows);
        var output = NewOutput(rows, cols);
        LooForward(Values, rows, cols, inv, rowInfo, argmax, output.Data);
        var node = RecordOp(output, static (node, g) =>
        {
            var a = node[0];
            if (node.O0 is not float[] inv) throw new InvalidOperationException("internal: the leave-one-out work arrays were already released");
            LooBackward(a.Values, g.Values, a._shape[0], a._shape[1], inv, (double[])node.O1!, (int[])node.O2!, GradBuffer(a));
        }, [this], LooRelease);
        if (node is null)
        {
            ReturnLooArrays(inv, rowInfo, argmax);
            return output;
        }
        node.O0 = inv; node.O1 = rowInfo; node.O2 = argmax;
        return output;
    }

    private static void LooRelease(GradNode node)
    {
        if (node.O0 is not float[] inv) return;
        ReturnLooArrays(inv, (double[])node.O1!, (int[])node.O2!);
        node.O0 = node.O1 = node.O2 = null;
    }

    private static void ReturnLooArrays(float[] inv, double[] rowInfo, int[] argmax)
    {
        ArrayPool<float>.Shared.Return(inv);
        ArrayPool<double>.Shared.Return(rowInfo);
        ArrayPool<int>.Shared.Return(argmax);
    }

    private static void LooForward(ReadOnlySpan<float> s, int rows, int cols, float[] inv, double[] rowInfo, int[] argmax, Span<float> output)
    {
        float logCount = (float)Math.Log(cols - 1);
        using var scratch = new Scratch(cols);
        var tmp = scratch.Span;
        for (int i = 0; i < rows; i++)
        {
            var row = s.Slice(i * cols, cols);
            var r = inv.AsSpan(i * cols, cols);
            var o = output.Slice(i * cols, cols);
            int a = TensorPrimitives.IndexOfMax(row);
            float m = row[a];
            // e_k = exp(s_k − m) ≤ 1 and z = Σ e_k ≥ 1; for j ≠ a, z − e_j ≥ 1 (the max term stays), so
            // L_j = m + log(z − e_j) has no cancellation. r (the inverse) is reused by the backward pass.
            double z = ExpMath.ExpShifted(row, m, r);
            TensorPrimitives.Subtract((float)z, r, r);           // z − e_j
            TensorPrimitives.Log(r, o);
            TensorPrimitives.Add(o, m - logCount, o);             // log mean = L − log(C − 1)
            TensorPrimitives.Reciprocal(r, r);
            // Leaving out the argmax: shift by the second largest value m2 so the sum does not cancel.
            float m2 = float.NegativeInfinity;
            if (a > 0) m2 = TensorPrimitives.Max(row[..a]);
            if (a < cols - 1) m2 = MathF.Max(m2, TensorPrimitives.Max(row[(a + 1)..]));
            double z2 = ExpMath.ExpShifted(row[..a], m2, tmp[..a]) + ExpMath.ExpShifted(row[(a + 1)..], m2, tmp[(a + 1)..]);
            o[a] = (float)(m2 + Math.Log(z2) - Math.Log(cols - 1));
            r[a] = 0;
            argmax[i] = a;
            rowInfo[3 * i] = m; rowInfo[3 * i + 1] = m2; rowInfo[3 * i + 2] = z2;
        }
    }

    private static void LooBackward(ReadOnlySpan<float> s, ReadOnlySpan<float> g, int rows, int cols, float[] inv, double[] rowInfo, int[] argmax, Span<float> grad)
    {
        // dS[i,k] = Σ_{j≠k} g[i,j]·exp(S[i,k] − L[i,j]); with a the argmax, m = S[i,a] and every factor ≤ 1:
        //   k ≠ a: e^{S_k − m}·(t − g_k·r_k) + g_a·e^{S_k − m2}/z2,  k = a: t,  where t = Σ_{j≠a} g_j·r_j.
        using var buf = new Scratch(3 * cols);
        var gr = buf.Span[..cols];
        var e1 = buf.Span.Slice(cols, cols);
        var e2 = buf.Span.Slice(2 * cols, cols);
        for (int i = 0; i < rows; i++)
        {
            var row = s.Slice(i * cols, cols);
            var gi = g.Slice(i * cols, cols);
            int a = argmax[i];
            float m = (float)rowInfo[3 * i], m2 = (float)rowInfo[3 * i + 1];
            double z2 = rowInfo[3 * i + 2];
            TensorPrimitives.Multiply(gi, inv.AsSpan(i * cols, cols), gr); // r_a = 0
            double t = ExpMath.SumWide(gr);
            TensorPrimitives.Subtract(row, m, e1);
            TensorPrimitives.Exp(e1, e1);
            TensorPrimitives.Subtract(row, m2, e2);
            TensorPrimitives.Exp(e2, e2);                                // e2[a] may overflow: overwritten below
            TensorPrimitives.Subtract((float)t, gr, gr);
            TensorPrimitives.Multiply(e1, gr, e1);
            TensorPrimitives.MultiplyAdd(e2, (float)(gi[a] / z2), e1, e1);
            e1[a] = (float)t;
            var d = grad.Slice(i * cols, cols);
            TensorPrimitives.Add(d, e1, d);
        }
    }
}
