using MiBounds.Bounds;
using MiBounds.Critics;
using MiBounds.Tensors;
using MiBounds.Training;

namespace MiBounds.Tests;

public class CriticAndTrainerTests
{
    [Fact]
    public void ConcatCriticEqualsNaiveConcatenation()
    {
        var rng = new Rng(1);
        var critic = new ConcatCritic(3, 4, rng, hidden: 16, layers: 2);
        var x = Tensor.RandomNormal(rng, [6, 3]);
        var y = Tensor.RandomNormal(rng, [6, 4]);
        var fast = critic.Scores(x, y);
        var naive = critic.NaiveScores(x, y);
        for (int i = 0; i < fast.Size; i++) Assert.True(Math.Abs(fast[i] - naive[i]) < 1e-5, $"entry {i}: {fast[i]} vs {naive[i]}");
        // Orientation: S[i, j] = f(x_j, y_i).
        var single = critic.Network.Forward(Tensor.Concat(1, x.Slice(0, 2, 1), y.Slice(0, 4, 1)));
        Assert.True(Math.Abs(single.Item() - fast[4, 2]) < 1e-5);
    }

    [Fact]
    public void ConcatCriticGradientsMatchNaive()
    {
        var rng = new Rng(2);
        var critic = new ConcatCritic(2, 2, rng, hidden: 8, layers: 2);
        var x = Tensor.RandomNormal(rng, [4, 2]);
        var y = Tensor.RandomNormal(rng, [4, 2]);
        critic.ZeroGrad();
        critic.Scores(x, y).Square().Sum().Backward();
        var fast = critic.Parameters().Select(p => p.Grad!.ToArray()).ToArray();
        critic.ZeroGrad();
        critic.NaiveScores(x, y).Square().Sum().Backward();
        var naive = critic.Parameters().Select(p => p.Grad!.ToArray()).ToArray();
        for (int p = 0; p < fast.Length; p++)
            for (int i = 0; i < fast[p].Length; i++)
                Assert.True(Math.Abs(fast[p][i] - naive[p][i]) < 1e-4 * (1 + Math.Abs(naive[p][i])), $"param {p}[{i}]: {fast[p][i]} vs {naive[p][i]}");
    }

    [Fact]
    public void SeparableCriticHasRowsIndexedByY()
    {
        var rng = new Rng(3);
        var critic = new SeparableCritic(2, 3, rng, hidden: 8, embed: 4);
        var x = Tensor.RandomNormal(rng, [5, 2]);
        var y = Tensor.RandomNormal(rng, [5, 3]);
        var s = critic.Scores(x, y);
        var g = critic.G.Forward(x); var h = critic.H.Forward(y);
        double expected = 0;
        for (int d = 0; d < 4; d++) expected += h[1, d] * g[3, d];
        Assert.True(Math.Abs(expected - s[1, 3]) < 1e-5);
    }

    [Fact]
    public void BadBatchesAreRejectedWithClearMessages()
    {
        var rng = new Rng(4);
        Assert.Contains("different numbers of samples", Assert.Throws<ArgumentException>(() => new Batch(Tensor.Zeros(4, 2), Tensor.Zeros(5, 2))).Message);
        Assert.Contains("at least 2 pairs", Assert.Throws<ArgumentException>(() => new Batch(Tensor.Zeros(1, 2), Tensor.Zeros(1, 2))).Message);
        var x = Tensor.Zeros(4, 2); x[1, 1] = float.NaN;
        Assert.Contains("NaN", Assert.Throws<ArgumentException>(() => new Batch(x, Tensor.Zeros(4, 2))).Message);
        var critic = new SeparableCritic(2, 2, rng, hidden: 4, embed: 2);
        var wrong = new Batch(Tensor.Zeros(4, 3), Tensor.Zeros(4, 2));
        Assert.Contains("X has 3 columns but the critic expects 2", Assert.Throws<ArgumentException>(() => new InfoNce(critic).Estimate(wrong)).Message);
    }

    private sealed class ExplodingCritic : ICritic
    {
        private readonly Tensor _w = Tensor.Parameter(Tensor.Full(1f, 1), "w");
        public int Calls;
        public Tensor Scores(Tensor x, Tensor y) => Tensor.Zeros(x.Dim(0), x.Dim(0)) + (Calls++ < 2 ? _w : _w * float.PositiveInfinity);
        public IEnumerable<Tensor> Parameters() => [_w];
    }

    [Fact]
    public void TrainerStopsOnNonFiniteObjectiveNamingTheStep()
    {
        var rng = new Rng(5);
        var trainer = new MiTrainer(new Nwj(new ExplodingCritic()));
        var ex = Assert.Throws<NonFiniteObjectiveException>(() => trainer.Fit(() => TestData.Gaussian(4, 2, 0.5, rng), 10));
        Assert.Equal(2, ex.Step);
        Assert.Contains("step 2", ex.Message);
    }

    [Fact]
    public void TrainingRaisesTheEstimateTowardsTheTruth()
    {
        // 2-dim Gaussian with I = 1 nat; a small separable critic trained with InfoNCE climbs from ~0.
        const int dim = 2;
        double rho = TestData.RhoForMi(dim, 1.0);
        var rng = new Rng(6);
        var bound = new InfoNce(new SeparableCritic(dim, dim, rng, hidden: 32, embed: 8));
        var trainer = new MiTrainer(bound, 2e-3f);
        var estimates = trainer.Fit(() => TestData.Gaussian(32, dim, rho, rng), 300);
        double early = estimates.Take(20).Average(), late = estimates.Skip(250).Average();
        Assert.True(late > early + 0.4 && late < 1.2, $"estimate went from {early} to {late} (truth 1.0)");
    }

    [Fact]
    public void FitDatasetTrainsOnShuffledMinibatches()
    {
        var rng = new Rng(7);
        var data = TestData.Gaussian(200, 2, 0.9, rng);
        var bound = new JensenShannon(new ConcatCritic(2, 2, rng, hidden: 16));
        var trainer = new MiTrainer(bound, 2e-3f);
        var estimates = trainer.FitDataset(data.X, data.Y, 50, 3, rng);
        Assert.Equal(12, estimates.Count);
        Assert.Equal(12, trainer.StepCount);
    }
}
