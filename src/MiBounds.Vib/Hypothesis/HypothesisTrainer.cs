using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using MiBounds.Bounds;
using MiBounds.Tensors;
using MiBounds.Tensors.Nn;
using MiBounds.Tensors.Optim;
using MiBounds.Training;
using MiBounds.Vib.Dim;
using MiBounds.Vib.Data;
using MiBounds.Vib.Reports;
using MiBounds.Vib.Training;
using MiBounds.Vib.Attacks;
using SpineEvaluation = MiBounds.Training.Evaluation;

namespace MiBounds.Vib.Hypothesis;

/// <summary>Everything that defines a label-hypothesis (or CNN baseline) run, saved as run.json.</summary>
public sealed record HypothesisConfig
{
    /// <summary>cnn (softmax baseline), dv (C-DV), js (C-JS), vib (the CNN with a VIB bottleneck, "Alemi et al." of Guess First) or lenet (the black-box substitute).</summary>
    public string Objective { get; init; } = "dv";
    /// <summary>Weight λ of the information-elimination regularizer (0 = off).</summary>
    public double Lambda { get; init; }
    /// <summary>Kernel bandwidth of the regularizer (null: median heuristic).</summary>
    public double? Sigma { get; init; }
    /// <summary>Training epochs.</summary>
    public int Epochs { get; init; } = 5;
    /// <summary>Batch size.</summary>
    public int BatchSize { get; init; } = 100;
    /// <summary>Seed of every random draw.</summary>
    public ulong Seed { get; init; } = 1;
    /// <summary>Adam learning rate.</summary>
    public double LearningRate { get; init; } = 1e-3;
    /// <summary>Training images used (the first N; 0 = all).</summary>
    public int TrainCount { get; init; }
    /// <summary>β of the vib objective (null: 1e-3); left out of the JSON when unset so older runs still resume.</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public double? Beta { get; init; }

    /// <summary>The objectives a run may have.</summary>
    public static readonly string[] Objectives = ["cnn", "dv", "js", "vib", "lenet"];

    /// <summary>The model's name in result tables: CNN, C-DV, C-JS, C-DV-IE, C-JS-IE.</summary>
    public string ModelName => Objective switch
    {
        "cnn" => "CNN", "vib" => "Alemi", "lenet" => "LeNet-5",
        _ => $"C-{Objective.ToUpperInvariant()}{(Lambda > 0 ? "-IE" : "")}",
    };

    /// <summary>Whether the model is a label-hypothesis classifier (dv, js) rather than a softmax network.</summary>
    public bool IsHypothesis => Objective is "dv" or "js";

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    /// <summary>Serializes to JSON.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>Reads a config written by <see cref="ToJson"/>; <paramref name="source"/> names it in errors.</summary>
    public static HypothesisConfig FromJson(string json, string source) => JsonFiles.Read<HypothesisConfig>(json, source, "a hypothesis run configuration", Json);
}

/// <summary>One epoch: mean loss, mean bound value and regularizer (nats), test accuracy.</summary>
public sealed record HypothesisEpochRecord(string Model, int Epoch, double Seconds, double Loss, double Bound, double Regularizer, double TestAccuracy);

/// <summary>
/// Trains the label-hypothesis classifier with C-DV or C-JS — the library's <see cref="DonskerVaradhan"/> or
/// <see cref="JensenShannon"/> on the N×C score matrix T(x_i, k) with positives at (i, y_i)
/// (<see cref="PositiveMask.FromLabels(int[], int)"/>) — plus λ times the information-elimination MMD; or the CNN baseline with
/// cross-entropy. Adam on the library's one training loop (<see cref="Trainer"/>), test accuracy after every epoch in
/// evaluation mode; with an output directory each epoch appends to training.csv and writes a checkpoint, and an
/// interrupted run checkpoints mid-epoch and resumes exactly.
/// </summary>
public sealed class HypothesisTrainer : EpochTrainer<HypothesisEpochRecord>
{
    /// <summary>The checkpoint kind of hypothesis (and CNN baseline) runs.</summary>
    public const string CheckpointKind = "hypothesis";

    private readonly Model _model;

