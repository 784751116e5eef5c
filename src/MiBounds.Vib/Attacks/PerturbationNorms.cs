namespace MiBounds.Vib.Attacks;

/// <summary>The size of one perturbation δ = adversarial − clean in four norms, in [0, 1] pixel units.</summary>
/// <param name="L0">Number of pixels that moved by more than the tolerance.</param>
/// <param name="L1">Σ |δ|.</param>
/// <param name="L2">√Σ δ².</param>
/// <param name="LInf">max |δ|.</param>
public sealed record PerturbationNorms(double L0, double L1, double L2, double LInf)
{
    /// <summary>
    /// The norms of <paramref name="adversarial"/> − <paramref name="clean"/>, multiplied by <paramref name="scale"/>
    /// (0.5 turns the library's [−1, 1] pixels into [0, 1] units). L0 counts entries with |scale·δ| &gt; <paramref name="tolerance"/>
    /// (default half a grey level, so the round trip through tanh does not count as a change).
    /// </summary>
    public static PerturbationNorms Of(ReadOnlySpan<float> clean, ReadOnlySpan<float> adversarial, double scale = 0.5, double tolerance = 0.5 / 255)
    {
        if (clean.Length != adversarial.Length) throw new ArgumentException($"perturbation norms: {clean.Length} and {adversarial.Length} pixels");
        double l0 = 0, l1 = 0, l2 = 0, linf = 0;
        for (int i = 0; i < clean.Length; i++)
        {
            double d = Math.Abs((adversarial[i] - (double)clean[i]) * scale);
            if (d > tolerance) l0++;
            l1 += d; l2 += d * d; linf = Math.Max(linf, d);
        }
        return new PerturbationNorms(l0, l1, Math.Sqrt(l2), linf);
    }

    /// <summary>The element-wise mean of several perturbations' norms (NaN norms for none).</summary>
    public static PerturbationNorms Mean(IReadOnlyCollection<PerturbationNorms> norms) => norms.Count == 0
        ? new PerturbationNorms(double.NaN, double.NaN, double.NaN, double.NaN)
        : new PerturbationNorms(norms.Average(n => n.L0), norms.Average(n => n.L1), norms.Average(n => n.L2), norms.Average(n => n.LInf));

    /// <summary>Each norm divided by <paramref name="reference"/>'s (the paper's "relative to the deterministic model").</summary>
    public PerturbationNorms RelativeTo(PerturbationNorms reference) =>
        new(L0 / reference.L0, L1 / reference.L1, L2 / reference.L2, LInf / reference.LInf);
}
