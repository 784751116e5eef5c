using MiBounds.Bounds;
using MiBounds.Tensors;
using MiBounds.Tensors.Nn;
using MiBounds.Tensors.Optim;
using MiBounds.Training;
using MiBounds.Vib.Data;
using MiBounds.Vib.Models;
using MiBounds.Vib.Reports;
using MiBounds.Vib.Attacks;
using TrainingEvaluation = MiBounds.Training.Evaluation;

namespace MiBounds.Vib.Training;

/// <summary>Metrics of a model on one dataset (bits for the information terms; NaN where undefined).</summary>
public sealed record Evaluation(double Accuracy1, double AccuracyMany, double IzxBits, double IzyBits, double CrossEntropyBits);

/// <summary>
/// Trains a <see cref="VibNetwork"/> with the protocol of Alemi et al. on the library's <see cref="Trainer"/>: Adam
/// (lr 1e-4, β1 0.5), the learning rate multiplied by 0.97 every 2 epochs, batch 100, Polyak-averaged weights in
/// evaluation mode for every evaluation; loss = CE + β·KL (VIB) or CE + β·MMD (VIM), CE and KL in bits. With an output
/// directory, each epoch writes the results and then a checkpoint (the <see cref="TrainingCheckpoint"/> format), and
/// an interruption checkpoints mid-epoch, so a resumed run continues exactly.
/// </summary>
public sealed class VibTrainer : EpochTrainer<EpochRecord>
{
    /// <summary>The kind of run recorded in (and required of) the checkpoint.</summary>
    public const string CheckpointKind = "vib";

    private static readonly double Ln2 = Math.Log(2);
    private readonly ParameterAverage? _average; // null when TrainConfig.Polyak is 0
    private readonly Adam _adam;
    private readonly StepDecay _schedule;
    private readonly BarberAgakov _labelBound;
    private readonly Rng _rng;
    private readonly double[] _mmdConstants;
    private readonly ImageDataset _trainEvalSet;
    private readonly int[] _batchLabels;
    private (Tensor X, int[] Labels)? _explicitBatch;
    private List<EpochRecord>? _resumedEpochs;

    /// <summary>The run's settings.</summary>
    public TrainConfig Config { get; }
    /// <summary>The data.</summary>
    public ImageData Data { get; }
    /// <summary>The network being trained.</summary>
    public VibNetwork Network { get; }
    /// <summary>Results so far.</summary>
    public RunResults Results { get; private set; } = new();
    /// <summary>Entropy of the training labels, H(Y), in bits: the constant of the Barber–Agakov bound on I(Z;Y).</summary>
    public double LabelEntropyBits { get; }

