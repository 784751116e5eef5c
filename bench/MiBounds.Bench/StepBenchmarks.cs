using BenchmarkDotNet.Attributes;
using MiBounds.Tensors;

namespace MiBounds.Bench;

/// <summary>
/// One toy training step (critic forward, bound, backward, Adam) per critic × bound × batch, with allocations per step.
/// Run: dotnet run -c Release --project bench/MiBounds.Bench -- --filter '*StepBenchmarks*'
/// </summary>
[MemoryDiagnoser]
[ShortRunJob]
public class StepBenchmarks
{
    private StepWorkload? _workload;

    /// <summary>separable or concat.</summary>
    [Params("separable", "concat")]
    public string Critic { get; set; } = "separable";

    /// <summary>The bound, as named on the command line.</summary>
    [Params("nwj", "tuba", "infonce", "js", "alpha0.5")]
    public string Bound { get; set; } = "nwj";

    /// <summary>Batch size K.</summary>
    [Params(64, 128)]
    public int Batch { get; set; } = 64;

    /// <summary>Kernel threads (2 = one run using the whole machine).</summary>
    [Params(2)]
    public int Threads { get; set; } = 2;

    /// <summary>Builds the model and draws the batches.</summary>
    [GlobalSetup]
    public void Setup()
    {
        Engine.MaxThreads = Threads;
        _workload = new StepWorkload(Critic, Bound, Batch);
        for (int i = 0; i < 5; i++) _workload.Step();
    }

    /// <summary>One training step.</summary>
    [Benchmark]
    public double Step() => _workload!.Step();
}
