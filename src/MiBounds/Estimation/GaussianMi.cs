using MathNet.Numerics.Distributions;
using MathNet.Numerics.LinearAlgebra;

namespace MiBounds.Estimation;

/// <summary>
/// Closed-form estimators from second moments: the Gaussian MI of a sample covariance, CCA (the same MI written with the
/// canonical correlations, −½ Σ log(1 − ρᵢ²)) and the Gaussian-copula estimator GCMI (Ince et al. 2017: every column
/// replaced by its normal scores Φ⁻¹(rank / (N + 1)), then the bias-corrected Gaussian MI). CCA is exact for jointly
/// normal data; GCMI is exact for any data with a Gaussian copula (normal data under any strictly monotone map of each
/// column). For one-dimensional X and Y, GCMI is a lower bound on I (the normal scores have fixed normal margins, and the
/// Gaussian has the largest joint entropy for their correlation); for vectors that bound is not guaranteed.
/// </summary>
public static class GaussianMi
{
    /// <summary>
    /// Each column replaced by its normal scores Φ⁻¹(r / (N + 1)), r the 1-based rank (ties share their mean rank).
    /// MI is invariant to this strictly increasing map of each column, and it bounds every value: the scores lie
    /// within ±Φ⁻¹(N / (N + 1)) (±3.7 for N = 5000) whatever the outliers.
    /// </summary>
    public static double[,] NormalScores(double[,] m)
    {
        ArgumentNullException.ThrowIfNull(m);
        int n = m.GetLength(0), d = m.GetLength(1);
        var result = new double[n, d];
        var order = new int[n];
        var column = new double[n];
        for (int c = 0; c < d; c++)
        {
            for (int r = 0; r < n; r++) { order[r] = r; column[r] = m[r, c]; }
            Array.Sort((double[])column.Clone(), order);
            for (int start = 0; start < n;)
            {
                int end = start + 1;
                while (end < n && column[order[end]] == column[order[start]]) end++;
                double rank = 0.5 * (start + end - 1) + 1; // mean 1-based rank of the tied run
                double score = Normal.InvCDF(0, 1, rank / (n + 1));
                for (int i = start; i < end; i++) result[order[i], c] = score;
                start = end;
            }
        }
        return result;
    }

    /// <summary>
    /// The Gaussian MI ½(log|Sxx| + log|Syy| − log|S|) of the sample covariance S of [X, Y] (log-determinants from
    /// Cholesky factors). With <paramref name="biasCorrect"/>, each ½ log|S_d| is replaced by its unbiased estimate of
    /// ½ log|Σ_d| under normality, ½ log|S_d| − ½ Σ_{i=1..d} ψ((N − i)/2) − (d/2)(log 2 − log(N − 1)), from the Wishart
    /// expectation E log|S| = log|Σ| + Σ ψ((N − i)/2) + d log(2 / (N − 1)).
    /// </summary>
    public static double Estimate(double[,] x, double[,] y, bool biasCorrect = true)
    {
        var (sxx, syy, s) = Covariances(x, y);
        int n = x.GetLength(0);
        return HalfLogDet(sxx, n, biasCorrect) + HalfLogDet(syy, n, biasCorrect) - HalfLogDet(s, n, biasCorrect);
    }

    /// <summary>
    /// Canonical correlations of X and Y, largest first: the singular values of Lx⁻¹ Sxy Ly⁻ᵀ, with Lx Lxᵀ = Sxx and
    /// Ly Lyᵀ = Syy the Cholesky factors of the sample covariances.
    /// </summary>
    public static double[] CanonicalCorrelations(double[,] x, double[,] y)
    {
        var (sxx, syy, s) = Covariances(x, y);
        int dx = sxx.RowCount, dy = syy.RowCount;
        var sxy = s.SubMatrix(0, dx, dx, dy);
        var lx = Cholesky(sxx, "X").Factor;
        var ly = Cholesky(syy, "Y").Factor;
        var m = lx.Solve(sxy);                              // Lx⁻¹ Sxy
        var whitened = ly.Solve(m.Transpose()).Transpose(); // (Ly⁻¹ (Lx⁻¹ Sxy)ᵀ)ᵀ = Lx⁻¹ Sxy Ly⁻ᵀ
        return whitened.Svd(computeVectors: false).S.Select(v => Math.Min(v, 1 - 1e-15)).ToArray();
    }

    /// <summary>CCA's MI −½ Σ log(1 − ρᵢ²) of the canonical correlations ρᵢ (no bias correction).</summary>
    public static double Cca(double[,] x, double[,] y) => CanonicalCorrelations(x, y).Sum(r => -0.5 * Math.Log((1 - r) * (1 + r)));

    /// <summary>GCMI: the bias-corrected Gaussian MI of the normal scores of every column.</summary>
    public static double Gcmi(double[,] x, double[,] y) => Estimate(NormalScores(x), NormalScores(y), biasCorrect: true);

    // ½ log|S| (optionally its unbiased version for ½ log|Σ|); the 2πe constants cancel in the MI.
    private static double HalfLogDet(Matrix<double> s, int n, bool biasCorrect)
    {
        double half = 0.5 * Cholesky(s, "the joint sample").DeterminantLn;
        if (!biasCorrect) return half;
        int d = s.RowCount;
        double psi = 0;
        for (int i = 1; i <= d; i++) psi += MathNet.Numerics.SpecialFunctions.DiGamma((n - i) / 2.0);
        return half - 0.5 * psi - 0.5 * d * (Math.Log(2) - Math.Log(n - 1));
    }

    private static MathNet.Numerics.LinearAlgebra.Factorization.Cholesky<double> Cholesky(Matrix<double> s, string what)
    {
        try { return s.Cholesky(); }
        catch (ArgumentException)
        {
            throw new ArgumentException($"{what} covariance is singular (a column is constant or a linear combination of others, or there are fewer rows than columns): the Gaussian estimators need a full-rank covariance");
        }
    }

    // Sample covariances (N − 1 denominator) of X, Y and [X, Y].
    private static (Matrix<double> Sxx, Matrix<double> Syy, Matrix<double> S) Covariances(double[,] x, double[,] y)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(y);
        int n = x.GetLength(0), dx = x.GetLength(1), dy = y.GetLength(1);
        if (y.GetLength(0) != n) throw new ArgumentException($"X has {n} rows but Y has {y.GetLength(0)}");
        if (n <= dx + dy + 1) throw new ArgumentException($"the Gaussian estimators need more rows ({n}) than dx + dy + 1 = {dx + dy + 1}");
        var z = Matrix<double>.Build.Dense(n, dx + dy, (r, c) => c < dx ? x[r, c] : y[r, c - dx]);
        var means = z.ColumnSums() / n;
        for (int c = 0; c < dx + dy; c++)
        {
            double mu = means[c];
            for (int r = 0; r < n; r++) z[r, c] -= mu;
        }
        var s = z.TransposeThisAndMultiply(z) / (n - 1);
        return (s.SubMatrix(0, dx, 0, dx), s.SubMatrix(dx, dy, dx, dy), s);
    }
}
