using MiBounds.Tensors;
using MiBounds.Vib.Data;
using MiBounds.Vib.Hypothesis;
using MiBounds.Vib.Models;
using MiBounds.Vib.Training;
using MiBounds.TestSupport;

namespace MiBounds.Vib.Tests;

/// <summary>A warm training step of each image model allocates nothing on the stepping thread (issue: 0 B per step).</summary>
[Collection(AllocationMeasurements.Name)]
public class StepAllocationTests
{
    // This thread's allocations per step, the least of three windows of ten (a pool may grow once in the first).
    private static long WarmBytesPerStep(Func<int[], double> step, int rows, int batch)
    {
        var rng = new Rng(3);
        int[] Batch() { var r = new int[batch]; for (int i = 0; i < batch; i++) r[i] = rng.NextInt(rows); return r; }
        var batches = Enumerable.Range(0, 5).Select(_ => Batch()).ToArray();
        for (int i = 0; i < 5; i++) step(batches[i]);
        long perStep = long.MaxValue;
        for (int w = 0; w < 3; w++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 10; i++) step(batches[i % batches.Length]);
            perStep = Math.Min(perStep, (GC.GetAllocatedBytesForCurrentThread() - before) / 10);
        }
        return perStep;
    }

    [Theory]
    [InlineData("dv", 1)]
    [InlineData("js", 2)]
    [InlineData("cnn", 1)]
    [InlineData("dv", 1, 1.0)] // with the information-elimination regularizer
    public void AWarmHypothesisStepAllocatesNothing(string objective, int threads, double lambda = 0)
    {
        using var limit = Engine.LimitThreads(threads);
        var train = Synthetic.Dataset(60, side: 12, classes: 3, seed: 1);
        var trainer = new HypothesisTrainer(new HypothesisConfig { Objective = objective, Lambda = lambda, BatchSize = 20, Epochs = 1, LearningRate = 1e-4 }, train);
        long bytes = WarmBytesPerStep(trainer.StepOnRows, 60, 20);
        Assert.True(bytes == 0, $"{objective} (λ = {lambda}): a warm step allocated {bytes} B");
    }

    [Theory]
    [InlineData(ModelKind.Vib, EncoderKind.Mlp)]
    [InlineData(ModelKind.Vim, EncoderKind.Mlp)]
    [InlineData(ModelKind.Deterministic, EncoderKind.Mlp)]
    [InlineData(ModelKind.Vib, EncoderKind.Conv)]
    public void AWarmVibStepAllocatesNothing(ModelKind kind, EncoderKind encoder)
    {
        using var limit = Engine.LimitThreads(1);
        var data = new ImageData(Synthetic.Dataset(60, side: 8, seed: 1), Synthetic.Dataset(20, side: 8, seed: 2), "synthetic");
        var trainer = new VibTrainer(new TrainConfig { Kind = kind, Encoder = encoder, Bottleneck = 4, Hidden = 32, BatchSize = 20, Epochs = 1, TrainEvalCount = 0 }, data);
        long bytes = WarmBytesPerStep(trainer.StepOnRows, 60, 20);
        Assert.True(bytes == 0, $"{kind} ({encoder}): a warm step allocated {bytes} B");
    }
}
