namespace MiBounds.Toy.Tasks.Synthetic;

/// <summary>The few dense double-precision matrix operations the synthetic tasks need (small matrices only).</summary>
internal static class DenseAlgebra
{
    /// <summary>Lower-triangular L with L Lᵀ = a; throws if a is not symmetric positive definite.</summary>
    public static double[,] Cholesky(double[,] a)
    {
        int n = a.GetLength(0);
        var l = new double[n, n];
        for (int i = 0; i < n; i++)
            for (int j = 0; j <= i; j++)
            {
                double s = a[i, j];
                for (int k = 0; k < j; k++) s -= l[i, k] * l[j, k];
                if (i == j)
                {
                    if (!(s > 0)) throw new ArgumentException($"matrix is not positive definite (pivot {i} is {s})");
                    l[i, i] = Math.Sqrt(s);
                }
                else l[i, j] = s / l[j, j];
            }
        return l;
    }

    /// <summary>log det a for a symmetric positive definite a.</summary>
    public static double LogDet(double[,] a) => LogDetFromCholesky(Cholesky(a));

    /// <summary>log det (L Lᵀ) = 2 Σ log L_ii.</summary>
    public static double LogDetFromCholesky(double[,] l)
    {
        double s = 0;
        for (int i = 0; i < l.GetLength(0); i++) s += Math.Log(l[i, i]);
        return 2 * s;
    }

    /// <summary>‖L⁻¹v‖² = vᵀ(L Lᵀ)⁻¹v by forward substitution.</summary>
    public static double Mahalanobis(double[,] l, ReadOnlySpan<double> v)
    {
        int n = l.GetLength(0);
        Span<double> z = n <= 128 ? stackalloc double[n] : new double[n];
        double q = 0;
        for (int i = 0; i < n; i++)
        {
            double s = v[i];
            for (int k = 0; k < i; k++) s -= l[i, k] * z[k];
            z[i] = s / l[i, i];
            q += z[i] * z[i];
        }
        return q;
    }

    /// <summary>The square block a[from.., from..] of size n.</summary>
    public static double[,] Block(double[,] a, int from, int n)
    {
        var b = new double[n, n];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) b[i, j] = a[from + i, from + j];
        return b;
    }

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
