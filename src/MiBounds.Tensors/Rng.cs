using System.Numerics.Tensors;

namespace MiBounds.Tensors;

/// <summary>
/// A seedable pseudo-random generator (xoshiro256**) with uniform and normal draws.
/// Its whole state can be read and restored, so checkpointed runs continue exactly.
/// Not thread-safe: give each thread or run its own instance.
/// </summary>
public sealed class Rng
{
    private ulong _s0, _s1, _s2, _s3;
    private bool _hasSpare;
    private float _spare;

    /// <summary>Creates a generator whose stream is fully determined by <paramref name="seed"/>.</summary>
    public Rng(ulong seed)
    {
        // SplitMix64 expands the seed so nearby seeds give unrelated streams.
        ulong z = seed;
        _s0 = SplitMix(ref z); _s1 = SplitMix(ref z); _s2 = SplitMix(ref z); _s3 = SplitMix(ref z);
    }

    private static ulong SplitMix(ref ulong x)
    {
        ulong z = x += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Next 64 random bits.</summary>
    public ulong NextUInt64()
    {
        ulong result = ulong.RotateLeft(_s1 * 5, 7) * 9;
        ulong t = _s1 << 17;
        _s2 ^= _s0; _s3 ^= _s1; _s1 ^= _s2; _s0 ^= _s3;
        _s2 ^= t;
        _s3 = ulong.RotateLeft(_s3, 45);
        return result;
    }

    /// <summary>Uniform double in [0, 1).</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform float in [0, 1).</summary>
    public float NextFloat() => (NextUInt64() >> 40) * (1.0f / (1 << 24));

    /// <summary>Uniform integer in [0, <paramref name="maxExclusive"/>).</summary>
    public int NextInt(int maxExclusive)
    {
        if (maxExclusive <= 0) throw new ArgumentOutOfRangeException(nameof(maxExclusive), maxExclusive, "must be positive");
        return (int)((NextUInt64() >> 33) % (ulong)maxExclusive);
    }

    /// <summary>A standard normal draw (Box–Muller, the second value kept for the next call).</summary>
    public float NextNormal()
    {
        if (_hasSpare) { _hasSpare = false; return _spare; }
        double u1 = 1.0 - NextDouble(); // (0, 1], keeps log finite
        double u2 = NextDouble();
        double r = Math.Sqrt(-2.0 * Math.Log(u1));
        double th = 2.0 * Math.PI * u2;
        _spare = (float)(r * Math.Sin(th));
        _hasSpare = true;
        return (float)(r * Math.Cos(th));
    }

    /// <summary>
    /// Fills <paramref name="dst"/> with N(mean, std²) draws: the stream of <see cref="NextNormal"/> calls (spare
    /// included), with Box–Muller's logarithm, square root, sine and cosine vectorized over blocks of pairs.
    /// </summary>
    public void FillNormal(Span<float> dst, float mean = 0f, float std = 1f)
    {
        int i = 0;
        if (_hasSpare && dst.Length > 0) dst[i++] = mean + std * NextNormal();
        const int Block = 128;
        Span<double> radius = stackalloc double[Block], angle = stackalloc double[Block];
        Span<double> sine = stackalloc double[Block], cosine = stackalloc double[Block];
        while (dst.Length - i >= 2)
        {
            int pairs = Math.Min(Block, (dst.Length - i) / 2);
            var r = radius[..pairs]; var th = angle[..pairs]; var sn = sine[..pairs]; var cs = cosine[..pairs];
            for (int k = 0; k < pairs; k++)
            {
                r[k] = 1.0 - NextDouble(); // (0, 1], keeps log finite
                th[k] = NextDouble();
            }
            // The same operations as NextNormal, in the same order, a block at a time.
            TensorPrimitives.Log(r, r);
            TensorPrimitives.Multiply(r, -2.0, r);
            TensorPrimitives.Sqrt(r, r);
            TensorPrimitives.Multiply(th, 2.0 * Math.PI, th);
            TensorPrimitives.Sin(th, sn);
            TensorPrimitives.Cos(th, cs);
            for (int k = 0; k < pairs; k++, i += 2)
            {
                dst[i] = mean + std * (float)(r[k] * cs[k]);
                dst[i + 1] = mean + std * (float)(r[k] * sn[k]);
            }
        }
        if (i < dst.Length) dst[i] = mean + std * NextNormal(); // an odd last draw keeps its pair's sine as the spare
    }

    /// <summary>Fills <paramref name="dst"/> with uniform draws in [lo, hi).</summary>
    public void FillUniform(Span<float> dst, float lo = 0f, float hi = 1f)
    {
        float w = hi - lo;
        for (int i = 0; i < dst.Length; i++) dst[i] = lo + w * NextFloat();
    }

    /// <summary>Shuffles <paramref name="items"/> in place (Fisher–Yates).</summary>
    public void Shuffle<T>(Span<T> items)
    {
        for (int i = items.Length - 1; i > 0; i--)
        {
            int j = NextInt(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }

    /// <summary>The full generator state, for checkpoints.</summary>
    public ulong[] GetState() => [_s0, _s1, _s2, _s3, _hasSpare ? 1UL : 0UL, BitConverter.SingleToUInt32Bits(_spare)];

    /// <summary>Restores a state returned by <see cref="GetState"/>.</summary>
    public void SetState(ReadOnlySpan<ulong> state)
    {
        if (state.Length != 6) throw new ArgumentException($"an Rng state has 6 words, got {state.Length}", nameof(state));
        _s0 = state[0]; _s1 = state[1]; _s2 = state[2]; _s3 = state[3];
        _hasSpare = state[4] != 0; _spare = BitConverter.UInt32BitsToSingle((uint)state[5]);
    }
}
