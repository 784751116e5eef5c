using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using MiBounds.Commands;
using MiBounds.Estimation;
using MiBounds.Tensors;
using MiBounds.Toy.Estimation;
using MiBounds.Toy.Tasks;
using MiBounds.Toy.Tasks.Synthetic;
using static MiBounds.Commands.CommandOptions;

namespace MiBounds.Toy.Commands;

/// <summary>`bench-tasks`: estimators on the synthetic tasks with known MI.</summary>
internal static class BenchTasksCommand
{
    /// <summary>One estimator on one task.</summary>
    internal sealed record BenchRow(IMiTask Task, string Estimator, EstimationResult? Result, string? Error, double Seconds);

    internal static Command Create()
    {
        var list = Flag("--list", "list the tasks and exit");
        var tasks = String("--tasks", "comma-separated task names, or all", "all");
        var estimators = String("--estimators", "comma-separated estimators", "ksg,infonce,nwj,smile5");
        var samples = Int("--samples", "samples per task", 5000, min: MiEstimation.MinimumRows, max: 10_000_000);
        var batch = Int("--batch", "batch size", 128, min: 2, max: 100_000);
        var steps = OptionalInt("--steps", $"training steps (default {EstimationOptions.DefaultSteps})", min: 1);
        var critic = Choice("--critic", "critic architecture", "separable", EstimatorCatalog.Critics);
        var hidden = Int("--hidden", "hidden width of the critic", 256, min: 1, max: 65_536);
        var valFraction = Double("--val-fraction", "share of rows held out for the estimate", 0.5, min: 0.01, max: 0.99);
        var lr = Double("--lr", "Adam learning rate", 5e-4, min: 1e-8, max: 1);
        var seed = Int("--seed", "seed", 1, min: 0);
        var json = Flag("--json", "print JSON instead of the table");
        var outFile = OptionalString("--out", "also write the JSON to this file (rewritten after each estimate, so an interrupted run keeps what it finished)");
        return new Command("bench-tasks", "run estimators on the synthetic tasks with known MI; table of estimate vs truth")
            { list, tasks, estimators, samples, batch, steps, critic, hidden, valFraction, lr, seed, json, outFile }
            .WithAction(run =>
            {
                string? outPath = run.Get(outFile);
                if (outPath is not null) OutputPaths.EnsureFile(outPath, "--out");
                var names = run.Get(estimators).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(EstimatorCatalog.Validate).ToArray();
                var options = new EstimationOptions
                {
                    BatchSize = run.Get(batch),
                    Steps = run.Get(steps),
                    Critic = run.Get(critic),
                    Hidden = run.Get(hidden),
                    ValFraction = run.Get(valFraction),
                    LearningRate = (float)run.Get(lr),
                };
                return Run(run, run.Get(list), run.Get(tasks), names, run.Get(samples), options, (ulong)run.Get(seed), run.Get(json), outPath);
            });
    }

    private static int Run(CommandRun run, bool list, string taskNames, string[] estimators, int samples, EstimationOptions options, ulong seed, bool json, string? outPath)
    {
        var output = run.Out;
        var progress = run.Error;
        if (list)
        {
            foreach (var t in SyntheticTasks.All()) output.WriteLine($"{t.Name,-26} I = {t.TrueMi,7:F4} nats  {t.Description}");
            return 0;
        }
        var tasks = taskNames == "all" ? SyntheticTasks.All()
            : taskNames.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(SyntheticTasks.Get).ToArray();

        var rows = new List<BenchRow>();
        foreach (var task in tasks)
        {
            var data = task.Sample(samples, new Rng(seed));
            var x = data.X; var y = data.Y;
            foreach (var name in estimators)
            {
                if (run.Cancellation.IsCancellationRequested) return CommandHost.Interrupted; // --out already holds the finished rows
                var watch = Stopwatch.StartNew();
                progress.Write($"{task.Name} / {name} ... ");
                try
                {
                    var r = MiEstimation.Estimate(x, y, options with { Estimator = name, Seed = seed });
                    rows.Add(new BenchRow(task, name, r, null, watch.Elapsed.TotalSeconds));
                    progress.WriteLine($"{r.EstimateNats:F3} ± {r.StderrNats:F3} nats (truth {task.TrueMi:F3}), {watch.Elapsed.TotalSeconds:F1} s");
                }
                catch (Exception e) when (e is Training.NonFiniteObjectiveException or ArgumentException)
                {
                    rows.Add(new BenchRow(task, name, null, e.Message, watch.Elapsed.TotalSeconds));
                    progress.WriteLine($"failed: {e.Message}");
                }
                if (outPath is not null) AtomicFile.WriteAllText(outPath, BenchJson(rows, samples, options, seed)); // an interrupted run keeps what it finished
            }
        }

        string jsonText = BenchJson(rows, samples, options, seed);
        if (json) output.WriteLine(jsonText);
        else WriteTable(output, rows, estimators, samples);
        return 0;
    }

    private static void WriteTable(TextWriter w, List<BenchRow> rows, string[] estimators, int samples)
    {
        w.WriteLine($"estimate ± standard error vs true MI (nats), {samples} samples per task");
        var header = new StringBuilder($"{"task",-26} {"dx",3} {"dy",3} {"true",7}");
        foreach (var e in estimators) header.Append($" {e,17}");
        w.WriteLine(header);
        foreach (var group in rows.GroupBy(r => r.Task.Name))
        {
            var t = group.First().Task;
            var line = new StringBuilder($"{t.Name,-26} {t.DimX,3} {t.DimY,3} {t.TrueMi,7:F3}");
            foreach (var e in estimators)
            {
                var r = group.First(g => g.Estimator == e);
                string cell = r.Result is { } res
                    ? $"{res.EstimateNats:F3} ± {(double.IsFinite(res.StderrNats) ? res.StderrNats.ToString("F3", CultureInfo.InvariantCulture) : "?")}"
                    : "failed";
                line.Append($" {cell,17}");
            }
            w.WriteLine(line);
        }
    }

    private static string BenchJson(List<BenchRow> rows, int samples, EstimationOptions options, ulong seed) =>
        MiBounds.Data.JsonOutput.Serialize(new BenchJsonRecord(samples, options.BatchSize, options.Steps ?? EstimationOptions.DefaultSteps, options.Critic, seed,
            rows.Select(r => new BenchEntryJsonRecord(r.Task.Name, r.Task.Description, r.Task.DimX, r.Task.DimY, r.Task.TrueMi, r.Seconds,
                r.Result is { } res ? EstimationJsonRecord.From(res) : null, r.Result is null ? r.Error : null)).ToArray()));
}
