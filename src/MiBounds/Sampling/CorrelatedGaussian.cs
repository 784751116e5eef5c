using System.Runtime.InteropServices;
using MiBounds.Tensors;

namespace MiBounds.Sampling;

/// <summary>
/// Paired samples with known mutual information: x, ε ~ N(0, I_d), y = ρx + √(1−ρ²)ε per coordinate, so
/// I(X; Y) = −(d/2)·log(1−ρ²) nats. The toy suite's Gaussian and cubic tasks draw through this class.
/// </summary>
public sealed class CorrelatedGaussian
{
    /// <summary>Dimension d of X and of Y.</summary>
    public int Dim { get; }

    /// <summary>Per-coordinate correlation ρ.</summary>
    public double Rho { get; }

    /// <summary>The true I(X; Y) in nats.</summary>
    public double TrueMi => RhoToMi(Dim, Rho);

    /// <summary>The sampler with correlation <paramref name="rho"/> in (−1, 1) on each of <paramref name="dim"/> coordinates.</summary>
    public CorrelatedGaussian(int dim, double rho)
    {
        if (dim <= 0) throw new ArgumentOutOfRangeException(nameof(dim), dim, "must be positive");
        if (!(Math.Abs(rho) < 1)) throw new ArgumentOutOfRangeException(nameof(rho), rho, "must lie in (−1, 1)");
        Dim = dim; Rho = rho;
    }

    /// <summary>The sampler whose true MI is <paramref name="nats"/>.</summary>
    public static CorrelatedGaussian FromMi(int dim, double nats) => new(dim, MiToRho(dim, nats));

    /// <summary>ρ = √(1 − e^(−2I/d)).</summary>
    public static double MiToRho(int dim, double mi)
    {
        if (!(mi >= 0) || double.IsInfinity(mi)) throw new ArgumentOutOfRangeException(nameof(mi), mi, "MI must be finite and ≥ 0");
        return Math.Sqrt(1 - Math.Exp(-2 * mi / dim));
    }

    /// <summary>I = −(d/2)·log(1 − ρ²).</summary>
    public static double RhoToMi(int dim, double rho) => -0.5 * dim * Math.Log(1 - rho * rho);

    /// <summary><paramref name="count"/> pairs as a batch: X and Y are [count, Dim], row k of X paired with row k of Y.</summary>
    public Batch Sample(int count, Rng rng)
    {
        var (x, y) = Draw(count, rng);
        return new Batch(x, y);
    }

    /// <summary>The same draws as <see cref="Sample"/>, as arrays with one row per sample (for <c>MiEstimation.Estimate</c>).</summary>
    public (float[,] X, float[,] Y) SampleArrays(int count, Rng rng)
    {
        var (x, y) = Draw(count, rng);
        var xs = new float[count, Dim];
        var ys = new float[count, Dim];
        x.Data.CopyTo(MemoryMarshal.CreateSpan(ref xs[0, 0], xs.Length));
        y.Data.CopyTo(MemoryMarshal.CreateSpan(ref ys[0, 0], ys.Length));
        return (xs, ys);
    }

    /// <summary>The same draws as <see cref="Sample"/>, as two new [count, Dim] tensors not yet checked as a batch.</summary>
    public (Tensor X, Tensor Y) Draw(int count, Rng rng)
    {
        ArgumentNullException.ThrowIfNull(rng);
        if (count < 2) throw new ArgumentOutOfRangeException(nameof(count), count, "need at least 2 samples");
        var x = Tensor.Zeros(count, Dim);
        var y = Tensor.Zeros(count, Dim);
        float rho = (float)Rho, noise = (float)Math.Sqrt(1 - Rho * Rho);
        var xs = x.Data; var ys = y.Data;
        // Fixed draw order (x's row, then ε's row, per sample): the PyTorch reference's, and what keeps sweeps reproducible.
        for (int i = 0; i < count; i++)
        {
            for (int d = 0; d < Dim; d++) xs[i * Dim + d] = rng.NextNormal();
            for (int d = 0; d < Dim; d++)
ys[i * Dim + d] = rho * xs[i * Dim + d] + noise * rng.NextNormal();
        }
        return (x, y);
    }
}
