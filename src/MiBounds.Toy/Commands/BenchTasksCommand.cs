using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using MiBounds.Commands;
using MiBounds.Data;
using MiBounds.Estimation;
using MiBounds.Tensors;
using MiBounds.Toy.Estimation;
using MiBounds.Toy.Tasks;
using MiBounds.Toy.Tasks.Synthetic;
using static MiBounds.Commands.CommandOptions;

namespace MiBounds.Toy.Commands;

/// <summary>`bench-tasks`: estimators on the synthetic tasks with known MI, every estimator on the same samples.</summary>
internal static partial class BenchTasksCommand
{
    internal static Command Create()
    {
        var list = Flag("--list", "list the tasks of --tasks and exit");
        var tasks = String("--tasks", "all (the basic tasks), bmi (the BMI-style hard suite), or comma-separated task names", "all");
        var estimators = String("--estimators", "comma-separated estimators (ksgK: KSG with k = K neighbours, e.g. ksg10)", "auto,ksg,infonce,nwj,smile5");
        var samples = Int("--samples", "samples per task", 5000, min: MiEstimation.MinimumRows, max: 10_000_000);
        var batch = Int("--batch", "batch size", 128, min: 2, max: 100_000);
        var steps = OptionalInt("--steps", $"training steps (default {EstimationOptions.DefaultSteps}; auto {MiEstimation.AutoSteps}, bmi-infonce 10000)", min: 1);
        var critic = Choice("--critic", "critic architecture", "separable", EstimatorCatalog.Critics);
        var hidden = Int("--hidden", "hidden width of the critic", 256, min: 1, max: 65_536);
        var valFraction = Double("--val-fraction", "share of rows held out for the estimate", 0.5, min: 0.01, max: 0.99);
        var lr = Double("--lr", "Adam learning rate", 5e-4, min: 1e-8, max: 1);
        var seed = Int("--seed", "seed", 1, min: 0);
        var json = Flag("--json", "print JSON instead of the table");
        var outFile = OptionalString("--out", "also write the JSON to this file (rewritten after each estimate, so an interrupted run keeps what it finished)");
        var resume = Flag("--resume", "with --out: keep the (task, estimator) results already in that file and run only the missing ones");
        return new Command("bench-tasks", "run estimators on the synthetic tasks with known MI; table of estimate vs truth and per-estimator summary")
            { list, tasks, estimators, samples, batch, steps, critic, hidden, valFraction, lr, seed, json, outFile, resume }
            .WithAction(run =>
            {
                string? outPath = run.Get(outFile);
                if (outPath is not null) OutputPaths.EnsureFile(outPath, "--out");
                if (run.Get(resume) && outPath is null) throw new UsageException("--resume needs --out FILE");
                var names = run.Get(estimators).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(ValidateBenchName).ToArray();
                var options = new EstimationOptions
                {
                    BatchSize = run.Get(batch),
                    Steps = run.Get(steps),
                    Critic = run.Get(critic),
                    Hidden = run.Get(hidden),
                    ValFraction = run.Get(valFraction),
                    LearningRate = (float)run.Get(lr),
                };
                return Run(run, run.Get(list), run.Get(tasks), names, run.Get(samples), options, (ulong)run.Get(seed), run.Get(json), outPath, run.Get(resume));
            });
    }

    [GeneratedRegex("^ksg([0-9]+)$")]
    private static partial Regex KsgWithK();

