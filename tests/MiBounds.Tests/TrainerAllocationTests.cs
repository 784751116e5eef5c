using MiBounds.Bounds;
using MiBounds.Critics;
using MiBounds.Tensors;
using MiBounds.Tensors.Nn;
using MiBounds.Training;
using MiBounds.TestSupport;

namespace MiBounds.Tests;

/// <summary>
/// A warm <see cref="MiTrainer.Step"/> runs in a pooled workspace and allocates (almost) no managed memory, so long
/// runs never start the GC. Byte counts of the calling thread are deterministic, so the thresholds are not timings.
/// </summary>
[Collection(AllocationMeasurements.Name)]
public class TrainerAllocationTests
{
    private const int K = 16, Dim = 3;

    /// <summary>A separable critic from the plain (unfused) engine ops: Linear, ReLU, MatMul.</summary>
    private sealed class PlainSeparableCritic(Rng rng) : ICritic
    {
        private readonly Mlp _g = new(Dim, 16, 8, 1, rng), _h = new(Dim, 16, 8, 1, rng);

        public Tensor Scores(Tensor x, Tensor y) => Tensor.MatMul(_h.Forward(y), _g.Forward(x), transB: true);

        public IEnumerable<Tensor> Parameters() => _g.Parameters().Concat(_h.Parameters());
    }

    private sealed class PlainBaseline(Rng rng) : IBaseline
    {
        private readonly Mlp _net = new(Dim, 16, 1, 1, rng);

        public Tensor LogBaseline(Tensor y) => _net.Forward(y).Reshape(y.Dim(0));

        public IEnumerable<Tensor> Parameters() => _net.Parameters();
    }

    private static Batch[] Batches(Rng rng)
    {
        var batches = new Batch[4];
        for (int i = 0; i < batches.Length; i++)
        {
            var x = Tensor.RandomNormal(rng, [K, Dim]);
            var y = x + Tensor.RandomNormal(rng, [K, Dim], std: 0.5f);
            batches[i] = new Batch(x, y);
        }
        return batches;
    }

    /// <summary>Bytes the calling thread allocates per warm step (after 10 warm-up steps, over 50).</summary>
    private static long BytesPerStep(MiTrainer trainer, Batch[] batches)
    {
        using var _ = Engine.LimitThreads(1); // kernels on this thread only: its byte count is the whole step's
        for (int i = 0; i < 10; i++) trainer.Step(batches[i % batches.Length]);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 50; i++) trainer.Step(batches[i % batches.Length]);
        return (GC.GetAllocatedBytesForCurrentThread() - before) / 50;
    }

    [Theory]
    [InlineData("nwj")]
    [InlineData("tuba")]
    [InlineData("infonce")]
    [InlineData("js")]
    [InlineData("alpha0.5")]
    public void AWarmStepOfEveryToyBoundAllocatesAlmostNothing(string bound)
    {
        var rng = new Rng(21);
        var spec = BoundSpec.Parse(bound);
        var critic = new PlainSeparableCritic(rng);
        var trainer = new MiTrainer(spec.Create(critic, spec.UsesBaseline ? new PlainBaseline(rng) : null), 1e-3f);
        long perStep = BytesPerStep(trainer, Batches(rng));
        // Before the pooled tensor objects and closure-free ops this was several KB per step.
        Assert.True(perStep < 128, $"{bound}: a warm step allocated {perStep} B");
    }

    [Theory]
    [InlineData("separable", "nwj")]
    [InlineData("separable", "alpha0.5")]
    [InlineData("concat", "infonce")]
    [InlineData("concat", "tuba")]
    public void AWarmStepWithTheFusedToyCriticsAllocatesLittle(string critic, string bound)
    {
        var rng = new Rng(22);
        var spec = BoundSpec.Parse(bound);
        ICritic c = critic == "concat" ? new ConcatCritic(Dim, Dim, rng, hidden: 16) : new SeparableCritic(Dim, Dim, rng, hidden: 16, embed: 8);
        var trainer = new MiTrainer(spec.Create(c, spec.UsesBaseline ? new LearnedBaseline(Dim, rng, hidden: 16) : null), 1e-3f);
        long perStep = BytesPerStep(trainer, Batches(rng));
        // The fused ops keep their state in pooled op objects and record through pooled nodes.
        Assert.True(perStep < 128, $"{critic}/{bound}: a warm step allocated {perStep} B");
    }
}
