using System.Diagnostics;
using System.Text.Json.Nodes;
using MiBounds.Bounds;
using MiBounds.Critics;
using MiBounds.Tensors;
using MiBounds.Tensors.Nn;
using MiBounds.Tensors.Optim;
using MiBounds.Toy.Tasks;
using MiBounds.Training;

namespace MiBounds.Toy.Sweep;

/// <summary>Where a run stands.</summary>
public enum RunStatus
{
    /// <summary>Not started.</summary>
    Pending,
    /// <summary>Training.</summary>
    Running,
    /// <summary>Every step done.</summary>
    Done,
    /// <summary>Stopped by Ctrl-C or SIGTERM (checkpointed).</summary>
    Interrupted,
    /// <summary>Stopped by an error (e.g. a non-finite objective).</summary>
    Failed,
}

/// <summary>A run's live state for the progress display (written by the run's thread, read by the display).</summary>
public sealed class RunProgress(RunSpec spec, int totalSteps)
{
    /// <summary>The run.</summary>
    public RunSpec Spec { get; } = spec;

    /// <summary>Steps of the whole run.</summary>
    public int TotalSteps { get; } = totalSteps;

    /// <summary>Steps done.</summary>
    public volatile int Step;

    /// <summary>The latest estimate (nats).</summary>
    public double Estimate = double.NaN;

    /// <summary>Training speed over the recent steps.</summary>
    public double StepsPerSecond;

    /// <summary>The status.</summary>
    public volatile RunStatus Status;

    /// <summary>The error, when <see cref="Status"/> is <see cref="RunStatus.Failed"/>.</summary>
    public string? Error;
}

/// <summary>The outcome of a run: its estimates (possibly partial) and what the reports need.</summary>
/// <param name="Spec">The run.</param>
/// <param name="Estimates">One estimate per step done.</param>
/// <param name="LevelSeconds">Training seconds per level.</param>
/// <param name="Ceiling">The bound's ceiling at this batch size, if any.</param>
/// <param name="Status">How it ended.</param>
/// <param name="Error">The error message for a failed run.</param>
public sealed record RunResult(RunSpec Spec, double[] Estimates, double[] LevelSeconds, double? Ceiling, RunStatus Status, string? Error);

/// <summary>
/// One staircase run (DESIGN §4) on the library's training loop (<see cref="Trainer"/>): a fresh batch from the current
/// level's task every step, drawn with the run's one generator (which also drew the critic and baseline), Adam over
/// critic and baseline together, loss = −objective, the training batch's estimate recorded before the update. The
/// trainer keeps the CSV (step,mi,estimate) in step with the checkpoint (a <see cref="TrainingCheckpoint"/> of kind
/// <see cref="CheckpointKind"/>, every N steps, at the end and on cancellation), so a resumed run continues bit for bit.
/// The CSV is the one record of the estimates: results read it back.
/// </summary>
public sealed class SweepRun
{
    /// <summary>The <see cref="CheckpointTarget.Kind"/> of a run's checkpoint.</summary>
    public const string CheckpointKind = "toy-sweep-run";

    /// <summary>The checkpoint entry holding the training seconds per level.</summary>
    public const string LevelSecondsKey = "sweep.level_seconds";

    /// <summary>The CSV's columns.</summary>
    public static readonly string[] Columns = ["step", "mi", "estimate"];

    private readonly SweepConfig _config;
    private readonly IMiTaskFactory _taskFactory;
    private readonly Rng _rng;
    private readonly EstimatorModel _estimator;
    private readonly Trainer _trainer;
    private readonly MetricsLog _log;
    private readonly RunProgress _progress;
    private readonly CancellationToken _cancellation;
    private readonly double[] _levelSeconds;
    private readonly int? _crashAfterSteps;
    private readonly Action<RunSpec, long>? _afterStep;
    private IMiTask? _task;
    private int _taskLevel = -1;
    private long _newSteps, _speedMark, _speedMarkStep;

    /// <summary>The run.</summary>
    public RunSpec Spec { get; }

    /// <summary>The bound being trained.</summary>
    public MiBound Bound { get; }

    /// <summary>The run's estimates CSV.</summary>
    public string CsvPath => _log.Path;

    /// <summary>The run's checkpoint.</summary>
    public string CheckpointPath { get; }

    /// <summary>Steps done (after <see cref="TryResume"/>: the checkpoint's).</summary>
    public long StepsDone => _trainer.Step;

