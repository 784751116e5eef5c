namespace MiBounds.Tensors;

/// <summary>NumPy-style broadcasting of two shapes (rank ≤ 4), with the strides to walk each input.</summary>
internal static class Broadcast
{
    /// <summary>The broadcast shape of <paramref name="a"/> and <paramref name="b"/> (a cached array: never write to it).</summary>
    public static int[] Shape(int[] a, int[] b, string op)
    {
        int rank = Math.Max(a.Length, b.Length);
        if (rank > Tensor.MaxRank) throw new ArgumentException($"{op}: rank {rank} exceeds the supported {Tensor.MaxRank}");
        Span<int> result = stackalloc int[rank];
        for (int i = 0; i < rank; i++)
        {
            int da = i - (rank - a.Length) >= 0 ? a[i - (rank - a.Length)] : 1;
            int db = i - (rank - b.Length) >= 0 ? b[i - (rank - b.Length)] : 1;
            if (da != db && da != 1 && db != 1)
                throw new ArgumentException($"{op}: shapes {Tensor.ShapeString(a)} and {Tensor.ShapeString(b)} cannot be broadcast together");
            result[i] = Math.Max(da, db);
        }
        return Tensor.InternShape(result);
    }

    /// <summary>Fills the output shape padded to rank 4 and the input's strides over it (0 along broadcast axes).</summary>
    public static void Strides(int[] input, int[] output, Span<int> outDims, Span<int> strides)
    {
        int pad = 4 - output.Length;
        for (int i = 0; i < 4; i++) outDims[i] = i < pad ? 1 : output[i - pad];
        int inPad = 4 - input.Length;
        int stride = 1;
        for (int i = 3; i >= 0; i--)
        {
            int d = i < inPad ? 1 : input[i - inPad];
            strides[i] = d == 1 ? 0 : stride;
            stride *= d;
        }
    }

    /// <summary>Expands <paramref name="src"/> of shape <paramref name="input"/> to <paramref name="output"/>.</summary>
    public static void Expand(ReadOnlySpan<float> src, int[] input, int[] output, Span<float> dst)
    {
        Span<int> d = stackalloc int[4], s = stackalloc int[4];
        Strides(input, output, d, s);
        int o = 0;
        for (int i0 = 0; i0 < d[0]; i0++)
            for (int i1 = 0; i1 < d[1]; i1++)
                for (int i2 = 0; i2 < d[2]; i2++)
                {
                    int baseIdx = i0 * s[0] + i1 * s[1] + i2 * s[2];
                    if (s[3] == 0) { dst.Slice(o, d[3]).Fill(src[baseIdx]); o += d[3]; }
                    else { src.Slice(baseIdx, d[3]).CopyTo(dst.Slice(o, d[3])); o += d[3]; }
                }
    }

    /// <summary>Sums <paramref name="g"/> of shape <paramref name="output"/> down to <paramref name="input"/> and adds into <paramref name="dst"/>.</summary>
    public static void SumInto(ReadOnlySpan<float> g, int[] output, int[] input, Span<float> dst)
    {
        Span<int> d = stackalloc int[4], s = stackalloc int[4];
        Strides(input, output, d, s);
        int o = 0;
        for (int i0 = 0; i0 < d[0]; i0++)
            for (int i1 = 0; i1 < d[1]; i1++)
                for (int i2 = 0; i2 < d[2]; i2++)
                {
                    int baseIdx = i0 * s[0] + i1 * s[1] + i2 * s[2];
                    var row = g.Slice(o, d[3]);
                    if (s[3] == 0) dst[baseIdx] += System.Numerics.Tensors.TensorPrimitives.Sum(row);
                    else System.Numerics.Tensors.TensorPrimitives.Add(dst.Slice(baseIdx, d[3]), row, dst.Slice(baseIdx, d[3]));
                    o += d[3];
                }
    }
}
