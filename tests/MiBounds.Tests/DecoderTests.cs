using MiBounds.Bounds;
using MiBounds.Critics;
using MiBounds.Tensors;
using MiBounds.Training;

namespace MiBounds.Tests;

public class DecoderTests
{
    [Fact]
    public void GaussianDecoderLogDensityIsTheDiagonalGaussianLogDensity()
    {
        var rng = new Rng(1);
        var decoder = new GaussianDecoder(3, 2, rng, hidden: 8, layers: 2);
        var y = Tensor.RandomNormal(rng, [4, 3]);
        var x = Tensor.RandomNormal(rng, [4, 2]);
        var logq = decoder.LogDensity(x, y);
        var h = decoder.Trunk.Forward(y).Relu();
        var mean = decoder.MeanHead.Forward(h);
        var logVar = decoder.LogVarianceHead.Forward(h);
        for (int i = 0; i < 4; i++)
        {
            double expected = 0;
            for (int d = 0; d < 2; d++)
            {
                double v = Math.Exp(logVar[i, d]);
                expected += -0.5 * Math.Log(2 * Math.PI * v) - Math.Pow(x[i, d] - mean[i, d], 2) / (2 * v);
            }
            Assert.True(Math.Abs(expected - logq[i]) < 1e-4, $"row {i}: {logq[i]} vs {expected}");
        }
    }

    [Fact]
    public void BarberAgakovWithALearnedGaussianDecoderApproachesTheTruthFromBelow()
    {
        const int dim = 2;
        double rho = TestData.RhoForMi(dim, 1.0);
        var rng = new Rng(2);
        var ba = new BarberAgakov(new GaussianDecoder(dim, dim, rng, hidden: 32), BarberAgakov.StandardNormalEntropy(dim));
        var trainer = new MiTrainer(ba, 3e-3f);
        var estimates = trainer.Fit(() => TestData.Gaussian(128, dim, rho, rng), 400);
        double late = estimates.Skip(300).Average();
        Assert.True(late > 0.75 && late < 1.08, $"BA after training: {late} (truth 1.0)");
        Assert.True(late > estimates.Take(10).Average() + 0.5, "BA did not improve with training");
    }

    [Fact]
    public void CategoricalDecoderGivesLabelLogProbabilities()
    {
        var rng = new Rng(3);
        var decoder = new CategoricalDecoder(4, 3, rng);
        var z = Tensor.RandomNormal(rng, [5, 4]);
        int[] labels = [0, 2, 1, 1, 0];
        var logits = decoder.Logits(z);
        var viaOneHot = decoder.LogDensity(Tensor.OneHot(labels, 3), z);
        var viaLabels = decoder.LogLikelihood(z, labels);
        for (int i = 0; i < 5; i++)
        {
            double norm = Math.Log(Enumerable.Range(0, 3).Sum(c => Math.Exp(logits[i, c])));
            double expected = logits[i, labels[i]] - norm;
            Assert.True(Math.Abs(expected - viaOneHot[i]) < 1e-5);
            Assert.True(Math.Abs(expected - viaLabels[i]) < 1e-5);
        }
        Assert.Equal(Math.Log(2), BarberAgakov.LabelEntropy([0, 1, 0, 1]), 12);
    }
}