    /// <summary>
    /// Builds the critic (and baseline) from the run's seed, the bound, Adam and the trainer over them, with the CSV
    /// in <see cref="SweepRunner.RunsFolder"/> and the checkpoint in <see cref="SweepRunner.CheckpointFolder"/> of
    /// <paramref name="outDir"/>. <paramref name="progress"/> is kept up to date; cancelling
    /// <paramref name="cancellation"/> makes a training run checkpoint and stop.
    /// </summary>
    public SweepRun(SweepConfig config, RunSpec spec, string outDir, SweepExecution execution, RunProgress progress, CancellationToken cancellation)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(execution);
        _config = config;
        Spec = spec ?? throw new ArgumentNullException(nameof(spec));
        _progress = progress ?? throw new ArgumentNullException(nameof(progress));
        _cancellation = cancellation;
        _crashAfterSteps = execution.CrashAfterSteps;
        _afterStep = execution.AfterStep;
        _taskFactory = TaskRegistry.Get(spec.Task);
        var probe = _taskFactory.Create(config.Dim, config.Levels[0]);
        _rng = new Rng(spec.SeedFor(config.Seed));
        ICritic critic = spec.Critic == "concat"
            ? new ConcatCritic(probe.DimX, probe.DimY, _rng)
            : new SeparableCritic(probe.DimX, probe.DimY, _rng);
        IBaseline? baseline = spec.Bound.UsesBaseline ? new LearnedBaseline(probe.DimY, _rng) : null;
        Bound = spec.Bound.Create(critic, baseline);
        _levelSeconds = new double[config.Levels.Length];
        // The task of the step's level is made outside the step (in OnStep), so nothing it builds lands in the step's workspace.
        _estimator = new EstimatorModel(Bound, _ => _task!.Sample(config.Batch, _rng));
        CheckpointPath = Path.Combine(SweepRunner.CheckpointFolder(outDir), spec.Id + ".safetensors");
        _log = new MetricsLog(Path.Combine(SweepRunner.RunsFolder(outDir), spec.Id + ".csv"), LogUnit.Step, Columns);
        _trainer = new Trainer(new RunModel(_estimator, _levelSeconds), new Adam(Bound.Parameters().ToArray(), (float)config.LearningRate), _rng, new TrainerOptions
        {
            Steps = config.TotalSteps,
            Checkpoint = new CheckpointTarget(CheckpointPath, CheckpointKind, Configuration(config, spec)),
            CheckpointEverySteps = execution.CheckpointEvery,
            Logs = [_log],
            Cancellation = cancellation,
            OnStep = OnStep,
        });
    }

    /// <summary>
    /// What a run's checkpoint must match on resume: the run's identity (spec id, task, critic, estimator, sweep seed)
    /// and everything that changes its numbers (dim, batch, levels, steps per level, learning rate).
    /// </summary>
    public static string Configuration(SweepConfig config, RunSpec spec) => new JsonObject
    {
        ["run"] = spec.Id,
        ["task"] = spec.Task,
        ["critic"] = spec.Critic,
        ["estimator"] = spec.Bound.Text,
        ["seed"] = config.Seed,
        ["dim"] = config.Dim,
        ["batch"] = config.Batch,
        ["levels"] = new JsonArray(config.Levels.Select(l => (JsonNode?)JsonValue.Create(l)).ToArray()),
        ["steps_per_level"] = config.StepsPerLevel,
        ["lr"] = config.LearningRate,
    }.ToJsonString();

    /// <summary>
    /// Continues from the run's checkpoint when there is one (false: a fresh run); a checkpoint of another
    /// configuration or format throws an <see cref="InvalidDataException"/> whose one line names the file and the difference.
    /// </summary>
    public bool TryResume()
    {
        bool resumed = _trainer.TryResume();
        _progress.Step = (int)StepsDone;
        return resumed;
    }

    /// <summary>
    /// Trains from the current step to the end of the staircase (nothing when every step is done or the sweep is
    /// already cancelled). Ends <see cref="RunStatus.Done"/>, <see cref="RunStatus.Interrupted"/> (cancelled:
    /// checkpointed first) or <see cref="RunStatus.Failed"/> (a non-finite objective; the message names the step).
    /// </summary>
    public RunResult Train()
    {
        _progress.Step = (int)StepsDone;
        if (StepsDone >= _config.TotalSteps) return Finish(RunStatus.Done);
        if (_cancellation.IsCancellationRequested) return Finish(RunStatus.Interrupted); // not started: nothing new to save
        _progress.Status = RunStatus.Running;
        SetTask(StepsDone);
        _speedMark = Stopwatch.GetTimestamp();
        _speedMarkStep = StepsDone;
        FitResult fit;
        try { fit = _trainer.Fit(); }
        catch (SimulatedCrashException) { return Finish(RunStatus.Interrupted); } // no final checkpoint, as after kill -9
        return fit.Reason switch
        {
            StopReason.Completed => Finish(RunStatus.Done),
            StopReason.Interrupted => Finish(RunStatus.Interrupted),
            StopReason.Diverged => Finish(RunStatus.Failed, fit.Error),
            _ => Finish(RunStatus.Failed, $"training stopped early ({fit.Reason})"),
        };
    }

    private RunResult Finish(RunStatus status, string? error = null)
    {
        _progress.Error = error;
        _progress.Status = status;
        return Result(status, error);
    }

    /// <summary>The result so far: the estimates are the CSV's rows for the steps done.</summary>
    public RunResult Result(RunStatus status, string? error = null) =>
        new(Spec, ReadEstimates(), (double[])_levelSeconds.Clone(), Bound.Ceiling(_config.Batch), status, error);

    private double[] ReadEstimates()
    {
        if (StepsDone == 0 || !File.Exists(CsvPath)) return [];
        var rows = MetricsLog.ReadRows(CsvPath, out _);
        int n = (int)Math.Min(StepsDone, rows.Count);
        var estimates = new double[n];
        for (int i = 0; i < n; i++) estimates[i] = MetricsLog.Parse(rows[i][2]);
        return estimates;
    }

    private void SetTask(long step)
    {
        int level = (int)(step / _config.StepsPerLevel);
        if (level == _taskLevel || level >= _config.Levels.Length) return;
        _task = _taskFactory.Create(_config.Dim, _config.Levels[level]);
        _taskLevel = level;
    }

    private void OnStep(StepReport s)
    {
        long step = s.Step - 1; // 0-based index of the step just taken
        int level = (int)(step / _config.StepsPerLevel);
        double value = _estimator.LastValue;
        _levelSeconds[level] += s.Seconds;
        _log.Append(step, _config.Levels[level], value);
        _progress.Estimate = value;
        _progress.Step = (int)s.Step;
        if (s.Step % 50 == 0)
        {
            long now = Stopwatch.GetTimestamp();
            double seconds = Stopwatch.GetElapsedTime(_speedMark, now).TotalSeconds;
            _progress.StepsPerSecond = seconds > 0 ? (s.Step - _speedMarkStep) / seconds : 0;
            _speedMark = now;
            _speedMarkStep = s.Step;
        }
        SetTask(s.Step);
        _afterStep?.Invoke(Spec, s.Step);
        if (++_newSteps == _crashAfterSteps) throw new SimulatedCrashException();
    }

    /// <summary>The estimates of level <paramref name="level"/> among <paramref name="estimates"/> (possibly fewer than a full level).</summary>
    public static ReadOnlySpan<double> LevelSlice(double[] estimates, int level, int stepsPerLevel)
    {
        int start = level * stepsPerLevel;
        if (start >= estimates.Length) return [];
        return estimates.AsSpan(start, Math.Min(stepsPerLevel, estimates.Length - start));
    }

    private sealed class SimulatedCrashException() : Exception("simulated crash (tests)");

    /// <summary>The bound as the trainer's model, plus the training seconds per level in the checkpoint.</summary>
    private sealed class RunModel(EstimatorModel estimator, double[] levelSeconds) : ITrainable
    {
        public IReadOnlyList<(string Name, Module Module)> Modules => estimator.Modules;

        public Tensor Loss(in TrainingBatch batch) => estimator.Loss(batch);

        public void SaveState(CheckpointState state)
        {
            estimator.SaveState(state);
            state.SetDoubles(LevelSecondsKey, levelSeconds);
        }

        public void LoadState(CheckpointState state)
        {
            estimator.LoadState(state);
            var seconds = state.GetDoubles(LevelSecondsKey);
            if (seconds.Length != levelSeconds.Length)
                throw new InvalidDataException($"{state.Source}: {LevelSecondsKey} has {seconds.Length} levels, this run {levelSeconds.Length}");
            seconds.CopyTo(levelSeconds);
        }
    }
}
