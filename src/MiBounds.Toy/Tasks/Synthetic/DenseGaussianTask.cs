using MiBounds.Tensors;

namespace MiBounds.Toy.Tasks.Synthetic;

/// <summary>
/// (X, Y) jointly normal with a dense covariance Σ (random, see <see cref="WithMi"/>); the true MI is computed from
/// log-determinants, I = ½(log|Σxx| + log|Σyy| − log|Σ|).
/// </summary>
public sealed class DenseGaussianTask : IPointwiseMiTask
{
    private readonly double[,] _cholesky, _cholX, _cholY;
    private readonly double _logDet, _logDetX, _logDetY;

    /// <summary>The joint covariance, X's coordinates first.</summary>
    public double[,] Covariance { get; }

    /// <inheritdoc />
    public int DimX { get; }

    /// <inheritdoc />
    public int DimY { get; }

    /// <inheritdoc />
    public double TrueMi { get; }

    /// <inheritdoc />
    public string Name { get; }

    /// <inheritdoc />
    public string Description => $"dense multivariate normal, dx={DimX}, dy={DimY}, random covariance, I={TrueMi:G4} nats";

    /// <summary>Builds the task from an explicit joint covariance (X's coordinates first).</summary>
    public DenseGaussianTask(double[,] covariance, int dimX, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(covariance);
        int d = covariance.GetLength(0);
        if (covariance.GetLength(1) != d || dimX < 1 || dimX >= d) throw new ArgumentException($"covariance must be square with 1 ≤ dx < {d}");
        Covariance = covariance;
        DimX = dimX; DimY = d - dimX;
        _cholesky = DenseAlgebra.Cholesky(covariance);
        _cholX = DenseAlgebra.Cholesky(DenseAlgebra.Block(covariance, 0, DimX));
        _cholY = DenseAlgebra.Cholesky(DenseAlgebra.Block(covariance, DimX, DimY));
        _logDet = DenseAlgebra.LogDetFromCholesky(_cholesky);
        _logDetX = DenseAlgebra.LogDetFromCholesky(_cholX);
        _logDetY = DenseAlgebra.LogDetFromCholesky(_cholY);
        TrueMi = 0.5 * (_logDetX + _logDetY - _logDet);
        Name = name ?? $"normal-{DimX}x{DimY}";
    }

    /// <summary>
    /// A random dense covariance with the requested MI (nats); <paramref name="seed"/> fixes it. Σxx = Lx Lxᵀ and
    /// Σyy = Ly Lyᵀ are random correlation matrices and Σxy = Lx U diag(ρ) Vᵀ Lyᵀ with random orthonormal U, V, so the
    /// canonical correlations are ρ_i = tanh(s·w_i) (random weights w_i) and I = −½ Σ log(1 − ρ_i²); s is found by bisection.
    /// </summary>
    public static DenseGaussianTask WithMi(int dimX, int dimY, double mi, ulong seed = 7, string? name = null)
    {
        if (dimX < 1 || dimY < 1) throw new ArgumentOutOfRangeException(nameof(dimX), "dimensions must be positive");
        if (!(mi > 0) || mi > 1e4) throw new ArgumentOutOfRangeException(nameof(mi), mi, "MI must be positive (and below 1e4 nats)");
        var rng = new Rng(seed);
        var lx = DenseAlgebra.Cholesky(RandomCorrelation(dimX, rng));
        var ly = DenseAlgebra.Cholesky(RandomCorrelation(dimY, rng));
        int m = Math.Min(dimX, dimY);
        var u = RandomOrthonormalColumns(dimX, m, rng);
        var v = RandomOrthonormalColumns(dimY, m, rng);
        var weights = Enumerable.Range(0, m).Select(_ => 0.5 + rng.NextDouble()).ToArray();
        double lo = 0, hi = 1;
        while (CanonicalMi(Correlations(weights, hi)) < mi) hi *= 2;
        for (int it = 0; it < 200; it++)
        {
            double mid = 0.5 * (lo + hi);
            if (CanonicalMi(Correlations(weights, mid)) < mi) lo = mid; else hi = mid;
        }
        var rho = Correlations(weights, 0.5 * (lo + hi));
        return new DenseGaussianTask(Assemble(lx, ly, u, v, rho), dimX, name);
    }

    /// <summary>I = −½ Σ log(1 − ρ_i²) for canonical correlations ρ_i.</summary>
    public static double CanonicalMi(IEnumerable<double> canonicalCorrelations) => canonicalCorrelations.Sum(r => -0.5 * Math.Log((1 - r) * (1 + r)));

    private static double[] Correlations(double[] weights, double s) => weights.Select(w => Math.Tanh(s * w)).ToArray();

