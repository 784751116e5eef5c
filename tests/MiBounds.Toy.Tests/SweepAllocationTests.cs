using MiBounds.TestSupport;
using MiBounds.Toy.Sweep;

namespace MiBounds.Toy.Tests;

/// <summary>A warm sweep step allocates only its fresh sample.</summary>
[Collection(AllocationMeasurements.Name)]
public sealed class SweepAllocationTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "mib-toy-alloc-" + Guid.NewGuid().ToString("N"));

    public SweepAllocationTests() => Directory.CreateDirectory(_root);

    public void Dispose()
    {
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
    }

    [Theory]
    [InlineData("concat", "nwj")]
    [InlineData("separable", "infonce")]
    [InlineData("separable", "mine")]
    [InlineData("separable", "alpha0.5")]
    public void AWarmSweepStepAllocatesOnlyItsSample(string critic, string estimator)
    {
        string dir = Path.Combine(_root, critic + "-" + estimator);
        var config = new SweepConfig { Tasks = ["gaussian"], Critics = [critic], Estimators = [estimator], Dim = 2, Batch = 8, StepsPerLevel = 300, Levels = [1] };
        // Allocation counts at steps 50, 100, …, 250: the steady state is the cheapest of the four 50-step windows, so a
        // one-time allocation (the JIT promoting a method mid-run, seen as 16 KB once in 200 steps) cannot fail the test.
        var marks = new List<long>();
        var execution = new SweepExecution
        {
            Parallel = 1, CheckpointEvery = 1000, // only the final checkpoint, after the measured steps
            AfterStep = (_, step) => { if (step >= 50 && step <= 250 && step % 50 == 0) marks.Add(GC.GetAllocatedBytesForCurrentThread()); },
        };
        Assert.True(SweepRunner.Run(config, dir, execution, TextWriter.Null, CancellationToken.None).Complete);
        Assert.Equal(5, marks.Count);
        long perStep = Enumerable.Range(0, 4).Min(w => marks[w + 1] - marks[w]) / 50;

        // What the task's fresh sample alone allocates (two new 8×2 tensors and their Batch): the rest of the step, the
        // CSV row included (formatted without allocating), should add nothing.
        var task = Tasks.TaskRegistry.Get("gaussian").Create(2, 1);
        var rng = new Tensors.Rng(1);
        for (int i = 0; i < 10; i++) task.Sample(8, rng);
        long start = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 200; i++) task.Sample(8, rng);
        long sample = (GC.GetAllocatedBytesForCurrentThread() - start) / 200;
        Assert.True(perStep - sample < 64, $"{critic}/{estimator}: a warm sweep step allocated {perStep} B, its sample {sample} B");
    }
}
