using System.Diagnostics;
using System.Globalization;
using MiBounds.Bounds;
using MiBounds.Critics;
using MiBounds.Tensors;
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
    /// <summary>Stopped by Ctrl-C (checkpointed).</summary>
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
/// One staircase run (DESIGN §4): a fresh batch every step, Adam over critic and baseline together, loss = −objective,
/// the training batch's estimate recorded before the update. Streams estimates to a CSV, checkpoints every N steps, and
/// continues bit-for-bit from a checkpoint.
/// </summary>
public sealed class SweepRun
{
    private readonly SweepConfig _config;
    private readonly MiBound _bound;
    private readonly MiTrainer _trainer;
    private readonly Rng _rng;
    private readonly IMiTaskFactory _taskFactory;
    private List<double> _estimates = [];
    private double[] _levelSeconds;

    /// <summary>The run.</summary>
    public RunSpec Spec { get; }

    /// <summary>The bound being trained.</summary>
    public MiBound Bound => _bound;

    /// <summary>Steps done.</summary>
    public int StepsDone => _estimates.Count;

    /// <summary>Builds the critic (and baseline) from the run's seed, the bound and its trainer.</summary>
    public SweepRun(SweepConfig config, RunSpec spec)
    {
        _config = config;
        Spec = spec;
        _taskFactory = TaskRegistry.Get(spec.Task);
        var probe = _taskFactory.Create(config.Dim, config.Levels[0]);
        _rng = new Rng(spec.SeedFor(config.Seed));
        ICritic critic = spec.Critic == "concat"
            ? new ConcatCritic(probe.DimX, probe.DimY, _rng)
            : new SeparableCritic(probe.DimX, probe.DimY, _rng);
        IBaseline? baseline = spec.Bound.UsesBaseline ? new LearnedBaseline(probe.DimY, _rng) : null;
        _bound = spec.Bound.Create(critic, baseline);
        _trainer = new MiTrainer(_bound, (float)config.LearningRate);
        _levelSeconds = new double[config.Levels.Length];
    }

    /// <summary>The state as a checkpoint.</summary>
    public RunCheckpoint Snapshot() => new()
    {
        RunId = Spec.Id,
        Estimates = _estimates.ToArray(),
        LevelSeconds = (double[])_levelSeconds.Clone(),
        RngState = _rng.GetState(),
        MineAverage = _bound is Mine mine ? mine.MovingAverage : double.NaN,
        OptimizerSteps = ((Tensors.Optim.Adam)_trainer.Optimizer).StepCount,
        Parameters = ((Tensors.Optim.Adam)_trainer.Optimizer).Parameters.Select(p => p.ToArray()).ToArray(),
        FirstMoments = ((Tensors.Optim.Adam)_trainer.Optimizer).FirstMoments.Select(p => p.ToArray()).ToArray(),
        SecondMoments = ((Tensors.Optim.Adam)_trainer.Optimizer).SecondMoments.Select(p => p.ToArray()).ToArray(),
    };

    /// <summary>Restores a checkpoint of this run (same config), checking every shape.</summary>
    public void Restore(RunCheckpoint c)
    {
        if (c.Estimates.Length > _config.TotalSteps) throw new InvalidDataException($"checkpoint of {Spec.Id} holds {c.Estimates.Length} steps, more than the sweep's {_config.TotalSteps}");
        if (c.LevelSeconds.Length != _levelSeconds.Length) throw new InvalidDataException($"checkpoint of {Spec.Id} has {c.LevelSeconds.Length} levels, the sweep {_levelSeconds.Length}");
        var opt = (Tensors.Optim.Adam)_trainer.Optimizer;
        Copy(c.Parameters, opt.Parameters, "parameter");
        Copy(c.FirstMoments, opt.FirstMoments, "Adam first moment");
        Copy(c.SecondMoments, opt.SecondMoments, "Adam second moment");
        opt.StepCount = c.OptimizerSteps;
        _trainer.StepCount = c.Estimates.Length;
        _rng.SetState(c.RngState);
        if (_bound is Mine mine) mine.MovingAverage = c.MineAverage;
        _estimates = [.. c.Estimates];
        _levelSeconds = (double[])c.LevelSeconds.Clone();
    }

    private void Copy(float[][] source, IReadOnlyList<Tensor> target, string what)
    {
        if (source.Length != target.Count) throw new InvalidDataException($"checkpoint of {Spec.Id} holds {source.Length} {what} tensors, the run has {target.Count}");
        for (int i = 0; i < source.Length; i++)
        {
            if (source[i].Length != target[i].Size) throw new InvalidDataException($"checkpoint of {Spec.Id}: {what} {i} has {source[i].Length} values, the run's has {target[i].Size} (shape {Tensor.ShapeString(target[i].Shape)})");
            source[i].CopyTo(target[i].Data);
        }
    }

