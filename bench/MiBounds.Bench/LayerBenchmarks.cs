using BenchmarkDotNet.Attributes;
using MiBounds.Tensors;

namespace MiBounds.Bench;

/// <summary>
/// The image models' per-layer kernels (conv, batch-norm and linear layers forward + backward at their shapes, Adam and
/// Polyak averaging over VIB's and DIM's parameter counts, DIM's batched local bound) at 1 and 2 threads, with
/// allocations per call: the same cases as the `kernels` command (<see cref="KernelCommands.Cases"/>).
/// Run: dotnet run -c Release --project bench/MiBounds.Bench -- --filter '*LayerBenchmarks*'
/// </summary>
[MemoryDiagnoser]
[ShortRunJob]
public class LayerBenchmarks
{
    private Action? _call;

    /// <summary>The kernel, named as `kernels` prints it.</summary>
    [ParamsSource(nameof(Names))]
    public string Kernel { get; set; } = "";

    /// <summary>Kernel threads.</summary>
    [Params(1, 2)]
    public int Threads { get; set; } = 1;

    /// <summary>Every case name.</summary>
    public static IEnumerable<string> Names() => KernelCommands.Cases().Select(c => c.Name);

    /// <summary>Builds the case's tensors and warms it up.</summary>
    [GlobalSetup]
    public void Setup()
    {
        Engine.MaxThreads = Threads;
        _call = KernelCommands.Cases().First(c => c.Name == Kernel).Call;
        for (int i = 0; i < 3; i++) _call();
    }

    /// <summary>One forward + backward (or one optimizer update).</summary>
    [Benchmark]
    public void Call() => _call!();
}

/// <summary>
/// One training step of each image model as its trainer runs it, in a workspace (<see cref="ModelWorkload"/>), at 1 and 2
/// threads, with allocations per step. Run: dotnet run -c Release --project bench/MiBounds.Bench -- --filter '*ModelStepBenchmarks*'
/// </summary>
[MemoryDiagnoser]
[ShortRunJob]
public class ModelStepBenchmarks
{
    private ModelWorkload? _workload;

    /// <summary>The model (names as the `models` command takes them).</summary>
    [Params("vib", "dim-local-js", "hyp-dv", "cnn")]
    public string Model { get; set; } = "vib";

    /// <summary>Kernel threads.</summary>
    [Params(1, 2)]
    public int Threads { get; set; } = 1;

    /// <summary>Builds the model and its batches.</summary>
    [GlobalSetup]
    public void Setup()
    {
        Engine.MaxThreads = Threads;
        _workload = ModelWorkload.Create(Model);
        for (int i = 0; i < 5; i++) _workload.Step();
    }

    /// <summary>One training step.</summary>
    [Benchmark]
    public void Step() => _workload!.Step();
}
