using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using MiBounds.Bounds;
using MiBounds.Tensors;
using MiBounds.Tensors.Nn;
using MiBounds.Tensors.Optim;
using MiBounds.Vib.Data;
using MiBounds.Vib.Reports;
using MiBounds.Vib.Training;
using MiBounds.Training;

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
    /// <summary>
    /// null: our model (<see cref="DimNetwork"/>); "authors": rdevon/DIM's (<see cref="DimAuthorsNetwork"/>: batch-norm after
    /// both convolutions, their critics <see cref="Width"/> wide, local negatives pooled across locations). Left out of
    /// the JSON when null so earlier runs still resume.
    /// </summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public string? Variant { get; init; }

    /// <summary>Whether the run uses the authors' model and pooled negatives.</summary>
    public bool IsAuthors => Variant == "authors";

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter() } };

    /// <summary>Serializes to JSON.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>Reads a config written by <see cref="ToJson"/>; <paramref name="source"/> names it in errors.</summary>
    public static DimConfig FromJson(string json, string source) => JsonFiles.Read<DimConfig>(json, source, "a DIM run configuration", Json);
}

/// <summary>One DIM training epoch: mean loss and mean bound values (nats; NaN for an objective not trained).</summary>
public sealed record DimEpochRecord(int Epoch, double Seconds, double Loss, double GlobalBound, double LocalBound);

/// <summary>One probe result: estimator, probe (linear|mlp), features (global|conv|random-global|pixels), test accuracy.</summary>
public sealed record ProbeRecord(string Estimator, string Probe, string Features, double Accuracy);

/// <summary>
/// Trains Deep InfoMax with one of the library's bounds, fed through <see cref="MiBound.FromScores"/>: the global
/// objective on one K×K matrix, the local objective on one K×K matrix per location (averaged). Adam over encoder and
/// critics, on the library's one training loop (<see cref="Trainer"/>); with a prior weight, an adversarial discriminator
/// pushes sigmoid(code) towards the uniform distribution with its own Adam. With an output directory each epoch appends
/// to training.csv and writes a checkpoint; an interrupted run checkpoints mid-epoch and resumes exactly.
/// </summary>
public sealed class DimTrainer : EpochTrainer<DimEpochRecord>
{
    /// <summary>The checkpoint kind of DIM runs.</summary>
    public const string CheckpointKind = "dim";

    private readonly Objectives _model;

    /// <summary>The run's settings.</summary>
    public DimConfig Config { get; }
    /// <summary>Encoder and critics (<see cref="DimNetwork"/>, or <see cref="DimAuthorsNetwork"/> for the authors' variant).</summary>
    public DimModel Model { get; }
    /// <summary>Our model's encoder and critics; the authors' variant has none (use <see cref="Model"/>).</summary>
    public DimNetwork Network => Model as DimNetwork ?? throw new InvalidOperationException("the authors' DIM variant is a DimAuthorsNetwork: use Model");
    /// <summary>The prior discriminator, when prior matching is on.</summary>
    public PriorDiscriminator? Prior { get; }

    /// <summary>
    /// Builds the model for <paramref name="train"/> (square images). Cancelling <paramref name="cancellation"/> makes
    /// <see cref="Train"/> checkpoint (mid-epoch) and return <see cref="StopReason.Interrupted"/> before its next step.
    /// </summary>
    public DimTrainer(DimConfig config, ImageDataset train, string? outputDirectory = null, CancellationToken cancellation = default) : base(outputDirectory)
    {
        if (config.BatchSize < 2) throw new ArgumentOutOfRangeException(nameof(config), config.BatchSize, "DIM needs a batch of at least 2 (positives and negatives)");
        if (train.Height != train.Width) throw new ArgumentException($"DIM expects square images, got {train.Height}×{train.Width}");
        Config = config;
        var images = config.TrainCount > 0 ? train.Take(config.TrainCount) : train;
        if (images.Count < config.BatchSize) throw new ArgumentException($"batch size {config.BatchSize} exceeds the {images.Count} training images");
        var rng = new Rng(config.Seed); // the run's one generator: init, shuffles, prior samples
        if (config.Variant is not (null or "authors")) throw new ArgumentException($"DIM variant must be null (ours) or authors, got '{config.Variant}'");
        Model = config.IsAuthors ? new DimAuthorsNetwork(rng, train.Height, config.Width) : new DimNetwork(rng, train.Height, config.Width);
        if (config.PriorWeight > 0) Prior = new PriorDiscriminator(Model.Encoder.CodeSize, rng);
        _model = new Objectives(this, images, rng);
        var adam = new Adam(Model.Parameters(), (float)config.LearningRate);
        var log = outputDirectory is null ? null
            : new MetricsLog(Path.Combine(outputDirectory, "training.csv"), LogUnit.Epoch, "epoch", "seconds", "loss", "global_bound_nats", "local_bound_nats");
        Loop = new Trainer(_model, adam, rng, new TrainerOptions
        {
            Epochs = config.Epochs,
            DatasetRows = images.Count,
            BatchSize = config.BatchSize,
            CheckpointEveryEpoch = true,
            Checkpoint = CheckpointTarget.InFolder(outputDirectory, CheckpointKind, config.ToJson(), nameof(DimConfig.Epochs)), // a resumed run may raise the epoch budget
            Logs = log is null ? [] : [log],
            Cancellation = cancellation,
            OnStep = StepDone,
            OnEpoch = e =>
            {
                var (g, l) = _model.TakeEpochBounds();
                var record = new DimEpochRecord(e.Epoch, e.Seconds, e.MeanLoss, g, l);
                log?.Append(record.Epoch, record.Seconds, record.Loss, record.GlobalBound, record.LocalBound);
                EpochDone(record);
            },
        });
    }