    // "ksg10" is KSG with k = 10; every other name is an estimator of the catalog.
    private static string ValidateBenchName(string name)
    {
        var m = KsgWithK().Match(name.Trim().ToLowerInvariant());
        if (m.Success) return int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) >= 1 ? m.Value : throw new FormatException($"{name}: k must be at least 1");
        return EstimatorCatalog.Validate(name);
    }

    private static EstimationOptions OptionsFor(string name, EstimationOptions options, ulong seed)
    {
        var m = KsgWithK().Match(name);
        return m.Success
            ? options with { Estimator = "ksg", KsgNeighbors = int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), Seed = seed }
            : options with { Estimator = name, Seed = seed };
    }

    private static int Run(CommandRun run, bool list, string taskNames, string[] estimators, int samples, EstimationOptions options, ulong seed, bool json, string? outPath, bool resume)
    {
        var output = run.Out;
        var progress = run.Error;
        var tasks = SyntheticTasks.Select(taskNames);
        if (list)
        {
            foreach (var t in tasks) output.WriteLine($"{t.Name,-34} {t.DimX,3} x {t.DimY,-3} I = {t.TrueMi,7:F4} nats  {t.Description}");
            return 0;
        }

        var entries = new List<BenchEntryJsonRecord>();
        if (resume && File.Exists(outPath))
        {
            var previous = JsonOutput.Deserialize<BenchJsonRecord>(File.ReadAllText(outPath));
            if (previous.Samples != samples || previous.Seed != seed)
                throw new UsageException($"{outPath} holds a run with --samples {previous.Samples} --seed {previous.Seed}; resume with the same settings or another --out");
            entries.AddRange(previous.Results.Where(e => e.Result is not null));
            progress.WriteLine($"resuming: {entries.Count} results kept from {outPath}");
        }
        foreach (var task in tasks)
        {
            if (estimators.All(name => entries.Any(e => e.Task == task.Name && e.Estimator == name))) continue;
            var data = task.Sample(samples, new Rng(seed)); // one sample per task, shared by every estimator
            foreach (var name in estimators)
            {
                if (entries.Any(e => e.Task == task.Name && e.Estimator == name)) continue;
                if (run.Cancellation.IsCancellationRequested) return CommandHost.Interrupted; // --out already holds the finished rows
                var watch = Stopwatch.StartNew();
                progress.Write($"{task.Name} / {name} ... ");
                try
                {
                    var r = MiEstimation.Estimate(data.X, data.Y, OptionsFor(name, options, seed) with { Cancellation = run.Cancellation });
                    double seconds = watch.Elapsed.TotalSeconds;
                    entries.Add(Entry(task, name, seconds, EstimationJsonRecord.From(r), null));
                    progress.WriteLine($"{r.EstimateNats:F3} ± {r.StderrNats:F3} nats (truth {task.TrueMi:F3}){(r.Source is { } s && s != r.Estimator ? $" from {s}" : "")}, {seconds:F1} s");
                }
                catch (Exception e) when (e is Training.NonFiniteObjectiveException or ArgumentException)
                {
                    entries.Add(Entry(task, name, watch.Elapsed.TotalSeconds, null, e.Message));
                    progress.WriteLine($"failed: {e.Message}");
                }
                if (outPath is not null) AtomicFile.WriteAllText(outPath, BenchJson(entries, estimators, samples, options, seed) + "\n"); // an interrupted run keeps what it finished
            }
        }

        string jsonText = BenchJson(entries, estimators, samples, options, seed);
        if (json) output.WriteLine(jsonText);
        else
        {
            WriteTable(output, entries, tasks, estimators, samples);
            output.WriteLine();
            WriteSummary(output, Summaries(entries, estimators));
        }
        return 0;
    }

    private static BenchEntryJsonRecord Entry(IMiTask task, string estimator, double seconds, EstimationJsonRecord? result, string? error) =>
        new(task.Name, estimator, task.Description, task.DimX, task.DimY, task.TrueMi, seconds, result, error);

    /// <summary>The floor put under estimates before taking log2(estimate / truth), so 0 or negative estimates count as 0.01 nats.</summary>
    internal const double RatioFloorNats = 0.01;

    /// <summary>|log2(max(estimate, 0.01) / truth)|: BMI's accuracy measure (a factor of 2 off is 1).</summary>
    internal static double AbsLog2Ratio(double estimate, double truth) => Math.Abs(Math.Log2(Math.Max(estimate, RatioFloorNats) / truth));

    /// <summary>Whether <paramref name="estimate"/> is within max(0.1 nats, 15% of the truth) of <paramref name="truth"/>.</summary>
    internal static bool WithinTolerance(double estimate, double truth) => Math.Abs(estimate - truth) <= Math.Max(0.1, 0.15 * truth);

    /// <summary>Per-estimator summary over the tasks it finished (failures count as a miss with estimate 0).</summary>
    internal static IReadOnlyList<BenchSummaryJsonRecord> Summaries(IReadOnlyList<BenchEntryJsonRecord> entries, IEnumerable<string> estimators) =>
        estimators.Select(name =>
        {
            var mine = entries.Where(e => e.Estimator == name).ToArray();
            double Value(BenchEntryJsonRecord e) => e.Result?.EstimateNats is double v && double.IsFinite(v) ? v : 0;
            return new BenchSummaryJsonRecord(name, mine.Length,
                mine.Length == 0 ? double.NaN : mine.Average(e => AbsLog2Ratio(Value(e), e.TrueNats)),
                mine.Count(e => e.Result is not null && WithinTolerance(Value(e), e.TrueNats)),
                mine.Length == 0 ? double.NaN : mine.Average(e => e.Seconds),
                mine.Length == 0 ? double.NaN : mine.Max(e => e.Seconds));
        }).ToArray();

    private static void WriteTable(TextWriter w, List<BenchEntryJsonRecord> entries, IReadOnlyList<IMiTask> tasks, string[] estimators, int samples)
    {
        w.WriteLine($"estimate (nats) vs true MI, {samples} samples per task, seconds in brackets");
        var header = new StringBuilder($"{"task",-34} {"dx",3} {"dy",3} {"true",7}");
        foreach (var e in estimators) header.Append($" {e,16}");
        w.WriteLine(header);
        foreach (var t in tasks)
        {
            var line = new StringBuilder($"{t.Name,-34} {t.DimX,3} {t.DimY,3} {t.TrueMi,7:F3}");
            foreach (var e in estimators)
            {
                var r = entries.FirstOrDefault(g => g.Task == t.Name && g.Estimator == e);
                string cell = r is null ? "-" : r.Result is { } res ? string.Create(CultureInfo.InvariantCulture, $"{res.EstimateNats:F3} ({r.Seconds:F1})") : "failed";
                line.Append($" {cell,16}");
            }
            w.WriteLine(line);
        }
    }

    private static void WriteSummary(TextWriter w, IReadOnlyList<BenchSummaryJsonRecord> summaries)
    {
        w.WriteLine($"{"estimator",-16} {"tasks",5} {"mean |log2 ratio|",18} {"within max(0.1, 15%)",21} {"mean s",8} {"max s",8}");
        foreach (var s in summaries)
            w.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{s.Estimator,-16} {s.Tasks,5} {s.MeanAbsLog2Ratio,18:F3} {$"{s.WithinTolerance}/{s.Tasks}",21} {s.MeanSeconds,8:F1} {s.MaxSeconds,8:F1}"));
    }

    private static string BenchJson(List<BenchEntryJsonRecord> entries, string[] estimators, int samples, EstimationOptions options, ulong seed) =>
        JsonOutput.Serialize(new BenchJsonRecord(samples, options.BatchSize, options.Steps ?? EstimationOptions.DefaultSteps, options.Critic, seed,
            entries, Summaries(entries, estimators)));
}