    /// <summary>The run's settings.</summary>
    public HypothesisConfig Config { get; }
    /// <summary>The hypothesis network (null for the CNN baseline).</summary>
    public HypothesisNetwork? Hypothesis { get; }
    /// <summary>The CNN baseline (null for hypothesis models).</summary>
    public CnnClassifier? Cnn { get; }
    /// <summary>The CNN with a VIB bottleneck (objective vib), else null.</summary>
    public CnnVibClassifier? Vib { get; }
    /// <summary>The LeNet-5 substitute (objective lenet), else null.</summary>
    public LeNet5? Substitute { get; }
    /// <summary>The model being trained, as a classifier.</summary>
    public IImageClassifier Classifier => (IImageClassifier?)Hypothesis ?? (IImageClassifier?)Cnn ?? (IImageClassifier?)Vib ?? Substitute!;
    /// <summary>The model being trained, as a module.</summary>
    public Module Module => (Module?)Hypothesis ?? (Module?)Cnn ?? (Module?)Vib ?? Substitute!;

    private readonly Rng _rng; // the run's one generator (the vib objective's noise draws from it)

    /// <summary>
    /// Builds the model for <paramref name="train"/>. Cancelling <paramref name="cancellation"/> makes
    /// <see cref="Train"/> checkpoint (mid-epoch) and return <see cref="StopReason.Interrupted"/> before its next step.
    /// </summary>
    public HypothesisTrainer(HypothesisConfig config, ImageDataset train, string? outputDirectory = null, CancellationToken cancellation = default) : base(outputDirectory)
    {
        if (!HypothesisConfig.Objectives.Contains(config.Objective)) throw new ArgumentException($"objective must be one of {string.Join(", ", HypothesisConfig.Objectives)}, got '{config.Objective}'");
        if (!config.IsHypothesis && config.Lambda > 0) throw new ArgumentException("the information-elimination regularizer needs a hypothesis model (dv or js), not the CNN baseline");
        if (config.Lambda < 0) throw new ArgumentOutOfRangeException(nameof(config), config.Lambda, "λ must be ≥ 0");
        if (train.Height != train.Width) throw new ArgumentException($"expected square images, got {train.Height}×{train.Width}");
        Config = config;
        var images = config.TrainCount > 0 ? train.Take(config.TrainCount) : train;
        if (images.Count < config.BatchSize) throw new ArgumentException($"batch size {config.BatchSize} exceeds the {images.Count} training images");
        var rng = new Rng(config.Seed); // the run's one generator: init and shuffles
        _rng = rng;
        if (config.Objective == "cnn") Cnn = new CnnClassifier(rng, train.Height, train.Classes);
        else if (config.Objective == "vib") Vib = new CnnVibClassifier(rng, train.Height, train.Classes);
        else if (config.Objective == "lenet") Substitute = new LeNet5(rng, train.Height, train.Classes);
        else Hypothesis = new HypothesisNetwork(rng, train.Height, train.Classes);
        _model = new Model(this, images);
        var adam = new Adam(Module.Parameters(), (float)config.LearningRate);
        var log = outputDirectory is null ? null
            : new MetricsLog(Path.Combine(outputDirectory, "training.csv"), LogUnit.Epoch, "model", "epoch", "seconds", "loss", "bound_nats", "regularizer", "test_acc");
        Loop = new Trainer(_model, adam, rng, new TrainerOptions
        {
            Epochs = config.Epochs,
            DatasetRows = images.Count,
            BatchSize = config.BatchSize,
            EvaluateEveryEpoch = true,
            CheckpointEveryEpoch = true,
            Checkpoint = CheckpointTarget.InFolder(outputDirectory, CheckpointKind, config.ToJson(), nameof(HypothesisConfig.Epochs)), // a resumed run may raise the epoch budget
            Logs = log is null ? [] : [log],
            Cancellation = cancellation,
            OnStep = StepDone,
            OnEpoch = e =>
            {
                var (bound, reg) = _model.TakeEpochMeans();
                var record = new HypothesisEpochRecord(config.ModelName, e.Epoch, e.Seconds, e.MeanLoss, bound, reg, e.Evaluation!.Score);
                log?.AppendFields(record.Model, record.Epoch.ToString(CultureInfo.InvariantCulture), MetricsLog.Format(record.Seconds), MetricsLog.Format(record.Loss),
                    MetricsLog.Format(record.Bound), MetricsLog.Format(record.Regularizer), MetricsLog.Format(record.TestAccuracy));
                EpochDone(record);
            },
        });
    }

