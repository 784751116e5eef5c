using MiBounds.Bounds;
using MiBounds.Tensors;
using MiBounds.Tensors.Nn;
using MiBounds.Tensors.Optim;

namespace MiBounds.Training;

/// <summary>Thrown when a training loss or objective is NaN or infinite; names the step so the run can be diagnosed.</summary>
public sealed class NonFiniteObjectiveException : Exception
{
    /// <summary>The 0-based training step at which it happened.</summary>
    public long Step { get; }

    /// <summary>The estimator's (or model's) name.</summary>
    public string Estimator { get; }

    /// <summary>Creates the exception for an estimator whose objective or value is not finite.</summary>
    public NonFiniteObjectiveException(string estimator, long step, double objective, double value)
        : base($"{estimator}: the training objective became {objective} (value {value}) at step {step}; lower the learning rate, clip the critic, or pick a more stable bound")
    {
        Step = step;
        Estimator = estimator;
    }

    /// <summary>Creates the exception for a model whose loss is not finite.</summary>
    public NonFiniteObjectiveException(string model, long step, int epoch, double loss)
        : base($"{model}: the loss became {loss} at step {step} (epoch {epoch + 1}); lower the learning rate or pick a more stable objective")
    {
        Step = step;
        Estimator = model;
    }
}

/// <summary>
/// An <see cref="IMiEstimator"/> as a model for <see cref="Trainer"/>: the loss is −objective on the batch the
/// <paramref name="batches"/> function gives for each step; the value before the update is kept in
/// <see cref="LastValue"/>; the estimator's modules and state (MINE's moving average, as "bound.&lt;name&gt;") go into
/// checkpoints; evaluation (when <paramref name="evaluate"/> is given) and its direction come from the estimator's
/// <see cref="IMiEstimator.Selection"/>.
/// </summary>
public sealed class EstimatorModel(IMiEstimator estimator, Func<TrainingBatch, Batch> batches, Func<Evaluation>? evaluate = null) : ITrainable
{
    private readonly (string Name, Module Module)[] _modules = (estimator ?? throw new ArgumentNullException(nameof(estimator))).Modules().ToArray();

    /// <summary>The estimator.</summary>
    public IMiEstimator Estimator { get; } = estimator;

    /// <summary>The bound's value (nats) on the last training batch, before its update.</summary>
    public double LastValue { get; private set; } = double.NaN;

    /// <inheritdoc />
    public IReadOnlyList<(string Name, Module Module)> Modules => _modules;

    /// <inheritdoc />
    public Goal Goal => Estimator.Selection == CheckpointSelection.MinimizeLoss ? Goal.Minimize : Goal.Maximize;

    /// <inheritdoc />
    public Tensor Loss(in TrainingBatch batch)
    {
        var output = Estimator.Forward(batches(batch), training: true);
        double value = output.Value.Item(), objective = output.Objective.Item();
        if (!double.IsFinite(objective) || !double.IsFinite(value))
            throw new NonFiniteObjectiveException(Estimator.Name, batch.Step, objective, value);
        LastValue = value;
        return output.Objective.Neg();
    }

    /// <inheritdoc />
    public Evaluation Evaluate() => (evaluate ?? throw new NotSupportedException($"no evaluation was given for {Estimator.Name}"))();

    /// <inheritdoc />
    public void SaveState(CheckpointState state)
    {
        foreach (var (name, t) in Estimator.NamedState()) state.SetTensor("bound." + name, t);
    }

    /// <inheritdoc />
    public void LoadState(CheckpointState state)
    {
        foreach (var (name, t) in Estimator.NamedState()) state.CopyTensor("bound." + name, t);
    }
}

/// <summary>
/// Fits an estimator's critic and baseline (or decoder) on the library's one training loop (<see cref="Trainer"/>):
/// each step records the estimate on its batch (before the update) and takes one optimizer step on loss = −objective.
/// Stops with <see cref="NonFiniteObjectiveException"/> on a non-finite objective. For held-out evaluation, early
/// stopping and uncertainty on your own data use <see cref="Estimation.MiEstimation"/>.
/// </summary>
public sealed class MiTrainer
{
    private readonly Trainer _trainer;
    private readonly EstimatorModel _model;
    private Batch? _next;
    private long _steps;

