using System.CommandLine;
using System.Globalization;
using MiBounds.Bounds;
using MiBounds.Commands;
using MiBounds.Toy.Sweep;
using MiBounds.Toy.Tasks;
using static MiBounds.Commands.CommandOptions;

namespace MiBounds.Toy.Commands;

/// <summary>`sweep`: the staircase sweep of Poole et al. 2019, Fig. 2.</summary>
internal static class SweepCommand
{
    private sealed record Options(
        Option<bool> Resume, Option<string?> Out, Option<string?> Critic, Option<string?> Task, Option<string?> Estimators,
        Option<int?> Dim, Option<int?> Batch, Option<int?> StepsPerLevel, Option<double[]?> Levels, Option<double?> Lr, Option<int?> Seed,
        Option<int> Parallel, Option<int> CheckpointEvery, Option<bool> Plain, Option<string?> Shard);

    /// <summary>The command; <paramref name="crashAfterSteps"/> (tests) stops every run after that many steps as a crash would.</summary>
    internal static Command Create(int? crashAfterSteps = null)
    {
        const string saved = "; when resuming, the saved sweep's";
        var o = new Options(
            Flag("--resume", "continue the sweep in --out (its saved options are the defaults)"),
            OptionalString("--out", "folder of the sweep (default results/sweep-<date>-<time>)"),
            OptionalString("--critic", $"concat, separable or both (default both{saved})"),
            OptionalString("--task", $"task name(s), or both = gaussian,cubic (default both{saved})"),
            OptionalString("--estimators", $"comma-separated estimators (default {SweepConfig.DefaultEstimators}{saved})"),
            OptionalInt("--dim", $"dimension of X and Y (default 20{saved})", min: 1, max: 100_000),
            OptionalInt("--batch", $"batch size (default 64{saved})", min: 2, max: 100_000),
            OptionalInt("--steps-per-level", $"training steps per MI level (default 4000{saved})", min: 1),
            OptionalDoubles("--levels", $"MI levels in nats (default {string.Join(",", SweepConfig.DefaultLevels.Select(v => v.ToString(CultureInfo.InvariantCulture)))}{saved})", min: 0, max: 1e6),
            OptionalDouble("--lr", $"Adam learning rate (default 5e-4{saved})", min: double.Epsilon, max: 10),
            OptionalInt("--seed", $"seed (default 0{saved})", min: 0),
            Int("--parallel", "runs trained at once (default: all cores)", Environment.ProcessorCount, min: 1, max: 1024),
            Int("--checkpoint-every", "steps between checkpoints", 500, min: 1),
            Flag("--plain", "plain progress lines instead of the live table"),
            OptionalString("--shard", "i/n: train only the i-th of n disjoint subsets of the runs (merge the shards' folders with sweep merge)"));
        var command = new Command("sweep", "the staircase sweep of Poole et al. 2019, Fig. 2: every estimator × critic × task over a staircase of MI levels")
        {
            o.Resume, o.Out, o.Critic, o.Task, o.Estimators, o.Dim, o.Batch, o.StepsPerLevel, o.Levels, o.Lr, o.Seed, o.Parallel, o.CheckpointEvery, o.Plain, o.Shard,
        };
        command.Subcommands.Add(CreateMerge());
        return command.WithAction(run => Run(run, o, crashAfterSteps));
    }

    /// <summary>`sweep merge OUT DIR...`: one report from the folders of a sweep's finished shards.</summary>
    private static Command CreateMerge()
    {
        var outDir = new Argument<string>("OUT") { Description = "folder for the merged reports (new or empty)" };
        var dirs = new Argument<string[]>("DIR") { Description = "the shards' output folders (sweep --shard i/n --out DIR)", Arity = ArgumentArity.OneOrMore };
        var command = new Command("merge", "build summary.json, the figures and index.html from the folders of a sweep's finished shards") { outDir, dirs };
        return command.WithAction(run =>
        {
            string target = run.Parse.GetValue(outDir)!;
            string[] sources = run.Parse.GetValue(dirs) ?? [];
            OutputPaths.EnsureFolder(target, "OUT", create: false);
            var outcome = SweepMerge.Merge(target, sources);
            run.Out.WriteLine($"merged {outcome.Runs.Count} runs from {outcome.Sources.Count} folder{(outcome.Sources.Count == 1 ? "" : "s")} " +
                              $"({string.Join(", ", outcome.Sources.Select(s => s.Shard.ToString()))}) into {target}");
            run.Out.WriteLine($"reports: {Path.Combine(target, Reports.Report.IndexFile)}, {Path.Combine(target, Reports.Report.SummaryFile)}");
            return 0;
        });
    }

