using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace MiBounds.Tensors;

/// <summary>
/// Vectorized pieces of the max-shifted exponential sums behind log-sum-exp and its relatives: exp in float (every
/// shifted term is ≤ 1, so float keeps ~1e-7 relative accuracy per term, below a float result's own rounding), sums
/// accumulated in double.
/// </summary>
internal static class ExpMath
{
    /// <summary>Σ v in double: each float widened before adding (no float partial sums).</summary>
    public static double SumWide(ReadOnlySpan<float> v)
    {
        int i = 0;
        double total = 0;
        if (Vector256.IsHardwareAccelerated && v.Length >= 16)
        {
            ref float r = ref MemoryMarshal.GetReference(v);
            Vector256<double> a0 = Vector256<double>.Zero, a1 = Vector256<double>.Zero;
            for (; i <= v.Length - 8; i += 8)
            {
                var (lo, hi) = Vector256.Widen(Vector256.LoadUnsafe(ref r, (nuint)i));
                a0 += lo;
                a1 += hi;
            }
            total = Vector256.Sum(a0 + a1);
        }
        for (; i < v.Length; i++) total += v[i];
        return total;
    }

    /// <summary>dst = exp(x − shift) (float, vectorized); returns Σ dst in double.</summary>
    public static double ExpShifted(ReadOnlySpan<float> x, float shift, Span<float> dst)
    {
        TensorPrimitives.Subtract(x, shift, dst);
        TensorPrimitives.Exp(dst, dst);
        return SumWide(dst);
    }
}
