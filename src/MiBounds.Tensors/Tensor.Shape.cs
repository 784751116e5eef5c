namespace MiBounds.Tensors;

public sealed partial class Tensor
{
    /// <summary>Same values, new shape (one dimension may be −1 to infer it). Shares storage.</summary>
    public Tensor Reshape(params int[] shape) => Reshape((ReadOnlySpan<int>)shape);

    /// <summary>Same values, new shape (one dimension may be −1 to infer it). Shares storage.</summary>
    public Tensor Reshape(params ReadOnlySpan<int> shape)
    {
        if (shape.Length > MaxRank) throw new ArgumentException($"rank {shape.Length} exceeds the supported {MaxRank} (shape {ShapeString(shape)})");
        Span<int> s = stackalloc int[shape.Length];
        shape.CopyTo(s);
        int infer = s.IndexOf(-1);
        if (infer >= 0)
        {
            int known = 1;
            for (int i = 0; i < s.Length; i++) if (i != infer) known *= s[i];
            if (known == 0 || Size % known != 0) throw new ArgumentException($"Reshape: cannot infer a dimension of {ShapeString(shape)} from shape {ShapeString(_shape)}");
            s[infer] = Size / known;
        }
        if (ShapeSize(s) != Size) throw new ArgumentException($"Reshape: shape {ShapeString(_shape)} ({Size} values) cannot become {ShapeString(shape)}");
        var output = Header(_data, InternShape(s));
        RecordOp(output, IdentityBackward, this);
        return output;
    }

    /// <summary>Swaps two axes (copying).</summary>
    public Tensor Transpose(int axis0 = 0, int axis1 = 1)
    {
        axis0 = NormalizeAxis(axis0); axis1 = NormalizeAxis(axis1);
        Span<int> perm = stackalloc int[Rank];
        for (int i = 0; i < Rank; i++) perm[i] = i;
        (perm[axis0], perm[axis1]) = (perm[axis1], perm[axis0]);
        return Permute((ReadOnlySpan<int>)perm);
    }

    /// <summary>Reorders the axes: output axis i is input axis <paramref name="perm"/>[i] (copying).</summary>
    public Tensor Permute(params int[] perm) => Permute((ReadOnlySpan<int>)perm);

    /// <summary>Reorders the axes: output axis i is input axis <paramref name="perm"/>[i] (copying).</summary>
    public Tensor Permute(params ReadOnlySpan<int> perm)
    {
        if (perm.Length != Rank) throw new ArgumentException($"Permute: {perm.Length} axes given for shape {ShapeString(_shape)}");
        int seen = 0, code = 0;
        Span<int> outShape = stackalloc int[Rank];
        for (int i = 0; i < Rank; i++)
        {
            int p = perm[i];
            if (p < 0 || p >= Rank || (seen & (1 << p)) != 0) throw new ArgumentException($"Permute: {ShapeString(perm)} is not a permutation of {Rank} axes");
            seen |= 1 << p;
            code |= p << (2 * i);
            outShape[i] = _shape[p];
        }
        var output = NewOutputOverwritten(outShape);
        PermuteCopy(_data, _shape, code, output._data, backward: false);
        if (RecordOp(output, static (node, g) => PermuteCopy(GradBuffer(node[0]), node[0]._shape, node.I0, g._data, backward: true), this) is { } n)
            n.I0 = code;
        return output;
    }

