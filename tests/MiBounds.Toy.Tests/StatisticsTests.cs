using MiBounds.Toy.Sweep;

namespace MiBounds.Toy.Tests;

public class StatisticsTests
{
    [Fact]
    public void SummaryUsesTheLastWindowValues()
    {
        // Last 3 of [1, 2, 3, 4, 10] are 3, 4, 10: mean 17/3; squared deviations 64/9 + 25/9 + 169/9 = 258/9; / (3−1) = 43/3.
        var s = Statistics.Summarize([1, 2, 3, 4, 10], trueMi: 5, window: 3);
        Assert.Equal(17.0 / 3, s.Mean, 12);
        Assert.Equal(17.0 / 3 - 5, s.Bias, 12);
        Assert.Equal(43.0 / 3, s.Variance, 12);
        Assert.Equal(3, s.Count);
    }

    [Fact]
    public void SummaryUsesAllValuesWhenFewerThanTheWindow()
    {
        var s = Statistics.Summarize([2, 4], trueMi: 1); // default window 1000
        Assert.Equal(3, s.Mean, 12);
        Assert.Equal(2, s.Bias, 12);
        Assert.Equal(2, s.Variance, 12); // ((−1)² + 1²) / 1
        Assert.Equal(2, s.Count);
        Assert.Equal(0, Statistics.Summarize([7], 7).Variance);
    }

    [Fact]
    public void DefaultWindowIsTheLast1000Steps()
    {
        var values = Enumerable.Range(0, 4000).Select(i => i < 3000 ? 100.0 : 1.0).ToArray();
        Assert.Equal(1.0, Statistics.Summarize(values, 0).Mean, 12);
    }

    [Fact]
    public void EmaMatchesHandComputation()
    {
        // span 3 → α = 0.5, decay 0.5: ema0 = 4; ema1 = (0.5·4 + 8) / 1.5 = 20/3; ema2 = (0.25·4 + 0.5·8 + 2) / 1.75 = 7/1.75 = 4.
        var ema = Statistics.Ema([4, 8, 2], span: 3);
        Assert.Equal(4, ema[0], 12);
        Assert.Equal(20.0 / 3, ema[1], 12);
        Assert.Equal(4, ema[2], 12);
    }

    [Fact]
    public void EmaEqualsTheExplicitWeightedMeanForSpan200()
    {
        var rng = new Random(5);
        var values = Enumerable.Range(0, 600).Select(_ => rng.NextDouble() * 10).ToArray();
        var ema = Statistics.Ema(values, span: 200);
        double decay = 1 - 2.0 / 201;
        foreach (int t in new[] { 0, 1, 50, 599 })
        {
            double num = 0, den = 0;
            for (int k = 0; k <= t; k++) { double w = Math.Pow(decay, t - k); num += w * values[k]; den += w; }
            Assert.Equal(num / den, ema[t], 9);
        }
        Assert.All(Statistics.Ema(Enumerable.Repeat(3.0, 50).ToArray()), v => Assert.Equal(3.0, v, 12));
    }
}
