using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using MiBounds.Bounds;
using MiBounds.Tensors;
using MiBounds.Tensors.Nn;
using MiBounds.Tensors.Optim;
using MiBounds.Vib.Dim;
using MiBounds.Vib.Data;
using MiBounds.Vib.Reports;
using MiBounds.Vib.Attacks;

namespace MiBounds.Vib.Hypothesis;

/// <summary>Everything that defines a label-hypothesis (or CNN baseline) run, saved as run.json.</summary>
public sealed record HypothesisConfig
{
    /// <summary>cnn (softmax baseline), dv (C-DV) or js (C-JS).</summary>
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

    /// <summary>The model's name in result tables: CNN, C-DV, C-JS, C-DV-IE, C-JS-IE.</summary>
    public string ModelName => Objective == "cnn" ? "CNN" : $"C-{Objective.ToUpperInvariant()}{(Lambda > 0 ? "-IE" : "")}";

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    /// <summary>Serializes to JSON.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>Reads a config written by <see cref="ToJson"/>; <paramref name="source"/> names it in errors.</summary>
    public static HypothesisConfig FromJson(string json, string source)
    {
        try { return JsonSerializer.Deserialize<HypothesisConfig>(json, Json) ?? throw new DataException($"{source}: empty run configuration"); }
        catch (JsonException e) { throw new DataException($"{source}: not a hypothesis run configuration ({e.Message})", e); }
    }
}

/// <summary>One epoch: mean loss, mean bound value and regularizer (nats), test accuracy.</summary>
public sealed record HypothesisEpochRecord(string Model, int Epoch, double Seconds, double Loss, double Bound, double Regularizer, double TestAccuracy);

/// <summary>
/// Trains the label-hypothesis classifier with C-DV or C-JS — the library's <see cref="DonskerVaradhan"/> or
/// <see cref="JensenShannon"/> on the N×C score matrix T(x_i, k) with positives at (i, y_i)
/// (<see cref="PositiveMask.FromLabels"/>) — plus λ times the information-elimination MMD; or the CNN baseline with
/// cross-entropy. Adam; with an output directory each epoch rewrites training.csv and a checkpoint.
/// </summary>
public sealed class HypothesisTrainer
{
    private readonly Adam _adam;
    private readonly Rng _rng;
    private readonly MiBound? _bound;
    private readonly ImageDataset _train;

    /// <summary>The run's settings.</summary>
    public HypothesisConfig Config { get; }
    /// <summary>The hypothesis network (null for the CNN baseline).</summary>
    public HypothesisNetwork? Hypothesis { get; }
    /// <summary>The CNN baseline (null for hypothesis models).</summary>
    public CnnClassifier? Cnn { get; }
    /// <summary>The model being trained, as a classifier.</summary>
    public IImageClassifier Classifier => (IImageClassifier?)Hypothesis ?? Cnn!;
    /// <summary>The model being trained, as a module.</summary>
    public Module Module => (Module?)Hypothesis ?? Cnn!;
    /// <summary>Finished epochs.</summary>
    public int EpochsDone { get; private set; }
    /// <summary>Where results and checkpoints go (null: nowhere).</summary>
    public string? OutputDirectory { get; }
    /// <summary>This session's epoch records.</summary>
    public List<HypothesisEpochRecord> Epochs { get; } = [];

    /// <summary>Builds the model for <paramref name="train"/>.</summary>
    public HypothesisTrainer(HypothesisConfig config, ImageDataset train, string? outputDirectory = null)
    {
        if (config.Objective is not ("cnn" or "dv" or "js")) throw new ArgumentException($"objective must be cnn, dv or js, got '{config.Objective}'");
        if (config.Objective == "cnn" && config.Lambda > 0) throw new ArgumentException("the information-elimination regularizer needs a hypothesis model (dv or js), not the CNN baseline");
        if (config.Lambda < 0) throw new ArgumentOutOfRangeException(nameof(config), config.Lambda, "λ must be ≥ 0");
        if (train.Height != train.Width) throw new ArgumentException($"expected square images, got {train.Height}×{train.Width}");
        Config = config; OutputDirectory = outputDirectory;
        _train = config.TrainCount > 0 ? train.Take(config.TrainCount) : train;
        if (_train.Count < config.BatchSize) throw new ArgumentException($"batch size {config.BatchSize} exceeds the {_train.Count} training images");
        _rng = new Rng(config.Seed);
        if (config.Objective == "cnn") Cnn = new CnnClassifier(_rng, train.Height, train.Classes);
        else
        {
            Hypothesis = new HypothesisNetwork(_rng, train.Height, train.Classes);
            _bound = ScoreBounds.Create(config.Objective);
        }
        _adam = new Adam(Module.Parameters(), (float)config.LearningRate);
    }

    private string CheckpointPath => Path.Combine(OutputDirectory ?? throw new InvalidOperationException("no output directory"), TrainingCheckpoint.FileName);

    /// <summary>Continues from the output directory's checkpoint; returns the finished epochs.</summary>
    public int Resume()
    {
        EpochsDone = TrainingCheckpoint.Load(CheckpointPath, _rng, Module, [("adam", _adam)]);
        return EpochsDone;
    }

