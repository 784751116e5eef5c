using System.Buffers;
using System.Numerics.Tensors;

namespace MiBounds.Tensors;

public sealed partial class Tensor
{
    /// <summary>
    /// Exact leave-one-out log-mean-exp of each row of a [R, C] matrix (C ≥ 2): out[i, j] = log mean_{k≠j} e^{x[i,k]},
    /// in O(R·C) without cancellation (the row's argmax column is handled around the second largest value). Computed in
    /// double with vectorized exp/log; its work arrays are pooled and go back when the graph is released.
    /// </summary>
    public Tensor LeaveOneOutLogMeanExp()
    {
        if (Rank != 2 || _shape[1] < 2) throw new ArgumentException($"leave-one-out needs a matrix with ≥ 2 columns, got {ShapeString(_shape)}");
        int rows = _shape[0], cols = _shape[1];
        var lse = ArrayPool<double>.Shared.Rent(rows * cols); // leave-one-out log-sum-exp L[i, j], kept for the backward pass
        var argmax = ArrayPool<int>.Shared.Rent(rows);
        var output = NewOutput(rows, cols);
        var scratch = ArrayPool<double>.Shared.Rent(cols);
        try { LooForward(Values, rows, cols, lse, argmax, scratch, output.Data); }
        finally { ArrayPool<double>.Shared.Return(scratch); }
        var a = this;
        bool released = false;
        void Release()
        {
            if (released) return;
            released = true;
            ArrayPool<double>.Shared.Return(lse);
            ArrayPool<int>.Shared.Return(argmax);
        }
        if (!AnyRequiresGrad(a))
        {
            Release();
            return output;
        }
        return Record(output, g =>
        {
            if (released) throw new InvalidOperationException("internal: the leave-one-out work arrays were already released");
            LooBackward(a.Values, g.Values, rows, cols, lse, argmax, GradBuffer(a));
        }, [a], Release);
    }

    private static void LooForward(ReadOnlySpan<float> s, int rows, int cols, double[] lse, int[] argmax, double[] scratch, Span<float> output)
    {
        double logCount = Math.Log(cols - 1);
        var e = scratch.AsSpan(0, cols);
        for (int i = 0; i < rows; i++)
        {
            var row = s.Slice(i * cols, cols);
            var l = lse.AsSpan(i * cols, cols);
            int a = TensorPrimitives.IndexOfMax(row);
            argmax[i] = a;
            double m = row[a];
            // e_k = exp(s_k − m) ≤ 1, z = Σ e_k ≥ 1; L_j = m + log(z − e_j) for j ≠ a (z − e_j ≥ 1: the max term stays).
            for (int k = 0; k < cols; k++) e[k] = row[k] - m; // exact in double
            TensorPrimitives.Exp(e, e);
            double z = TensorPrimitives.Sum<double>(e);
            TensorPrimitives.Subtract(z, e, l);
            TensorPrimitives.Log(l, l);
            TensorPrimitives.Add(l, m, l);
            // Leaving out the argmax: shift by the second largest value m2 so the sum does not cancel.
            double m2 = double.NegativeInfinity;
            if (a > 0) m2 = TensorPrimitives.Max(row[..a]);
            if (a < cols - 1) m2 = Math.Max(m2, TensorPrimitives.Max(row[(a + 1)..]));
            for (int k = 0; k < cols; k++) e[k] = row[k] - m2;
            e[a] = double.NegativeInfinity;
            TensorPrimitives.Exp(e, e);
            l[a] = m2 + Math.Log(TensorPrimitives.Sum<double>(e));
            var o = output.Slice(i * cols, cols);
            for (int j = 0; j < cols; j++) o[j] = (float)(l[j] - logCount);
        }
    }

    private static void LooBackward(ReadOnlySpan<float> s, ReadOnlySpan<float> g, int rows, int cols, double[] lse, int[] argmax, Span<float> grad)
    {
        // dS[i,k] = Σ_{j≠k} g[i,j]·exp(S[i,k] − L[i,j]); with a the argmax and m = S[i,a], every exp below is ≤ 1:
        //   k ≠ a: e^{S_k − m}·(t − g_k·e^{m − L_k}) + g_a·e^{S_k − L_a},  k = a: t,  where t = Σ_{j≠a} g_j·e^{m − L_j}.
        var buf = ArrayPool<double>.Shared.Rent(3 * cols);
        try
        {
            var gw = buf.AsSpan(0, cols);
            var e1 = buf.AsSpan(cols, cols);
            var e2 = buf.AsSpan(2 * cols, cols);
            for (int i = 0; i < rows; i++)
            {
                var row = s.Slice(i * cols, cols);
                var gr = g.Slice(i * cols, cols);
                var l = lse.AsSpan(i * cols, cols);
                int a = argmax[i];
                double m = row[a], la = l[a], ga = gr[a];
                TensorPrimitives.Subtract(m, l, gw);
                TensorPrimitives.Exp(gw, gw);
                for (int j = 0; j < cols; j++) gw[j] *= gr[j];
                gw[a] = 0;
                double t = TensorPrimitives.Sum<double>(gw);
                for (int k = 0; k < cols; k++) { double sk = row[k]; e1[k] = sk - m; e2[k] = sk - la; }
                TensorPrimitives.Exp(e1, e1);
                TensorPrimitives.Exp(e2, e2);
                TensorPrimitives.Subtract(t, gw, gw);
                TensorPrimitives.Multiply(e1, gw, e1);
                TensorPrimitives.MultiplyAdd(e2, ga, e1, e1);
                e1[a] = t;
                var d = grad.Slice(i * cols, cols);
                for (int k = 0; k < cols; k++) d[k] += (float)e1[k];
            }
        }
        finally { ArrayPool<double>.Shared.Return(buf); }
    }
}
