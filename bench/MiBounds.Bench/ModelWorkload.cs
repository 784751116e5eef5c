using MiBounds.Tensors;
using MiBounds.Vib.Data;
using MiBounds.Vib.Dim;
using MiBounds.Vib.Hypothesis;
using MiBounds.Vib.Models;
using MiBounds.Vib.Training;

namespace MiBounds.Bench;

/// <summary>
/// One training step of an image model as its trainer runs it (the trainers' StepOnRows: the training loop's own step),
/// inside a <see cref="TensorWorkspace"/>, on a fixed pool of batches gathered up front so a
/// step measures the training work only. Images come from Fashion-MNIST when it is installed, else from a seeded
/// synthetic set of the same shape (the cost of a step does not depend on the pixel values).
/// </summary>
internal sealed class ModelWorkload
{
    /// <summary>
    /// Every model the issue names: VIB kinds (K = 256, batch 100), DIM modes × bounds (batch 64), hypothesis models (batch
    /// 100). "vib" is the peer's work (no weight averaging); "vib-averaged" adds the Polyak averaging the trainers use.
    /// </summary>
    public static readonly string[] All =
    [
        "vib", "vib-averaged", "vim", "dropout", "deterministic",
        "dim-local-js", "dim-local-infonce", "dim-local-dv", "dim-global-js", "dim-global-infonce", "dim-global-dv",
        "dim-both-js", "dim-both-infonce", "dim-both-dv",
        "hyp-dv", "hyp-js", "hyp-dv-ie", "hyp-js-ie", "cnn",
    ];

    /// <summary>The three rows of the issue's table.</summary>
    public static readonly string[] Headline = ["vib", "dim-local-js", "hyp-dv"];

    private const int BatchPool = 8;
    private readonly Action<int> _step;
    private readonly TensorWorkspace _workspace = new();
    private int _next;

    public string Name { get; }
    public int BatchSize { get; }

    /// <summary>
    /// The peer script (torch_vib.py, torch_dim.py, torch_hypothesis.py) and its arguments for the same work, or null
    /// where no peer runs it; <see cref="PeerSteps"/> is the step count the peer runs when it takes no --steps.
    /// </summary>
    public (string Script, string[] Args)? Peer { get; }

    /// <summary>Steps the peer always runs (torch_vib.py: one epoch of 600), or 0 when it takes --steps.</summary>
    public int PeerSteps { get; }

    private ModelWorkload(string name, int batch, Action<int> step, (string, string[])? peer, int peerSteps = 0)
    {
        Name = name; BatchSize = batch; _step = step; Peer = peer; PeerSteps = peerSteps;
    }

    /// <summary>One training step (the next batch of the pool) in the workload's workspace.</summary>
    public void Step()
    {
        int b = _next;
        _next = (_next + 1) % BatchPool;
        using var scope = _workspace.Enter();
        _step(b);
    }

    private static ImageDataset? _cached;

    /// <summary>Fashion-MNIST's training split when installed (or at <paramref name="directory"/>), else 2000 synthetic 28×28 images.</summary>
    public static ImageDataset TrainingImages(string? directory)
    {
        if (_cached is not null) return _cached;
        try
        {
            _cached = ImageData.Load(directory).Train;
        }
        catch (Exception e) when (e is DataException or IOException)
        {
            var rng = new Rng(5);
            const int count = 2000;
            var pixels = new byte[count * 784];
            var labels = new byte[count];
            for (int i = 0; i < pixels.Length; i++) pixels[i] = (byte)(rng.NextDouble() * 256);
            for (int i = 0; i < count; i++) labels[i] = (byte)(i % 10);
            _cached = ImageDataset.FromIdx(new IdxArray([count, 28, 28], pixels), new IdxArray([count], labels), "synthetic images", "synthetic labels");
        }
        return _cached;
    }

    // Fixed batches of training rows, so every step measures the training work only.
    private static int[][] Batches(ImageDataset train, int batch) =>
        Enumerable.Range(0, BatchPool).Select(b => Enumerable.Range(b * batch, batch).Select(i => i % train.Count).ToArray()).ToArray();

    public static ModelWorkload Create(string name, string? dataDirectory = null)
    {
        var train = TrainingImages(dataDirectory);
        switch (name)
        {
            case "vib" or "vib-averaged" or "vim" or "dropout" or "deterministic":
            {
                var kind = Enum.Parse<ModelKind>(name.Split('-')[0], ignoreCase: true);
                // torch_vib.py trains VIB only, one epoch of 600 steps, without Polyak averaging: "vib" does the same
                // work (Polyak 0 skips the averaging pass); the other kinds train as the commands do, averaging.
                bool asPeer = name == "vib";
                var config = new TrainConfig { Kind = kind, Bottleneck = 256 };
                if (asPeer) config = config with { Polyak = 0 };
                var trainer = new VibTrainer(config, new ImageData(train, train.Take(100), "bench"));
                var rows = Batches(train, config.BatchSize);
                return asPeer
                    ? new ModelWorkload(name, config.BatchSize, b => trainer.StepOnRows(rows[b]), ("torch_vib.py", ["--k", "256", "--epochs", "1"]), peerSteps: 600)
                    : new ModelWorkload(name, config.BatchSize, b => trainer.StepOnRows(rows[b]), null);
            }
            case var s when s.StartsWith("dim-", StringComparison.Ordinal):
            {
                var parts = s.Split('-');
                var config = new DimConfig { Mode = Enum.Parse<DimMode>(parts[1], ignoreCase: true), Estimator = parts[2] };
                var trainer = new DimTrainer(config, train);
                var rows = Batches(train, config.BatchSize);
                return new ModelWorkload(name, config.BatchSize, b => trainer.StepOnRows(rows[b]),
                    ("torch_dim.py", ["--mode", parts[1], "--estimator", parts[2]]));
            }
            case "hyp-dv" or "hyp-js" or "hyp-dv-ie" or "hyp-js-ie" or "cnn":
            {
                string objective = name == "cnn" ? "cnn" : name.Split('-')[1];
                double lambda = name.EndsWith("-ie", StringComparison.Ordinal) ? 1.0 : 0;
                var config = new HypothesisConfig { Objective = objective, Lambda = lambda };
                var trainer = new HypothesisTrainer(config, train);
                var rows = Batches(train, config.BatchSize);
                string[] peerArgs = lambda > 0 ? ["--objective", objective, "--ie", "1"] : ["--objective", objective];
                return new ModelWorkload(name, config.BatchSize, b => trainer.StepOnRows(rows[b]), ("torch_hypothesis.py", [.. peerArgs, "--no-eval"]));
            }
            default:
                throw new ArgumentException($"unknown model '{name}' ({string.Join(", ", All)})");
        }
    }
}
