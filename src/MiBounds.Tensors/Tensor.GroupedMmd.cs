using System.Buffers;
using System.Numerics.Tensors;
using System.Runtime.Intrinsics;

namespace MiBounds.Tensors;

public sealed partial class Tensor
{
    /// <summary>
    /// The Gaussian-kernel MMD between row groups and their union, as one op: for <paramref name="x"/> [M, d] whose row a
    /// belongs to group a mod <paramref name="groups"/>, Σ_k MMD²(X_k, X) with the biased (V-statistic) estimator and
    /// k(a, b) = exp(−‖x_a − x_b‖² / τ). From the Gram matrix G of all M rows this is C·(mean of G over same-group pairs
    /// − mean of G), C = <paramref name="groups"/>. τ = <paramref name="twoSigmaSquared"/> (2σ²) when given; when null,
    /// the median heuristic: the median of the M(M − 1) squared distances between distinct rows (the element a sort would
    /// put at index M(M − 1)/2), at least 1e-12, held constant (no gradient flows through it).
    /// </summary>
    /// <remarks>
    /// One product X·Xᵀ forward and one product backward: the gradient is −4·E·X for the symmetric matrix E of
    /// d(value)/d‖x_a − x_b‖² (diagonal: minus its row sums), kept from the forward pass. The median is found by a radix
    /// select over the upper triangle. Squared distances are (‖x_a‖² + ‖x_b‖²) − 2·x_a·x_b clamped at 0, and exactly 0 on
    /// the diagonal. Each row's work and sums are its own and the sums are added in row order, so values do not depend on
    /// the thread count.
    /// </remarks>
    public static (Tensor Value, double TwoSigmaSquared) GroupedGaussianMmd(Tensor x, int groups, double? twoSigmaSquared = null)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.Rank != 2 || groups < 1 || x._shape[0] % groups != 0 || x._shape[0] < 2)
            throw new ArgumentException($"GroupedGaussianMmd: x {ShapeString(x._shape)} must be [M, d] with M ≥ 2 a multiple of the {groups} groups");
        if (twoSigmaSquared is { } t && !(t > 0 && double.IsFinite(t)))
            throw new ArgumentOutOfRangeException(nameof(twoSigmaSquared), t, "GroupedGaussianMmd: the bandwidth 2σ² must be positive and finite");
        int m = x._shape[0], d = x._shape[1];
        // The M×M matrix is one array.
        if ((long)m * m > Array.MaxLength) throw new ArgumentException($"GroupedGaussianMmd: {m} rows need a {m}×{m} matrix, more than one array holds");
        bool needGrad = GradEnabled && x.RequiresGrad;
        // Holds X·Xᵀ, then the squared distances, then (with a gradient) E; a pooled output when recorded.
        var e = NewOutputOverwritten(m, m);
        var xs = x.Values;
        var rows = MmdRows.Rent(e._data, m, groups, needGrad);
        try
        {
            Gemm.Multiply(false, true, m, m, d, xs, d, xs, d, e._data, m, accumulate: false);
            for (int a = 0; a < m; a++) rows.Norms[a] = TensorPrimitives.SumOfSquares(xs.Slice(a * d, d));
            rows.RunPass(distances: true);
            double tau = twoSigmaSquared ?? Math.Max(UpperTriangleMedian(e._data, m), 1e-12);
            rows.Tau = tau;
            rows.RunPass(distances: false);
            double sameTotal = 0, allTotal = 0, mm = (double)m * m;
            for (int a = 0; a < m; a++) { sameTotal += rows.SameSums[a]; allTotal += rows.AllSums[a]; } // row order: any thread count
            var output = NewScalar((float)(groups * (sameTotal * groups / mm - allTotal / mm)));
            if (needGrad) RecordOp(output, static (node, up) => GroupedGaussianMmdBackward(node[0], node[1], up._data[0]), x, e);
            return (output, tau);
        }
        finally { rows.Return(); }
    }

    /// <summary>The row passes of <see cref="GroupedGaussianMmd"/>, split over the threads in fixed row ranges (each row's work and sums are its own).</summary>
    private sealed class MmdRows : IPartWork
    {
        private const int Parts = 4;
        private static readonly Stack<MmdRows> Pool = new();
        private float[] _e = [];
        private int _m, _groups;
        private bool _grad, _distances;
        public float[] Norms = [];
        public double[] SameSums = [], AllSums = [];
        public double Tau;

        public static MmdRows Rent(float[] e, int m, int groups, bool grad)
        {
            MmdRows? r;
            lock (Pool) r = Pool.Count > 0 ? Pool.Pop() : null;
            r ??= new MmdRows();
            r._e = e; r._m = m; r._groups = groups; r._grad = grad;
            r.Norms = ArrayPool<float>.Shared.Rent(m);
            r.SameSums = ArrayPool<double>.Shared.Rent(m);
            r.AllSums = ArrayPool<double>.Shared.Rent(m);
            return r;
        }

        public void Return()
        {
            ArrayPool<float>.Shared.Return(Norms);
            ArrayPool<double>.Shared.Return(SameSums);
            ArrayPool<double>.Shared.Return(AllSums);
            Norms = []; SameSums = []; AllSums = []; _e = [];
            lock (Pool) Pool.Push(this);
        }

        public void RunPass(bool distances)
        {
            _distances = distances;
            // The passes stream the M×M matrix once each: worth a second thread only when it is large.
            if ((long)_m * _m < 1 << 16) for (int p = 0; p < Parts; p++) RunPart(p);
            else PartRunner.Run(this, Parts, Engine.MaxThreads);
        }

        public void RunPart(int part)
        {
            int m = _m, first = (int)((long)part * m / Parts), last = (int)((long)(part + 1) * m / Parts);
            float[] buffer = ArrayPool<float>.Shared.Rent(m);
            try
            {
                var scratch = buffer.AsSpan(0, m);
                if (_distances) { for (int a = first; a < last; a++) DistanceRow(a, scratch); }
                else for (int a = first; a < last; a++) KernelRow(a, scratch);
            }
            finally { ArrayPool<float>.Shared.Return(buffer); }
        }

        // (n_a + n_b) − 2·P_ab: both operands are symmetric in (a, b), so the matrix is exactly symmetric; 0 on the diagonal.
        private void DistanceRow(int a, Span<float> sum)
        {
            var row = _e.AsSpan(a * _m, _m);
            TensorPrimitives.Add(Norms.AsSpan(0, _m), Norms[a], sum);
            TensorPrimitives.MultiplyAdd(row, -2f, sum, row);
            TensorPrimitives.Max(row, 0f, row);
            row[a] = 0;
        }

        // G_ab = exp(−D_ab/τ) and its sums; with a gradient, E_ab = (C − C²·[same]) / M² · G_ab / τ where D_ab > 0 (else
        // 0), and E_aa = −Σ_{b≠a} E_ab.
        private void KernelRow(int a, Span<float> kernel)
        {
            int m = _m, c = _groups;
            var row = _e.AsSpan(a * m, m);
            TensorPrimitives.Multiply(row, (float)(-1 / Tau), kernel);
            TensorPrimitives.Exp(kernel, kernel);
            AllSums[a] = ExpMath.SumWide(kernel);
            double same = 0;
            for (int b = a % c; b < m; b += c) same += kernel[b];
            SameSums[a] = same;
            if (!_grad) return;
            double mm = (double)m * m;
            PositiveTimes(row, kernel, (float)(c / (mm * Tau)), row);
            float sameWeight = (float)((c - (double)c * c) / (mm * Tau));
            // A nonzero entry had D > 0 and G > 0; a zero stays zero under either weight.
            for (int b = a % c; b < m; b += c) if (row[b] != 0) row[b] = kernel[b] * sameWeight;
            row[a] = -(float)SumDouble(row);
        }
    }

    /// <summary>dst = (d &gt; 0) ? k · scale : 0, elementwise (d may alias dst).</summary>
    private static void PositiveTimes(ReadOnlySpan<float> d, ReadOnlySpan<float> k, float scale, Span<float> dst)
    {
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var s = Vector512.Create(scale);
            for (; i + 16 <= d.Length; i += 16)
            {
                var dv = Vector512.Create(d.Slice(i, 16));
                var r = Vector512.ConditionalSelect(Vector512.GreaterThan(dv, Vector512<float>.Zero), Vector512.Create(k.Slice(i, 16)) * s, Vector512<float>.Zero);
                r.CopyTo(dst.Slice(i, 16));
            }
        }
        for (; i < d.Length; i++) dst[i] = d[i] > 0 ? k[i] * scale : 0;
    }

    private static void GroupedGaussianMmdBackward(Tensor x, Tensor e, float upstream)
    {
        int m = x._shape[0], d = x._shape[1];
        float[] scaled = ArrayPool<float>.Shared.Rent(m * d);
        try
        {
            var xs = scaled.AsSpan(0, m * d);
            TensorPrimitives.Multiply(x.Values, -4f * upstream, xs);
            Gemm.Multiply(false, false, m, d, m, e._data, m, xs, d, GradBuffer(x), d, accumulate: true);
        }
        finally { ArrayPool<float>.Shared.Return(scaled); }
    }

    /// <summary>
    /// The median of the strictly-upper-triangle entries of a symmetric M×M matrix of non-negative values, as the element a
    /// sort of all M(M − 1) off-diagonal entries would put at index M(M − 1)/2 (each value appears twice there, so that is
    /// the upper triangle's element ⌊H/2⌋ for its H = M(M − 1)/2 entries).
    /// </summary>
    internal static float UpperTriangleMedian(float[] matrix, int m)
    {
        int h = m * (m - 1) / 2;
        uint[] bits = ArrayPool<uint>.Shared.Rent(h);
        try
        {
            int n = 0;
            for (int a = 0; a < m - 1; a++)
            {
                var src = System.Runtime.InteropServices.MemoryMarshal.Cast<float, uint>(matrix.AsSpan(a * m + a + 1, m - a - 1));
                // Masking the sign bit maps −0 to 0; the other non-negative floats order as their bit patterns.
                TensorPrimitives.BitwiseAnd(src, 0x7FFF_FFFFu, bits.AsSpan(n, src.Length));
                n += src.Length;
            }
            return BitConverter.UInt32BitsToSingle(RadixSelect(bits.AsSpan(0, h), h / 2));
        }
        finally { ArrayPool<uint>.Shared.Return(bits); }
    }

    /// <summary>The k-th smallest (0-based) of <paramref name="values"/> as unsigned integers: two 16-bit digit passes.</summary>
    internal static uint RadixSelect(ReadOnlySpan<uint> values, int k)
    {
        if ((uint)k >= (uint)values.Length) throw new ArgumentOutOfRangeException(nameof(k), k, $"k must be in [0, {values.Length})");
        int[] counts = ArrayPool<int>.Shared.Rent(1 << 16);
        try
        {
            var c = counts.AsSpan(0, 1 << 16);
            c.Clear();
            foreach (uint v in values) c[(int)(v >> 16)]++;
            uint high = 0;
            for (int rank = k; ; high++)
            {
                if (rank < c[(int)high]) { k = rank; break; }
                rank -= c[(int)high];
            }
            c.Clear();
            foreach (uint v in values) if (v >> 16 == high) c[(int)(v & 0xFFFF)]++;
            uint low = 0;
            for (int rank = k; ; low++)
            {
                if (rank < c[(int)low]) break;
                rank -= c[(int)low];
            }
            return high << 16 | low;
        }
        finally { ArrayPool<int>.Shared.Return(counts); }
    }
}
