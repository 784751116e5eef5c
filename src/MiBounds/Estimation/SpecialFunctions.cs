namespace MiBounds.Estimation;

/// <summary>Digamma and log-gamma in double precision, for the k-NN estimator and closed-form MI of synthetic tasks.</summary>
public static class SpecialFunctions
{
    /// <summary>The Euler–Mascheroni constant γ = −ψ(1).</summary>
    public const double EulerGamma = 0.57721566490153286061;

    /// <summary>ψ(x) = d/dx log Γ(x) for x &gt; 0 (recurrence up to x ≥ 10, then the asymptotic series; error about 1e-14).</summary>
    public static double Digamma(double x)
    {
        if (!(x > 0) || double.IsInfinity(x)) throw new ArgumentOutOfRangeException(nameof(x), x, "digamma is implemented for finite x > 0");
        double shift = 0;
        while (x < 10) { shift -= 1 / x; x += 1; }
        double inv = 1 / x, inv2 = inv * inv;
        // ln x − 1/(2x) − Σ B_{2n} / (2n x^{2n})
        double series = inv2 * (1.0 / 12 - inv2 * (1.0 / 120 - inv2 * (1.0 / 252 - inv2 * (1.0 / 240 - inv2 * (1.0 / 132)))));
        return shift + Math.Log(x) - 0.5 * inv - series;
    }

    private static readonly double[] Lanczos =
    [
        0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313,
        -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
    ];

    /// <summary>log Γ(x) for x &gt; 0 (Lanczos, g = 7; relative error about 1e-15).</summary>
    public static double LogGamma(double x)
    {
        if (!(x > 0) || double.IsInfinity(x)) throw new ArgumentOutOfRangeException(nameof(x), x, "log-gamma is implemented for finite x > 0");
        if (x < 0.5) return Math.Log(Math.PI / Math.Sin(Math.PI * x)) - LogGamma(1 - x); // reflection keeps accuracy near 0
        x -= 1;
        double a = Lanczos[0];
        double t = x + 7.5;
        for (int i = 1; i < Lanczos.Length; i++) a += Lanczos[i] / (x + i);
        return 0.5 * Math.Log(2 * Math.PI) + (x + 0.5) * Math.Log(t) - t + Math.Log(a);
    }
}
