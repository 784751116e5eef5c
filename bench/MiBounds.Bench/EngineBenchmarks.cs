using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using MiBounds.Tensors;
using MiBounds.Tensors.Nn;
using MiBounds.Tensors.Optim;

namespace MiBounds.Bench;

/// <summary>
/// One training step of the toy critic's tower: forward, backward and an Adam update of a 20→256→256→32 ReLU MLP at
/// batch 64 (MSE against a fixed target), on 2 threads. Run:
/// `dotnet run -c Release --project bench/MiBounds.Bench -- --filter '*EngineBenchmarks*'`; the Allocated column is the
/// managed memory of one step in steady state.
/// </summary>
[MemoryDiagnoser]
public class EngineBenchmarks
{
    private EngineStep _step = null!;
    private IDisposable? _limit;

    /// <summary>Threads for the kernels (Engine.LimitThreads).</summary>
    [Params(2)]
    public int Threads { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _limit = Engine.LimitThreads(Threads);
        _step = new EngineStep();
        for (int i = 0; i < 50; i++) _step.Run();
    }

    [GlobalCleanup]
    public void Cleanup() => _limit?.Dispose();

    /// <summary>Forward + backward + Adam on the 20→256→256→32 MLP, batch 64.</summary>
    [Benchmark(Baseline = true)]
    public float MlpStep() => _step.Run();

    /// <summary>The same step inside a <see cref="TensorWorkspace"/> scope (op results from a pool).</summary>
    [Benchmark]
    public float MlpStepWorkspace() => _step.RunInWorkspace();

    /// <summary>Forward only, under NoGrad (what evaluation costs).</summary>
    [Benchmark]
    public float MlpForwardNoGrad() => _step.ForwardNoGrad();
}

/// <summary>The workload shared by <see cref="EngineBenchmarks"/> and the `engine-step` command.</summary>
internal sealed class EngineStep
{
    public const int Batch = 64, In = 20, Hidden = 256, Out = 32;
    private readonly Mlp _mlp;
    private readonly Adam _adam;
    private readonly Tensor _x, _y;
    private readonly TensorWorkspace _workspace = new();

    public EngineStep(ulong seed = 0)
    {
        var rng = new Rng(seed);
        _mlp = new Mlp(In, Hidden, Out, 2, rng);
        _adam = new Adam(_mlp.Parameters(), 1e-3f);
        _x = Tensor.RandomNormal(rng, [Batch, In]);
        _y = Tensor.RandomNormal(rng, [Batch, Out]);
    }

    /// <summary>One step; returns the loss.</summary>
    public float Run()
    {
        _adam.ZeroGrad();
        var loss = (_mlp.Forward(_x) - _y).Square().Mean();
        loss.Backward();
        _adam.Step();
        return loss.Item();
    }

    /// <summary>One step with every op result pooled in a workspace; returns the loss.</summary>
    public float RunInWorkspace()
    {
        using (_workspace.Enter()) return Run();
    }

    public float ForwardNoGrad()
    {
        using var _ = Tensor.NoGrad();
        return _mlp.Forward(_x)[0];
    }
}

internal static class EngineCommandList
{
    public static IEnumerable<System.CommandLine.Command> Create() =>
    [
        BenchCommands.PassThrough("engine-step", "time and managed bytes per MLP 20→256→256→32 training step at batch 64 [--threads 2] [--steps 2000] [--repeats 5] [--workspace]", EngineCommands.Step),
    ];
}

internal static class EngineCommands
{
    private static int Option(string[] args, string name, int fallback)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], System.Globalization.CultureInfo.InvariantCulture) : fallback;
    }

    public static int Step(string[] args)
    {
        int threads = Option(args, "--threads", 2), steps = Option(args, "--steps", 2000), repeats = Option(args, "--repeats", 5);
        using var _ = Engine.LimitThreads(threads);
        bool pooled = args.Contains("--workspace");
        var step = new EngineStep();
        Func<float> run = pooled ? step.RunInWorkspace : step.Run;
        for (int i = 0; i < 300; i++) run(); // JIT tiers, pools and optimizer state warm up
        Console.WriteLine($"MLP {EngineStep.In}→{EngineStep.Hidden}→{EngineStep.Hidden}→{EngineStep.Out}, batch {EngineStep.Batch}, forward+backward+Adam{(pooled ? " in a TensorWorkspace" : "")}, {threads} threads, {steps} steps × {repeats}");
        var us = new List<double>();
        for (int r = 0; r < repeats; r++)
        {
            int gen0 = GC.CollectionCount(0);
            long bytes = GC.GetTotalAllocatedBytes(precise: true);
            var sw = Stopwatch.StartNew();
            for (int i = 0; i < steps; i++) run();
            sw.Stop();
            long alloc = GC.GetTotalAllocatedBytes(precise: true) - bytes;
            double perStep = sw.Elapsed.TotalMicroseconds / steps;
            us.Add(perStep);
            Console.WriteLine($"  repeat {r}: {perStep,8:F1} µs/step  {(double)alloc / steps,10:F0} B/step  gen0 GCs {GC.CollectionCount(0) - gen0}");
        }
        us.Sort();
        Console.WriteLine($"median {us[us.Count / 2]:F1} µs/step ({1e6 / us[us.Count / 2]:F0} steps/s)");
        return 0;
    }
}
