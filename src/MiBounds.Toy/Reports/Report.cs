using System.Globalization;
using System.Net;
using System.Text;
using MiBounds.Data;
using System.Text.Json.Serialization;
using MiBounds.Tensors;
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

    /// <summary>Writes every report from the runs' estimates (partial runs contribute the levels they reached).</summary>
    public static void WriteAll(SweepConfig config, IReadOnlyList<RunResult> runs, string outDir)
    {
        var summary = Summarize(config, runs);
        JsonOutput.Write(Path.Combine(outDir, SummaryFile), summary);
        foreach (var critic in config.Critics)
            foreach (var task in config.Tasks)
            {
                var panels = runs.Where(r => r.Spec.Critic == critic && r.Spec.Task == task).ToArray();
                StaircaseFigure.Save(config, critic, task, panels, Path.Combine(outDir, FigureBase(critic, task)));
            }
        AtomicFile.WriteAllText(Path.Combine(outDir, IndexFile), Index(config, runs, summary));
    }

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

    private static string Index(SweepConfig config, IReadOnlyList<RunResult> runs, List<SummaryRecord> summary)
    {
        static string E(string s) => WebUtility.HtmlEncode(s);
        static string N(double v, string f = "0.000") => v.ToString(f, CultureInfo.InvariantCulture);
        var h = new StringBuilder();
        h.AppendLine("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>MI staircase sweep</title>");
        h.AppendLine("<style>body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}td.l,th.l{text-align:left}img{max-width:100%;border:1px solid #eee;margin-bottom:1em}</style></head><body>");
        h.AppendLine("<h1>Variational MI bounds on the staircase (Poole et al. 2019, Figure 2)</h1>");
        h.AppendLine($"<p>Tasks {E(string.Join(", ", config.Tasks))}; critics {E(string.Join(", ", config.Critics))}; d = {config.Dim}, K = {config.Batch}, " +
                     $"{config.StepsPerLevel} steps per level at MI {E(string.Join(", ", config.Levels.Select(l => N(l, "0.##"))))} nats, Adam lr {N(config.LearningRate, "G")}, seed {config.Seed}. " +
                     $"Statistics over each level's last {Statistics.Window} steps (or all when fewer).</p>");
        var unfinished = runs.Where(r => r.Status != RunStatus.Done).ToArray();
        if (unfinished.Length > 0)
        {
            h.AppendLine("<p><b>Unfinished runs</b> (resume with <code>sweep --resume --out DIR</code>):</p><ul>");
            foreach (var r in unfinished) h.AppendLine($"<li>{E(r.Spec.Id)}: {r.Status}, {r.Estimates.Length} of {config.TotalSteps} steps{(r.Error is null ? "" : " — " + E(r.Error))}</li>");
            h.AppendLine("</ul>");
        }
        foreach (var critic in config.Critics)
            foreach (var task in config.Tasks)
                h.AppendLine($"<h2>{E(task)}, {E(critic)} critic</h2>\n<a href=\"{E(FigureSvg(critic, task))}\"><img src=\"{E(FigurePng(critic, task))}\" alt=\"{E(task)} {E(critic)}\"></a>");
        h.AppendLine("<h2>Summary</h2>\n<table><tr><th class=\"l\">task</th><th class=\"l\">critic</th><th class=\"l\">estimator</th><th>true MI</th><th>mean</th><th>bias</th><th>variance</th><th>steps</th><th>steps/s</th></tr>");
        foreach (var s in summary)
            h.AppendLine($"<tr><td class=\"l\">{E(s.Task)}</td><td class=\"l\">{E(s.Critic)}</td><td class=\"l\">{E(DisplayName(BoundSpec.Parse(s.Estimator)))}</td><td>{N(s.Mi, "0.##")}</td><td>{N(s.Mean)}</td><td>{N(s.Bias)}</td><td>{N(s.Variance)}</td><td>{s.Steps}</td><td>{N(s.StepsPerSecond, "0.0")}</td></tr>");
        h.AppendLine("</table>\n<p>Raw data: <code>runs/*.csv</code> (every step's estimate), <code>summary.json</code>.</p></body></html>");
        return h.ToString();
    }
}