    /// <summary>The estimator being trained.</summary>
    public IMiEstimator Estimator { get; }

    /// <summary>The optimizer over the estimator's parameters.</summary>
    public Optimizer Optimizer { get; }

    /// <summary>Steps taken so far.</summary>
    public long StepCount { get => _steps; set => _steps = value; }

    /// <summary>Creates the trainer with Adam; <paramref name="learningRate"/> defaults to the toy protocol's 5e-4.</summary>
    public MiTrainer(IMiEstimator estimator, float learningRate = 5e-4f) : this(estimator, CreateAdam(estimator, learningRate)) { }

    /// <summary>Creates the trainer with your optimizer (over <c>estimator.Parameters()</c>: Adam, Sgd, ...).</summary>
    public MiTrainer(IMiEstimator estimator, Optimizer optimizer)
    {
        Estimator = estimator ?? throw new ArgumentNullException(nameof(estimator));
        Optimizer = optimizer ?? throw new ArgumentNullException(nameof(optimizer));
        _model = new EstimatorModel(estimator, _ => _next ?? throw new InvalidOperationException("no batch"));
        _trainer = new Trainer(_model, optimizer, new Rng(0), new TrainerOptions { Steps = 0 });
    }

    private static Adam CreateAdam(IMiEstimator estimator, float learningRate)
    {
        ArgumentNullException.ThrowIfNull(estimator);
        var parameters = estimator.Parameters().ToArray();
        if (parameters.Length == 0) throw new ArgumentException($"{estimator.Name} has no trainable parameters (an analytic critic?): use Estimate instead");
        return new Adam(parameters, learningRate);
    }

    /// <summary>One training step on <paramref name="batch"/>; returns the bound's value on it before the update (nats).</summary>
    public double Step(Batch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        _next = batch;
        try { _trainer.TrainStep(new TrainingBatch(_steps, 0, (int)Math.Min(int.MaxValue, _steps), [])); }
        finally { _next = null; }
        _steps++;
        return _model.LastValue;
    }

    /// <summary>
    /// Runs <paramref name="steps"/> steps on batches from <paramref name="sampler"/>; returns the per-step estimates.
    /// <paramref name="progress"/> (optional) is called after each step with (step index, estimate).
    /// </summary>
    public double[] Fit(Func<Batch> sampler, int steps, Action<int, double>? progress = null, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(sampler);
        if (steps < 0) throw new ArgumentOutOfRangeException(nameof(steps), steps, "must be ≥ 0");
        var estimates = new List<double>(steps);
        Run(new TrainerOptions { Steps = steps, Cancellation = cancellation }, _ => sampler(), estimates, progress);
        return [.. estimates];
    }

    /// <summary>
    /// Runs <paramref name="epochs"/> passes over a dataset of paired rows (X [N, dx], Y [N, dy]) in shuffled minibatches
    /// of <paramref name="batchSize"/> (a last partial batch is dropped); returns the per-step estimates.
    /// </summary>
    public List<double> FitDataset(Tensor x, Tensor y, int batchSize, int epochs, Rng rng, Action<int, double>? progress = null, CancellationToken cancellation = default)
    {
        var data = new Batch(x, y); // validates shapes and values once
        if (batchSize < 2) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "must be at least 2");
        var estimates = new List<double>();
        var options = new TrainerOptions { Epochs = epochs, DatasetRows = data.Size, BatchSize = Math.Min(batchSize, data.Size), Cancellation = cancellation };
        Run(options, b => new Batch(x.GatherRows(b.Rows), y.GatherRows(b.Rows)), estimates, progress, rng);
        return estimates;
    }

    private void Run(TrainerOptions options, Func<TrainingBatch, Batch> batches, List<double> estimates, Action<int, double>? progress, Rng? rng = null)
    {
        var model = new EstimatorModel(Estimator, batches);
        var trainer = new Trainer(model, Optimizer, rng ?? new Rng(0), options with
        {
            OnStep = s =>
            {
                estimates.Add(model.LastValue);
                progress?.Invoke((int)(s.Step - 1), model.LastValue);
            },
        });
        var result = trainer.Fit();
        _steps += result.Steps;
        if (result.Reason == StopReason.Interrupted) options.Cancellation.ThrowIfCancellationRequested();
        result.ThrowIfDiverged();
    }
}
