using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using MiBounds.Tensors;
using MiBounds.Tensors.Nn;
using MiBounds.Tensors.Optim;

namespace MiBounds.Training;

/// <summary>
/// The one training loop of the library: toy sweep runs, estimation on users' data, VIB/VIM and their baselines, Deep
/// InfoMax and the label-hypothesis classifier all train through it. A model (<see cref="ITrainable"/>) supplies its
/// loss and evaluation; the trainer owns batching (fresh samples per step, or shuffled epochs over a dataset), training
/// and evaluation modes, the optimizer step inside a pooled <see cref="TensorWorkspace"/>, the learning-rate schedule,
/// parameter averaging, the evaluation schedule, early stopping with best-state restore, the non-finite guard (naming
/// the step), progress callbacks, interruption (checkpoint, then return) and checkpoints in the one
/// <see cref="TrainingCheckpoint"/> format. A run resumed from its checkpoint continues exactly as if never stopped.
/// </summary>
public sealed class Trainer
{
    private readonly ITrainable _model;
    private readonly Optimizer _optimizer;
    private readonly Rng _rng;
    private readonly TrainerOptions _options;
    private readonly TensorWorkspace _workspace = new();
    private readonly (string Name, Module Module)[] _modules;
    private readonly (int Index, Tensor Tensor)[] _looseParameters; // optimizer parameters no module owns (a plain ICritic's)
    private readonly Tensor[] _stateTensors;                        // everything the best state holds
    private readonly int[] _order, _rows;
    private float[][]? _best;
    private bool _training = true;
    private long _step;
    private int _epoch, _stepInEpoch, _orderEpoch = -1, _evaluations, _sinceBest;
    private double _epochLoss, _epochSeconds;
    private Evaluation? _bestEvaluation;
    private long _bestStep;

    /// <summary>Steps done (resumed runs included).</summary>
    public long Step => _step;

    /// <summary>Epochs done.</summary>
    public int Epoch => _epoch;

    /// <summary>Steps done in the current epoch.</summary>
    public int StepInEpoch => _stepInEpoch;

    /// <summary>Batches per epoch (0 for sampled batches).</summary>
    public int StepsPerEpoch { get; }

    /// <summary>The step budget (from the epoch budget when there is one).</summary>
    public long TotalSteps { get; }

    /// <summary>Evaluations run so far.</summary>
    public int Evaluations => _evaluations;

    /// <summary>The best evaluation so far, or null.</summary>
    public Evaluation? Best => _bestEvaluation;

    /// <summary>Whether <see cref="TryResume"/> loaded a checkpoint.</summary>
    public bool Resumed { get; private set; }

    /// <summary>The model.</summary>
    public ITrainable Model => _model;

    /// <summary>The optimizer.</summary>
    public Optimizer Optimizer => _optimizer;

