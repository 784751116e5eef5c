using MathNet.Numerics.LinearAlgebra;
using MathNet.Numerics.LinearAlgebra.Factorization;
using MiBounds.Tensors;

namespace MiBounds.Toy.Tasks.Synthetic;

/// <summary>
/// (X, Y) jointly normal with a dense covariance Σ (random, see <see cref="WithMi"/>); the true MI is computed from
/// log-determinants, I = ½(log|Σxx| + log|Σyy| − log|Σ|).
/// </summary>
public sealed class DenseGaussianTask : IPointwiseMiTask
{
    private readonly CholeskyFactor _joint, _x, _y;

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
    public string Description => $"multivariate normal, dx={DimX}, dy={DimY}, {Structure}, I={TrueMi:G4} nats";

    /// <summary>How the covariance was built, for the description.</summary>
    public string Structure { get; init; } = "given covariance";

    /// <summary>Builds the task from an explicit joint covariance (X's coordinates first).</summary>
    public DenseGaussianTask(double[,] covariance, int dimX, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(covariance);
        int d = covariance.GetLength(0);
        if (covariance.GetLength(1) != d || dimX < 1 || dimX >= d) throw new ArgumentException($"covariance must be square with 1 ≤ dx < {d}");
        Covariance = covariance;
        DimX = dimX; DimY = d - dimX;
        _joint = new CholeskyFactor(covariance);
        _x = new CholeskyFactor(DenseAlgebra.Block(covariance, 0, DimX));
        _y = new CholeskyFactor(DenseAlgebra.Block(covariance, DimX, DimY));
        TrueMi = 0.5 * (_x.LogDet + _y.LogDet - _joint.LogDet);
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
        var lx = Matrix<double>.Build.DenseOfArray(RandomCorrelation(dimX, rng)).Cholesky().Factor;
        var ly = Matrix<double>.Build.DenseOfArray(RandomCorrelation(dimY, rng)).Cholesky().Factor;
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
        return new DenseGaussianTask(Assemble(lx, ly, u, v, rho), dimX, name) { Structure = "random dense covariance" };
    }

    /// <summary>I = −½ Σ log(1 − ρ_i²) for canonical correlations ρ_i.</summary>
    public static double CanonicalMi(IEnumerable<double> canonicalCorrelations) => canonicalCorrelations.Sum(r => -0.5 * Math.Log((1 - r) * (1 + r)));

    private static double[] Correlations(double[] weights, double s) => weights.Select(w => Math.Tanh(s * w)).ToArray();

    // [[Lx Lxᵀ, Lx U D Vᵀ Lyᵀ], [ᵀ, Ly Lyᵀ]]
    private static double[,] Assemble(Matrix<double> lx, Matrix<double> ly, Matrix<double> u, Matrix<double> v, double[] rho)
    {
        int dx = lx.RowCount, dy = ly.RowCount;
        var sxy = lx * u * Matrix<double>.Build.DenseOfDiagonalArray(rho) * v.Transpose() * ly.Transpose();
        var c = Matrix<double>.Build.Dense(dx + dy, dx + dy);
        c.SetSubMatrix(0, 0, lx * lx.Transpose());
        c.SetSubMatrix(dx, dx, ly * ly.Transpose());
        c.SetSubMatrix(0, dx, sxy);
        c.SetSubMatrix(dx, 0, sxy.Transpose());
        return c.ToArray();
    }

    // Q of the QR factorization of a Gaussian matrix: a uniformly random set of orthonormal columns (up to signs, which
    // leave the canonical correlations and so the MI unchanged).
    private static Matrix<double> RandomOrthonormalColumns(int rows, int cols, Rng rng)
    {
        var g = new double[rows, cols];
        for (int j = 0; j < cols; j++)
            for (int i = 0; i < rows; i++) g[i, j] = rng.NextNormal();
        return Matrix<double>.Build.DenseOfArray(g).QR(QRMethod.Thin).Q;
    }

    // Correlation matrix of W Wᵀ / d + 0.05·I, W a d×d standard normal matrix (the ridge keeps it well conditioned).
    private static double[,] RandomCorrelation(int d, Rng rng)
    {
        var w = new double[d, d];
        for (int i = 0; i < d; i++)
            for (int j = 0; j < d; j++) w[i, j] = rng.NextNormal();
        var wm = Matrix<double>.Build.DenseOfArray(w);
        var c = (wm * wm.Transpose() / d + 0.05 * Matrix<double>.Build.DenseIdentity(d)).ToArray();
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
        var lower = _joint.Lower;
        var z = new double[d];
        for (int n = 0; n < count; n++)
        {
            for (int i = 0; i < d; i++) z[i] = rng.NextNormal();
            for (int i = 0; i < d; i++)
            {
                double v = 0;
                for (int k = 0; k <= i; k++) v += lower[i, k] * z[k];
                if (i < DimX) xs[n * DimX + i] = (float)v; else ys[n * DimY + i - DimX] = (float)v;
            }
        }
        return new Batch(x, y);
    }

    /// <inheritdoc />
    public double PointwiseMi(ReadOnlySpan<float> x, ReadOnlySpan<float> y)
    {
        var (joint, xv, yv) = Vectors(x, y);
        // the 2π terms cancel: d = dx + dy
        return -0.5 * (_joint.LogDet + _joint.Mahalanobis(joint)) + 0.5 * (_x.LogDet + _x.Mahalanobis(xv)) + 0.5 * (_y.LogDet + _y.Mahalanobis(yv));
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
