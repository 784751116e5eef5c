using System.Diagnostics;
using MiBounds.Bounds;
using MiBounds.Tensors;
using MiBounds.Tensors.Optim;
using MiBounds.Vib.Data;
using MiBounds.Vib.Models;
using MiBounds.Vib.Reports;
using MiBounds.Vib.Attacks;

namespace MiBounds.Vib.Training;

/// <summary>Metrics of a model on one dataset (bits for the information terms; NaN where undefined).</summary>
public sealed record Evaluation(double Accuracy1, double AccuracyMany, double IzxBits, double IzyBits, double CrossEntropyBits);

/// <summary>
/// Trains a <see cref="VibNetwork"/> with the protocol of Alemi et al.: Adam (lr 1e-4, β1 0.5), the learning rate
/// multiplied by 0.97 every 2 epochs, batch 100, Polyak-averaged weights for evaluation; loss = CE + β·KL (VIB) or
/// CE + β·MMD (VIM), CE and KL in bits. With an output directory, each epoch writes the results and a checkpoint.
/// </summary>
public sealed class VibTrainer
{
    private static readonly double Ln2 = Math.Log(2);
    private readonly ParameterAverage _average;
    private readonly Adam _adam;
    private readonly StepDecay _schedule;
    private readonly BarberAgakov _labelBound;
    private readonly Rng _rng;
    private readonly double[] _mmdConstants;

    /// <summary>The run's settings.</summary>
    public TrainConfig Config { get; }
    /// <summary>The data.</summary>
    public ImageData Data { get; }
    /// <summary>The network being trained.</summary>
    public VibNetwork Network { get; }
    /// <summary>Results so far.</summary>
    public RunResults Results { get; private set; } = new();
    /// <summary>Where results and checkpoints go (null: nowhere).</summary>
    public string? OutputDirectory { get; }
    /// <summary>Finished epochs.</summary>
    public int EpochsDone { get; private set; }
    /// <summary>Entropy of the training labels, H(Y), in bits: the constant of the Barber–Agakov bound on I(Z;Y).</summary>
    public double LabelEntropyBits { get; }

    /// <summary>Builds the network and optimizer from <paramref name="config"/>.</summary>
    public VibTrainer(TrainConfig config, ImageData data, string? outputDirectory = null)
    {
        Config = config; Data = data; OutputDirectory = outputDirectory;
        _rng = new Rng(config.Seed);
        Network = new VibNetwork(config.Kind, data.Train.Features, config.Bottleneck, data.Train.Classes, _rng, config.Hidden, dropoutRate: (float)config.DropoutRate);
        _adam = new Adam(Network.Parameters(), (float)config.LearningRate, beta1: (float)config.AdamBeta1);
        _schedule = new StepDecay(_adam, config.DecayEvery, (float)config.Decay);
        _average = new ParameterAverage(Network.Parameters(), (float)config.Polyak);
        _mmdConstants = Mmd.Constants(config.Bottleneck, config.PriorSigma, config.MultiScale);
        // I(Z;Y) ≥ H(Y) + E log q(y|z): the Barber–Agakov bound with the categorical decoder and the label entropy.
        _labelBound = new BarberAgakov(Network.Decoder, BarberAgakov.LabelEntropy(data.Train.Labels));
        LabelEntropyBits = _labelBound.EntropyX / Ln2;
    }

    /// <summary>The Barber–Agakov lower bound on I(Z;Y) in nats for codes <paramref name="z"/> and their labels (differentiable).</summary>
    public Tensor LabelInformation(Tensor z, int[] labels) => _labelBound.FromLogLikelihoods(Network.Decoder.LogLikelihood(z, labels));

    private string CheckpointPath => Path.Combine(OutputDirectory ?? throw new InvalidOperationException("no output directory"), Checkpoint.FileName);

    /// <summary>Continues from the output directory's checkpoint and results; returns the finished epochs.</summary>
    public int Resume()
    {
        EpochsDone = Checkpoint.Load(CheckpointPath, Network, _average, _adam, _rng);
        Results = RunResults.Load(OutputDirectory!);
        Results.Epochs.RemoveAll(e => e.Epoch > EpochsDone);
        return EpochsDone;
    }

    /// <summary>The learning rate during epoch <paramref name="epoch"/> (0-based): lr·decay^⌊epoch/every⌋.</summary>
    public double LearningRateAt(int epoch) => _schedule.RateAt(epoch);

    /// <summary>
    /// The training loss in bits on one batch, as a differentiable scalar, with its parts:
    /// cross-entropy (bits) and the regularizer (KL in bits for VIB, MMD² for VIM, 0 otherwise).
    /// </summary>
    public (Tensor Loss, double CrossEntropyBits, double Regularizer) Loss(Tensor x, int[] labels)
    {
        var (mu, sigma) = Network.Encode(x, _rng);
        var z = Network.Sample(mu, sigma, _rng);
        // Cross-entropy = H(Y) − BA bound; minimizing it maximizes the I(Z;Y) lower bound.
        var ce = ((float)_labelBound.EntropyX - LabelInformation(z, labels)) * (float)(1 / Ln2);
        Tensor? reg = Config.Kind switch
        {
            ModelKind.Vib => GaussianKl.ToStandardNormal(mu, sigma).Mean() * (float)(1 / Ln2),
            ModelKind.Vim => Mmd.Unbiased(z, Tensor.RandomNormal(_rng, z.Shape, 0f, (float)Config.PriorSigma), _mmdConstants),
            _ => null,
        };
        var loss = reg is null ? ce : ce + reg * (float)Config.Beta;
        return (loss, ce.Item(), reg?.Item() ?? 0);
    }