    private static int Run(CommandRun run, Options o, int? crashAfterSteps)
    {
        var output = run.Out;
        bool resume = run.Get(o.Resume);
        string? given = run.Get(o.Out);
        if (resume && given is null) throw new UsageException("--resume needs --out DIR, the folder of the sweep to continue");
        string outDir = given ?? Path.Combine("results", "sweep-" + DateTime.Now.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture));
        if (File.Exists(outDir)) throw new UsageException($"--out {outDir} is a file, not a folder");
        var saved = resume && File.Exists(Path.Combine(outDir, SweepRunner.ConfigFile)) ? SweepConfig.Load(Path.Combine(outDir, SweepRunner.ConfigFile)) : null;
        var config = ParseConfig(run, o, saved);
        var shard = ParseShard(run, o, resume ? outDir : null, saved);
        var execution = new SweepExecution
        {
            Parallel = run.Get(o.Parallel),
            CheckpointEvery = run.Get(o.CheckpointEvery),
            Resume = resume,
            Shard = shard,
            LiveDisplay = !run.Get(o.Plain) && run.Interactive && ProgressDisplay.CanDrawLive,
            CrashAfterSteps = crashAfterSteps,
        };
        try { config.Validate(); }
        catch (ArgumentOutOfRangeException e) { throw new UsageException(e.Message.Split('\n')[0]); }
        int runs = shard.Select(config.Runs()).Count;
        if (runs == 0) throw new UsageException($"--shard {shard} holds no run: the sweep has only {config.Runs().Count} runs");
        OutputPaths.EnsureFolder(outDir, "--out", create: !resume);

        output.WriteLine($"sweep{(shard.IsAll ? "" : $" shard {shard}")}: {runs} runs × {config.TotalSteps} steps ({string.Join(",", config.Tasks)} × {string.Join(",", config.Critics)} × {string.Join(",", config.Estimators)}), " +
                         $"{Math.Min(execution.Parallel, runs)} in parallel, into {outDir}{(resume ? " (resuming)" : "")}");
        var outcome = SweepRunner.Run(config, outDir, execution, output, run.Cancellation);
        var wall = TimeSpan.FromSeconds(outcome.WallSeconds);
        long steps = outcome.Runs.Sum(r => (long)r.Estimates.Length);
        output.WriteLine($"total wall time {wall:hh\\:mm\\:ss\\.f} ({outcome.WallSeconds.ToString("0.0", CultureInfo.InvariantCulture)} s; {steps} steps recorded over {outcome.Runs.Count} runs)");
        output.WriteLine($"reports: {Path.Combine(outDir, Reports.Report.IndexFile)}, {Path.Combine(outDir, Reports.Report.SummaryFile)}");
        var failed = outcome.Runs.Where(r => r.Status == RunStatus.Failed).ToArray();
        foreach (var r in failed) output.WriteLine($"FAILED {r.Spec.Id}: {r.Error}");
        if (outcome.Runs.Any(r => r.Status == RunStatus.Interrupted))
        {
            output.WriteLine($"interrupted: continue with  sweep --resume --out {outDir}");
            return CommandHost.Interrupted;
        }
        return failed.Length > 0 ? 1 : 0;
    }

    // --shard, or the shard saved in the folder being resumed (whose shard.json must then be readable).
    private static SweepShard ParseShard(CommandRun run, Options o, string? resumeDir, SweepConfig? saved)
    {
        SweepShard? given = null;
        if (run.Get(o.Shard) is string text)
        {
            try { given = SweepShard.Parse(text); }
            catch (FormatException e) { throw new UsageException($"--shard: {e.Message}"); }
        }
        if (resumeDir is null || saved is null) return given ?? SweepShard.All;
        return given ?? SweepShard.Load(resumeDir, saved);
    }

    private static SweepConfig ParseConfig(CommandRun run, Options o, SweepConfig? saved)
    {
        string critic = (run.Get(o.Critic) ?? (saved is null ? "both" : string.Join(",", saved.Critics))).ToLowerInvariant();
        string[] critics = critic == "both" ? SweepConfig.CriticKinds : critic.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        foreach (var c in critics)
            if (!SweepConfig.CriticKinds.Contains(c)) throw new UsageException($"--critic must be concat, separable or both, got '{critic}'");
        string task = (run.Get(o.Task) ?? (saved is null ? "both" : string.Join(",", saved.Tasks))).ToLowerInvariant();
        string[] tasks = task == "both" ? ["gaussian", "cubic"] : task.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        foreach (var t in tasks)
            if (!TaskRegistry.Contains(t)) throw new UsageException($"--task: unknown task '{t}'; tasks: {TaskRegistry.Names} (or both = gaussian,cubic)");
        string estimators = run.Get(o.Estimators) ?? (saved is null ? SweepConfig.DefaultEstimators : string.Join(",", saved.Estimators));
        IReadOnlyList<BoundSpec> bounds;
        try { bounds = BoundSpec.ParseList(estimators); }
        catch (FormatException e) { throw new UsageException($"--estimators: {e.Message}"); }
        if (bounds.Count == 0) throw new UsageException("--estimators needs at least one estimator");
        return new SweepConfig
        {
            Tasks = tasks,
            Critics = critics,
            Estimators = bounds.Select(b => b.Text).ToArray(),
            Dim = run.Get(o.Dim) ?? saved?.Dim ?? 20,
            Batch = run.Get(o.Batch) ?? saved?.Batch ?? 64,
            StepsPerLevel = run.Get(o.StepsPerLevel) ?? saved?.StepsPerLevel ?? 4000,
            Levels = run.Get(o.Levels) ?? saved?.Levels ?? SweepConfig.DefaultLevels,
            LearningRate = run.Get(o.Lr) ?? saved?.LearningRate ?? 5e-4,
            Seed = run.Get(o.Seed) is int s ? (ulong)s : saved?.Seed ?? 0,
        };
    }
}