    /// <summary>
    /// Builds the network, optimizer and trainer from <paramref name="config"/>. Cancelling <paramref name="cancellation"/>
    /// makes <see cref="Train"/> checkpoint (with an output directory) and return <see cref="StopReason.Interrupted"/>.
    /// </summary>
    public VibTrainer(TrainConfig config, ImageData data, string? outputDirectory = null, CancellationToken cancellation = default) : base(outputDirectory)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(data);
        Config = config; Data = data;
        // The one generator of the run: initialization, posterior noise, dropout masks (Encode gets it), shuffles.
        _rng = new Rng(config.Seed);
        Network = new VibNetwork(config.Kind, data.Train.Features, config.Bottleneck, data.Train.Classes, _rng, config.Hidden, dropoutRate: (float)config.DropoutRate, fullCovariance: config.FullCovariance, encoder: config.Encoder);
        _adam = new Adam(Network.Parameters(), (float)config.LearningRate, beta1: (float)config.AdamBeta1);
        _schedule = new StepDecay(_adam, config.DecayEvery, (float)config.Decay);
        // A decay of 0 would average to the current weights: skip the pass instead.
        _average = config.Polyak == 0 ? null : new ParameterAverage(Network.Parameters(), (float)config.Polyak);
        _mmdConstants = Mmd.Constants(config.Bottleneck, config.PriorSigma, config.MultiScale);
        // I(Z;Y) ≥ H(Y) + E log q(y|z): the Barber–Agakov bound with the categorical decoder and the label entropy.
        _labelBound = new BarberAgakov(Network.Decoder, BarberAgakov.LabelEntropy(data.Train.Labels));
        LabelEntropyBits = _labelBound.EntropyX / Ln2;
        _trainEvalSet = config.TrainEvalCount > 0 ? data.Train.Take(config.TrainEvalCount) : data.Train;
        _batchLabels = new int[config.BatchSize];
        Loop = new Trainer(new VibModel(this), _adam, _rng, new TrainerOptions
        {
            Epochs = config.Epochs,
            DatasetRows = data.Train.Count,
            BatchSize = config.BatchSize,
            Schedule = _schedule,
            ScheduleUnit = ScheduleUnit.Epoch,
            Average = _average,
            EvaluateWithAverage = true,
            EvaluateEveryEpoch = true,
            Checkpoint = CheckpointTarget.InFolder(outputDirectory, CheckpointKind, config.ToJson(), nameof(TrainConfig.Epochs)), // a resumed run may raise the epoch budget
            CheckpointEveryEpoch = true,
            Cancellation = cancellation,
            OnStep = StepDone,
            OnEpoch = RecordEpoch,
        });
    }

    /// <summary>The Barber–Agakov lower bound on I(Z;Y) in nats for codes <paramref name="z"/> and their labels (differentiable).</summary>
    public Tensor LabelInformation(Tensor z, int[] labels) => _labelBound.FromLogLikelihoods(Network.Decoder.LogLikelihood(z, labels));

    /// <summary>
    /// Continues from the output directory's checkpoint (possibly mid-epoch): the epoch records come from the checkpoint
    /// (those of epochs after it are dropped), the attack records from the results files; returns the finished epochs. A missing checkpoint, or one of another format or
    /// configuration, throws a <see cref="DataException"/> with one line naming the file (and the difference).
    /// </summary>
    protected override void OnResumed()
    {
        // Attack records from the files; epoch records from the checkpoint, exact (results.csv rounds) and only those it covers.
        Results = RunResults.Load(OutputDirectory!);
        Results.Epochs.Clear();
        Results.Epochs.AddRange(_resumedEpochs ?? []);
        _resumedEpochs = null;
    }

    /// <summary>
    /// Trains until <see cref="TrainConfig.Epochs"/> epochs are done (continuing a resumed run) or the run is cancelled;
    /// <paramref name="onStep"/> and <paramref name="onEpoch"/> as in <see cref="EpochTrainer{TRecord}.Fit"/> (the epoch's
    /// record is in <see cref="Results"/>, and saved, before its checkpoint). A diverged loss throws a <see cref="DataException"/>.
    /// </summary>
    public FitResult Train(Action<StepReport>? onStep = null, Action<EpochRecord>? onEpoch = null) => Fit(onStep, onEpoch);

    private void RecordEpoch(EpochReport report)
    {
        var e = report.Evaluation ?? throw new InvalidOperationException("the trainer evaluates every epoch");
        var record = new EpochRecord(Config.ModelName, report.Epoch, report.Seconds, e["test_acc_1"], e["test_acc_many"], e["train_acc_1"], e["train_acc_many"],
            e["izx_bits"], e["izy_bits"], e["train_izx_bits"], e["train_izy_bits"], report.MeanLoss);
        Results.Epochs.Add(record);
        // Saved before the trainer's checkpoint, so a checkpoint never covers an epoch the results lack.
        if (OutputDirectory is not null) Results.Save(OutputDirectory);
        EpochDone(record);
    }

    /// <summary>The learning rate during epoch <paramref name="epoch"/> (0-based): lr·decay^⌊epoch/every⌋.</summary>
    public double LearningRateAt(int epoch) => _schedule.RateAt(epoch);

    /// <summary>
    /// The training loss in bits on one batch, as a differentiable scalar, with its parts:
    /// cross-entropy (bits) and the regularizer (KL in bits for VIB, MMD² for VIM, 0 otherwise).
    /// </summary>
    public (Tensor Loss, double CrossEntropyBits, double Regularizer) Loss(Tensor x, int[] labels)
    {
        var (loss, ce, reg) = LossTerms(x, labels);
        return (loss, ce.Item(), reg?.Item() ?? 0);
    }

    private (Tensor Loss, Tensor CrossEntropy, Tensor? Regularizer) LossTerms(Tensor x, int[] labels)
    {
        var code = Network.EncodeGaussian(x, _rng);
        var z = Network.Sample(code, _rng);
        // Cross-entropy = H(Y) − BA bound; minimizing it maximizes the I(Z;Y) lower bound.
        var ce = ((float)_labelBound.EntropyX - LabelInformation(z, labels)) * (float)(1 / Ln2);
        Tensor? reg = Config.Kind switch
        {
            ModelKind.Vib => code.KlToNormal(Config.PriorSigma).Mean() * (float)(1 / Ln2),
            ModelKind.Vim => Mmd.Unbiased(z, Tensor.RandomNormalLike(z, _rng, 0f, (float)Config.PriorSigma), _mmdConstants),
            _ => null,
        };
        // Pereyra et al.'s baselines: smoothing adds ε·(mean over classes of −log q) − ε·CE; the penalty subtracts β·H (bits).
        if (Config.Kind == ModelKind.LabelSmoothing && Config.LabelSmoothing > 0)
        {
            var uniform = -Network.LogProbabilities(z).Mean(1).Mean() * (float)(1 / Ln2);
            return (ce * (float)(1 - Config.LabelSmoothing) + uniform * (float)Config.LabelSmoothing, ce, uniform);
        }
        if (Config.Kind == ModelKind.ConfidencePenalty && Config.ConfidencePenalty > 0)
        {
            var logp = Network.LogProbabilities(z);
            var entropy = -(logp.Exp() * logp).Sum(1).Mean() * (float)(1 / Ln2);
            return (ce - entropy * (float)Config.ConfidencePenalty, ce, entropy);
        }
        return (reg is null ? ce : ce + reg * (float)Config.Beta, ce, reg);
    }

    /// <summary>
    /// One optimizer step on a batch of your own, through the trainer's step (training mode, averaging, the non-finite
    /// guard); returns the loss in bits. Does not advance the epoch loop. Throws <see cref="NonFiniteObjectiveException"/> naming the step.
    /// </summary>
    public double Step(Tensor x, int[] labels)
    {
        _explicitBatch = (x, labels);
        try { return Loop.TrainStep(new TrainingBatch(_adam.StepCount, EpochsDone, 0, [])); }
        finally { _explicitBatch = null; }
    }

    /// <summary>
    /// Runs <paramref name="body"/> with the Polyak-averaged weights (the current ones when <see cref="TrainConfig.Polyak"/>
    /// is 0) in evaluation mode, parameters frozen (attacks
    /// differentiate to the images only); the mode and the trained weights are put back after.
    /// </summary>
    public T WithAveragedWeights<T>(Func<T> body)
    {
        bool training = Network.Training;
        using var _ = _average?.Apply();
        using var frozen = Network.FreezeParameters();
        Network.Eval();
        try { return body(); }
        finally { Network.Train(training); }
    }

    /// <summary>
    /// Accuracy with one posterior sample and with <see cref="TrainConfig.EvalSamples"/> (averaged softmax), the I(Z;X)
    /// upper bound (mean KL to the prior; NaN for deterministic encoders) and the Barber–Agakov lower bound
    /// I(Z;Y) ≥ H(Y) − CE, with the Polyak-averaged weights.
    /// </summary>
    public Evaluation Evaluate(ImageDataset set, int batch = 1000) => WithAveragedWeights(() => EvaluateCurrent(set, batch));

    private Evaluation EvaluateCurrent(ImageDataset set, int batch = 1000)
    {
        using var _ = Tensor.NoGrad();
        int n = set.Count, correct1 = 0, correctMany = 0, samples = Network.IsStochastic ? Config.EvalSamples : 1;
        double klSum = 0, baSum = 0;
        var workspace = new TensorWorkspace(); // one batch's tensors at a time
        for (int start = 0; start < n; start += batch)
        {
            int len = Math.Min(batch, n - start);
            using var scope = workspace.Enter();
            var x = set.Images.Slice(0, start, len);
            var y = set.Labels.AsSpan(start, len);
            var code = Network.EncodeGaussian(x, _rng);
            if (Network.IsStochastic) klSum += code.KlToNormal(Config.PriorSigma).Sum().Item();
            var z = Network.Sample(code, _rng);
            var labels = y.ToArray();
            baSum += LabelInformation(z, labels).Item() * len;
            var logp = Network.LogProbabilities(z);
            var pred1 = logp.ArgMaxRows();
            var probs = new double[len * set.Classes];
            for (int i = 0; i < len; i++) if (pred1[i] == y[i]) correct1++;
            for (int s = 0; s < samples; s++)
            {
                var v = (s == 0 ? logp : Network.LogProbabilities(Network.Sample(code, _rng))).Values;
                for (int j = 0; j < probs.Length; j++) probs[j] += Math.Exp(v[j]);
            }
            for (int i = 0; i < len; i++)
            {
                int best = 0;
                for (int c = 1; c < set.Classes; c++) if (probs[i * set.Classes + c] > probs[i * set.Classes + best]) best = c;
                if (best == y[i]) correctMany++;
            }
        }
        double izyBits = baSum / n / Ln2;
        double izx = Network.IsStochastic ? klSum / n / Ln2 : double.NaN;
        return new Evaluation((double)correct1 / n, (double)correctMany / n, izx, izyBits, LabelEntropyBits - izyBits);
    }

    /// <summary>The prediction rule as a differentiable function images → log-probabilities (12-sample average for stochastic models).</summary>
    public Func<Tensor, Tensor> Predictor(Rng rng) => x => Network.PredictLogProbabilities(x, Network.IsStochastic ? Config.EvalSamples : 1, rng);

    /// <summary>
    /// FGSM and PGD accuracy at each radius on the first <paramref name="count"/> test images, with the averaged weights;
    /// the records are added to <see cref="Results"/> (and saved with an output directory).
    /// </summary>
    public List<AttackRecord> Robustness(IReadOnlyList<double> epsilons, int count = 1000, Action<string>? log = null)
    {
        var test = Data.Test.Take(count);
        var rng = new Rng(Config.Seed + 7919);
        var records = WithAveragedWeights(() =>
        {
            var model = Predictor(rng);
            var list = new List<AttackRecord> { new(Config.ModelName, "none", 0, AdversarialAttacks.Accuracy(model, test.Images, test.Labels)) };
            log?.Invoke($"clean accuracy {list[0].Accuracy:P1}");
            foreach (double eps in epsilons)
                foreach (var spec in new[] { AttackSpec.Fgsm(eps), AttackSpec.Pgd(eps) })
                {
                    double acc = AdversarialAttacks.AdversarialAccuracy(model, test.Images, test.Labels, spec, rng);
                    list.Add(new AttackRecord(Config.ModelName, spec.Name, eps, acc));
                    log?.Invoke($"{spec.Name} ε={eps:G3}: accuracy {acc:P1}");
                }
            return list;
        });
        Results.Attacks.RemoveAll(a => a.Model == Config.ModelName);
        Results.Attacks.AddRange(records);
        if (OutputDirectory is not null) Results.Save(OutputDirectory);
        return records;
    }

    /// <summary>The network as the trainer sees it: the loss of a batch of training rows and the per-epoch evaluation.</summary>
    private sealed class VibModel(VibTrainer owner) : ITrainable
    {
        public IReadOnlyList<(string Name, Module Module)> Modules { get; } = [("network", owner.Network)];

        public Tensor Loss(in TrainingBatch batch)
        {
            if (owner._explicitBatch is { } given) return owner.LossTerms(given.X, given.Labels).Loss;
            var train = owner.Data.Train;
            var rows = batch.Rows;
            for (int i = 0; i < rows.Length; i++) owner._batchLabels[i] = train.Labels[rows[i]];
            return owner.LossTerms(train.Images.GatherRows(rows), owner._batchLabels).Loss;
        }

        private const string EpochsKey = "results.epochs";
        private const int RecordFields = 11;

        // The epoch records so far, bit for bit: a resumed run then writes the same results as an uninterrupted one.
        public void SaveState(CheckpointState state)
        {
            var values = new List<double>(owner.Results.Epochs.Count * RecordFields);
            foreach (var e in owner.Results.Epochs)
                values.AddRange([e.Epoch, e.Seconds, e.TestAcc1, e.TestAcc12, e.TrainAcc1, e.TrainAcc12, e.IzxBits, e.IzyBits, e.TrainIzxBits, e.TrainIzyBits, e.LossBits]);
            state.SetDoubles(EpochsKey, values.ToArray());
        }

        public void LoadState(CheckpointState state)
        {
            var v = state.GetDoubles(EpochsKey);
            if (v.Length % RecordFields != 0) throw new InvalidDataException($"{state.Source}: {EpochsKey} is damaged");
            var records = new List<EpochRecord>();
            for (int i = 0; i < v.Length; i += RecordFields)
                records.Add(new EpochRecord(owner.Config.ModelName, (int)v[i], v[i + 1], v[i + 2], v[i + 3], v[i + 4], v[i + 5], v[i + 6], v[i + 7], v[i + 8], v[i + 9], v[i + 10]));
            owner._resumedEpochs = records;
        }

        // The trainer has applied the averages and switched to evaluation mode.
        public TrainingEvaluation Evaluate()
        {
            var test = owner.EvaluateCurrent(owner.Data.Test);
            var train = owner.EvaluateCurrent(owner._trainEvalSet);
            return new TrainingEvaluation(test.AccuracyMany, new Dictionary<string, double>
            {
                ["test_acc_1"] = test.Accuracy1, ["test_acc_many"] = test.AccuracyMany, ["izx_bits"] = test.IzxBits, ["izy_bits"] = test.IzyBits,
                ["train_acc_1"] = train.Accuracy1, ["train_acc_many"] = train.AccuracyMany, ["train_izx_bits"] = train.IzxBits, ["train_izy_bits"] = train.IzyBits,
            });
        }
    }
}