    /// <summary>One optimizer step on a batch; returns the loss in bits. Throws on a non-finite loss, naming the step.</summary>
    public double Step(Tensor x, int[] labels)
    {
        Network.Train();
        var (loss, _, _) = Loss(x, labels);
        float value = loss.Item();
        if (!float.IsFinite(value)) throw new InvalidOperationException($"non-finite loss ({value}) at optimizer step {_adam.StepCount + 1} (epoch {EpochsDone + 1})");
        _adam.ZeroGrad();
        loss.Backward();
        _adam.Step();
        _average.Update();
        return value;
    }

    /// <summary>Trains one epoch, evaluates, and (with an output directory) saves results and a checkpoint.</summary>
    public EpochRecord TrainEpoch(Action<int, int>? onBatch = null)
    {
        var train = Data.Train;
        int n = train.Count, batch = Config.BatchSize, batches = n / batch;
        if (batches == 0) throw new InvalidOperationException($"batch size {batch} exceeds the {n} training images");
        _schedule.Count = EpochsDone;
        var order = Enumerable.Range(0, n).ToArray();
        _rng.Shuffle(order.AsSpan());
        var sw = Stopwatch.StartNew();
        double lossSum = 0;
        for (int b = 0; b < batches; b++)
        {
            var idx = order[(b * batch)..((b + 1) * batch)];
            var x = train.Images.GatherRows(idx);
            var y = idx.Select(i => train.Labels[i]).ToArray();
            lossSum += Step(x, y);
            onBatch?.Invoke(b + 1, batches);
        }
        double seconds = sw.Elapsed.TotalSeconds;
        EpochsDone++;
        var test = Evaluate(Data.Test);
        var trainEval = Evaluate(Config.TrainEvalCount > 0 ? train.Take(Config.TrainEvalCount) : train);
        var record = new EpochRecord(Config.ModelName, EpochsDone, seconds, test.Accuracy1, test.AccuracyMany, trainEval.Accuracy1, trainEval.AccuracyMany,
            test.IzxBits, test.IzyBits, trainEval.IzxBits, trainEval.IzyBits, lossSum / batches);
        Results.Epochs.Add(record);
        if (OutputDirectory is not null)
        {
            Results.Save(OutputDirectory);
            Checkpoint.Save(CheckpointPath, EpochsDone, Network, _average, _adam, _rng);
        }
        return record;
    }

    /// <summary>Runs <paramref name="body"/> with the Polyak-averaged weights in evaluation mode.</summary>
    public T WithAveragedWeights<T>(Func<T> body)
    {
        using var _ = _average.Apply();
        Network.Eval();
        try { return body(); }
        finally { Network.Train(); }
    }

    /// <summary>
    /// Accuracy with one posterior sample and with <see cref="TrainConfig.EvalSamples"/> (averaged softmax), the I(Z;X)
    /// upper bound (mean KL to the prior; NaN for deterministic encoders) and the Barber–Agakov lower bound
    /// I(Z;Y) ≥ H(Y) − CE, with the Polyak-averaged weights.
    /// </summary>
    public Evaluation Evaluate(ImageDataset set, int batch = 1000) => WithAveragedWeights(() => EvaluateCurrent(set, batch));

    private Evaluation EvaluateCurrent(ImageDataset set, int batch)
    {
        using var _ = Tensor.NoGrad();
        int n = set.Count, correct1 = 0, correctMany = 0, samples = Network.IsStochastic ? Config.EvalSamples : 1;
        double klSum = 0, baSum = 0;
        for (int start = 0; start < n; start += batch)
        {
            int len = Math.Min(batch, n - start);
            var x = set.Images.Slice(0, start, len);
            var y = set.Labels.AsSpan(start, len);
            var (mu, sigma) = Network.Encode(x, _rng);
            if (Network.IsStochastic) klSum += GaussianKl.ToStandardNormal(mu, sigma).Sum().Item();
            var z = Network.Sample(mu, sigma, _rng);
            var labels = y.ToArray();
            baSum += LabelInformation(z, labels).Item() * len;
            var logp = Network.LogProbabilities(z);
            var pred1 = logp.ArgMaxRows();
            var probs = new double[len * set.Classes];
            for (int i = 0; i < len; i++) if (pred1[i] == y[i]) correct1++;
            for (int s = 0; s < samples; s++)
            {
                var v = (s == 0 ? logp : Network.LogProbabilities(Network.Sample(mu, sigma, _rng))).Values;
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
            var list = new List<AttackRecord> { new(Config.ModelName, "none", 0, Attacks.Attacks.Accuracy(model, test.Images, test.Labels)) };
            log?.Invoke($"clean accuracy {list[0].Accuracy:P1}");
            foreach (double eps in epsilons)
                foreach (var spec in new[] { AttackSpec.Fgsm(eps), AttackSpec.Pgd(eps) })
                {
                    double acc = Attacks.Attacks.AdversarialAccuracy(model, test.Images, test.Labels, spec, rng);
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
}
