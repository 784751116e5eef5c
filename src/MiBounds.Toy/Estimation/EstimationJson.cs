using MiBounds.Data;
using MiBounds.Estimation;

namespace MiBounds.Toy.Estimation;

/// <summary>The <c>estimate --json</c> object: the schema's fields first, then extra context. Values that do not exist (KSG's training value, batch size, steps) are null.</summary>
internal sealed record EstimationJsonRecord(
    string Estimator, double EstimateNats, double StderrNats, double EstimateBits, double TrainNats, IReadOnlyList<string> Warnings,
    double StderrBits, string Kind, string Uncertainty, int Samples, int? BatchSize, IReadOnlyList<FoldJsonRecord> Folds,
    string Source, string SourceReason, IReadOnlyDictionary<string, double> Components, double PValue, int Permutations)
{
    public static EstimationJsonRecord From(EstimationResult r) => new(
        r.Estimator, r.EstimateNats, r.StderrNats, r.EstimateBits, r.TrainNats, r.Warnings,
        r.StderrBits, r.Kind, r.Uncertainty, r.Samples, r.BatchSize,
        r.Folds.Select(f => new FoldJsonRecord(f.TrainRows, f.HeldOutRows, f.HeldOutNats, f.TrainNats, f.BestStep, f.StepsRun, f.StopReason)).ToArray(),
        r.Source ?? r.Estimator, r.SourceReason, r.Components, r.PValue, r.Permutations);
}

/// <summary>One fold of <see cref="EstimationJsonRecord"/>.</summary>
internal sealed record FoldJsonRecord(int TrainRows, int HeldOutRows, double HeldOutNats, double TrainNats, int? BestStep, int? StepsRun, string StopReason);

/// <summary>Writes estimation results as JSON through <see cref="JsonOutput"/>.</summary>
internal static class EstimationJson
{
    /// <summary>The fields of the <c>estimate --json</c> object, in order.</summary>
    public static readonly string[] Fields = ["estimator", "estimate_nats", "stderr_nats", "estimate_bits", "train_nats", "warnings"];

    /// <summary>The one-object form printed by <c>estimate --json</c>.</summary>
    public static string Serialize(EstimationResult r, bool indented = false) => JsonOutput.Serialize(EstimationJsonRecord.From(r), indented);
}

/// <summary>The <c>bench-tasks --json/--out</c> object: the run's settings, one entry per (task, estimator), then one summary per estimator.</summary>
internal sealed record BenchJsonRecord(int Samples, int Batch, int Steps, string Critic, ulong Seed, IReadOnlyList<BenchEntryJsonRecord> Results,
    IReadOnlyList<BenchSummaryJsonRecord> Summary);

/// <summary>
/// One estimator over the tasks: BMI's accuracy measure, mean |log2(max(estimate, 0.01) / truth)|, the count within
/// max(0.1 nats, 15%) of the truth, and the time per task.
/// </summary>
internal sealed record BenchSummaryJsonRecord(string Estimator, int Tasks, double MeanAbsLog2Ratio, int WithinTolerance, double MeanSeconds, double MaxSeconds);

/// <summary>One (task, estimator) of <see cref="BenchJsonRecord"/>: <c>result</c> when it ran, <c>error</c> when it failed.</summary>
internal sealed record BenchEntryJsonRecord(
    string Task, string Estimator, string Description, int DimX, int DimY, double TrueNats, double Seconds,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)] EstimationJsonRecord? Result,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)] string? Error);