    /// <summary>The loss (to minimize) on a labelled batch, with the bound's value (NaN for the CNN) and the regularizer.</summary>
    public (Tensor Loss, double Bound, double Regularizer) Loss(Tensor images, int[] labels, bool training = true)
    {
        if (Cnn is not null) return (Tensor.CrossEntropy(Cnn.Logits(images), labels), double.NaN, 0);
        var (scores, representations) = Hypothesis!.Forward(images);
        var output = _bound!.FromScores(scores, null, PositiveMask.FromLabels(labels, Hypothesis.Classes), training);
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

    /// <summary>One optimizer step; returns (loss, bound, regularizer). Throws on a non-finite loss, naming the step.</summary>
    public (double Loss, double Bound, double Regularizer) Step(Tensor images, int[] labels)
    {
        Module.Train();
        var (loss, bound, reg) = Loss(images, labels);
        float value = loss.Item();
        if (!float.IsFinite(value)) throw new InvalidOperationException($"non-finite loss ({value}) at optimizer step {_adam.StepCount + 1} (epoch {EpochsDone + 1})");
        _adam.ZeroGrad();
        loss.Backward();
        _adam.Step();
        return (value, bound, reg);
    }

    /// <summary>Trains one epoch over a fresh shuffle, measures test accuracy on <paramref name="test"/>, checkpoints.</summary>
    public HypothesisEpochRecord TrainEpoch(ImageDataset test, Action<int, int>? onBatch = null)
    {
        int n = _train.Count, batch = Config.BatchSize, batches = n / batch;
        var order = Enumerable.Range(0, n).ToArray();
        _rng.Shuffle(order.AsSpan());
        var sw = Stopwatch.StartNew();
        double loss = 0, bound = 0, reg = 0;
        for (int b = 0; b < batches; b++)
        {
            var idx = order[(b * batch)..((b + 1) * batch)];
            var r = Step(_train.Images.GatherRows(idx), idx.Select(i => _train.Labels[i]).ToArray());
            loss += r.Loss; bound += r.Bound; reg += r.Regularizer;
            onBatch?.Invoke(b + 1, batches);
        }
        double seconds = sw.Elapsed.TotalSeconds;
        EpochsDone++;
        var record = new HypothesisEpochRecord(Config.ModelName, EpochsDone, seconds, loss / batches, bound / batches, reg / batches, TestAccuracy(test));
        Epochs.Add(record);
        if (OutputDirectory is not null)
        {
            WriteCsv(Path.Combine(OutputDirectory, "training.csv"), record);
            TrainingCheckpoint.Save(CheckpointPath, EpochsDone, _rng, Module, [("adam", _adam)]);
        }
        return record;
    }

    /// <summary>Accuracy of the prediction rule (arg-max over hypotheses, or over logits) in evaluation mode.</summary>
    public double TestAccuracy(ImageDataset test) => InEvalMode(() => Attacks.Attacks.Accuracy(Classifier.LogProbabilities, test.Images, test.Labels));

    /// <summary>Runs <paramref name="body"/> with the model in evaluation mode (batch-norm running statistics).</summary>
    public T InEvalMode<T>(Func<T> body)
    {
        Module.Eval();
        try { return body(); }
        finally { Module.Train(); }
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
        var list = new List<AttackRecord> { new(model, "none", 0, Attacks.Attacks.Accuracy(predict, test.Images, test.Labels)) };
        log?.Invoke(string.Create(CultureInfo.InvariantCulture, $"{model}: clean accuracy {list[0].Accuracy:P1}"));
        foreach (double eps in epsilons)
            foreach (var spec in new[] { AttackSpec.Fgsm(eps), AttackSpec.Pgd(eps) })
            {
                var sw = Stopwatch.StartNew();
                double acc = Attacks.Attacks.AdversarialAccuracy(predict, test.Images, test.Labels, spec, rng);
                list.Add(new AttackRecord(model, spec.Name, eps, acc));
                log?.Invoke(string.Create(CultureInfo.InvariantCulture, $"{model}: {spec.Name} ε={eps:G3} accuracy {acc:P1} ({sw.Elapsed.TotalSeconds:F0}s)"));
            }
        return list;
    });

    private static void WriteCsv(string path, HypothesisEpochRecord r)
    {
        var lines = File.Exists(path) ? File.ReadAllLines(path).Skip(1).Where(x => x.Length > 0 && int.TryParse(x.Split(',')[1], CultureInfo.InvariantCulture, out int e) && e < r.Epoch).ToList() : [];
        lines.Add(string.Create(CultureInfo.InvariantCulture, $"{r.Model},{r.Epoch},{r.Seconds:G6},{r.Loss:G6},{(double.IsFinite(r.Bound) ? r.Bound.ToString("G6", CultureInfo.InvariantCulture) : "nan")},{r.Regularizer:G6},{r.TestAccuracy:G6}"));
        AtomicFile.WriteAllText(path, "model,epoch,seconds,loss,bound_nats,regularizer,test_acc\n" + string.Join("\n", lines) + "\n");
    }

    /// <summary>results.json text: the epoch records then the attack records (same fields as the VIB runs' attack records).</summary>
    public static string ResultsJson(IEnumerable<HypothesisEpochRecord> epochs, IEnumerable<AttackRecord> attacks) =>
        ResultsJsonFile.Serialize(epochs.Select(e => new HypothesisEpochJsonRecord(e.Model, e.Epoch, e.Seconds, e.Loss, e.Bound, e.Regularizer, e.TestAccuracy)).Concat<object>(attacks));
}
