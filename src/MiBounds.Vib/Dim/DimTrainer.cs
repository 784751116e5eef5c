using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using MiBounds.Bounds;
using MiBounds.Tensors;
using MiBounds.Tensors.Optim;
using MiBounds.Vib.Data;
using MiBounds.Vib.Reports;

namespace MiBounds.Vib.Dim;

/// <summary>Everything that defines a DIM run (saved as run.json in the output directory).</summary>
public sealed record DimConfig
{
    /// <summary>Bound name: js, infonce or dv.</summary>
    public string Estimator { get; init; } = "js";
    /// <summary>Which objectives are trained (default local: DIM(L), whose codes probed best in the DIM paper).</summary>
    public DimMode Mode { get; init; } = DimMode.Local;
    /// <summary>Training epochs.</summary>
    public int Epochs { get; init; } = 3;
    /// <summary>Batch size K (each score matrix is K×K).</summary>
    public int BatchSize { get; init; } = 64;
    /// <summary>Seed of every random draw.</summary>
    public ulong Seed { get; init; } = 1;
    /// <summary>Adam learning rate (1e-3: 1e-4 learned too slowly for the few epochs a CPU affords).</summary>
    public double LearningRate { get; init; } = 1e-3;
    /// <summary>Training images used (the first N of the training set; 0 = all).</summary>
    public int TrainCount { get; init; }
    /// <summary>Weight of the adversarial prior-matching term (0 = off).</summary>
    public double PriorWeight { get; init; }
    /// <summary>Shared width of the critics' projections.</summary>
    public int Width { get; init; } = 256;
    /// <summary>Training images the probes learn from (the first N of the training set).</summary>
    public int ProbeTrainCount { get; init; } = 10000;
    /// <summary>Test images the probes are scored on (0 = all).</summary>
    public int ProbeTestCount { get; init; }
    /// <summary>Probe training epochs.</summary>
    public int ProbeEpochs { get; init; } = 20;

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter() } };

    /// <summary>Serializes to JSON.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>Reads a config written by <see cref="ToJson"/>; <paramref name="source"/> names it in errors.</summary>
    public static DimConfig FromJson(string json, string source)
    {
        try { return JsonSerializer.Deserialize<DimConfig>(json, Json) ?? throw new DataException($"{source}: empty run configuration"); }
        catch (JsonException e) { throw new DataException($"{source}: not a DIM run configuration ({e.Message})", e); }
    }
}

/// <summary>One DIM training epoch: mean loss and mean bound values (nats; NaN for an objective not trained).</summary>
public sealed record DimEpochRecord(int Epoch, double Seconds, double Loss, double GlobalBound, double LocalBound);

/// <summary>One probe result: estimator, probe (linear|mlp), features (global|conv|random-global|pixels), test accuracy.</summary>
public sealed record ProbeRecord(string Estimator, string Probe, string Features, double Accuracy);

/// <summary>
/// Trains Deep InfoMax with one of the library's bounds, fed through <see cref="MiBound.FromScores"/>: the global
/// objective on one K×K matrix, the local objective on one K×K matrix per location (averaged). Adam over encoder and
/// critics; with a prior weight, an adversarial discriminator pushes sigmoid(code) towards the uniform distribution.
/// With an output directory each epoch appends to training.csv and writes a checkpoint.
/// </summary>
public sealed class DimTrainer
{
    private readonly Adam _adam;
    private readonly Adam? _priorAdam;
    private readonly Rng _rng;
    private readonly MiBound _bound;
    private readonly ImageDataset _train;

    /// <summary>The run's settings.</summary>
    public DimConfig Config { get; }
    /// <summary>Encoder and critics.</summary>
    public DimNetwork Network { get; }
    /// <summary>The prior discriminator, when prior matching is on.</summary>
    public PriorDiscriminator? Prior { get; }
    /// <summary>Finished epochs.</summary>
    public int EpochsDone { get; private set; }
    /// <summary>Where results and checkpoints go (null: nowhere).</summary>
    public string? OutputDirectory { get; }
    /// <summary>Per-epoch records so far (this session's; earlier ones are in training.csv).</summary>
    public List<DimEpochRecord> Epochs { get; } = [];