    /// <summary>Trains until <see cref="DimConfig.Epochs"/> epochs are done or the run is cancelled (see <see cref="EpochTrainer{TRecord}.Fit"/>).</summary>
    public FitResult Train(Action<StepReport>? onStep = null, Action<DimEpochRecord>? onEpoch = null) => Fit(onStep, onEpoch);

    /// <summary>
    /// The DIM objective (to maximize) on a batch of images, and the bound values: global on one K×K matrix,
    /// local as the mean over locations of the bound on each location's K×K matrix. NaN for an objective not used.
    /// </summary>
    public (Tensor Objective, double GlobalBound, double LocalBound, Tensor Code) Objective(Tensor images, bool training = true)
    {
        int k = images.Dim(0);
        var (local, code) = Model.Encoder.Forward(images);
        var mask = PositiveMask.Diagonal(k);
        Tensor? objective = null;
        double globalValue = double.NaN, localValue = double.NaN;
        if (Config.Mode is DimMode.Global or DimMode.Both)
        {
            var o = _model.Bound.FromScores(Model.GlobalScores(local, code), null, mask, training);
            objective = o.Objective;
            globalValue = o.Value.Item();
        }
        if (Config.Mode is DimMode.Local or DimMode.Both)
        {
            var all = Model.LocalScores(local, code);
            int locations = Model.Encoder.Locations;
            if (Config.IsAuthors)
            {
                var (pooled, value) = PooledLocalBound.Compute(Config.Estimator, _model.Bound, all, locations, training);
                return (objective is null ? pooled : objective + pooled, globalValue, value, code);
            }
            // The bound on each location's K×K block, averaged: one op for all locations (the same values as a loop of FromScores).
            var (localObjective, localMean) = DimNetwork.LocalBound(all, Config.Estimator);
            objective = objective is null ? localObjective : objective + localObjective;
            localValue = localMean;
        }
        return (objective!, globalValue, localValue, code);
    }

    /// <summary>
    /// The model the trainer steps: loss = −objective (+ the prior term); the discriminator's own Adam step runs after
    /// the main one on the step's codes; the epoch's bound sums and the discriminator's optimizer go into checkpoints.
    /// </summary>
    private sealed class Objectives : ITrainable
    {
        private readonly DimTrainer _owner;
        private readonly ImageDataset _train;
        private readonly Rng _rng;
        private readonly Adam? _priorAdam;
        private Tensor? _code;                      // the step's codes, for the discriminator's update (workspace-owned)
        private double _stepGlobal, _stepLocal;
        private double _globalSum, _localSum, _count; // this epoch's bound values so far

        public MiBound Bound { get; }

        public IReadOnlyList<(string Name, Module Module)> Modules { get; }

        public Objectives(DimTrainer owner, ImageDataset train, Rng rng)
        {
            _owner = owner; _train = train; _rng = rng;
            Bound = ScoreBounds.Create(owner.Config.Estimator);
            Modules = owner.Prior is null ? [("dim", owner.Model)] : [("dim", owner.Model), ("prior", owner.Prior)];
            if (owner.Prior is not null) _priorAdam = new Adam(owner.Prior.Parameters(), (float)owner.Config.LearningRate);
        }

        public Tensor Loss(in TrainingBatch batch)
        {
            var (objective, g, l, code) = _owner.Objective(_train.Images.GatherRows(batch.Rows));
            var loss = objective.Neg();
            if (_owner.Prior is { } prior)
            {
                // Non-saturating generator term: the encoder wants D to call its squashed codes prior samples.
                var fool = prior.Logits(code.Sigmoid()).Neg().Softplus().Mean();
                loss = loss + fool * (float)_owner.Config.PriorWeight;
            }
            (_code, _stepGlobal, _stepLocal) = (code, g, l);
            return loss;
        }

