using MiBounds.Tensors;
using MiBounds.Vib;
using MiBounds.Vib.Models;

namespace MiBounds.Vib.Tests;

public class DivergenceTests
{
    [Fact]
    public void KlMatchesTheClosedFormPerDimension()
    {
        var rng = new Rng(3);
        var mu = Tensor.RandomNormal(rng, [4, 5]);
        var sigma = Tensor.RandomUniform(rng, [4, 5], 0.1f, 3f);
        var kl = GaussianKl.ToStandardNormal(mu, sigma).ToArray();
        for (int i = 0; i < 4; i++)
        {
            // KL(N(m, s²) ‖ N(0, 1)) = log(1/s) + (s² + m²)/2 − 1/2, summed over dimensions.
            double expected = 0;
            for (int k = 0; k < 5; k++)
            {
                double m = mu[i, k], s = sigma[i, k];
                expected += -Math.Log(s) + (s * s + m * m) / 2 - 0.5;
            }
            Assert.Equal(expected, kl[i], 4);
        }
    }

    [Fact]
    public void KlAgreesWithMonteCarlo()
    {
        // E_q[log q(z) − log p(z)] estimated from 200k draws of a 2-D Gaussian.
        float[] m = [0.7f, -1.2f], s = [0.5f, 1.8f];
        var kl = GaussianKl.ToStandardNormal(Tensor.FromArray(m, 1, 2), Tensor.FromArray(s, 1, 2)).Item();
        var rng = new Rng(11);
        double sum = 0; int n = 200_000;
        for (int t = 0; t < n; t++)
            for (int k = 0; k < 2; k++)
            {
                double e = rng.NextNormal(), z = m[k] + s[k] * e;
                sum += (-0.5 * e * e - Math.Log(s[k])) - (-0.5 * z * z);
            }
        Assert.Equal(sum / n, kl, 1);
    }

    [Fact]
    public void KlIsZeroAtThePriorAndItsGradientMatchesFiniteDifferences()
    {
        Assert.Equal(0f, GaussianKl.ToStandardNormal(Tensor.Zeros(1, 3), Tensor.Ones(1, 3)).Item(), 6);
        var mu = Tensor.Parameter(Tensor.FromArray([0.3f, -0.8f], 1, 2));
        var sigma = Tensor.Parameter(Tensor.FromArray([0.6f, 1.4f], 1, 2));
        GaussianKl.ToStandardNormal(mu, sigma).Sum().Backward();
        for (int k = 0; k < 2; k++)
        {
            Assert.Equal(mu[k], mu.Grad![k], 4);                       // d/dμ = μ
            Assert.Equal(sigma[k] - 1 / sigma[k], sigma.Grad![k], 4);  // d/dσ = σ − 1/σ
        }
    }

    private static double NaiveUnbiasedMmd(float[][] q, float[][] p, double c)
    {
        double K(float[] a, float[] b) { double d = 0; for (int i = 0; i < a.Length; i++) d += (a[i] - b[i]) * (a[i] - b[i]); return c / (c + d); }
        double qq = 0, pp = 0, qp = 0;
        for (int i = 0; i < q.Length; i++) for (int j = 0; j < q.Length; j++) if (i != j) qq += K(q[i], q[j]);
        for (int i = 0; i < p.Length; i++) for (int j = 0; j < p.Length; j++) if (i != j) pp += K(p[i], p[j]);
        for (int i = 0; i < q.Length; i++) for (int j = 0; j < p.Length; j++) qp += K(q[i], p[j]);
        return qq / (q.Length * (q.Length - 1.0)) + pp / (p.Length * (p.Length - 1.0)) - 2 * qp / (q.Length * (double)p.Length);
    }

    [Fact]
    public void UnbiasedMmdEqualsANaiveDoubleLoop()
    {
        var rng = new Rng(5);
        var q = Tensor.RandomNormal(rng, [7, 3], 0.5f, 1.3f);
        var p = Tensor.RandomNormal(rng, [9, 3]);
        double c = Mmd.KernelConstant(3, 1.0);
        Assert.Equal(6.0, c);
        Assert.Equal(NaiveUnbiasedMmd(q.ToRows(), p.ToRows(), c), Mmd.Unbiased(q, p, [c]).Item(), 5);
        // The multi-scale kernel is the sum of single-scale ones, so its MMD is the sum too.
        var constants = Mmd.Constants(3, 1.0, multiScale: true);
        double sum = constants.Sum(ci => NaiveUnbiasedMmd(q.ToRows(), p.ToRows(), ci));
        Assert.Equal(sum, Mmd.Unbiased(q, p, constants).Item(), 4);
    }

    [Fact]
    public void MmdIsNearZeroForOneDistributionAndPositiveForDifferentOnes()
    {
        var rng = new Rng(8);
        int n = 400, k = 4;
        var c = Mmd.Constants(k, 1.0, multiScale: false);
        var a = Tensor.RandomNormal(rng, [n, k]);
        var b = Tensor.RandomNormal(rng, [n, k]);
        var shifted = Tensor.RandomNormal(rng, [n, k], 1f, 1f);
        var wide = Tensor.RandomNormal(rng, [n, k], 0f, 3f);
        double same = Mmd.Unbiased(a, b, c).Item();
        double moved = Mmd.Unbiased(shifted, b, c).Item();
        double spread = Mmd.Unbiased(wide, b, c).Item();
        Assert.True(Math.Abs(same) < 0.005, $"same distribution gave {same}");
        Assert.True(moved > 10 * Math.Abs(same) && moved > 0.01, $"shifted: {moved}, same: {same}");
        Assert.True(spread > 10 * Math.Abs(same) && spread > 0.01, $"wider: {spread}, same: {same}");
    }

    [Fact]
    public void MmdGradientMatchesFiniteDifferences()
    {
        var rng = new Rng(9);
        var q = Tensor.Parameter(Tensor.RandomNormal(rng, [4, 2]));
        var p = Tensor.RandomNormal(rng, [5, 2]);
        double[] c = [1.5, 4.0];
        Mmd.Unbiased(q, p, c).Backward();
        var grad = q.Grad!.ToArray();
        for (int i = 0; i < q.Size; i++)
        {
            float keep = q[i];
            const float h = 1e-2f;
            q[i] = keep + h; double up = Mmd.Unbiased(q.Detach(), p, c).Item();
            q[i] = keep - h; double down = Mmd.Unbiased(q.Detach(), p, c).Item();
            q[i] = keep;
            Assert.True(Math.Abs((up - down) / (2 * h) - grad[i]) < 2e-4, $"coordinate {i}: finite difference {(up - down) / (2 * h)}, autodiff {grad[i]}");
        }
    }
}