    /// <summary>Builds the model for <paramref name="train"/> (square images).</summary>
    public DimTrainer(DimConfig config, ImageDataset train, string? outputDirectory = null)
    {
        if (config.BatchSize < 2) throw new ArgumentOutOfRangeException(nameof(config), config.BatchSize, "DIM needs a batch of at least 2 (positives and negatives)");
        if (train.Height != train.Width) throw new ArgumentException($"DIM expects square images, got {train.Height}×{train.Width}");
        Config = config; OutputDirectory = outputDirectory;
        _train = config.TrainCount > 0 ? train.Take(config.TrainCount) : train;
        if (_train.Count < config.BatchSize) throw new ArgumentException($"batch size {config.BatchSize} exceeds the {_train.Count} training images");
        _bound = ScoreBounds.Create(config.Estimator);
        _rng = new Rng(config.Seed);
        Network = new DimNetwork(_rng, train.Height, config.Width);
        _adam = new Adam(Network.Parameters(), (float)config.LearningRate);
        if (config.PriorWeight > 0)
        {
            Prior = new PriorDiscriminator(Network.Encoder.CodeSize, _rng);
            _priorAdam = new Adam(Prior.Parameters(), (float)config.LearningRate);
        }
    }

    private string CheckpointPath => Path.Combine(OutputDirectory ?? throw new InvalidOperationException("no output directory"), TrainingCheckpoint.FileName);

    private Tensors.Nn.Module CheckpointModule => Prior is null ? Network : new Pair(Network, Prior);

    private (string, Optimizer)[] Optimizers => _priorAdam is null ? [("adam", _adam)] : [("adam", _adam), ("prior_adam", _priorAdam)];

    private sealed class Pair : Tensors.Nn.Module
    {
        public Pair(DimNetwork network, PriorDiscriminator prior) { RegisterModule("dim", network); RegisterModule("prior", prior); }
    }

    /// <summary>Continues from the output directory's checkpoint; returns the finished epochs.</summary>
    public int Resume()
    {
        EpochsDone = TrainingCheckpoint.Load(CheckpointPath, _rng, CheckpointModule, Optimizers);
        return EpochsDone;
    }

    /// <summary>
    /// The DIM objective (to maximize) on a batch of images, and the bound values: global on one K×K matrix,
    /// local as the mean over locations of the bound on each location's K×K matrix. NaN for an objective not used.
    /// </summary>
    public (Tensor Objective, double GlobalBound, double LocalBound, Tensor Code) Objective(Tensor images, bool training = true)
    {
        int k = images.Dim(0);
        var (local, code) = Network.Encoder.Forward(images);
        var mask = PositiveMask.Diagonal(k);
        Tensor? objective = null;
        double globalValue = double.NaN, localValue = double.NaN;
        if (Config.Mode is DimMode.Global or DimMode.Both)
        {
            var o = _bound.FromScores(Network.GlobalScores(local, code), null, mask, training);
            objective = o.Objective;
            globalValue = o.Value.Item();
        }
        if (Config.Mode is DimMode.Local or DimMode.Both)
        {
            var all = Network.LocalScores(local, code);
            int locations = Network.Encoder.Locations;
            Tensor? sum = null;
            double valueSum = 0;
            for (int l = 0; l < locations; l++)
            {
                var o = _bound.FromScores(DimNetwork.LocationScores(all, l), null, mask, training);
                sum = sum is null ? o.Objective : sum + o.Objective;
                valueSum += o.Value.Item();
            }
            var localObjective = sum! / locations;
            objective = objective is null ? localObjective : objective + localObjective;
            localValue = valueSum / locations;
        }
        return (objective!, globalValue, localValue, code);
    }

