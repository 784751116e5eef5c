using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
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

    // All-ones lanes where mask[i..i+8) is true: 8 mask bytes widened to 8 lanes (a lane is kept where its byte is non-zero).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Keep(ref byte mask, int i)
    {
        var bytes = Vector128.CreateScalarUnsafe(Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref mask, i))).AsByte();
        var (w16, _) = Vector128.Widen(bytes);
        var (lo, hi) = Vector128.Widen(w16);
        return ~Vector256.Equals(Vector256.Create(lo, hi), Vector256<uint>.Zero).AsSingle();
    }

    private static ref byte MaskBytes(bool[] mask) => ref Unsafe.As<bool, byte>(ref MemoryMarshal.GetArrayDataReference(mask));

    /// <summary>
    /// dst[i] = mask[i] ? x[i] − shift : fill. A masked-out value never reaches dst (lanes are selected bitwise), so an
    /// infinite or NaN entry there cannot leak into a masked sum.
    /// </summary>
    public static void MaskSelect(ReadOnlySpan<float> x, bool[] mask, float shift, float fill, Span<float> dst)
    {
        int n = x.Length, i = 0;
        if (mask.Length < n || dst.Length < n) throw new ArgumentException("internal: mask or destination shorter than the values");
        if (Vector256.IsHardwareAccelerated && n >= 8)
        {
            ref float rx = ref MemoryMarshal.GetReference(x);
            ref float rd = ref MemoryMarshal.GetReference(dst);
            ref byte rm = ref MaskBytes(mask);
            Vector256<float> vShift = Vector256.Create(shift), vFill = Vector256.Create(fill);
            for (; i <= n - 8; i += 8)
                Vector256.ConditionalSelect(Keep(ref rm, i), Vector256.LoadUnsafe(ref rx, (nuint)i) - vShift, vFill).StoreUnsafe(ref rd, (nuint)i);
        }
        for (; i < n; i++) dst[i] = mask[i] ? x[i] - shift : fill;
    }

    /// <summary>d[i] += value where mask[i].</summary>
    public static void MaskedAdd(Span<float> d, bool[] mask, float value)
    {
        int n = d.Length, i = 0;
        if (mask.Length < n) throw new ArgumentException("internal: mask shorter than the values");
        if (Vector256.IsHardwareAccelerated && n >= 8)
        {
            ref float rd = ref MemoryMarshal.GetReference(d);
            ref byte rm = ref MaskBytes(mask);
            var v = Vector256.Create(value);
            for (; i <= n - 8; i += 8)
                (Vector256.LoadUnsafe(ref rd, (nuint)i) + (Keep(ref rm, i) & v)).StoreUnsafe(ref rd, (nuint)i);
        }
        for (; i < n; i++) if (mask[i]) d[i] += value;
    }

    /// <summary>Number of true flags (a flag is true when its byte is non-zero, as C# reads a bool).</summary>
    public static int CountTrue(bool[] mask) => mask.Length - MemoryMarshal.AsBytes(mask.AsSpan()).Count((byte)0);

    /// <summary>t = log(1 + e^(−|t|)) in place: the bounded correction term of softplus and log-add-exp (in [0, log 2]).</summary>
    public static void LogOnePlusExpNegAbs(Span<float> t)
    {
        TensorPrimitives.Abs(t, t);
        TensorPrimitives.Negate(t, t);
        TensorPrimitives.Exp(t, t);
        LogOnePlus(t);
    }

    /// <summary>
    /// t = log(1 + t) in place for t ≥ 0, to a few float ulps even where 1 + t rounds (log(1 + t) in float is 0 for
    /// t &lt; 2⁻²⁴, so softplus(x) was 0 below x ≈ −16.6, and its relative error grows as t shrinks). Every element goes
    /// through the same vector arithmetic, the tail included, so a value never depends on its position or a span's split.
    /// </summary>
    public static void LogOnePlus(Span<float> t)
    {
        int i = 0;
        ref float r = ref MemoryMarshal.GetReference(t);
        for (; i <= t.Length - 8; i += 8) LogOnePlus(Vector256.LoadUnsafe(ref r, (nuint)i)).StoreUnsafe(ref r, (nuint)i);
        if (i == t.Length) return;
        Span<float> tail = stackalloc float[8];
        tail.Clear();
        t[i..].CopyTo(tail);
        LogOnePlus(Vector256.Create<float>(tail)).CopyTo(tail);
        tail[..(t.Length - i)].CopyTo(t[i..]);
    }

    /// <summary>log(1 + u) for one u ≥ 0, the same arithmetic as the span version.</summary>
    public static float LogOnePlus(float u) => LogOnePlus(Vector256.Create(u)).ToScalar();

    // Goldberg's log1p: with w = 1 + u rounded, log(w)·u/(w − 1) cancels the rounding of w; u itself where w rounds to 1.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> LogOnePlus(Vector256<float> u)
    {
        var w = u + Vector256<float>.One;
        var d = w - Vector256<float>.One;
        return Vector256.ConditionalSelect(Vector256.Equals(d, Vector256<float>.Zero), u, Vector256.Log(w) * (u / d));
    }

    /// <summary>dst = exp(x − shift) (float, vectorized); returns Σ dst in double.</summary>
    public static double ExpShifted(ReadOnlySpan<float> x, float shift, Span<float> dst)
    {
        TensorPrimitives.Subtract(x, shift, dst);
        TensorPrimitives.Exp(dst, dst);
        return SumWide(dst);
    }
}
