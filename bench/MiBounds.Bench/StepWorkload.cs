using MiBounds.Bounds;
using MiBounds.Critics;
using MiBounds.Tensors;
using MiBounds.Toy.Tasks;
using MiBounds.Training;

namespace MiBounds.Bench;

/// <summary>
/// One toy training step (critic forward, bound, backward, Adam) exactly as the sweep runs it (<see cref="MiTrainer.Step"/>),
/// with the toy-default sizes: separable 20→256→256→32 twice, concat 40→256→256→1, learned baseline 20→512→512→1 for
/// tuba and alpha. Batches are drawn up front from the correlated Gaussian (2 nats) and cycled, so a step measures the
/// training work only (the same holds for bench/torch_steps.py).
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
        var rng = new Rng(seed);
        ICritic c = critic switch
        {
            "concat" => new ConcatCritic(Dim, Dim, rng),
            "separable" => new SeparableCritic(Dim, Dim, rng),
            _ => throw new ArgumentException($"unknown critic '{critic}' (separable, concat)"),
        };
        var spec = BoundSpec.Parse(bound);
        IBaseline? baseline = spec.UsesBaseline ? new LearnedBaseline(Dim, rng) : null;
        _trainer = new MiTrainer(spec.Create(c, baseline), 5e-4f);
        var task = CorrelatedGaussian.FromMi(Dim, 2.0);
        _batches = new Batch[BatchPool];
        for (int i = 0; i < BatchPool; i++) _batches[i] = task.Sample(batchSize, rng);
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
