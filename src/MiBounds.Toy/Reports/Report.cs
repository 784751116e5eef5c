using System.Globalization;
using MiBounds.Data;
using System.Text.Json.Serialization;
using MiBounds.Plots;
using MiBounds.Bounds;
using MiBounds.Toy.Sweep;

namespace MiBounds.Toy.Reports;

/// <summary>One row of summary.json: a run's statistics at one MI level.</summary>
public sealed record SummaryRecord
{
    /// <summary>Task name.</summary>
    [JsonPropertyName("task")] public required string Task { get; init; }

    /// <summary>Critic kind.</summary>
    [JsonPropertyName("critic")] public required string Critic { get; init; }

    /// <summary>The bound's type name (Nwj, Tuba, InfoNce, JensenShannon, InterpolatedBound, Smile, Mine, DonskerVaradhan).</summary>
    [JsonPropertyName("bound")] public required string Bound { get; init; }

    /// <summary>The estimator as named on the command line (distinguishes smile5 from smileinf).</summary>
    [JsonPropertyName("estimator")] public required string Estimator { get; init; }

    /// <summary>α, for the interpolated bound only.</summary>
    [JsonPropertyName("alpha"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public double? Alpha { get; init; }

    /// <summary>The level's true MI (nats).</summary>
    [JsonPropertyName("mi")] public double Mi { get; init; }

    /// <summary>Mean of the level's last (up to) 1000 estimates.</summary>
    [JsonPropertyName("mean")] public double Mean { get; init; }

    /// <summary>Mean − true MI.</summary>
    [JsonPropertyName("bias")] public double Bias { get; init; }

    /// <summary>Sample variance of the same estimates.</summary>
    [JsonPropertyName("variance")] public double Variance { get; init; }

    /// <summary>Training steps taken at this level.</summary>
    [JsonPropertyName("steps")] public int Steps { get; init; }

    /// <summary>Training speed at this level (steps per second of training time).</summary>
    [JsonPropertyName("steps_per_second")] public double StepsPerSecond { get; init; }
}

/// <summary>Writes the sweep's reports: summary.json, one figure (PNG and SVG) per (critic, task), index.html.</summary>
public static class Report
{
    /// <summary>File name of the summary.</summary>
    public const string SummaryFile = "summary.json";

    /// <summary>File name of the HTML index.</summary>
    public const string IndexFile = "index.html";

    /// <summary>The figure's file name without extension for a critic and task; it is written as .png and .svg.</summary>
    public static string FigureBase(string critic, string task) => $"figure-{task}-{critic}";

    /// <summary>The figure's PNG file name (what index.html shows).</summary>
    public static string FigurePng(string critic, string task) => FigureBase(critic, task) + ".png";

    /// <summary>The figure's SVG file name (what index.html links to).</summary>
    public static string FigureSvg(string critic, string task) => FigureBase(critic, task) + ".svg";

    /// <summary>
    /// Writes every report from the runs' estimates (partial runs contribute the levels they reached): summary.json, a
    /// figure per (critic, task) that has runs, and index.html. <paramref name="note"/>, when given, opens the page
    /// (e.g. which shard this is, or which shards were merged).
    /// </summary>
    public static void WriteAll(SweepConfig config, IReadOnlyList<RunResult> runs, string outDir, string? note = null)
    {
        var summary = Summarize(config, runs);
        JsonOutput.Write(Path.Combine(outDir, SummaryFile), summary);
        foreach (var (critic, task) in Panels(config, runs))
        {
            var panels = runs.Where(r => r.Spec.Critic == critic && r.Spec.Task == task).ToArray();
            StaircaseFigure.Save(config, critic, task, panels, Path.Combine(outDir, FigureBase(critic, task)));
        }
        Index(config, runs, summary, note).Save(Path.Combine(outDir, IndexFile));
    }

    // The (critic, task) pairs with at least one run: a shard may hold none of a pair.
    private static IEnumerable<(string Critic, string Task)> Panels(SweepConfig config, IReadOnlyList<RunResult> runs) =>
        from critic in config.Critics
        from task in config.Tasks
        where runs.Any(r => r.Spec.Critic == critic && r.Spec.Task == task)
        select (critic, task);

    /// <summary>The summary records: per run and level, statistics over the level's last <see cref="Statistics.Window"/> steps.</summary>
    public static List<SummaryRecord> Summarize(SweepConfig config, IReadOnlyList<RunResult> runs)
    {
        var records = new List<SummaryRecord>();
        foreach (var run in runs)
            for (int level = 0; level < config.Levels.Length; level++)
            {
                var values = SweepRun.LevelSlice(run.Estimates, level, config.StepsPerLevel);
                if (values.IsEmpty) break;
                var stats = Statistics.Summarize(values, config.Levels[level]);
                double seconds = level < run.LevelSeconds.Length ? run.LevelSeconds[level] : 0;
                records.Add(new SummaryRecord
                {
                    Task = run.Spec.Task, Critic = run.Spec.Critic, Bound = run.Spec.Bound.TypeName, Estimator = run.Spec.Bound.Text,
                    Alpha = run.Spec.Bound.Alpha, Mi = config.Levels[level], Mean = stats.Mean, Bias = stats.Bias, Variance = stats.Variance,
                    Steps = values.Length, StepsPerSecond = seconds > 0 ? values.Length / seconds : 0,
                });
            }
        return records;
    }

    /// <summary>A readable name for an estimator (NWJ, InfoNCE, Iα (α=0.5), SMILE (τ=5), ...).</summary>
    public static string DisplayName(BoundSpec bound) => bound.Kind switch
    {
        BoundKind.Nwj => "NWJ",
        BoundKind.Tuba => "TUBA",
        BoundKind.InfoNce => "InfoNCE",
        BoundKind.JensenShannon => "JS",
        BoundKind.Interpolated => $"Iα (α={bound.Parameter.ToString("G", CultureInfo.InvariantCulture)})",
        BoundKind.Smile => $"SMILE (τ={(double.IsPositiveInfinity(bound.Parameter) ? "∞" : bound.Parameter.ToString("G", CultureInfo.InvariantCulture))})",
        BoundKind.Mine => "MINE",
        _ => "DV",
    };

    /// <summary>Id of index.html's table with one row per run.</summary>
    public const string RunsTableId = "runs";

    /// <summary>Id of index.html's table with one row per run and level.</summary>
    public const string LevelsTableId = "levels";

    private static HtmlPage Index(SweepConfig config, IReadOnlyList<RunResult> runs, List<SummaryRecord> summary, string? note)
    {
        static string N(double v, string f = "0.000") => double.IsFinite(v) ? v.ToString(f, CultureInfo.InvariantCulture) : "-";
        var page = new HtmlPage("Variational MI bounds on the staircase (Poole et al. 2019, Figure 2)");
        if (note is not null) page.Paragraph(note);
        page.Paragraph($"Tasks {string.Join(", ", config.Tasks)}; critics {string.Join(", ", config.Critics)}; d = {config.Dim}, K = {config.Batch}, " +
                       $"{config.StepsPerLevel} steps per level at MI {string.Join(", ", config.Levels.Select(l => N(l, "0.##")))} nats, Adam lr {N(config.LearningRate, "G")}, seed {config.Seed}. " +
                       $"Statistics over each level's last {Statistics.Window} steps (or all when fewer).");
        var unfinished = runs.Where(r => r.Status != RunStatus.Done).ToArray();
        if (unfinished.Length > 0)
        {
            page.Paragraph("Unfinished runs (resume with sweep --resume --out DIR):");
            page.List(unfinished.Select(r => $"{r.Spec.Id}: {r.Status}, {r.Estimates.Length} of {config.TotalSteps} steps{(r.Error is null ? "" : " — " + r.Error)}"));
        }
        foreach (var (critic, task) in Panels(config, runs))
        {
            page.Heading($"{task}, {critic} critic");
            page.Figure(FigurePng(critic, task), FigureSvg(critic, task), $"{task} task, {critic} critic: estimates over training steps");
        }
        page.Heading("Runs");
        page.Table(RunsTableId,
            [new("run"), new("task"), new("critic"), new("estimator"), new("status"), new("steps", true), new("last level MI", true), new("mean", true), new("bias", true)],
            runs.Select(r =>
            {
                var last = summary.LastOrDefault(s => s.Task == r.Spec.Task && s.Critic == r.Spec.Critic && s.Estimator == r.Spec.Bound.Text);
                return (IReadOnlyList<string>)[r.Spec.Id, r.Spec.Task, r.Spec.Critic, DisplayName(r.Spec.Bound), r.Status.ToString().ToLowerInvariant(),
                    $"{r.Estimates.Length}/{config.TotalSteps}", last is null ? "-" : N(last.Mi, "0.##"), last is null ? "-" : N(last.Mean), last is null ? "-" : N(last.Bias)];
            }));
        page.Heading("Summary per level");
        page.Table(LevelsTableId,
            [new("task"), new("critic"), new("estimator"), new("true MI", true), new("mean", true), new("bias", true), new("variance", true), new("steps", true), new("steps/s", true)],
            summary.Select(s => (IReadOnlyList<string>)[s.Task, s.Critic, DisplayName(BoundSpec.Parse(s.Estimator)), N(s.Mi, "0.##"), N(s.Mean), N(s.Bias), N(s.Variance), s.Steps.ToString(CultureInfo.InvariantCulture), N(s.StepsPerSecond, "0.0")]));
        page.Paragraph("Raw data: runs/*.csv (every step's estimate), summary.json.");
        return page;
    }
}