    /// <summary>
    /// Walks the output of a permutation (axes packed 2 bits each in <paramref name="code"/>) in order, reading the input
    /// through strides: forward copies input → output, backward adds output → input. No index map, so nothing is allocated.
    /// </summary>
    private static void PermuteCopy(Span<float> input, int[] shape, int code, Span<float> output, bool backward)
    {
        int rank = shape.Length;
        Span<int> inStride = stackalloc int[MaxRank];
        int st = 1;
        for (int i = rank - 1; i >= 0; i--) { inStride[i] = st; st *= shape[i]; }
        // Pad to 4 axes at the front (size 1, stride 0).
        Span<int> n = stackalloc int[MaxRank], s = stackalloc int[MaxRank];
        for (int i = 0; i < MaxRank; i++)
        {
            int src = i - (MaxRank - rank);
            if (src < 0) { n[i] = 1; s[i] = 0; continue; }
            int axis = (code >> (2 * src)) & 3;
            n[i] = shape[axis]; s[i] = inStride[axis];
        }
        int o = 0, n3 = n[3], s3 = s[3];
        for (int a = 0; a < n[0]; a++)
            for (int b = 0; b < n[1]; b++)
                for (int c = 0; c < n[2]; c++)
                {
                    int off = a * s[0] + b * s[1] + c * s[2];
                    if (backward)
                    {
                        if (s3 == 1) { var d = input.Slice(off, n3); System.Numerics.Tensors.TensorPrimitives.Add(d, output.Slice(o, n3), d); }
                        else for (int e = 0; e < n3; e++) input[off + e * s3] += output[o + e];
                    }
                    else if (s3 == 1) input.Slice(off, n3).CopyTo(output.Slice(o, n3));
                    else for (int e = 0; e < n3; e++) output[o + e] = input[off + e * s3];
                    o += n3;
                }
    }

    /// <summary>Concatenates tensors of equal shape except along <paramref name="axis"/>.</summary>
    public static Tensor Concat(int axis, params Tensor[] parts)
    {
        if (parts.Length == 0) throw new ArgumentException("Concat: no tensors given");
        var first = parts[0];
        axis = first.NormalizeAxis(axis);
        int total = 0;
        foreach (var p in parts)
        {
            if (p.Rank != first.Rank) throw new ArgumentException($"Concat: shapes {ShapeString(first._shape)} and {ShapeString(p._shape)} differ in rank");
            for (int i = 0; i < first.Rank; i++)
                if (i != axis && p._shape[i] != first._shape[i])
                    throw new ArgumentException($"Concat along axis {axis}: shapes {ShapeString(first._shape)} and {ShapeString(p._shape)} differ off that axis");
            total += p._shape[axis];
        }
        var shape = first.Shape; shape[axis] = total;
        var output = NewOutput(shape);
        var (outer, _, inner) = output.AxisView(axis);
        int offset = 0;
        foreach (var p in parts)
        {
            int n = p._shape[axis];
            for (int o = 0; o < outer; o++)
                p.Values.Slice(o * n * inner, n * inner).CopyTo(output.Data.Slice((o * total + offset) * inner, n * inner));
            offset += n;
        }
        bool any = false;
        foreach (var p in parts) any |= p.RequiresGrad;
        if (!GradEnabled || !any) return output;
        return Record(output, g =>
        {
            int off = 0;
            foreach (var p in parts)
            {
                int n = p._shape[axis];
                if (p.RequiresGrad)
                {
                    var d = GradBuffer(p);
                    for (int o = 0; o < outer; o++)
                    {
                        var dr = d.Slice(o * n * inner, n * inner);
                        System.Numerics.Tensors.TensorPrimitives.Add(dr, g.Values.Slice((o * total + off) * inner, n * inner), dr);
                    }
                }
                off += n;
            }
        }, parts);
    }

    /// <summary>The part [start, start+length) along <paramref name="axis"/> (copying).</summary>
    public Tensor Slice(int axis, int start, int length)
    {
        axis = NormalizeAxis(axis);
        if (start < 0 || length < 0 || start + length > _shape[axis])
            throw new ArgumentOutOfRangeException(nameof(start), $"Slice [{start}, {start + length}) is outside axis {axis} of shape {ShapeString(_shape)}");
        var (outer, n, inner) = AxisView(axis);
        Span<int> shape = stackalloc int[Rank];
        _shape.CopyTo(shape);
        shape[axis] = length;
        var output = NewOutputOverwritten(shape);
        for (int o = 0; o < outer; o++)
            Values.Slice((o * n + start) * inner, length * inner).CopyTo(output.Data.Slice(o * length * inner, length * inner));
        if (RecordOp(output, SliceBackward, this) is { } node)
        {
            node.I0 = outer; node.I1 = n; node.I2 = start; node.I3 = inner;
        }
        return output;
    }