        public void AfterStep(in TrainingBatch batch)
        {
            // Counted only here: a diverged step never reaches AfterStep.
            _globalSum += _stepGlobal; _localSum += _stepLocal; _count++;
            if (_owner.Prior is { } prior)
            {
                var code = _code!;
                var samples = Tensor.RandomUniform(_rng, code.Shape, 0f, 1f);
                var dLoss = prior.Logits(samples).Neg().Softplus().Mean() + prior.Logits(code.Detach().Sigmoid()).Softplus().Mean();
                _priorAdam!.ZeroGrad();
                dLoss.Backward();
                _priorAdam.Step();
            }
            _code = null;
        }

        /// <summary>The finished epoch's mean bound values; starts the next epoch's sums.</summary>
        public (double Global, double Local) TakeEpochBounds()
        {
            var means = (_globalSum / _count, _localSum / _count);
            (_globalSum, _localSum, _count) = (0, 0, 0);
            return means;
        }

        public void SaveState(CheckpointState state)
        {
            state.SetDoubles("dim.epoch_bounds", [_globalSum, _localSum, _count]);
            if (_priorAdam is not null) state.SetOptimizer("prior_optimizer", _priorAdam);
        }

        public void LoadState(CheckpointState state)
        {
            var sums = state.GetDoubles("dim.epoch_bounds");
            if (sums.Length != 3) throw new InvalidDataException($"{state.Source}: dim.epoch_bounds is damaged");
            (_globalSum, _localSum, _count) = (sums[0], sums[1], sums[2]);
            if (_priorAdam is not null) state.LoadOptimizer("prior_optimizer", _priorAdam);
        }
    }

    /// <summary>Global codes and flattened conv features [N, 64], [N, 6272] of <paramref name="images"/> with the encoder in evaluation mode.</summary>
    public static (Tensor Global, Tensor Conv) Features(DimEncoder encoder, Tensor images, int batch = 500)
    {
        var (conv, _, code) = FeatureSets(encoder, images, batch);
        return (code, conv);
    }

    /// <summary>The encoder's three feature sets of <paramref name="images"/> (conv, FC, code), in evaluation mode, without gradients; the mode is put back after.</summary>
    public static (Tensor Conv, Tensor Fc, Tensor Code) FeatureSets(DimEncoder encoder, Tensor images, int batch = 500)
    {
        bool wasTraining = encoder.Training;
        encoder.Eval();
        try
        {
            using var _ = Tensor.NoGrad();
            int n = images.Dim(0);
            var conv = Tensor.Zeros(n, encoder.LocalFeatures);
            var fc = Tensor.Zeros(n, encoder.Hidden);
            var code = Tensor.Zeros(n, encoder.CodeSize);
            for (int start = 0; start < n; start += batch)
            {
                int len = Math.Min(batch, n - start);
                var (l, f, c) = encoder.ForwardAll(images.Slice(0, start, len));
                l.Values.CopyTo(conv.Data.Slice(start * encoder.LocalFeatures));
                f.Values.CopyTo(fc.Data.Slice(start * encoder.Hidden));
                c.Values.CopyTo(code.Data.Slice(start * encoder.CodeSize));
            }
            return (conv, fc, code);
        }
        finally { encoder.Train(wasTraining); }
    }

    /// <summary>
    /// A randomly initialized encoder (with <paramref name="batchNormFirst"/>, the DIM authors' variant) whose batch-norm
    /// statistics are set by passing <paramref name="images"/> through it in training mode (momentum 1 on one large
    /// batch), so its features are normalized like a trained encoder's.
    /// </summary>
    public static DimEncoder RandomEncoder(int side, ulong seed, Tensor images, bool batchNormFirst = false)
    {
        var encoder = new DimEncoder(new Rng(seed), side, batchNormFirst: batchNormFirst);
        using var _ = Tensor.NoGrad();
        foreach (var m in Descendants(encoder))
            if (m is BatchNorm bn) bn.Momentum = 1f;
        encoder.Train();
        encoder.Forward(images);
        return encoder;
    }

    private static IEnumerable<Module> Descendants(Module m)
    {
        foreach (var (_, child) in m.NamedChildren())
        {
            yield return child;
            foreach (var x in Descendants(child)) yield return x;
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
        var (trainGlobal, trainConv) = Features(Model.Encoder, probeTrain.Images);
        var (testGlobal, testConv) = Features(Model.Encoder, probeTest.Images);
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
