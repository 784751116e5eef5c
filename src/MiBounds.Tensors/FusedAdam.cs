using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace MiBounds.Tensors;

/// <summary>The Adam update of one parameter as a single vectorized pass over weights, gradient and both moments.</summary>
internal static class FusedAdam
{
    /// <summary>
    /// m ← β₁m + (1−β₁)g; v ← β₂v + (1−β₂)g²; w ← w − stepSize·m / (√v·invSqrtBc2 + ε), elementwise, with the same
    /// operations in the same order as the scalar loop (so the same values).
    /// </summary>
    public static void Update(Span<float> w, ReadOnlySpan<float> g, Span<float> m, Span<float> v,
        float beta1, float beta2, float stepSize, float invSqrtBc2, float epsilon)
    {
        int n = w.Length;
        if (g.Length != n || m.Length != n || v.Length != n) throw new ArgumentException($"Adam: lengths differ (w {n}, g {g.Length}, m {m.Length}, v {v.Length})");
        float c1 = 1f - beta1, c2 = 1f - beta2;
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            ref float pw = ref MemoryMarshal.GetReference(w);
            ref float pg = ref MemoryMarshal.GetReference(g);
            ref float pm = ref MemoryMarshal.GetReference(m);
            ref float pv = ref MemoryMarshal.GetReference(v);
            var b1 = Vector512.Create(beta1); var b2 = Vector512.Create(beta2);
            var vc1 = Vector512.Create(c1); var vc2 = Vector512.Create(c2);
            var step = Vector512.Create(stepSize); var scale = Vector512.Create(invSqrtBc2); var eps = Vector512.Create(epsilon);
            for (; i <= n - 16; i += 16)
            {
                var gi = Vector512.LoadUnsafe(ref pg, (nuint)i);
                var mi = b1 * Vector512.LoadUnsafe(ref pm, (nuint)i) + vc1 * gi;
                var vi = b2 * Vector512.LoadUnsafe(ref pv, (nuint)i) + vc2 * gi * gi;
                mi.StoreUnsafe(ref pm, (nuint)i);
                vi.StoreUnsafe(ref pv, (nuint)i);
                var wi = Vector512.LoadUnsafe(ref pw, (nuint)i) - step * mi / (Vector512.Sqrt(vi) * scale + eps);
                wi.StoreUnsafe(ref pw, (nuint)i);
            }
        }
        for (; i < n; i++)
        {
            float gi = g[i];
            float mi = m[i] = beta1 * m[i] + c1 * gi;
            float vi = v[i] = beta2 * v[i] + c2 * gi * gi;
            w[i] -= stepSize * mi / (MathF.Sqrt(vi) * invSqrtBc2 + epsilon);
        }
    }
}
