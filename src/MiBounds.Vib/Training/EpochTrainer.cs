using MiBounds.Training;
using MiBounds.Vib.Data;

namespace MiBounds.Vib.Training;

/// <summary>
/// What the image models' trainers (VIB/VIM and baselines, DIM, the hypothesis classifier) share on top of the
/// library's one <see cref="Trainer"/>: the run's counters, resuming from the output folder's checkpoint and fitting,
/// with the errors the commands report in one line (<see cref="DataException"/>: no checkpoint, a checkpoint of another
/// run, a diverged loss naming the step and epoch).
/// </summary>
/// <typeparam name="TRecord">The per-epoch record the model writes.</typeparam>
public abstract class EpochTrainer<TRecord>
{
    private Action<StepReport>? _onStep;
    private Action<TRecord>? _onEpoch;

    /// <summary>Takes the output folder (null: nothing is written, no checkpoints).</summary>
    protected EpochTrainer(string? outputDirectory) => OutputDirectory = outputDirectory;

    /// <summary>The training loop; set once by the derived constructor.</summary>
    protected Trainer Loop { get; set; } = null!;

    /// <summary>Where results and checkpoints go (null: nowhere).</summary>
    public string? OutputDirectory { get; }

    /// <summary>This session's epoch records.</summary>
    public List<TRecord> Epochs { get; } = [];

    /// <summary>Finished epochs (resumed ones included).</summary>
    public int EpochsDone => Loop.Epoch;

    /// <summary>Optimizer steps done (resumed ones included).</summary>
    public long StepsDone => Loop.Step;

    /// <summary>Steps done in the current, unfinished epoch (non-zero after resuming an interrupted run).</summary>
    public int StepInEpoch => Loop.StepInEpoch;

    /// <summary>Batches per epoch (the last partial batch is dropped).</summary>
    public int StepsPerEpoch => Loop.StepsPerEpoch;

    /// <summary>
    /// Continues from the output folder's checkpoint (mid-epoch when the run was interrupted); returns the finished
    /// epochs. A missing checkpoint, or one of another configuration or format, throws a one-line <see cref="DataException"/>.
    /// </summary>
    public int Resume()
    {
        if (OutputDirectory is null) throw new InvalidOperationException("no output directory to resume from");
        try { Loop.Resume(); }
        catch (InvalidDataException e) { throw new DataException(e.Message, e); }
        OnResumed();
        return EpochsDone;
    }

    /// <summary>
    /// One optimizer step on the training rows <paramref name="rows"/> (as many as the batch size), through the
    /// trainer's step (training mode, workspace, the non-finite guard); returns the loss. Does not advance the epoch
    /// loop: for benchmarks and tests of a single step.
    /// </summary>
    public double StepOnRows(int[] rows) => Loop.TrainStep(new TrainingBatch(StepsDone, EpochsDone, 0, rows));

    /// <summary>Called after a checkpoint was restored (e.g. to reload records kept beside it).</summary>
    protected virtual void OnResumed() { }

    /// <summary>
    /// Trains until the epoch budget is used up or the run is cancelled (then it checkpoints mid-epoch and returns
    /// <see cref="StopReason.Interrupted"/>). <paramref name="onStep"/> runs after every step, <paramref name="onEpoch"/>
    /// after each epoch's record (and before its checkpoint). A non-finite loss throws a <see cref="DataException"/>
    /// naming the step and epoch; the last checkpoint stays. Leaves the modules in evaluation mode.
    /// </summary>
    protected FitResult Fit(Action<StepReport>? onStep, Action<TRecord>? onEpoch)
    {
        (_onStep, _onEpoch) = (onStep, onEpoch);
        try
        {
            var result = Loop.Fit();
            if (result.Divergence is { } d) throw new DataException(d.Message, d);
            return result;
        }
        finally { (_onStep, _onEpoch) = (null, null); }
    }

    /// <summary>For the loop's OnStep: forwards the report to the caller of <see cref="Fit"/>.</summary>
    protected void StepDone(StepReport report) => _onStep?.Invoke(report);

    /// <summary>For the loop's OnEpoch: keeps the record and hands it to the caller of <see cref="Fit"/>.</summary>
    protected void EpochDone(TRecord record)
    {
        Epochs.Add(record);
        _onEpoch?.Invoke(record);
    }
}
