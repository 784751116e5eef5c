using MiBounds.Bounds;
using MiBounds.Critics;
using MiBounds.Tensors;
using MiBounds.Tensors.Nn;
using MiBounds.Toy.Tasks;
using MiBounds.Tensors.Optim;
using MiBounds.Training;

namespace MiBounds.Bench;

/// <summary>
/// One toy training step (critic forward, bound, backward, Adam) exactly as the sweep runs it (<see cref="MiTrainer.Step"/>),
/// with the toy-default sizes: separable 20→256→256→32 twice, concat 40→256→256→1, learned baseline 20→512→512→1 for
/// tuba and alpha. Batches are drawn up front from the correlated Gaussian (2 nats) and cycled, so a step measures the
/// training work only (the same holds for bench/torch_steps.py). MiTrainer runs each step in its own TensorWorkspace.
/// </summary>
internal sealed class StepWorkload
{
    public static readonly string[] AllCritics = ["separable", "concat"];
    public static readonly string[] AllBounds = ["nwj", "tuba", "infonce", "js", "alpha0.5"];
    public const int Dim = 20;
    private const int BatchPool = 8;

    private readonly MiTrainer _trainer;
    private readonly Batch[] _batches;
    private int _next;

    public string Critic { get; }
    public string Bound { get; }
    public int BatchSize { get; }

    public StepWorkload(string critic, string bound, int batchSize, ulong seed = 0)
    {
        Critic = critic; Bound = bound; BatchSize = batchSize;
        var (b, batches) = Build(critic, bound, batchSize, seed);
        _trainer = new MiTrainer(b, 5e-4f);
        _batches = batches;
    }

    /// <summary>The bound (critic, learned baseline for tuba/alpha) and a pool of 2-nat batches, all from one seeded RNG.</summary>
    internal static (MiBound Bound, Batch[] Batches) Build(string critic, string bound, int batchSize, ulong seed)
    {
        var rng = new Rng(seed);
        ICritic c = critic switch
        {
            "concat" => new ConcatCritic(Dim, Dim, rng),
            "separable" => new SeparableCritic(Dim, Dim, rng),
            _ => throw new ArgumentException($"unknown critic '{critic}' (separable, concat)"),
        };
        var spec = BoundSpec.Parse(bound);
        IBaseline? baseline = spec.UsesBaseline ? new LearnedBaseline(Dim, rng) : null;
        var task = CorrelatedGaussian.FromMi(Dim, 2.0);
        var batches = new Batch[BatchPool];
        for (int i = 0; i < BatchPool; i++) batches[i] = task.Sample(batchSize, rng);
        return (spec.Create(c, baseline), batches);
    }

    public string Cell => $"{Critic}/{Bound}/K{BatchSize}";

    /// <summary>One training step; returns the batch estimate before the update.</summary>
    public double Step()
    {
        var batch = _batches[_next];
        _next = (_next + 1) % _batches.Length;
        return _trainer.Step(batch);
    }
}

/// <summary>Where a training step's time goes: the phases of <see cref="MiTrainer.Step"/> timed separately.</summary>
internal sealed class StepPhases
{
    private readonly MiBound _bound;
    private readonly Adam _optimizer;
    private readonly Batch[] _batches;
    private readonly TensorWorkspace _workspace = new();
    private int _next;
    /// <summary>Accumulated ticks: critic scores, baseline, bound, backward, Adam.</summary>
    public readonly long[] Ticks = new long[5];
    public static readonly string[] Names = ["critic forward", "baseline forward", "bound", "backward", "adam"];

    public StepPhases(string critic, string bound, int batchSize, ulong seed = 0)
    {
        (_bound, _batches) = StepWorkload.Build(critic, bound, batchSize, seed);
        _optimizer = new Adam(_bound.Parameters(), 5e-4f);
    }

    public void Step()
    {
        var batch = _batches[_next];
        _next = (_next + 1) % _batches.Length;
        using var scope = _workspace.Enter(); // as MiTrainer.Step does
        long t0 = System.Diagnostics.Stopwatch.GetTimestamp();
        _optimizer.ZeroGrad();
        var scores = _bound.Critic!.Scores(batch.X, batch.Y);
        long t1 = System.Diagnostics.Stopwatch.GetTimestamp();
        var logBaseline = _bound.Baseline?.LogBaseline(batch.Y);
        long t2 = System.Diagnostics.Stopwatch.GetTimestamp();
        var output = _bound.FromScores(scores, logBaseline, PositiveMask.Diagonal(batch.Size), training: true);
        _ = output.Value.Item();
        long t3 = System.Diagnostics.Stopwatch.GetTimestamp();
        output.Objective.Neg().Backward();
        long t4 = System.Diagnostics.Stopwatch.GetTimestamp();
        _optimizer.Step();
        long t5 = System.Diagnostics.Stopwatch.GetTimestamp();
        Ticks[0] += t1 - t0; Ticks[1] += t2 - t1; Ticks[2] += t3 - t2; Ticks[3] += t4 - t3; Ticks[4] += t5 - t4;
    }
}
