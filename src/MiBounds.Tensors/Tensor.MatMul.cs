using System.Numerics.Tensors;

namespace MiBounds.Tensors;

public sealed partial class Tensor
{
    /// <summary>
    /// Matrix product op(a)·op(b) of rank-2 tensors, or batched over a leading axis for rank-3 tensors
    /// ([B, m, k]·[B, k, n]). <paramref name="transA"/>/<paramref name="transB"/> use the transpose of an operand without copying it.
    /// </summary>
    public static Tensor MatMul(Tensor a, Tensor b, bool transA = false, bool transB = false)
    {
        if (a.Rank == 3 && b.Rank == 3) return BatchedMatMul(a, b, transA, transB);
        if (a.Rank != 2 || b.Rank != 2)
            throw new ArgumentException($"MatMul needs two rank-2 (or two rank-3) tensors, got {ShapeString(a._shape)} and {ShapeString(b._shape)}");
        int m = transA ? a._shape[1] : a._shape[0], ka = transA ? a._shape[0] : a._shape[1];
        int kb = transB ? b._shape[1] : b._shape[0], n = transB ? b._shape[0] : b._shape[1];
        if (ka != kb)
            throw new ArgumentException($"MatMul: inner dimensions differ: {ShapeString(a._shape)}{(transA ? "ᵀ" : "")} · {ShapeString(b._shape)}{(transB ? "ᵀ" : "")}");
        var output = NewOutputOverwritten(m, n);
        Gemm.Multiply(transA, transB, m, n, ka, a.Values, a._shape[1], b.Values, b._shape[1], output.Data, n, accumulate: false);
        if (RecordOp(output, static (node, g) => MatMulBackward(node[0], node[1], g.Values, node.B0, node.B1, node.I0, node.I1, node.I2, 0, 0, 0), a, b) is { } node)
        {
            node.B0 = transA; node.B1 = transB; node.I0 = m; node.I1 = n; node.I2 = ka;
        }
        return output;
    }

    private static void MatMulBackward(Tensor a, Tensor b, ReadOnlySpan<float> g, bool transA, bool transB,
        int m, int n, int k, int aOff, int bOff, int gOff)
    {
        int lda = a._shape[^1], ldb = b._shape[^1];
        int aSize = m * k, bSize = k * n;
        var gv = g.Slice(gOff, m * n);
        if (a.RequiresGrad)
        {
            var da = GradBuffer(a).Slice(aOff, aSize);
            var bv = b.Values.Slice(bOff, bSize);
            if (!transA) Gemm.Multiply(false, !transB, m, k, n, gv, n, bv, ldb, da, lda, accumulate: true);
            else Gemm.Multiply(transB, true, k, m, n, bv, ldb, gv, n, da, lda, accumulate: true);
        }
        if (b.RequiresGrad)
        {
            var db = GradBuffer(b).Slice(bOff, bSize);
            var av = a.Values.Slice(aOff, aSize);
            if (!transB) Gemm.Multiply(!transA, false, k, n, m, av, lda, gv, n, db, ldb, accumulate: true);
            else Gemm.Multiply(true, transA, n, k, m, gv, n, av, lda, db, ldb, accumulate: true);
        }
    }

    private static Tensor BatchedMatMul(Tensor a, Tensor b, bool transA, bool transB)
    {
        int batch = a._shape[0];
        if (b._shape[0] != batch) throw new ArgumentException($"MatMul: batch sizes differ: {ShapeString(a._shape)} and {ShapeString(b._shape)}");
        int m = transA ? a._shape[2] : a._shape[1], ka = transA ? a._shape[1] : a._shape[2];
        int kb = transB ? b._shape[2] : b._shape[1], n = transB ? b._shape[1] : b._shape[2];
        if (ka != kb) throw new ArgumentException($"MatMul: inner dimensions differ: {ShapeString(a._shape)} · {ShapeString(b._shape)}");
        var output = NewOutput(batch, m, n);
        int aStride = m * ka, bStride = ka * n, cStride = m * n;
        for (int t = 0; t < batch; t++)
            Gemm.Multiply(transA, transB, m, n, ka, a.Values.Slice(t * aStride, aStride), a._shape[2],
                b.Values.Slice(t * bStride, bStride), b._shape[2], output.Data.Slice(t * cStride, cStride), n, accumulate: false);
        if (!AnyRequiresGrad(a, b)) return output;
        return Record(output, g =>
        {
            for (int t = 0; t < batch; t++)
                MatMulBackward(a, b, g.Values, transA, transB, m, n, ka, t * aStride, t * bStride, t * cStride);
        }, a, b);
    }