    /// <summary>
    /// Trains until <see cref="HypothesisConfig.Epochs"/> epochs are done, measuring the accuracy on
    /// <paramref name="test"/> after each, or until the run is cancelled; <paramref name="onStep"/> and
    /// <paramref name="onEpoch"/> as in <see cref="EpochTrainer{TRecord}.Fit"/>.
    /// </summary>
    public FitResult Train(ImageDataset test, Action<StepReport>? onStep = null, Action<HypothesisEpochRecord>? onEpoch = null)
    {
        ArgumentNullException.ThrowIfNull(test);
        _model.Test = test;
        try { return Fit(onStep, onEpoch); }
        finally { _model.Test = null; }
    }

    /// <summary>The loss (to minimize) on a labelled batch, with the bound's value (NaN for the CNN) and the regularizer.</summary>
    public (Tensor Loss, double Bound, double Regularizer) Loss(Tensor images, int[] labels, bool training = true) => Loss(images, labels, training, reuseMask: false);

    private PositiveMask? _stepMask; // the training step's label mask, refilled each step (the previous step's graph is gone)

    private (Tensor Loss, double Bound, double Regularizer) Loss(Tensor images, int[] labels, bool training, bool reuseMask)
    {
        if (Cnn is not null) return (Tensor.CrossEntropy(Cnn.Logits(images), labels), double.NaN, 0);
        if (Substitute is not null) return (Tensor.CrossEntropy(Substitute.Logits(images), labels), double.NaN, 0);
        if (Vib is not null)
        {
            var (vibLoss, kl) = Vib.Loss(images, labels, Config.Beta ?? 1e-3, _rng);
            return (vibLoss, double.NaN, kl); // the regularizer column holds the KL (nats)
        }
        var (scores, representations) = Hypothesis!.Forward(images);
        var mask = reuseMask ? _stepMask = PositiveMask.FromLabels(labels, Hypothesis.Classes, _stepMask) : PositiveMask.FromLabels(labels, Hypothesis.Classes);
        var output = _model.Bound!.FromScores(scores, null, mask, training);
        var loss = output.Objective.Neg();
        double reg = 0;
        if (Config.Lambda > 0)
        {
            var ie = InformationElimination.Regularizer(representations, Hypothesis.Classes, Config.Sigma);
            reg = ie.Item();
            loss = loss + ie * (float)Config.Lambda;
        }
        return (loss, output.Value.Item(), reg);
    }

    /// <summary>The model the trainer steps: <see cref="Loss"/> on the batch's rows; evaluation = test accuracy; the epoch's sums go into checkpoints.</summary>
    private sealed class Model : ITrainable
    {
        private readonly HypothesisTrainer _owner;
        private readonly ImageDataset _train;
        private readonly int[] _labels;
        private double _stepBound, _stepRegularizer;
        private double _boundSum, _regularizerSum, _count; // this epoch's values so far

        public MiBound? Bound { get; }

        public ImageDataset? Test { get; set; }

        public IReadOnlyList<(string Name, Module Module)> Modules { get; }

        public Model(HypothesisTrainer owner, ImageDataset train)
        {
            _owner = owner; _train = train;
            _labels = new int[owner.Config.BatchSize];
            Bound = owner.Hypothesis is null ? null : ScoreBounds.Create(owner.Config.Objective);
            Modules = [("network", owner.Module)];
        }

        public Tensor Loss(in TrainingBatch batch)
        {
            for (int i = 0; i < _labels.Length; i++) _labels[i] = _train.Labels[batch.Rows[i]];
            var (loss, bound, reg) = _owner.Loss(_train.Images.GatherRows(batch.Rows), _labels, training: true, reuseMask: true);
            (_stepBound, _stepRegularizer) = (bound, reg);
            return loss;
        }

        // Counted only here: a diverged step never reaches AfterStep.
        public void AfterStep(in TrainingBatch batch)
        {
            _boundSum += _stepBound; _regularizerSum += _stepRegularizer; _count++;
        }

