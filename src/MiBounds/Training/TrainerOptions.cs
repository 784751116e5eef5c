using MiBounds.Tensors.Optim;

namespace MiBounds.Training;

/// <summary>Where a learning-rate schedule advances.</summary>
public enum ScheduleUnit
{
    /// <summary>Once per step.</summary>
    Step,
    /// <summary>Once per epoch.</summary>
    Epoch,
}

/// <summary>Early stopping: stop after <see cref="Patience"/> evaluations without a new best score.</summary>
/// <param name="Patience">Evaluations without improvement before stopping (at least 1).</param>
/// <param name="RestoreBest">
/// Put the best evaluation's parameters back when training ends (also after divergence or interruption); false keeps
/// the last parameters and leaves <see cref="Trainer.RestoreBest"/> to the caller.
/// </param>
public sealed record EarlyStopping(int Patience, bool RestoreBest = true);

/// <summary>What a checkpoint file is checked against on resume.</summary>
/// <param name="Path">The checkpoint file.</param>
/// <param name="Kind">The kind of run ("toy-sweep-run", "vib", ...): a checkpoint of another kind is refused.</param>
/// <param name="Configuration">
/// The run's configuration as a JSON object, without what may change on resume (e.g. the epoch budget): a checkpoint
/// written with another configuration is refused, naming the first difference.
/// </param>
public sealed record CheckpointTarget(string Path, string Kind, string Configuration)
{
    /// <summary>
    /// The run folder's checkpoint (<see cref="TrainingCheckpoint.FileName"/>) for a configuration given as the JSON of
    /// the run's settings without <paramref name="mayChange"/> (e.g. the epoch budget, which a resumed run may raise);
    /// null when there is no folder.
    /// </summary>
    public static CheckpointTarget? InFolder(string? folder, string kind, string configurationJson, params string[] mayChange)
    {
        if (folder is null) return null;
        var json = System.Text.Json.Nodes.JsonNode.Parse(configurationJson) as System.Text.Json.Nodes.JsonObject
            ?? throw new ArgumentException("the configuration must be a JSON object", nameof(configurationJson));
        foreach (var key in mayChange) json.Remove(key);
        return new CheckpointTarget(System.IO.Path.Combine(folder, TrainingCheckpoint.FileName), kind, json.ToJsonString());
    }
}

/// <summary>How <see cref="Trainer"/> runs; every member has a sane default except the budget.</summary>
public sealed record TrainerOptions
{
    /// <summary>Stop after this many steps in all (give this or <see cref="Epochs"/>).</summary>
    public long? Steps { get; init; }

    /// <summary>Stop after this many epochs over the dataset (needs <see cref="DatasetRows"/>).</summary>
    public int? Epochs { get; init; }

    /// <summary>
    /// Rows of the training set: the trainer shuffles them every epoch and hands out disjoint batches of
    /// <see cref="BatchSize"/> (a last partial batch is dropped). Null: every step draws a fresh sample itself.
    /// </summary>
    public int? DatasetRows { get; init; }

    /// <summary>Rows per batch when iterating over a dataset.</summary>
    public int BatchSize { get; init; } = 64;

    /// <summary>Evaluate every this many steps (null: not by steps).</summary>
    public long? EvaluateEverySteps { get; init; }

    /// <summary>Evaluate after every epoch.</summary>
    public bool EvaluateEveryEpoch { get; init; }

    /// <summary>Evaluate once before the first step (the untrained model is then a candidate for the best state).</summary>
    public bool EvaluateAtStart { get; init; }

    /// <summary>Evaluate after the last step when the schedule did not just do so.</summary>
    public bool EvaluateAtEnd { get; init; }

    /// <summary>Early stopping on the evaluations (null: none).</summary>
    public EarlyStopping? EarlyStopping { get; init; }

    /// <summary>The learning-rate schedule, advanced per <see cref="ScheduleUnit"/> (null: constant rate).</summary>
    public LearningRateSchedule? Schedule { get; init; }

    /// <summary>Where <see cref="Schedule"/> advances.</summary>
    public ScheduleUnit ScheduleUnit { get; init; } = ScheduleUnit.Step;

    /// <summary>Polyak averaging, updated after every optimizer step (null: none).</summary>
    public ParameterAverage? Average { get; init; }

    /// <summary>Evaluate with the averaged parameters (when <see cref="Average"/> is set).</summary>
    public bool EvaluateWithAverage { get; init; } = true;

    /// <summary>The checkpoint file (null: none), written on the schedule below, at the end, and on interruption.</summary>
    public CheckpointTarget? Checkpoint { get; init; }

    /// <summary>Checkpoint every this many steps (null: not by steps).</summary>
    public long? CheckpointEverySteps { get; init; }

    /// <summary>Checkpoint after every epoch (after its evaluation).</summary>
    public bool CheckpointEveryEpoch { get; init; } = true;

    /// <summary>CSV logs the trainer opens (keeping the rows a resumed checkpoint covers), flushes before each checkpoint and closes.</summary>
    public IReadOnlyList<MetricsLog> Logs { get; init; } = [];

    /// <summary>Cancelling (Ctrl-C, SIGTERM) makes the trainer checkpoint and return <see cref="StopReason.Interrupted"/> before the next step.</summary>
    public CancellationToken Cancellation { get; init; }

    /// <summary>Called after every step (keep it cheap: it runs in the training loop).</summary>
    public Action<StepReport>? OnStep { get; init; }

    /// <summary>Called after every evaluation.</summary>
    public Action<EvaluationReport>? OnEvaluation { get; init; }

