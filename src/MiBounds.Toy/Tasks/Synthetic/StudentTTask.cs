using MiBounds.Tensors;

namespace MiBounds.Toy.Tasks.Synthetic;

/// <summary>
/// (X, Y) multivariate Student-t with ν degrees of freedom and the paired correlation of the correlated Gaussian
/// (x_k, y_k correlated by ρ): (x, y) = z / √(w/ν), z ~ N(0, Σ), w ~ χ²_ν. The shared scale makes X and Y dependent even
/// at ρ = 0. Closed form (Arellano-Valle et al. 2013): I = I_Gauss(Σ) + f(ν) + f(ν + dx + dy) − f(ν + dx) − f(ν + dy)
/// with f(a) = log Γ(a/2) − (a/2)·ψ(a/2) and I_Gauss = −(d/2)·log(1 − ρ²).
/// </summary>
public sealed class StudentTTask : IPointwiseMiTask
{
    private readonly CholeskyFactor _joint, _marginal;

    /// <summary>Dimension d of x and of y.</summary>
    public int Dim { get; }

    /// <summary>Per-coordinate correlation ρ of the underlying Gaussian.</summary>
    public double Rho { get; }

    /// <summary>Degrees of freedom ν.</summary>
    public double DegreesOfFreedom { get; }

    /// <inheritdoc />
    public string Name { get; }

    /// <inheritdoc />
    public string Description => $"multivariate Student-t, d={Dim}, ν={DegreesOfFreedom:G4}, ρ={Rho:G4}, I={TrueMi:G4} nats";

    /// <inheritdoc />
    public int DimX => Dim;

    /// <inheritdoc />
    public int DimY => Dim;

    /// <inheritdoc />
    public double TrueMi { get; }

    /// <summary>Creates the task.</summary>
    public StudentTTask(int dim, double degreesOfFreedom, double rho, string? name = null)
    {
        if (dim < 1) throw new ArgumentOutOfRangeException(nameof(dim), dim, "must be positive");
        if (!(degreesOfFreedom > 0) || double.IsInfinity(degreesOfFreedom)) throw new ArgumentOutOfRangeException(nameof(degreesOfFreedom), degreesOfFreedom, "must be positive and finite");
        if (!(Math.Abs(rho) < 1)) throw new ArgumentOutOfRangeException(nameof(rho), rho, "must lie in (−1, 1)");
        Dim = dim; DegreesOfFreedom = degreesOfFreedom; Rho = rho;
        var cov = DenseAlgebra.PairedCorrelation(dim, rho);
        _joint = new CholeskyFactor(cov);
        _marginal = new CholeskyFactor(DenseAlgebra.Block(cov, 0, dim));
        TrueMi = ClosedFormMi(dim, dim, degreesOfFreedom, -0.5 * dim * Math.Log(1 - rho * rho));
        Name = name ?? $"student-{dim}x{dim}-df{degreesOfFreedom:G4}";
    }

    /// <summary>The Student-t MI: the Gaussian MI of the shape matrix plus the dependence from the shared scale.</summary>
    public static double ClosedFormMi(int dimX, int dimY, double nu, double gaussianMi) =>
        gaussianMi + F(nu) + F(nu + dimX + dimY) - F(nu + dimX) - F(nu + dimY);

    private static double F(double a) => MathNet.Numerics.SpecialFunctions.GammaLn(a / 2) - a / 2 * MathNet.Numerics.SpecialFunctions.DiGamma(a / 2);

    /// <inheritdoc />
    public Batch Sample(int count, Rng rng)
    {
        if (count < 2) throw new ArgumentOutOfRangeException(nameof(count), count, "need at least 2 samples");
        var x = Tensor.Zeros(count, Dim);
        var y = Tensor.Zeros(count, Dim);
        var xs = x.Data; var ys = y.Data;
        var lower = _joint.Lower;
        var z = new double[2 * Dim];
        for (int n = 0; n < count; n++)
        {
            for (int i = 0; i < z.Length; i++) z[i] = rng.NextNormal();
            double w = 2 * GammaSampler.Next(rng, DegreesOfFreedom / 2); // χ²_ν = Gamma(ν/2, scale 2)
            double scale = 1 / Math.Sqrt(w / DegreesOfFreedom);
            for (int i = 0; i < 2 * Dim; i++)
            {
                double v = 0;
                for (int k = 0; k <= i; k++) v += lower[i, k] * z[k];
                v *= scale;
                if (i < Dim) xs[n * Dim + i] = (float)v; else ys[n * Dim + i - Dim] = (float)v;
            }
        }
        return new Batch(x, y);
    }

    /// <inheritdoc />
    public double PointwiseMi(ReadOnlySpan<float> x, ReadOnlySpan<float> y)
    {
        var (joint, xv, yv) = DenseGaussianTask.Vectors(x, y);
        return LogDensity(joint, _joint) - LogDensity(xv, _marginal) - LogDensity(yv, _marginal);
    }

    // The multivariate t density with shape L Lᵀ.
    private double LogDensity(double[] v, CholeskyFactor shape)
    {
        int d = v.Length;
        double nu = DegreesOfFreedom;
        return MathNet.Numerics.SpecialFunctions.GammaLn((nu + d) / 2) - MathNet.Numerics.SpecialFunctions.GammaLn(nu / 2) - 0.5 * d * Math.Log(nu * Math.PI)
            - 0.5 * shape.LogDet - 0.5 * (nu + d) * Math.Log(1 + shape.Mahalanobis(v) / nu);
    }
}
