using MiBounds.Tensors;

namespace MiBounds.Toy.Tasks;

/// <summary>
/// x, ε ~ N(0, I_d), y = ρx + √(1−ρ²)ε, so I(X; Y) = −(d/2)·log(1−ρ²). With <see cref="Cubic"/> set, y ↦ y³ elementwise
/// (an invertible map, so the MI is unchanged).
/// </summary>
public sealed class CorrelatedGaussian : IMiTask
{
    /// <summary>Dimension d.</summary>
    public int Dim { get; }

    /// <summary>Per-coordinate correlation ρ.</summary>
    public double Rho { get; }

    /// <summary>Whether y is cubed.</summary>
    public bool Cubic { get; }

    /// <summary>Creates the task from ρ in (−1, 1).</summary>
    public CorrelatedGaussian(int dim, double rho, bool cubic = false)
    {
        if (dim <= 0) throw new ArgumentOutOfRangeException(nameof(dim), dim, "must be positive");
        if (!(Math.Abs(rho) < 1)) throw new ArgumentOutOfRangeException(nameof(rho), rho, "must lie in (−1, 1)");
        Dim = dim; Rho = rho; Cubic = cubic;
    }

    /// <summary>The task whose true MI is <paramref name="mi"/> nats.</summary>
    public static CorrelatedGaussian FromMi(int dim, double mi, bool cubic = false) => new(dim, MiToRho(dim, mi), cubic);

    /// <summary>ρ = √(1 − e^(−2I/d)).</summary>
    public static double MiToRho(int dim, double mi)
    {
        if (!(mi >= 0) || double.IsInfinity(mi)) throw new ArgumentOutOfRangeException(nameof(mi), mi, "MI must be finite and ≥ 0");
        return Math.Sqrt(1 - Math.Exp(-2 * mi / dim));
    }

    /// <summary>I = −(d/2)·log(1 − ρ²).</summary>
    public static double RhoToMi(int dim, double rho) => -0.5 * dim * Math.Log(1 - rho * rho);

    /// <inheritdoc />
    public string Name => Cubic ? "cubic" : "gaussian";

    /// <inheritdoc />
    public string Description => $"{(Cubic ? "cubic-transformed " : "")}correlated Gaussian, d={Dim}, ρ={Rho:G4}";

    /// <inheritdoc />
    public int DimX => Dim;

    /// <inheritdoc />
    public int DimY => Dim;

    /// <inheritdoc />
    public double TrueMi => RhoToMi(Dim, Rho);

    /// <inheritdoc />
    public Batch Sample(int count, Rng rng)
    {
        if (count < 2) throw new ArgumentOutOfRangeException(nameof(count), count, "need at least 2 samples");
        var x = Tensor.Zeros(count, Dim);
        var y = Tensor.Zeros(count, Dim);
        float rho = (float)Rho, noise = (float)Math.Sqrt(1 - Rho * Rho);
        var xs = x.Data; var ys = y.Data;
        // Same draw order as the reference: x's row then ε's row per sample.
        for (int i = 0; i < count; i++)
        {
            for (int d = 0; d < Dim; d++) xs[i * Dim + d] = rng.NextNormal();
            for (int d = 0; d < Dim; d++)
            {
                float v = rho * xs[i * Dim + d] + noise * rng.NextNormal();
                ys[i * Dim + d] = Cubic ? v * v * v : v;
            }
        }
        return new Batch(x, y);
    }
}