    /// <summary>Called after every epoch, after its evaluation and before its checkpoint.</summary>
    public Action<EpochReport>? OnEpoch { get; init; }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first inconsistent setting.</summary>
    public void Validate()
    {
        if (Steps is null == Epochs is null) throw new ArgumentException("give the trainer a budget of Steps or of Epochs (exactly one)");
        if (Steps is < 0) throw new ArgumentOutOfRangeException(nameof(Steps), Steps, "must be ≥ 0");
        if (Epochs is < 0) throw new ArgumentOutOfRangeException(nameof(Epochs), Epochs, "must be ≥ 0");
        if (Epochs is not null && DatasetRows is null) throw new ArgumentException("an epoch budget needs DatasetRows (sampled batches have no epochs)");
        if (DatasetRows is int rows)
        {
            if (BatchSize < 1) throw new ArgumentOutOfRangeException(nameof(BatchSize), BatchSize, "must be at least 1");
            if (rows < BatchSize) throw new ArgumentException($"batch size {BatchSize} exceeds the {rows} training rows");
        }
        if (EvaluateEverySteps is < 1) throw new ArgumentOutOfRangeException(nameof(EvaluateEverySteps), EvaluateEverySteps, "must be at least 1");
        if (CheckpointEverySteps is < 1) throw new ArgumentOutOfRangeException(nameof(CheckpointEverySteps), CheckpointEverySteps, "must be at least 1");
        if (EarlyStopping is { Patience: < 1 }) throw new ArgumentOutOfRangeException(nameof(EarlyStopping), EarlyStopping.Patience, "patience must be at least 1");
        if (EarlyStopping is not null && EvaluateEverySteps is null && !EvaluateEveryEpoch)
            throw new ArgumentException("early stopping needs an evaluation schedule (EvaluateEverySteps or EvaluateEveryEpoch)");
        if (ScheduleUnit == ScheduleUnit.Epoch && Schedule is not null && DatasetRows is null) throw new ArgumentException("a per-epoch schedule needs DatasetRows");
    }
}

/// <summary>Why <see cref="Trainer.Fit"/> returned.</summary>
public enum StopReason
{
    /// <summary>The budget was used up.</summary>
    Completed,
    /// <summary>Early stopping: no new best within the patience.</summary>
    EarlyStopped,
    /// <summary>The loss became NaN or infinite (<see cref="FitResult.Error"/> names the step).</summary>
    Diverged,
    /// <summary>Cancelled (Ctrl-C, SIGTERM); a checkpoint was written when one is configured.</summary>
    Interrupted,
}

/// <summary>After each step.</summary>
/// <param name="Step">Steps done in all (1 after the first step).</param>
/// <param name="Epoch">0-based epoch of the step.</param>
/// <param name="StepInEpoch">Steps done in this epoch.</param>
/// <param name="StepsPerEpoch">Batches per epoch (0 for sampled batches).</param>
/// <param name="TotalSteps">The step budget, or the epoch budget in steps.</param>
/// <param name="Loss">The step's loss.</param>
/// <param name="Seconds">Time of the step itself (batch, forward, backward, optimizer).</param>
public readonly record struct StepReport(long Step, int Epoch, int StepInEpoch, int StepsPerEpoch, long TotalSteps, double Loss, double Seconds);

/// <summary>After each evaluation.</summary>
/// <param name="Step">Steps done when it ran.</param>
/// <param name="Epoch">Epochs done when it ran.</param>
/// <param name="Index">0-based index of the evaluation in the run.</param>
/// <param name="Evaluation">The result.</param>
/// <param name="IsBest">Whether it is the best so far.</param>
/// <param name="Best">The best evaluation so far (this one when <paramref name="IsBest"/>).</param>
/// <param name="BestStep">Steps done at the best evaluation.</param>
public sealed record EvaluationReport(long Step, int Epoch, int Index, Evaluation Evaluation, bool IsBest, Evaluation Best, long BestStep);

/// <summary>After each epoch.</summary>
/// <param name="Epoch">Epochs done (1 after the first).</param>
/// <param name="Step">Steps done.</param>
/// <param name="MeanLoss">Mean loss over the epoch's steps.</param>
/// <param name="Seconds">Training time of the epoch (steps only, not evaluation).</param>
/// <param name="Evaluation">The epoch's evaluation, when the schedule ran one.</param>
public sealed record EpochReport(int Epoch, long Step, double MeanLoss, double Seconds, Evaluation? Evaluation);

/// <summary>How a <see cref="Trainer.Fit"/> call ended.</summary>
/// <param name="Reason">Why it returned.</param>
/// <param name="Steps">Steps done in all (resumed runs included).</param>
/// <param name="Epochs">Epochs done in all.</param>
/// <param name="Best">The best evaluation (null without evaluations).</param>
/// <param name="BestStep">Steps done at the best evaluation (null without evaluations).</param>
/// <param name="Evaluations">Evaluations run in all.</param>
/// <param name="Divergence">What stopped a diverged run (its message names the step), or null.</param>
public sealed record FitResult(StopReason Reason, long Steps, int Epochs, Evaluation? Best, long? BestStep, int Evaluations, NonFiniteObjectiveException? Divergence)
{
    /// <summary>The divergence message, naming the step, or null.</summary>
    public string? Error => Divergence?.Message;

    /// <summary>Throws the <see cref="NonFiniteObjectiveException"/> when training diverged; returns this result otherwise.</summary>
    public FitResult ThrowIfDiverged() => Divergence is { } e ? throw e : this;
}
