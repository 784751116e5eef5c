using MiBounds.Tensors;
using Xunit;

namespace MiBounds.Tensors.Tests;

public sealed class RngTests
{
    // The block path must give the stream of one-at-a-time draws, spare included, whatever the lengths and split points.
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(255)]
    [InlineData(256)]
    [InlineData(257)]
    [InlineData(100_001)]
    public void FillNormalGivesTheStreamOfNextNormalCalls(int length)
    {
        var bulk = new Rng(42);
        var single = new Rng(42);
        bulk.NextNormal(); single.NextNormal(); // leave a spare pending
        var filled = new float[length];
        bulk.FillNormal(filled.AsSpan(0, length / 3));
        bulk.FillNormal(filled.AsSpan(length / 3), mean: 0f, std: 1f);
        for (int i = 0; i < length; i++)
            Assert.True(filled[i] == single.NextNormal(), $"draw {i} of {length}: {filled[i]}");
        Assert.Equal(single.NextNormal(), bulk.NextNormal()); // same state after, spare included
        Assert.Equal(single.GetState(), bulk.GetState());
    }

    [Fact]
    public void FillNormalAppliesMeanAndStandardDeviationPerDraw()
    {
        var a = new Rng(7); var b = new Rng(7);
        var scaled = new float[1001];
        a.FillNormal(scaled, mean: 3f, std: 0.5f);
        for (int i = 0; i < scaled.Length; i++) Assert.Equal(3f + 0.5f * b.NextNormal(), scaled[i]);
    }

    [Fact]
    public void FillNormalHasTheStandardNormalsMoments()
    {
        var z = new float[400_000];
        new Rng(3).FillNormal(z);
        double mean = z.Average(v => (double)v), variance = z.Average(v => (v - mean) * (v - mean));
        double kurtosis = z.Average(v => Math.Pow(v - mean, 4)) / (variance * variance);
        Assert.InRange(mean, -0.01, 0.01);       // 5 standard errors (1/√400 000 ≈ 0.0016)
        Assert.InRange(variance, 0.99, 1.01);
        Assert.InRange(kurtosis, 2.95, 3.05);
    }
}
