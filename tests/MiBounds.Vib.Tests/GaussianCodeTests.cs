using MiBounds.Tensors;
using MiBounds.Vib.Models;

namespace MiBounds.Vib.Tests;

public class GaussianCodeTests
{
    // A 3-D code with a full Cholesky factor: μ, diag L and the lower entries (L₂₁, L₃₁, L₃₂).
    private static GaussianCode Code() => new(
        Tensor.FromArray([0.5f, -1f, 0.2f], 1, 3), Tensor.FromArray([0.8f, 0.5f, 1.3f], 1, 3), Tensor.FromArray([0.3f, -0.6f, 0.4f], 1, 3));

    private static double[,] Lower(GaussianCode c) => new double[,] { { 0.8, 0, 0 }, { 0.3, 0.5, 0 }, { -0.6, 0.4, 1.3 } };

    [Theory]
    [InlineData(1.0)]
    [InlineData(2.0)]
    public void KlMatchesAMonteCarloEstimate(double priorSigma)
    {
        var code = Code();
        double kl = code.KlToNormal(priorSigma).Item();
        // E_q[log q(z) − log p(z)] with z = μ + Lε: log q = −½‖ε‖² − Σ log L_ii − (K/2) log 2π, log p = −‖z‖²/(2s²) − K log s − (K/2) log 2π.
        var l = Lower(code); double[] mu = [0.5, -1, 0.2];
        var rng = new Rng(11);
        double sum = 0; int n = 400_000;
        double logDet = Math.Log(0.8) + Math.Log(0.5) + Math.Log(1.3);
        for (int s = 0; s < n; s++)
        {
            double e0 = rng.NextNormal(), e1 = rng.NextNormal(), e2 = rng.NextNormal();
            double z0 = mu[0] + l[0, 0] * e0, z1 = mu[1] + l[1, 0] * e0 + l[1, 1] * e1, z2 = mu[2] + l[2, 0] * e0 + l[2, 1] * e1 + l[2, 2] * e2;
            double logq = -0.5 * (e0 * e0 + e1 * e1 + e2 * e2) - logDet;
            double logp = -(z0 * z0 + z1 * z1 + z2 * z2) / (2 * priorSigma * priorSigma) - 3 * Math.Log(priorSigma);
            sum += logq - logp;
        }
        Assert.Equal(sum / n, kl, 2);
    }

    [Fact]
    public void DiagonalCaseIsTheFactorizedFormula()
    {
        var mu = Tensor.FromArray([0.5f, -1f, 0.2f, 0f], 2, 2);
        var sigma = Tensor.FromArray([0.8f, 0.5f, 1.3f, 2f], 2, 2);
        foreach (double s in new[] { 1.0, 0.5, 2.5 })
        {
            var kl = new GaussianCode(mu, sigma, null).KlToNormal(s).ToArray();
            // Σ_k [log(s/σ_k) + (σ_k² + μ_k²)/(2s²) − ½]
            double Row(int r) => Enumerable.Range(0, 2).Sum(k =>
            {
                double m = mu.Values[r * 2 + k], v = sigma.Values[r * 2 + k];
                return Math.Log(s / v) + (v * v + m * m) / (2 * s * s) - 0.5;
            });
            Assert.Equal(Row(0), kl[0], 5);
            Assert.Equal(Row(1), kl[1], 5);
            // A full factor with zero lower entries is the same Gaussian.
            var full = new GaussianCode(mu, sigma, Tensor.Zeros(2, 1)).KlToNormal(s).ToArray();
            Assert.Equal(kl[0], full[0], 5);
            Assert.Equal(kl[1], full[1], 5);
        }
    }

    [Fact]
    public void SamplesHaveTheCholeskyCovariance()
    {
        var code = Code().Repeat(60000);
        var z = code.Sample(new Rng(5)).ToRows();
        var expected = Code().Covariances()[0];
        var l = Lower(Code());
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 3; j++)
            {
                double llt = Enumerable.Range(0, 3).Sum(m => l[i, m] * l[j, m]);
                Assert.Equal(llt, expected[i, j], 5);
                double mi = z.Average(r => r[i]), mj = z.Average(r => r[j]);
                double cov = z.Average(r => (r[i] - mi) * (r[j] - mj));
                Assert.Equal(llt, cov, 1);
            }
        var marginal = Code().MarginalSigma().ToArray();
        for (int i = 0; i < 3; i++) Assert.Equal(Math.Sqrt(expected[i, i]), marginal[i], 5);
    }

    [Fact]
    public void GradientsReachTheLowerEntries()
    {
        var lower = Tensor.Parameter(Tensor.FromArray([0.3f, -0.6f, 0.4f], 1, 3));
        var code = new GaussianCode(Tensor.FromArray([0.5f, -1f, 0.2f], 1, 3), Tensor.FromArray([0.8f, 0.5f, 1.3f], 1, 3), lower);
        code.KlToNormal(1).Sum().Backward();
        // ∂KL/∂L_ij = L_ij / s² for the lower entries.
        Assert.Equal([0.3f, -0.6f, 0.4f], lower.Grad!.ToArray());
    }

    [Fact]
    public void FullCovarianceNetworkShapes()
    {
        var net = new VibNetwork(ModelKind.Vib, 6, 2, 3, new Rng(1), hidden: 8, fullCovariance: true);
        var code = net.EncodeGaussian(Tensor.Ones(4, 6));
        Assert.Equal([4, 1], code.Lower!.Shape);
        Assert.Equal([4, 3], net.PredictLogProbabilities(Tensor.Ones(4, 6), 12, new Rng(2)).Shape);
        Assert.Null(new VibNetwork(ModelKind.Vib, 6, 2, 3, new Rng(1), hidden: 8).EncodeGaussian(Tensor.Ones(4, 6)).Lower);
    }
}