    /// <summary>One optimizer step on a batch; returns (loss, global bound, local bound). Throws on a non-finite loss, naming the step.</summary>
    public (double Loss, double GlobalBound, double LocalBound) Step(Tensor images)
    {
        Network.Train();
        var (objective, g, l, code) = Objective(images);
        var loss = objective.Neg();
        if (Prior is not null)
        {
            // Non-saturating generator term: the encoder wants D to call its squashed codes prior samples.
            var fool = Prior.Logits(code.Sigmoid()).Neg().Softplus().Mean();
            loss = loss + fool * (float)Config.PriorWeight;
        }
        float value = loss.Item();
        if (!float.IsFinite(value)) throw new InvalidOperationException($"non-finite DIM loss ({value}) at optimizer step {_adam.StepCount + 1} (epoch {EpochsDone + 1})");
        _adam.ZeroGrad();
        loss.Backward();
        _adam.Step();
        if (Prior is not null)
        {
            var prior = Tensor.RandomUniform(_rng, code.Shape, 0f, 1f);
            var dLoss = Prior.Logits(prior).Neg().Softplus().Mean() + Prior.Logits(code.Detach().Sigmoid()).Softplus().Mean();
            _priorAdam!.ZeroGrad();
            dLoss.Backward();
            _priorAdam.Step();
        }
        return (value, g, l);
    }

    /// <summary>Trains one epoch over a fresh shuffle (the last partial batch is dropped) and checkpoints it.</summary>
    public DimEpochRecord TrainEpoch(Action<int, int>? onBatch = null)
    {
        int n = _train.Count, batch = Config.BatchSize, batches = n / batch;
        var order = Enumerable.Range(0, n).ToArray();
        _rng.Shuffle(order.AsSpan());
        var sw = Stopwatch.StartNew();
        double loss = 0, g = 0, l = 0;
        for (int b = 0; b < batches; b++)
        {
            var idx = order[(b * batch)..((b + 1) * batch)];
            var r = Step(_train.Images.GatherRows(idx));
            loss += r.Loss; g += r.GlobalBound; l += r.LocalBound;
            onBatch?.Invoke(b + 1, batches);
        }
        EpochsDone++;
        var record = new DimEpochRecord(EpochsDone, sw.Elapsed.TotalSeconds, loss / batches, g / batches, l / batches);
        Epochs.Add(record);
        if (OutputDirectory is not null)
        {
            AppendCsv(Path.Combine(OutputDirectory, "training.csv"), record);
            TrainingCheckpoint.Save(CheckpointPath, EpochsDone, _rng, CheckpointModule, Optimizers);
        }
        return record;
    }

    private static void AppendCsv(string path, DimEpochRecord r)
    {
        // Rewritten whole so a resumed run drops rows of epochs it is redoing.
        var lines = File.Exists(path) ? File.ReadAllLines(path).Skip(1).Where(x => x.Length > 0 && int.TryParse(x.Split(',')[0], CultureInfo.InvariantCulture, out int e) && e < r.Epoch).ToList() : [];
        lines.Add(string.Create(CultureInfo.InvariantCulture, $"{r.Epoch},{r.Seconds:G6},{r.Loss:G6},{Csv(r.GlobalBound)},{Csv(r.LocalBound)}"));
        AtomicFile.WriteAllText(path, "epoch,seconds,loss,global_bound_nats,local_bound_nats\n" + string.Join("\n", lines) + "\n");
    }

    private static string Csv(double v) => double.IsFinite(v) ? v.ToString("G6", CultureInfo.InvariantCulture) : "nan";