    private static void SliceBackward(GradNode node, Tensor g)
    {
        if (g.Size == 0) return; // an empty slice (or a zero-size axis) passes back nothing, and length below would divide by 0
        int outer = node.I0, n = node.I1, start = node.I2, inner = node.I3, length = g.Size / (outer * inner);
        var d = GradBuffer(node[0]);
        for (int o = 0; o < outer; o++)
        {
            var dr = d.Slice((o * n + start) * inner, length * inner);
            System.Numerics.Tensors.TensorPrimitives.Add(dr, g.Values.Slice(o * length * inner, length * inner), dr);
        }
    }

    /// <summary>Rows <paramref name="index"/> of a tensor along axis 0 (repeats allowed).</summary>
    public Tensor GatherRows(int[] index)
    {
        if (Rank == 0) throw new ArgumentException("GatherRows needs rank ≥ 1");
        int n = _shape[0], inner = Size / Math.Max(n, 1);
        foreach (int i in index) if (i < 0 || i >= n) throw new ArgumentOutOfRangeException(nameof(index), $"row index {i} is outside [0, {n}) for shape {ShapeString(_shape)}");
        Span<int> shape = stackalloc int[Rank]; // the step's batch: an interned shape, no array per call
        _shape.CopyTo(shape);
        shape[0] = index.Length;
        var output = NewOutputOverwritten((ReadOnlySpan<int>)shape);
        for (int r = 0; r < index.Length; r++) Values.Slice(index[r] * inner, inner).CopyTo(output.Data.Slice(r * inner, inner));
        if (RecordOp(output, static (node, g) =>
            {
                var index = (int[])node.O0!;
                int inner = node.I0;
                var d = GradBuffer(node[0]);
                for (int r = 0; r < index.Length; r++)
                {
                    var dr = d.Slice(index[r] * inner, inner);
                    System.Numerics.Tensors.TensorPrimitives.Add(dr, g.Values.Slice(r * inner, inner), dr);
                }
            }, this) is { } node)
        {
            node.O0 = index; node.I0 = inner;
        }
        return output;
    }

    /// <summary>For a [N, C] tensor, the values x[i, index[i]] as a [N] tensor (e.g. the score of each label).</summary>
    public Tensor PickPerRow(int[] index)
    {
        CheckRank(2);
        int rows = _shape[0], cols = _shape[1];
        if (index.Length != rows) throw new ArgumentException($"PickPerRow: {index.Length} indices for {rows} rows (shape {ShapeString(_shape)})");
        var output = NewOutput(rows);
        for (int r = 0; r < rows; r++)
        {
            if (index[r] < 0 || index[r] >= cols) throw new ArgumentOutOfRangeException(nameof(index), $"index {index[r]} in row {r} is outside [0, {cols})");
            output._data[r] = _data[r * cols + index[r]];
        }
        if (RecordOp(output, static (node, g) =>
            {
                var a = node[0];
                var index = (int[])node.O0!;
                int rows = a._shape[0], cols = a._shape[1];
                var d = GradBuffer(a);
                for (int r = 0; r < rows; r++) d[r * cols + index[r]] += g._data[r];
            }, this) is { } node)
            node.O0 = index;
        return output;
    }

    /// <summary>One-hot rows: a [N, classes] tensor with 1 at (i, labels[i]).</summary>
    public static Tensor OneHot(int[] labels, int classes)
    {
        var t = Zeros(labels.Length, classes);
        for (int i = 0; i < labels.Length; i++)
        {
            if (labels[i] < 0 || labels[i] >= classes) throw new ArgumentOutOfRangeException(nameof(labels), $"label {labels[i]} at {i} is outside [0, {classes})");
            t._data[i * classes + labels[i]] = 1f;
        }
        return t;
    }
}