    /// <summary>The result so far.</summary>
    public RunResult Result(RunStatus status, string? error = null) =>
        new(Spec, _estimates.ToArray(), (double[])_levelSeconds.Clone(), _bound.Ceiling(_config.Batch), status, error);

    /// <summary>
    /// Trains from the current step to the end of the staircase, appending each estimate to <paramref name="csvPath"/>
    /// (rewritten first from the estimates held, so it always matches them) and saving a checkpoint to
    /// <paramref name="checkpointPath"/> every <paramref name="checkpointEvery"/> steps and at the end or on cancellation.
    /// <paramref name="stopAfterSteps"/> (tests only) stops abruptly after that many new steps without a final
    /// checkpoint, as a crash would.
    /// </summary>
    public RunResult Train(string csvPath, string checkpointPath, int checkpointEvery, RunProgress progress, CancellationToken cancellation, int? stopAfterSteps = null)
    {
        int total = _config.TotalSteps;
        progress.Step = StepsDone;
        if (StepsDone >= total) { progress.Status = RunStatus.Done; return Result(RunStatus.Done); }
        progress.Status = RunStatus.Running;
        RewriteCsv(csvPath);
        using var csv = new StreamWriter(new FileStream(csvPath, FileMode.Append, FileAccess.Write, FileShare.Read));
        IMiTask? task = null;
        int taskLevel = -1, newSteps = 0;
        long speedMark = Stopwatch.GetTimestamp();
        int speedMarkStep = StepsDone;
        try
        {
            while (StepsDone < total)
            {
                if (cancellation.IsCancellationRequested)
                {
                    Save(csv, checkpointPath);
                    progress.Status = RunStatus.Interrupted;
                    return Result(RunStatus.Interrupted);
                }
                if (stopAfterSteps is int crash && newSteps >= crash) { csv.Flush(); return Result(RunStatus.Interrupted); }
                int step = StepsDone, level = step / _config.StepsPerLevel;
                if (level != taskLevel) { task = _taskFactory.Create(_config.Dim, _config.Levels[level]); taskLevel = level; }
                long start = Stopwatch.GetTimestamp();
                double value = _trainer.Step(task!.Sample(_config.Batch, _rng));
                long end = Stopwatch.GetTimestamp();
                _levelSeconds[level] += Stopwatch.GetElapsedTime(start, end).TotalSeconds;
                _estimates.Add(value);
                newSteps++;
                csv.Write(step.ToString(CultureInfo.InvariantCulture));
                csv.Write(',');
                csv.Write(_config.Levels[level].ToString("R", CultureInfo.InvariantCulture));
                csv.Write(',');
                csv.WriteLine(value.ToString("R", CultureInfo.InvariantCulture));
                progress.Estimate = value;
                progress.Step = StepsDone;
                if (StepsDone % 50 == 0)
                {
                    double seconds = Stopwatch.GetElapsedTime(speedMark, end).TotalSeconds;
                    progress.StepsPerSecond = seconds > 0 ? (StepsDone - speedMarkStep) / seconds : 0;
                    speedMark = end; speedMarkStep = StepsDone;
                    csv.Flush();
                }
                if (StepsDone % checkpointEvery == 0 || StepsDone == total) Save(csv, checkpointPath);
            }
        }
        catch (NonFiniteObjectiveException e)
        {
            csv.Flush();
            progress.Error = e.Message;
            progress.Status = RunStatus.Failed;
            return Result(RunStatus.Failed, e.Message);
        }
        progress.Status = RunStatus.Done;
        return Result(RunStatus.Done);
    }

    private void Save(StreamWriter csv, string checkpointPath)
    {
        csv.Flush();
        Snapshot().Save(checkpointPath);
    }

    private void RewriteCsv(string csvPath) => AtomicFile.Write(csvPath, stream =>
    {
        using var w = new StreamWriter(stream);
        w.WriteLine("step,mi,estimate");
        for (int s = 0; s < _estimates.Count; s++)
            w.WriteLine($"{s.ToString(CultureInfo.InvariantCulture)},{_config.Levels[s / _config.StepsPerLevel].ToString("R", CultureInfo.InvariantCulture)},{_estimates[s].ToString("R", CultureInfo.InvariantCulture)}");
    });

    /// <summary>The estimates of level <paramref name="level"/> among <paramref name="estimates"/> (possibly fewer than a full level).</summary>
    public static ReadOnlySpan<double> LevelSlice(double[] estimates, int level, int stepsPerLevel)
    {
        int start = level * stepsPerLevel;
        if (start >= estimates.Length) return [];
        return estimates.AsSpan(start, Math.Min(stepsPerLevel, estimates.Length - start));
    }
}
