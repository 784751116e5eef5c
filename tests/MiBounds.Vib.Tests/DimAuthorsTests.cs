using MiBounds.Tensors;
using MiBounds.Vib.Data;
using MiBounds.Vib.Dim;
using MiBounds.Vib.Reproductions;

namespace MiBounds.Vib.Tests;

public class DimAuthorsTests
{
    // Independent reference in doubles, written from the authors' loss definitions (pooled over locations).
    private static double Reference(string estimator, float[] s, int k, int l)
    {
        double S(int i, int loc, int j) => s[i * l * k + loc * k + j];
        if (estimator == "dv")
        {
            double pos = 0, negSum = 0; int nNeg = 0;
            for (int i = 0; i < k; i++)
                for (int loc = 0; loc < l; loc++)
                {
                    pos += S(i, loc, i);
                    for (int j = 0; j < k; j++) if (j != i) { negSum += Math.Exp(S(i, loc, j)); nNeg++; }
                }
            return pos / (k * l) - Math.Log(negSum / nNeg);
        }
        if (estimator == "js")
        {
            static double Sp(double x) => Math.Log(1 + Math.Exp(x));
            double pos = 0, neg = 0; int nNeg = 0;
            for (int i = 0; i < k; i++)
                for (int loc = 0; loc < l; loc++)
                {
                    pos += Sp(-S(i, loc, i));
                    for (int j = 0; j < k; j++) if (j != i) { neg += Sp(S(i, loc, j)); nNeg++; }
                }
            return -(pos / (k * l) + neg / nNeg);
        }
        double total = 0;
        for (int i = 0; i < k; i++)
            for (int loc = 0; loc < l; loc++)
            {
                // softmax of the positive among itself and all (j ≠ i, any location) negatives of row i
                double denom = Math.Exp(S(i, loc, i));
                for (int loc2 = 0; loc2 < l; loc2++)
                    for (int j = 0; j < k; j++) if (j != i) denom += Math.Exp(S(i, loc2, j));
                total += S(i, loc, i) - Math.Log(denom);
            }
        return Math.Log(1 + (k - 1.0) * l) + total / (k * l);
    }

    [Theory]
    [InlineData("js")]
    [InlineData("dv")]
    [InlineData("infonce")]
    public void PooledLocalObjectiveMatchesTheAuthorsDefinition(string estimator)
    {
        const int k = 4, l = 3;
        var rng = new Rng(9);
        var values = Enumerable.Range(0, k * l * k).Select(_ => 3f * (rng.NextFloat() - 0.5f)).ToArray();
        var (objective, _) = PooledLocalBound.Compute(estimator, ScoreBounds.Create(estimator), Tensor.FromArray(values, k, l * k), l, training: true);
        Assert.Equal(Reference(estimator, values, k, l), objective.Item(), 4);
    }

    [Fact]
    public void PooledInfoNceDiffersFromThePerLocationMean()
    {
        // Pooling changes the objective: the same scores averaged per location give another number.
        const int k = 4, l = 3;
        var rng = new Rng(2);
        var scores = Tensor.FromArray(Enumerable.Range(0, k * l * k).Select(_ => 2f * rng.NextFloat()).ToArray(), k, l * k);
        double pooled = PooledLocalBound.Compute("infonce", ScoreBounds.Create("infonce"), scores, l, true).Value;
        double perLocation = Enumerable.Range(0, l).Average(loc => ScoreBounds.Create("infonce").FromScores(DimNetwork.LocationScores(scores, loc), null, Bounds.PositiveMask.Diagonal(k), true).Value.Item());
        Assert.NotEqual(perLocation, pooled, 3);
    }

    [Fact]
    public void RowLayerNormNormalizesEachRow()
    {
        var x = Tensor.FromArray([1f, 2f, 3f, 4f, -2f, 0f, 2f, 8f], 2, 4);
        var y = new RowLayerNorm(4).Forward(x).ToRows();
        foreach (var row in y)
        {
            Assert.Equal(0, row.Average(), 5);
            Assert.Equal(1, row.Select(v => (double)v * v).Average(), 3); // biased variance 1 (eps 1e-5 aside)
        }
        // row 0: (1..4 − 2.5)/√1.25
        Assert.Equal((1 - 2.5) / Math.Sqrt(1.25 + 1e-5), y[0][0], 4);
    }

    [Fact]
    public void AuthorsVariantTrainsResumesAndKeepsOldConfigsReadable()
    {
        Assert.DoesNotContain("Variant", new DimConfig().ToJson());
        var rng = new Rng(3);
        var images = Tensor.RandomUniform(rng, [48, 16 * 16], -1f, 1f);
        var train = new ImageDataset(images, Enumerable.Range(0, 48).Select(i => i % 10).ToArray(), 16, 16, 10);
        foreach (var mode in new[] { DimMode.Local, DimMode.Global })
        {
            var trainer = new DimTrainer(new DimConfig { Estimator = "infonce", Mode = mode, BatchSize = 8, Width = 16, Epochs = 2, Variant = "authors" }, train);
            Assert.IsType<DimAuthorsNetwork>(trainer.Model);
            trainer.Train();
            Assert.All(trainer.Epochs, e => Assert.True(double.IsFinite(e.Loss)));
            Assert.True(trainer.Model.Encoder.NamedState().Any(p => p.Name.StartsWith("bn1.", StringComparison.Ordinal)), "batch-norm after conv1");
        }
    }

    [Fact]
    public void SupervisedReferenceLearnsAndProbeFeaturesHaveTheEncodersSizes()
    {
        var data = Synthetic.Dataset(60, side: 16, classes: 3, seed: 1);
        var o = new DimReproductionOptions { Epochs = 3, BatchSize = 10, LearningRate = 3e-3 };
        var encoder = DimReproduction.Supervised(data, o, null, TextWriter.Null, default)!;
        var sets = DimReproduction.Sets(encoder, data, Synthetic.Dataset(30, side: 16, classes: 3, seed: 2));
        Assert.Equal(["conv", "fc", "code"], sets.Select(s => s.Name));
        Assert.Equal([encoder.LocalFeatures, encoder.Hidden, encoder.CodeSize], sets.Select(s => s.Train.Dim(1)));
        double acc = Dim.Probes.Accuracy(sets[2].Train, data.Labels, sets[2].Test, Synthetic.Dataset(30, side: 16, classes: 3, seed: 2).Labels, 3, ProbeKind.Linear, new ProbeSettings(Epochs: 200), new Rng(1));
        Assert.True(acc > 0.9, $"linear probe on the supervised code: {acc}");
    }
}
