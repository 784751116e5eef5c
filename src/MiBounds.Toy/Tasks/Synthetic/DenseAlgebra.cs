using MathNet.Numerics.LinearAlgebra;
using MathNet.Numerics.LinearAlgebra.Factorization;

namespace MiBounds.Toy.Tasks.Synthetic;

/// <summary>
/// A symmetric positive definite matrix factored once (MathNet's Cholesky): its log-determinant, quadratic forms
/// vᵀA⁻¹v, and the lower factor L (L Lᵀ = A) for drawing normal vectors L z.
/// </summary>
internal sealed class CholeskyFactor
{
    private readonly Cholesky<double> _cholesky;

    /// <summary>Factors <paramref name="a"/>; throws <see cref="ArgumentException"/> if it is not positive definite.</summary>
    public CholeskyFactor(double[,] a)
    {
        _cholesky = Matrix<double>.Build.DenseOfArray(a).Cholesky();
        Lower = _cholesky.Factor.ToArray();
        LogDet = _cholesky.DeterminantLn;
    }

    /// <summary>L with L Lᵀ = A (a copy, indexed fast by the samplers).</summary>
    public double[,] Lower { get; }

    /// <summary>log det A.</summary>
    public double LogDet { get; }

    /// <summary>vᵀA⁻¹v.</summary>
    public double Mahalanobis(ReadOnlySpan<double> v)
    {
        var vector = Vector<double>.Build.DenseOfArray(v.ToArray());
        return vector.DotProduct(_cholesky.Solve(vector));
    }
}

/// <summary>Covariance helpers of the synthetic tasks (the linear algebra itself is MathNet's).</summary>
internal static class DenseAlgebra
{
    /// <summary>log det a for a symmetric positive definite a.</summary>
    public static double LogDet(double[,] a) => new CholeskyFactor(a).LogDet;

    /// <summary>The square block a[from.., from..] of size n.</summary>
    public static double[,] Block(double[,] a, int from, int n) => Matrix<double>.Build.DenseOfArray(a).SubMatrix(from, n, from, n).ToArray();

    /// <summary>The Gaussian MI of a joint covariance whose first <paramref name="dimX"/> coordinates are X: ½(log|Σxx| + log|Σyy| − log|Σ|).</summary>
    public static double GaussianMi(double[,] cov, int dimX)
    {
        int d = cov.GetLength(0);
        return 0.5 * (LogDet(Block(cov, 0, dimX)) + LogDet(Block(cov, dimX, d - dimX)) - LogDet(cov));
    }

    /// <summary>The covariance of (X, Y) with x_k, y_k correlated by ρ and everything else independent, unit variances.</summary>
    public static double[,] PairedCorrelation(int dim, double rho)
    {
        var c = new double[2 * dim, 2 * dim];
        for (int i = 0; i < 2 * dim; i++) c[i, i] = 1;
        for (int i = 0; i < dim; i++) { c[i, dim + i] = rho; c[dim + i, i] = rho; }
        return c;
    }
}

/// <summary>Draws from Gamma(shape, 1) (Marsaglia–Tsang), for the chi-square mixing variable of Student-t samples.</summary>
internal static class GammaSampler
{
    public static double Next(Tensors.Rng rng, double shape)
    {
        if (shape < 1) return Next(rng, shape + 1) * Math.Pow(Uniform(rng), 1 / shape); // boost small shapes
        double d = shape - 1.0 / 3, c = 1 / Math.Sqrt(9 * d);
        while (true)
        {
            double z = rng.NextNormal(), v = 1 + c * z;
            if (v <= 0) continue;
            v = v * v * v;
            double u = Uniform(rng);
            if (Math.Log(u) < 0.5 * z * z + d - d * v + d * Math.Log(v)) return d * v;
        }
    }

    private static double Uniform(Tensors.Rng rng)
    {
        double u;
        do u = rng.NextDouble(); while (u <= 0);
        return u;
    }
}
