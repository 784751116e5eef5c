using MiBounds.Bounds;
using MiBounds.Critics;
using MiBounds.Estimation;
using MiBounds.Tensors;
using MiBounds.Tensors.Nn;

namespace MiBounds.Tests;

/// <summary>A user's own critic through <see cref="EstimationOptions.CriticFactory"/>, and evaluation mode for critics with dropout and batch-norm.</summary>
public class CustomCriticEstimationTests
{
    /// <summary>
    /// A separable critic with batch-norm and dropout in each tower; records, for every call, whether gradients were
    /// recorded and whether its modules were in training mode.
    /// </summary>
    internal sealed class NoisyCritic : Module, ICritic
    {
        private readonly Sequential _g, _h;
        public List<(bool Grad, bool Training)> Calls { get; } = [];

        public NoisyCritic(int dimX, int dimY, Rng rng, int hidden = 32)
        {
            _g = RegisterModule("g", Tower(dimX, hidden, rng));
            _h = RegisterModule("h", Tower(dimY, hidden, rng));
        }

        private static Sequential Tower(int d, int hidden, Rng rng) => new Sequential()
            .Add(new Linear(d, hidden, rng)).Add(new BatchNorm(hidden)).Add(t => t.Relu()).Add(new Dropout(0.3f, rng)).Add(new Linear(hidden, 16, rng));

        public Tensor Scores(Tensor x, Tensor y)
        {
            Calls.Add((Tensor.GradEnabled, _g.Training));
            return Tensor.MatMul(_h.Forward(y), _g.Forward(x), transB: true);
        }
    }

    [Fact]
    public void EstimateScoresADropoutBatchNormCriticInEvaluationMode()
    {
        var rng = new Rng(3);
        var critic = new NoisyCritic(2, 2, rng);
        var bound = new InfoNce(critic);
        var batch = TestData.Gaussian(32, 2, 0.8, rng);
        critic.Train();
        double first = bound.Estimate(batch), second = bound.Estimate(batch);
        Assert.Equal(first, second); // dropout off: the same value twice
        Assert.All(critic.Calls, c => Assert.False(c.Training));
        Assert.True(critic.Calls.Count == 2);
        Assert.True(critic.Training, "Estimate puts the critic back in the mode it found it in");
        // In training mode the same batch scores differently (dropout), which is what Estimate must avoid.
        using (Tensor.NoGrad())
            Assert.NotEqual(bound.Forward(batch, training: false).Value.Item(), bound.Forward(batch, training: false).Value.Item());
    }

    [Fact]
    public void ACustomCriticGetsTheHeldOutSplitEarlyStoppingAndEvaluationMode()
    {
        var (x, y, mi) = EstimationKsgTests.Correlated(1200, 2, 0.8, seed: 31);
        NoisyCritic? made = null;
        var options = new EstimationOptions
        {
            Estimator = "infonce", BatchSize = 64, Steps = 400, LearningRate = 2e-3f, Seed = 5,
            CriticFactory = (dx, dy, rng) => made = new NoisyCritic(dx, dy, rng),
        };
        var r = MiEstimation.Estimate(x, y, options);
        Assert.NotNull(made);
        // Training steps ran in training mode with gradients; every held-out or training-split score ran in evaluation mode without.
        Assert.Contains(made!.Calls, c => c.Grad && c.Training);
        Assert.All(made.Calls, c => Assert.Equal(c.Grad, c.Training));
        Assert.Contains(made.Calls, c => !c.Grad);
        Assert.Equal(600, r.Folds[0].TrainRows);
        Assert.True(double.IsFinite(r.StderrNats) && r.StderrNats > 0, "a bootstrap standard error over held-out batches");
        Assert.InRange(r.EstimateNats, 0.3 * mi, Math.Min(mi, Math.Log(64)) + 3 * r.StderrNats);
        // The same seed and factory give the same estimate (the factory's generator is the run's).
        var again = MiEstimation.Estimate(x, y, options with { CriticFactory = (dx, dy, rng) => new NoisyCritic(dx, dy, rng) });
        Assert.Equal(r.EstimateNats, again.EstimateNats);
    }

    [Fact]
    public void ACriticFactoryWithKsgOrAnUpperBoundIsRefused()
    {
        var (x, y, _) = EstimationKsgTests.Correlated(100, 2, 0.5, seed: 2);
        var options = new EstimationOptions { Estimator = "club", Steps = 5, CriticFactory = (dx, dy, rng) => new NoisyCritic(dx, dy, rng) };
        Assert.Contains("takes no critic", Assert.Throws<ArgumentException>(() => MiEstimation.Estimate(x, y, options)).Message);
    }
}