        // The trainer has switched the modules to evaluation mode (batch-norm running statistics).
        public SpineEvaluation Evaluate()
        {
            var test = Test ?? throw new InvalidOperationException("no test set to evaluate on");
            double accuracy = AdversarialAttacks.Accuracy(_owner.Classifier.LogProbabilities, test.Images, test.Labels);
            return new SpineEvaluation(accuracy, new Dictionary<string, double> { ["test_acc"] = accuracy });
        }

        /// <summary>The finished epoch's mean bound value and regularizer; starts the next epoch's sums.</summary>
        public (double Bound, double Regularizer) TakeEpochMeans()
        {
            var means = (_boundSum / _count, _regularizerSum / _count);
            (_boundSum, _regularizerSum, _count) = (0, 0, 0);
            return means;
        }

        public void SaveState(CheckpointState state) => state.SetDoubles("hypothesis.epoch_sums", [_boundSum, _regularizerSum, _count]);

        public void LoadState(CheckpointState state)
        {
            var sums = state.GetDoubles("hypothesis.epoch_sums");
            if (sums.Length != 3) throw new InvalidDataException($"{state.Source}: hypothesis.epoch_sums is damaged");
            (_boundSum, _regularizerSum, _count) = (sums[0], sums[1], sums[2]);
        }
    }

    /// <summary>Accuracy of the prediction rule (arg-max over hypotheses, or over logits) in evaluation mode.</summary>
    public double TestAccuracy(ImageDataset test) => InEvalMode(() => AdversarialAttacks.Accuracy(Classifier.LogProbabilities, test.Images, test.Labels));

    /// <summary>
    /// Runs <paramref name="body"/> with the model in evaluation mode (batch-norm running statistics) and its parameters
    /// frozen (attacks differentiate to the images only); both are put back after.
    /// </summary>
    public T InEvalMode<T>(Func<T> body)
    {
        using var frozen = Module.FreezeParameters();
        bool wasTraining = Module.Training;
        Module.Eval();
        try { return body(); }
        finally { Module.Train(wasTraining); }
    }

    /// <summary>
    /// Clean, FGSM and PGD accuracy at each radius on <paramref name="test"/>, white-box against the model's own
    /// prediction rule (the attacks ascend the cross-entropy of its log-probabilities), in evaluation mode.
    /// </summary>
    public List<AttackRecord> Robustness(ImageDataset test, IReadOnlyList<double> epsilons, Action<string>? log = null) =>
        RobustnessOf(Config.ModelName, Classifier.LogProbabilities, test, epsilons, new Rng(Config.Seed + 7919), log, InEvalMode);

    /// <summary>The robustness table of any classifier given by its prediction rule; <paramref name="wrap"/> sets up its evaluation mode.</summary>
    public static List<AttackRecord> RobustnessOf(string model, Func<Tensor, Tensor> predict, ImageDataset test, IReadOnlyList<double> epsilons, Rng rng,
        Action<string>? log, Func<Func<List<AttackRecord>>, List<AttackRecord>> wrap) => wrap(() =>
    {
        var list = new List<AttackRecord> { new(model, "none", 0, AdversarialAttacks.Accuracy(predict, test.Images, test.Labels)) };
        log?.Invoke(string.Create(CultureInfo.InvariantCulture, $"{model}: clean accuracy {list[0].Accuracy:P1}"));
        foreach (double eps in epsilons)
            foreach (var spec in new[] { AttackSpec.Fgsm(eps), AttackSpec.Pgd(eps) })
            {
                var sw = Stopwatch.StartNew();
                double acc = AdversarialAttacks.AdversarialAccuracy(predict, test.Images, test.Labels, spec, rng);
                list.Add(new AttackRecord(model, spec.Name, eps, acc));
                log?.Invoke(string.Create(CultureInfo.InvariantCulture, $"{model}: {spec.Name} ε={eps:G3} accuracy {acc:P1} ({sw.Elapsed.TotalSeconds:F0}s)"));
            }
        return list;
    });

    /// <summary>results.json text: the epoch records then the attack records (same fields as the VIB runs' attack records).</summary>
    public static string ResultsJson(IEnumerable<HypothesisEpochRecord> epochs, IEnumerable<AttackRecord> attacks) =>
        ResultsJsonFile.Serialize(epochs.Select(e => new HypothesisEpochJsonRecord(e.Model, e.Epoch, e.Seconds, e.Loss, e.Bound, e.Regularizer, e.TestAccuracy)).Concat<object>(attacks));
}
