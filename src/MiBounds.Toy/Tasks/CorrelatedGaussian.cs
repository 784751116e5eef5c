using MiBounds.Tensors;

namespace MiBounds.Toy.Tasks;

/// <summary>
/// x, ε ~ N(0, I_d), y = ρx + √(1−ρ²)ε, so I(X; Y) = −(d/2)·log(1−ρ²). With <see cref="Cubic"/> set, y ↦ y³ elementwise
/// (an invertible map, so the MI is unchanged). Sampling is <see cref="Sampling.CorrelatedGaussian"/>'s.
/// </summary>
public sealed class CorrelatedGaussian : IMiTask
{
    // The core sampler draws; this task adds its name and the cubic map, so the two give the same numbers.
    private readonly Sampling.CorrelatedGaussian _sampler;

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
        _sampler = new Sampling.CorrelatedGaussian(dim, rho);
        Dim = dim; Rho = rho; Cubic = cubic;
    }

    /// <summary>The task whose true MI is <paramref name="mi"/> nats.</summary>
    public static CorrelatedGaussian FromMi(int dim, double mi, bool cubic = false) => new(dim, MiToRho(dim, mi), cubic);

    /// <summary>ρ = √(1 − e^(−2I/d)).</summary>
    public static double MiToRho(int dim, double mi) => Sampling.CorrelatedGaussian.MiToRho(dim, mi);

    /// <summary>I = −(d/2)·log(1 − ρ²).</summary>
    public static double RhoToMi(int dim, double rho) => Sampling.CorrelatedGaussian.RhoToMi(dim, rho);

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
        var (x, y) = _sampler.Draw(count, rng);
        if (Cubic)
            foreach (ref float v in y.Data) v = v * v * v;
        return new Batch(x, y);
    }
}
