namespace MiBounds.Estimation;

/// <summary>What <see cref="MiEstimation"/> found.</summary>
public sealed record EstimationResult
{
    /// <summary>The estimator's name as requested (e.g. "smile5", "infonce", "ksg").</summary>
    public required string Estimator { get; init; }

    /// <summary>Whether the estimator is a lower bound, an upper bound or neither (KSG, DV, SMILE).</summary>
    public required string Kind { get; init; }

    /// <summary>The held-out estimate of the best checkpoint, in nats (the mean over folds with k-fold).</summary>
    public required double EstimateNats { get; init; }

    /// <summary>Its standard error in nats (bootstrap over held-out batches, or across folds).</summary>
    public required double StderrNats { get; init; }

    /// <summary>The estimate in bits.</summary>
    public double EstimateBits => Units.NatsToBits(EstimateNats);

    /// <summary>The standard error in bits.</summary>
    public double StderrBits => Units.NatsToBits(StderrNats);

    /// <summary>The same critic's value on the training split (NaN for KSG); far above the estimate means overfitting.</summary>
    public required double TrainNats { get; init; }

    /// <summary>How the standard error was obtained.</summary>
    public required string Uncertainty { get; init; }

    /// <summary>Rows used.</summary>
    public required int Samples { get; init; }

    /// <summary>Batch size actually used (smaller than requested when a split has fewer rows); null for KSG, which has no batches.</summary>
    public required int? BatchSize { get; init; }

    /// <summary>Per-fold details.</summary>
    public required IReadOnlyList<FoldResult> Folds { get; init; }

    /// <summary>Things the user should know before trusting the number.</summary>
    public required IReadOnlyList<string> Warnings { get; init; }

    /// <summary>
    /// Which estimator produced <see cref="EstimateNats"/>: the estimator itself, or for "auto" the component chosen
    /// ("infonce" or "gcmi"). Null means <see cref="Estimator"/>.
    /// </summary>
    public string? Source { get; init; }

    /// <summary>Why <see cref="Source"/> was chosen (empty for a single estimator).</summary>
    public string SourceReason { get; init; } = "";

    /// <summary>Values of the components and diagnostics in nats (for "auto": infonce, gcmi, cca), by name.</summary>
    public IReadOnlyDictionary<string, double> Components { get; init; } = new Dictionary<string, double>();

    /// <summary>The permutation p-value of independence, NaN when no permutations were run.</summary>
    public double PValue { get; init; } = double.NaN;

    /// <summary>Permutations behind <see cref="PValue"/> (0: none).</summary>
    public int Permutations { get; init; }
}

/// <summary>One train/held-out fit.</summary>
/// <param name="TrainRows">Rows trained on.</param>
/// <param name="HeldOutRows">Rows evaluated on.</param>
/// <param name="HeldOutNats">Held-out value of the best checkpoint.</param>
/// <param name="TrainNats">Training-split value of the best checkpoint.</param>
/// <param name="BestStep">Steps taken when the best checkpoint was saved; null for KSG (no training).</param>
/// <param name="StepsRun">Steps taken before stopping; null for KSG.</param>
/// <param name="StopReason">"budget", "early-stop", "time-limit", "diverged", "cancelled" or "none" (KSG, GCMI, CCA).</param>
/// <param name="History">(step, held-out value) at each evaluation.</param>
/// <param name="FinalTrainNats">Training-split value of the last parameters (before restoring the best checkpoint).</param>
/// <param name="FinalHeldOutNats">Held-out value of the last parameters.</param>
public sealed record FoldResult(int TrainRows, int HeldOutRows, double HeldOutNats, double TrainNats, int? BestStep, int? StepsRun,
    string StopReason, IReadOnlyList<(int Step, double HeldOutNats)> History, double FinalTrainNats, double FinalHeldOutNats);
