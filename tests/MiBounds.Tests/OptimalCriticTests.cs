using MiBounds.Bounds;
using MiBounds.Critics;
using MiBounds.Tensors;

namespace MiBounds.Tests;

/// <summary>Every bound evaluated with the analytic (optimal) critics against the analytic MI of the correlated Gaussian.</summary>
public class OptimalCriticTests
{
    private const int Dim = 20, K = 64, Batches = 300;

    private static List<double> Evaluate(Func<GaussianConditionalCritic, GaussianConditionalCritic, IMiEstimator> make, double mi, int seed)
    {
        double rho = TestData.RhoForMi(Dim, mi);
        var conditional = new GaussianConditionalCritic(Dim, rho);
        var ratio = new GaussianConditionalCritic(Dim, rho, AnalyticScore.LogDensityRatio);
        var estimator = make(conditional, ratio);
        var rng = new Rng((ulong)seed);
        var values = new List<double>(Batches);
        for (int b = 0; b < Batches; b++) values.Add(estimator.Estimate(TestData.Gaussian(K, Dim, rho, rng)));
        return values;
    }

    [Theory]
    [InlineData(2.0)]
    [InlineData(6.0)]
    public void BarberAgakovAndTubaAreUnbiased(double mi)
    {
        var ba = TestData.MeanAndStandardError(Evaluate((c, _) => new BarberAgakov(c, BarberAgakov.StandardNormalEntropy(Dim)), mi, 1));
        Assert.True(Math.Abs(ba.mean - mi) < 4 * ba.se + 0.02, $"BA: {ba.mean} ± {ba.se} vs {mi}");
        var tuba = TestData.MeanAndStandardError(Evaluate((c, _) => new Tuba(c, new GaussianMarginalBaseline()), mi, 2));
        Assert.True(Math.Abs(tuba.mean - mi) < 4 * tuba.se + 0.02, $"TUBA: {tuba.mean} ± {tuba.se} vs {mi}");
        var nwj = TestData.MeanAndStandardError(Evaluate((_, r) => new Nwj(new GaussianConditionalCritic(Dim, r.Rho, AnalyticScore.LogDensityRatio, offset: 1)), mi, 3));
        Assert.True(Math.Abs(nwj.mean - mi) < 4 * nwj.se + 0.02, $"NWJ(1 + log r): {nwj.mean} ± {nwj.se} vs {mi}");
    }

    [Theory]
    [InlineData(2.0)]
    [InlineData(6.0)]
    [InlineData(10.0)]
    public void InfoNceNeverExceedsLogKAndSaturates(double mi)
    {
        var values = Evaluate((c, _) => new InfoNce(c), mi, 4);
        Assert.All(values, v => Assert.True(v <= Math.Log(K) + 1e-5, $"InfoNCE {v} above log K"));
        if (mi >= 10) Assert.True(Math.Log(K) - values.Average() < 0.05, $"InfoNCE mean {values.Average()} not within 0.05 of log K");
        if (mi <= 2) Assert.True(values.Average() < mi, "InfoNCE is a lower bound");
    }

    [Theory]
    [InlineData(0.01)]
    [InlineData(0.5)]
    [InlineData(0.99)]
    public void InterpolatedBoundLiesBetweenInfoNceAndTuba(double alpha)
    {
        const double mi = 8.0;
        var iAlpha = Evaluate((c, _) => new InterpolatedBound(c, new GaussianMarginalBaseline(), alpha), mi, 5);
        var tuba = TestData.MeanAndStandardError(Evaluate((c, _) => new Tuba(c, new GaussianMarginalBaseline()), mi, 5));
        var nce = TestData.MeanAndStandardError(Evaluate((c, _) => new InfoNce(c), mi, 5));
        var ia = TestData.MeanAndStandardError(iAlpha);
        double ceiling = 1 + Math.Log(K) - Math.Log(alpha);
        Assert.All(iAlpha, v => Assert.True(v <= ceiling + 1e-4, $"Iα {v} above its ceiling {ceiling}"));
        Assert.True(ia.mean >= nce.mean - 3 * (ia.se + nce.se), $"Iα {ia.mean} below InfoNCE {nce.mean}");
        Assert.True(ia.mean <= tuba.mean + 3 * (ia.se + tuba.se), $"Iα {ia.mean} above TUBA {tuba.mean}");
    }

    [Fact]
    public void UsedByLineCompilesAndRuns()
    {
        var rng = new Rng(0);
        var critic = new SeparableCritic(Dim, Dim, rng);
        var batch = TestData.Gaussian(K, Dim, 0.5, rng);
        double nats = new InfoNce(critic).Estimate(batch);
        Assert.True(double.IsFinite(nats) && nats <= Math.Log(K));
    }
}
