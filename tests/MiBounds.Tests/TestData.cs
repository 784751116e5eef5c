using MiBounds.Tensors;

namespace MiBounds.Tests;

/// <summary>Correlated-Gaussian batches for tests (x ~ N(0, I), y = ρx + √(1−ρ²)ε).</summary>
internal static class TestData
{
    public static double RhoForMi(int dim, double mi) => Math.Sqrt(1 - Math.Exp(-2 * mi / dim));

    public static Batch Gaussian(int k, int dim, double rho, Rng rng)
    {
        var x = Tensor.RandomNormal(rng, [k, dim]);
        var y = Tensor.Zeros(k, dim);
        for (int i = 0; i < k * dim; i++) y[i] = (float)(rho * x[i] + Math.Sqrt(1 - rho * rho) * rng.NextNormal());
        return new Batch(x, y);
    }

    public static (double mean, double se) MeanAndStandardError(IReadOnlyList<double> values)
    {
        double mean = values.Average();
        double var = values.Sum(v => (v - mean) * (v - mean)) / (values.Count - 1);
        return (mean, Math.Sqrt(var / values.Count));
    }
}
