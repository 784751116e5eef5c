using MathNet.Numerics.LinearAlgebra;
using MiBounds.Estimation;
using MiBounds.Tensors;

namespace MiBounds.Tests;

public class GaussianEstimatorTests
{
    private static (double[,] X, double[,] Y, double Mi) Correlated(int n, int d, double rho, ulong seed) => EstimationKsgTests.Correlated(n, d, rho, seed);

    [Fact]
    public void CcaEqualsTheLogDeterminantFormOfTheSameSampleCovariance()
    {
        // Two routes to one number: singular values of the whitened cross-covariance vs LU determinants of the blocks.
        var (x, y, _) = Correlated(400, 3, 0.6, seed: 2);
        var z = Matrix<double>.Build.Dense(400, 6, (r, c) => c < 3 ? x[r, c] : y[r, c - 3]);
        var centered = z - Matrix<double>.Build.Dense(400, 6, (r, c) => z.Column(c).Average());
        var s = centered.TransposeThisAndMultiply(centered) / 399;
        double viaDeterminants = 0.5 * (Math.Log(s.SubMatrix(0, 3, 0, 3).LU().Determinant) + Math.Log(s.SubMatrix(3, 3, 3, 3).LU().Determinant) - Math.Log(s.LU().Determinant));
        Assert.Equal(viaDeterminants, GaussianMi.Cca(x, y), 9);
        Assert.Equal(viaDeterminants, GaussianMi.Estimate(x, y, biasCorrect: false), 9);
    }

    [Fact]
    public void CanonicalCorrelationsOfPairedCoordinatesAreThePairCorrelations()
    {
        var (x, y, _) = Correlated(20_000, 2, 0.8, seed: 5);
        var rho = GaussianMi.CanonicalCorrelations(x, y);
        Assert.Equal(2, rho.Length);
        foreach (double r in rho) Assert.InRange(r, 0.79, 0.81);
    }

    [Fact]
    public void BiasCorrectionRemovesTheUpwardBiasOnIndependentData()
    {
        // Independent 5 + 5 normals, N = 200: the plain plug-in is biased up by about dx·dy/(2N) = 0.0625 nats; the
        // Wishart correction should bring the average over seeds to about 0 (a Monte Carlo reference).
        double plain = 0, corrected = 0;
        const int seeds = 40;
        for (ulong s = 0; s < seeds; s++)
        {
            var (x, y, _) = Correlated(200, 5, 0.0, seed: 100 + s);
            plain += GaussianMi.Estimate(x, y, biasCorrect: false) / seeds;
            corrected += GaussianMi.Estimate(x, y, biasCorrect: true) / seeds;
        }
        Assert.InRange(plain, 0.045, 0.09);
        Assert.InRange(corrected, -0.012, 0.012);
    }

    [Fact]
    public void NormalScoresAreBoundedRankedAndShareTiedRanks()
    {
        var m = new double[,] { { 3 }, { 1e6 }, { -2 }, { 3 }, { 0 } };
        var z = GaussianMi.NormalScores(m);
        double q = MathNet.Numerics.Distributions.Normal.InvCDF(0, 1, 5.0 / 6);
        Assert.Equal(q, z[1, 0], 12);                  // the outlier is just the top rank
        Assert.Equal(-q, z[2, 0], 12);
        Assert.Equal(z[0, 0], z[3, 0]);                 // ties share the mean rank 3.5
        Assert.Equal(MathNet.Numerics.Distributions.Normal.InvCDF(0, 1, 3.5 / 6), z[0, 0], 12);
        Assert.Equal(MathNet.Numerics.Distributions.Normal.InvCDF(0, 1, 2.0 / 6), z[4, 0], 12); // 0 is the 2nd smallest
    }

    [Fact]
    public void GcmiIsInvariantToIncreasingMapsWhereCcaIsNot()
    {
        var (x, y, mi) = Correlated(5000, 2, 0.8, seed: 8);
        var cubedX = Map(x, v => v * v * v);
        var expY = Map(y, Math.Exp);
        Assert.Equal(GaussianMi.Gcmi(x, y), GaussianMi.Gcmi(cubedX, expY), 12); // same ranks, same number
        Assert.InRange(GaussianMi.Gcmi(cubedX, expY), mi - 0.06, mi + 0.06);
        Assert.True(GaussianMi.Cca(cubedX, expY) < mi - 0.25, "CCA sees only the linear part of the cubed/exponentiated data");
    }

    [Fact]
    public void GcmiAndCcaThroughEstimateReportSourceUncertaintyAndPValues()
    {
        var (x, y, mi) = Correlated(2000, 3, 0.5, seed: 12);
        foreach (var name in new[] { "gcmi", "cca" })
        {
            var r = MiEstimation.Estimate(x, y, new EstimationOptions { Estimator = name, Permutations = 99 });
            Assert.Equal(name, r.Estimator);
            Assert.InRange(r.EstimateNats, mi - 4 * r.StderrNats - 0.01, mi + 4 * r.StderrNats + 0.01);
            Assert.InRange(r.StderrNats, 0.005, 0.05);
            Assert.Equal(0.01, r.PValue, 12); // no permutation reaches 0.4 nats: p = 1/(1 + 99)
        }
        var (xi, yi, _) = Correlated(2000, 3, 0.0, seed: 13);
        var independent = MiEstimation.Estimate(xi, yi, new EstimationOptions { Estimator = "gcmi", Permutations = 99 });
        Assert.True(independent.PValue > 0.05, $"independent data, p = {independent.PValue}");
    }

    private static double[,] Map(double[,] m, Func<double, double> f)
    {
        var r = (double[,])m.Clone();
        for (int i = 0; i < r.GetLength(0); i++)
            for (int j = 0; j < r.GetLength(1); j++) r[i, j] = f(r[i, j]);
        return r;
    }
}