    /// <summary>
    /// Prepares a run of <paramref name="model"/> with <paramref name="optimizer"/> (over the model's parameters:
    /// Adam, Sgd or your own). <paramref name="rng"/> shuffles the epochs and is saved in checkpoints, so give the model
    /// the same generator for its own draws and the whole run resumes exactly.
    /// </summary>
    public Trainer(ITrainable model, Optimizer optimizer, Rng rng, TrainerOptions options)
    {
        _model = model ?? throw new ArgumentNullException(nameof(model));
        _optimizer = optimizer ?? throw new ArgumentNullException(nameof(optimizer));
        _rng = rng ?? throw new ArgumentNullException(nameof(rng));
        _options = options ?? throw new ArgumentNullException(nameof(options));
        options.Validate();
        _modules = model.Modules.ToArray();
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, m) in _modules)
        {
            ArgumentNullException.ThrowIfNull(m, $"module {name}");
            if (!names.Add(name)) throw new ArgumentException($"{model.GetType().Name} lists two modules named {name}");
        }
        var owned = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
        var state = new List<Tensor>();
        foreach (var (_, m) in _modules)
            foreach (var (_, t) in m.NamedState())
                if (owned.Add(t)) state.Add(t);
        _looseParameters = optimizer.Parameters.Select((p, i) => (i, p)).Where(p => !owned.Contains(p.p)).ToArray();
        _stateTensors = [.. state, .. _looseParameters.Select(p => p.Tensor)];
        if (options.DatasetRows is int rows)
        {
            _order = Enumerable.Range(0, rows).ToArray();
            _rows = new int[options.BatchSize];
            StepsPerEpoch = rows / options.BatchSize;
        }
        else
        {
            _order = _rows = [];
            StepsPerEpoch = 0;
        }
        TotalSteps = options.Steps ?? (long)options.Epochs!.Value * StepsPerEpoch;
    }

    // ---------------------------------------------------------------------------------------------------------------

    /// <summary>
    /// One optimizer step on <paramref name="batch"/>: modules to training mode, zero the gradients, the model's loss,
    /// the non-finite guard, backward, the optimizer (and averaging) step, all inside a pooled workspace. Returns the
    /// loss. Does not advance the trainer's counters (<see cref="Fit"/> does); throws
    /// <see cref="NonFiniteObjectiveException"/> naming the step when the loss is NaN or infinite.
    /// </summary>
    public double TrainStep(in TrainingBatch batch)
    {
        SetMode(training: true);
        if (_options.Schedule is { } schedule) schedule.Count = _options.ScheduleUnit == ScheduleUnit.Step ? batch.Step : batch.Epoch;
        double loss;
        using (_workspace.Enter())
        {
            _optimizer.ZeroGrad();
            var lossTensor = _model.Loss(batch);
            loss = lossTensor.Item();
            if (!double.IsFinite(loss)) throw new NonFiniteObjectiveException(_model.GetType().Name, batch.Step, batch.Epoch, loss);
            lossTensor.Backward();
            _optimizer.Step();
            _model.AfterStep(batch);
        }
        _options.Average?.Update();
        return loss;
    }

    /// <summary>Evaluates the model now: modules in evaluation mode, gradients off, averaged parameters when configured.</summary>
    public Evaluation Evaluate() => EvaluateInEvalMode(takeSnapshot: false).Evaluation;

    private (Evaluation Evaluation, bool IsBest) EvaluateInEvalMode(bool takeSnapshot)
    {
        SetMode(training: false);
        var averaged = _options.Average is { } avg && _options.EvaluateWithAverage ? avg.Apply() : null;
        try
        {
            Evaluation e;
            using (Tensor.NoGrad()) e = _model.Evaluate();
            bool isBest = takeSnapshot && (_bestEvaluation is null || Better(e.Score, _bestEvaluation.Score));
            if (isBest && _options.EarlyStopping is not null) SnapshotBest();
            return (e, isBest);
        }
        finally { averaged?.Dispose(); }
    }

    private bool Better(double a, double b) =>
        !double.IsNaN(a) && (double.IsNaN(b) || (_model.Goal == Goal.Maximize ? a > b : a < b));

    private void SetMode(bool training)
    {
        if (_training == training) return;
        foreach (var (_, m) in _modules) m.Train(training);
        _training = training;
    }

    // ---------------------------------------------------------------------------------------------------------------

    /// <summary>
    /// Trains until the budget is used up, early stopping fires, the loss diverges or the run is cancelled; resumes
    /// from where <see cref="TryResume"/> (or an earlier <see cref="Fit"/>) left off. Divergence does not throw: the
    /// result says <see cref="StopReason.Diverged"/> with the message (call <see cref="FitResult.ThrowIfDiverged"/> to
    /// make it an error). With <see cref="EarlyStopping.RestoreBest"/> the best evaluation's state is put back at the end.
    /// </summary>
    public FitResult Fit()
    {
        foreach (var log in _options.Logs)
            log.Open(log.Unit switch { LogUnit.Step => _step, LogUnit.Epoch => _epoch, _ => _evaluations });
        var reason = StopReason.Completed;
        NonFiniteObjectiveException? divergence = null;
        bool savedNow = false;
        try
        {
            if (_options.EvaluateAtStart && _evaluations == 0) RunEvaluation();
            while (_step < TotalSteps)
            {
                if (_options.Cancellation.IsCancellationRequested)
                {
                    reason = StopReason.Interrupted;
                    SaveCheckpoint();
                    savedNow = true;
                    break;
                }
                var batch = NextBatch();
                long start = Stopwatch.GetTimestamp();
                double loss;
                try { loss = TrainStep(batch); }
                catch (NonFiniteObjectiveException e)
                {
                    reason = StopReason.Diverged;
                    divergence = e;
                    break;
                }
                double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
                _step++;
                if (StepsPerEpoch > 0) _stepInEpoch++;
                _epochLoss += loss;
                _epochSeconds += seconds;
                _options.OnStep?.Invoke(new StepReport(_step, _epoch, StepsPerEpoch > 0 ? _stepInEpoch : (int)Math.Min(int.MaxValue, _step), StepsPerEpoch, TotalSteps, loss, seconds));

                bool epochEnd = StepsPerEpoch > 0 && _stepInEpoch == StepsPerEpoch;
                double epochLoss = _epochLoss / Math.Max(1, _stepInEpoch), epochSeconds = _epochSeconds;
                if (epochEnd) { _epoch++; _stepInEpoch = 0; _epochLoss = 0; _epochSeconds = 0; }
                Evaluation? evaluation = null;
                if ((_options.EvaluateEverySteps is long every && _step % every == 0) || (epochEnd && _options.EvaluateEveryEpoch)
                    || (_options.EvaluateAtEnd && _step == TotalSteps))
                    evaluation = RunEvaluation();
                if (epochEnd) _options.OnEpoch?.Invoke(new EpochReport(_epoch, _step, epochLoss, epochSeconds, evaluation));
                savedNow = false;
                if (evaluation is not null && _options.EarlyStopping is { } es && _sinceBest >= es.Patience)
                {
                    reason = StopReason.EarlyStopped;
                    SaveCheckpoint();
                    savedNow = true;
                    break;
                }
                if ((_options.CheckpointEverySteps is long c && _step % c == 0) || (epochEnd && _options.CheckpointEveryEpoch))
                {
                    SaveCheckpoint();
                    savedNow = true;
                }
            }
            if (reason == StopReason.Completed && !savedNow) SaveCheckpoint();
        }
        finally
        {
            foreach (var log in _options.Logs) log.Dispose();
        }
        if (_options.EarlyStopping is { RestoreBest: true }) RestoreBest();
        SetMode(training: false);
        return new FitResult(reason, _step, _epoch, _bestEvaluation, _bestEvaluation is null ? null : _bestStep, _evaluations, divergence);
    }

    private TrainingBatch NextBatch()
    {
        if (StepsPerEpoch == 0) return new TrainingBatch(_step, 0, (int)Math.Min(int.MaxValue, _step), []);
        if (_orderEpoch != _epoch)
        {
            // Each epoch shuffles 0…n−1 afresh, so its order depends on the RNG alone: a checkpoint at an epoch's end
            // (which holds no order) resumes exactly, and ported trainers keep their old shuffles.
            for (int i = 0; i < _order.Length; i++) _order[i] = i;
            _rng.Shuffle(_order.AsSpan());
            _orderEpoch = _epoch;
        }
        _order.AsSpan(_stepInEpoch * _rows.Length, _rows.Length).CopyTo(_rows);
        return new TrainingBatch(_step, _epoch, _stepInEpoch, _rows);
    }

    private Evaluation RunEvaluation()
    {
        var (evaluation, isBest) = EvaluateInEvalMode(takeSnapshot: true);
        int index = _evaluations++;
        if (isBest) { _bestEvaluation = evaluation; _bestStep = _step; _sinceBest = 0; }
        else _sinceBest++;
        _options.OnEvaluation?.Invoke(new EvaluationReport(_step, _epoch, index, evaluation, isBest, _bestEvaluation!, _bestStep));
        return evaluation;
    }

    private void SnapshotBest()
    {
        _best ??= _stateTensors.Select(t => new float[t.Size]).ToArray();
        for (int i = 0; i < _stateTensors.Length; i++) _stateTensors[i].Values.CopyTo(_best[i]);
    }

    /// <summary>
    /// Puts the parameters and buffers of the best evaluation back (with early stopping configured; Fit does it itself
    /// when <see cref="EarlyStopping.RestoreBest"/> is set). Returns false when no best state was kept.
    /// </summary>
    public bool RestoreBest()
    {
        if (_best is null) return false;
        for (int i = 0; i < _stateTensors.Length; i++) _best[i].CopyTo(_stateTensors[i].Data);
        return true;
    }

    // ---- checkpoints ----------------------------------------------------------------------------------------------

    private static readonly JsonSerializerOptions EvaluationJson = new() { NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals };

    /// <summary>Writes the checkpoint now (when one is configured), after flushing the logs.</summary>
    public void SaveCheckpoint()
    {
        if (_options.Checkpoint is not { } target) return;
        foreach (var log in _options.Logs) log.Flush();
        TrainingCheckpoint.Save(target.Path, target.Kind, target.Configuration, CaptureState());
    }

    /// <summary>Everything a checkpoint of this run holds (the live tensors, not copies).</summary>
    public CheckpointState CaptureState()
    {
        var s = new CheckpointState();
        foreach (var (name, m) in _modules) s.SetModule("module." + name, m);
        foreach (var (index, p) in _looseParameters) s.SetTensor($"parameter.{index}", p);
        s.SetOptimizer("optimizer", _optimizer);
        if (_options.Average is { } avg) s.SetAverage("average", avg);
        s.SetRng("rng", _rng);
        s.SetLong("loop.step", _step);
        s.SetLong("loop.epoch", _epoch);
        s.SetLong("loop.step_in_epoch", _stepInEpoch);
        s.SetLong("loop.evaluations", _evaluations);
        s.SetLong("loop.since_best", _sinceBest);
        s.SetDoubles("loop.epoch_totals", [_epochLoss, _epochSeconds]);
        if (StepsPerEpoch > 0 && _stepInEpoch > 0) s.SetText("loop.order", string.Join(",", _order));
        if (_bestEvaluation is not null)
        {
            var all = new Dictionary<string, double>(_bestEvaluation.Metrics) { ["__score__"] = _bestEvaluation.Score };
            s.SetText("loop.best", JsonSerializer.Serialize(all, EvaluationJson));
            s.SetLong("loop.best_step", _bestStep);
        }
        if (_best is not null)
            for (int i = 0; i < _best.Length; i++) s.SetTensor($"best.{i}", Tensor.FromArray(_best[i], _stateTensors[i].Shape));
        _model.SaveState(s);
        return s;
    }

    /// <summary>
    /// Continues from the configured checkpoint when its file exists: returns false when there is none (a fresh run),
    /// true after restoring every module, the optimizer, the average, the RNG, the loop's counters and the model's own
    /// state. A checkpoint of another kind of run, configuration or format throws an <see cref="InvalidDataException"/>
    /// whose one line names the file and the difference.
    /// </summary>
    public bool TryResume()
    {
        if (_options.Checkpoint is not { } target || !File.Exists(target.Path)) return false;
        var s = TrainingCheckpoint.Load(target.Path, target.Kind, target.Configuration);
        try { RestoreState(s); }
        catch (InvalidDataException e) { throw new InvalidDataException(string.Join("; ", e.Message.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)), e); }
        Resumed = true;
        return true;
    }

    /// <summary>
    /// <see cref="TryResume"/> for a run that must continue: throws an <see cref="InvalidDataException"/> naming the
    /// file when there is no checkpoint to resume from (or none configured).
    /// </summary>
    public void Resume()
    {
        if (!TryResume()) throw new InvalidDataException($"{_options.Checkpoint?.Path ?? "this run"}: no checkpoint to resume from");
    }

    private void RestoreState(CheckpointState s)
    {
        foreach (var (name, m) in _modules) s.LoadModule("module." + name, m);
        foreach (var (index, p) in _looseParameters) s.CopyTensor($"parameter.{index}", p);
        s.LoadOptimizer("optimizer", _optimizer);
        if (_options.Average is { } avg) s.LoadAverage("average", avg);
        s.LoadRng("rng", _rng);
        _step = s.GetLong("loop.step");
        _epoch = checked((int)s.GetLong("loop.epoch"));
        _stepInEpoch = checked((int)s.GetLong("loop.step_in_epoch"));
        _evaluations = checked((int)s.GetLong("loop.evaluations"));
        _sinceBest = checked((int)s.GetLong("loop.since_best"));
        var totals = s.GetDoubles("loop.epoch_totals");
        if (totals.Length != 2) throw new InvalidDataException($"{s.Source}: loop.epoch_totals is damaged");
        (_epochLoss, _epochSeconds) = (totals[0], totals[1]);
        if (_step > TotalSteps && _options.Steps is not null) throw new InvalidDataException($"{s.Source} holds {_step} steps, more than this run's budget of {TotalSteps}");
        if (_stepInEpoch > 0 && StepsPerEpoch == 0) throw new InvalidDataException($"{s.Source} is a checkpoint of a run over a dataset, this run draws its own samples");
        if (_stepInEpoch > 0)
        {
            var order = s.GetText("loop.order").Split(',');
            if (order.Length != _order.Length) throw new InvalidDataException($"{s.Source} shuffles {order.Length} rows, this run has {_order.Length}");
            for (int i = 0; i < order.Length; i++) _order[i] = int.Parse(order[i], CultureInfo.InvariantCulture);
            _orderEpoch = _epoch;
        }
        if (s.Text.TryGetValue("loop.best", out var bestJson))
        {
            var all = JsonSerializer.Deserialize<Dictionary<string, double>>(bestJson, EvaluationJson) ?? [];
            double score = all.Remove("__score__", out double v) ? v : double.NaN;
            _bestEvaluation = new Evaluation(score, all);
            _bestStep = s.GetLong("loop.best_step");
        }
        if (s.HasTensor("best.0"))
        {
            _best = _stateTensors.Select(t => new float[t.Size]).ToArray();
            for (int i = 0; i < _best.Length; i++)
            {
                var stored = Tensor.Zeros(_stateTensors[i].Shape);
                s.CopyTensor($"best.{i}", stored);
                stored.Values.CopyTo(_best[i]);
            }
        }
        _model.LoadState(s);
    }
}