    /// <summary>
    /// Affine map x·Wᵀ + bias for x [N, in], W [out, in] (PyTorch's layout) and bias [out], as one recorded op.
    /// </summary>
    public static Tensor Linear(Tensor x, Tensor weight, Tensor? bias)
    {
        if (x.Rank != 2 || weight.Rank != 2 || x._shape[1] != weight._shape[1])
            throw new ArgumentException($"Linear: input {ShapeString(x._shape)} does not fit weight {ShapeString(weight._shape)} (expected [N, {(weight.Rank == 2 ? weight._shape[1] : -1)}])");
        return LinearCore(x, weight, 0, bias);
    }

    /// <summary>
    /// Affine map over a window of W's input columns: x·W[:, start, start + in)ᵀ + bias for x [N, in] and W [out, ≥ start + in].
    /// The same values and gradients as <c>Linear(x, weight.Slice(1, start, in), bias)</c>, without copying the window
    /// forward or its gradient back (the products read and write W's rows in place): for a layer whose input is split,
    /// such as a concatenation computed in parts.
    /// </summary>
    public static Tensor LinearOverColumns(Tensor x, Tensor weight, int start, Tensor? bias)
    {
        if (x.Rank != 2 || weight.Rank != 2)
            throw new ArgumentException($"LinearOverColumns: input {ShapeString(x._shape)} and weight {ShapeString(weight._shape)} must be matrices");
        if (start < 0 || start + x._shape[1] > weight._shape[1])
            throw new ArgumentOutOfRangeException(nameof(start), $"LinearOverColumns: columns [{start}, {start + x._shape[1]}) of input {ShapeString(x._shape)} are outside weight {ShapeString(weight._shape)}");
        return LinearCore(x, weight, start, bias);
    }

    private static Tensor LinearCore(Tensor x, Tensor weight, int start, Tensor? bias)
    {
        int n = x._shape[0], din = x._shape[1], dout = weight._shape[0], ldw = weight._shape[1];
        if (bias is not null && (bias.Rank != 1 || bias._shape[0] != dout))
            throw new ArgumentException($"Linear: bias {ShapeString(bias._shape)} does not fit weight {ShapeString(weight._shape)}");
        var output = NewOutputOverwritten(n, dout); // bias rows or the product (accumulate: false) write every element
        var o = output.Data;
        if (bias is not null)
            for (int r = 0; r < n; r++) bias.Values.CopyTo(o.Slice(r * dout, dout));
        Gemm.Multiply(false, true, n, dout, din, x.Values, din, weight.Values[start..], ldw, o, dout, accumulate: bias is not null);
        var node = bias is null ? RecordOp(output, LinearBackward, x, weight) : RecordOp(output, LinearBackward, [x, weight, bias]);
        if (node is not null)
        {
            node.I0 = n; node.I1 = din; node.I2 = dout; node.I3 = start;
        }
        return output;
    }

    private static void LinearBackward(GradNode node, Tensor g)
    {
        Tensor x = node[0], weight = node[1];
        var bias = node.Count > 2 ? node[2] : null;
        int n = node.I0, din = node.I1, dout = node.I2, start = node.I3, ldw = weight._shape[1];
        var gv = g.Values;
        if (x.RequiresGrad) Gemm.Multiply(false, false, n, din, dout, gv, dout, weight.Values[start..], ldw, GradBuffer(x), din, accumulate: true);
        if (weight.RequiresGrad) Gemm.Multiply(true, false, dout, din, n, gv, dout, x.Values, din, GradBuffer(weight)[start..], ldw, accumulate: true);
        if (bias is not null && bias.RequiresGrad)
        {
            var db = GradBuffer(bias);
            for (int r = 0; r < n; r++) TensorPrimitives.Add(db, gv.Slice(r * dout, dout), db);
        }
    }
}