    // [[Lx Lxᵀ, Lx U D Vᵀ Lyᵀ], [ᵀ, Ly Lyᵀ]]
    private static double[,] Assemble(double[,] lx, double[,] ly, double[,] u, double[,] v, double[] rho)
    {
        int dx = lx.GetLength(0), dy = ly.GetLength(0), m = rho.Length;
        var a = MatMul(lx, u);            // dx × m
        var b = MatMul(ly, v);            // dy × m
        var c = new double[dx + dy, dx + dy];
        var sxx = MatMul(lx, Transpose(lx));
        var syy = MatMul(ly, Transpose(ly));
        for (int i = 0; i < dx; i++) for (int j = 0; j < dx; j++) c[i, j] = sxx[i, j];
        for (int i = 0; i < dy; i++) for (int j = 0; j < dy; j++) c[dx + i, dx + j] = syy[i, j];
        for (int i = 0; i < dx; i++)
            for (int j = 0; j < dy; j++)
            {
                double s = 0;
                for (int k = 0; k < m; k++) s += a[i, k] * rho[k] * b[j, k];
                c[i, dx + j] = c[dx + j, i] = s;
            }
        return c;
    }

    // Gram–Schmidt on a Gaussian matrix: a uniformly random set of orthonormal columns.
    private static double[,] RandomOrthonormalColumns(int rows, int cols, Rng rng)
    {
        var q = new double[rows, cols];
        for (int j = 0; j < cols; j++)
        {
            var col = new double[rows];
            for (int i = 0; i < rows; i++) col[i] = rng.NextNormal();
            for (int k = 0; k < j; k++)
            {
                double dot = 0;
                for (int i = 0; i < rows; i++) dot += col[i] * q[i, k];
                for (int i = 0; i < rows; i++) col[i] -= dot * q[i, k];
            }
            double norm = Math.Sqrt(col.Sum(t => t * t));
            for (int i = 0; i < rows; i++) q[i, j] = col[i] / norm;
        }
        return q;
    }

    private static double[,] MatMul(double[,] a, double[,] b)
    {
        int n = a.GetLength(0), k = a.GetLength(1), m = b.GetLength(1);
        var c = new double[n, m];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < m; j++)
            {
                double s = 0;
                for (int t = 0; t < k; t++) s += a[i, t] * b[t, j];
                c[i, j] = s;
            }
        return c;
    }

    private static double[,] Transpose(double[,] a)
    {
        var t = new double[a.GetLength(1), a.GetLength(0)];
        for (int i = 0; i < a.GetLength(0); i++) for (int j = 0; j < a.GetLength(1); j++) t[j, i] = a[i, j];
        return t;
    }

    // Correlation matrix of W Wᵀ / d + 0.05·I, W a d×d standard normal matrix (the ridge keeps it well conditioned).
    private static double[,] RandomCorrelation(int d, Rng rng)
    {
        var w = new double[d, d];
        for (int i = 0; i < d; i++)
            for (int j = 0; j < d; j++) w[i, j] = rng.NextNormal();
        var c = new double[d, d];
        for (int i = 0; i < d; i++)
            for (int j = 0; j < d; j++)
            {
                double s = 0;
                for (int k = 0; k < d; k++) s += w[i, k] * w[j, k];
                c[i, j] = s / d + (i == j ? 0.05 : 0);
            }
        var r = new double[d, d];
        for (int i = 0; i < d; i++)
            for (int j = 0; j < d; j++) r[i, j] = c[i, j] / Math.Sqrt(c[i, i] * c[j, j]);
        return r;
    }

    /// <inheritdoc />
    public Batch Sample(int count, Rng rng)
    {
        if (count < 2) throw new ArgumentOutOfRangeException(nameof(count), count, "need at least 2 samples");
        int d = DimX + DimY;
        var x = Tensor.Zeros(count, DimX);
        var y = Tensor.Zeros(count, DimY);
        var xs = x.Data; var ys = y.Data;
        var z = new double[d];
        for (int n = 0; n < count; n++)
        {
            for (int i = 0; i < d; i++) z[i] = rng.NextNormal();
            for (int i = 0; i < d; i++)
            {
                double v = 0;
                for (int k = 0; k <= i; k++) v += _cholesky[i, k] * z[k];
                if (i < DimX) xs[n * DimX + i] = (float)v; else ys[n * DimY + i - DimX] = (float)v;
            }
        }
        return new Batch(x, y);
    }

    /// <inheritdoc />
    public double PointwiseMi(ReadOnlySpan<float> x, ReadOnlySpan<float> y)
    {
        var (joint, xv, yv) = Vectors(x, y);
        double qJoint = DenseAlgebra.Mahalanobis(_cholesky, joint), qx = DenseAlgebra.Mahalanobis(_cholX, xv), qy = DenseAlgebra.Mahalanobis(_cholY, yv);
        // the 2π terms cancel: d = dx + dy
        return -0.5 * (_logDet + qJoint) + 0.5 * (_logDetX + qx) + 0.5 * (_logDetY + qy);
    }

    internal static (double[] Joint, double[] X, double[] Y) Vectors(ReadOnlySpan<float> x, ReadOnlySpan<float> y)
    {
        var joint = new double[x.Length + y.Length];
        var xv = new double[x.Length];
        var yv = new double[y.Length];
        for (int i = 0; i < x.Length; i++) joint[i] = xv[i] = x[i];
        for (int i = 0; i < y.Length; i++) joint[x.Length + i] = yv[i] = y[i];
        return (joint, xv, yv);
    }
}