    /// <summary>Global codes and flattened conv features [N, 64], [N, 6272] of <paramref name="images"/> with the encoder in evaluation mode.</summary>
    public static (Tensor Global, Tensor Conv) Features(DimEncoder encoder, Tensor images, int batch = 500)
    {
        encoder.Eval();
        try
        {
            using var _ = Tensor.NoGrad();
            int n = images.Dim(0);
            var g = Tensor.Zeros(n, encoder.CodeSize);
            var c = Tensor.Zeros(n, encoder.LocalFeatures);
            for (int start = 0; start < n; start += batch)
            {
                int len = Math.Min(batch, n - start);
                var (local, code) = encoder.Forward(images.Slice(0, start, len));
                code.Values.CopyTo(g.Data.Slice(start * encoder.CodeSize));
                local.Values.CopyTo(c.Data.Slice(start * encoder.LocalFeatures));
            }
            return (g, c);
        }
        finally { encoder.Train(); }
    }

    /// <summary>
    /// A randomly initialized encoder whose batch-norm statistics are set by passing <paramref name="images"/> through it
    /// in training mode (momentum 1 on one large batch), so its features are normalized like a trained encoder's.
    /// </summary>
    public static DimEncoder RandomEncoder(int side, ulong seed, Tensor images)
    {
        var encoder = new DimEncoder(new Rng(seed), side);
        using var _ = Tensor.NoGrad();
        foreach (var (_, m) in AllModules(encoder))
            if (m is Tensors.Nn.BatchNorm bn) bn.Momentum = 1f;
        encoder.Train();
        encoder.Forward(images);
        return encoder;
    }

    private static IEnumerable<(string, Tensors.Nn.Module)> AllModules(Tensors.Nn.Module m)
    {
        foreach (var (name, child) in m.NamedChildren())
        {
            yield return (name, child);
            foreach (var x in AllModules(child)) yield return x;
        }
    }

    /// <summary>
    /// Freezes the encoder and scores linear and MLP probes on the global code, on the conv features, on the global code
    /// of a random encoder and on raw pixels. <paramref name="log"/> receives one line per probe.
    /// </summary>
    public List<ProbeRecord> EvaluateProbes(ImageData data, ProbeSettings settings, Action<string>? log = null)
    {
        var probeTrain = data.Train.Take(Config.ProbeTrainCount);
        var probeTest = Config.ProbeTestCount > 0 ? data.Test.Take(Config.ProbeTestCount) : data.Test;
        var (trainGlobal, trainConv) = Features(Network.Encoder, probeTrain.Images);
        var (testGlobal, testConv) = Features(Network.Encoder, probeTest.Images);
        var random = RandomEncoder(data.Train.Height, Config.Seed + 1000003, probeTrain.Images.Slice(0, 0, Math.Min(2000, probeTrain.Count)));
        var (trainRandom, _) = Features(random, probeTrain.Images);
        var (testRandom, _) = Features(random, probeTest.Images);
        var sets = new (string Name, Tensor Train, Tensor Test)[]
        {
            ("global", trainGlobal, testGlobal),
            ("conv", trainConv, testConv),
            ("random-global", trainRandom, testRandom),
            ("pixels", probeTrain.Images, probeTest.Images),
        };
        var records = new List<ProbeRecord>();
        foreach (var kind in new[] { ProbeKind.Linear, ProbeKind.Mlp })
            foreach (var (name, train, test) in sets)
            {
                var sw = Stopwatch.StartNew();
                double acc = Probes.Accuracy(train, probeTrain.Labels, test, probeTest.Labels, data.Train.Classes, kind, settings, new Rng(Config.Seed + 17));
                string probe = kind.ToString().ToLowerInvariant();
                records.Add(new ProbeRecord(Config.Estimator, probe, name, acc));
                log?.Invoke(string.Create(CultureInfo.InvariantCulture, $"{probe,-6} probe on {name,-13} features ({train.Dim(1),5} dims): test accuracy {acc:P2}  ({sw.Elapsed.TotalSeconds:F0}s)"));
            }
        return records;
    }

    /// <summary>The results.json text: an array of {"estimator", "probe", "features", "accuracy"} records.</summary>
    public static string ResultsJson(IEnumerable<ProbeRecord> records) => ResultsJsonFile.Serialize(records);
}
