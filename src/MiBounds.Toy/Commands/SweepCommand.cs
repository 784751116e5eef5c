using System.Globalization;
using MiBounds.Bounds;
using MiBounds.Cli;
using MiBounds.Toy.Sweep;
using MiBounds.Toy.Tasks;

namespace MiBounds.Toy;

internal static partial class Program
{
    internal static void RegisterSweep(CommandSet c) => c.Add("sweep",
        "the staircase sweep of Poole et al. 2019, Fig. 2 (--critic concat|separable|both, --estimators LIST, --task NAME|both, --dim 20, --batch 64, " +
        "--steps-per-level 4000, --levels 2,4,6,8,10, --lr 5e-4, --seed 0, --out DIR, --resume, --checkpoint-every 500, --parallel CORES, --plain)",
        o => Sweep(o, Console.Out, CancelOnCtrlC()));

    /// <summary>Parses the sweep's options (defaults from a saved sweep when resuming) and runs it; returns the exit code.</summary>
    internal static int Sweep(ParsedOptions o, TextWriter output, CancellationToken cancellation, int? crashAfterSteps = null)
    {
        bool resume = o.Flag("resume");
        string outDir = o.String("out", Path.Combine("results", "sweep-" + DateTime.Now.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture)));
        if (File.Exists(outDir)) throw new UsageException($"--out {outDir} is a file, not a folder");
        if (resume && !o.Has("out")) throw new UsageException("--resume needs --out DIR, the folder of the sweep to continue");
        var saved = resume && File.Exists(Path.Combine(outDir, SweepRunner.ConfigFile)) ? SweepConfig.Load(Path.Combine(outDir, SweepRunner.ConfigFile)) : null;
        var config = ParseConfig(o, saved);
        var execution = new SweepExecution
        {
            Parallel = o.Int("parallel", Environment.ProcessorCount, min: 1, max: 1024),
            CheckpointEvery = o.Int("checkpoint-every", 500, min: 1),
            Resume = resume,
            LiveDisplay = !o.Flag("plain") && ProgressDisplay.CanDrawLive,
            CrashAfterSteps = crashAfterSteps,
        };
        o.EnsureAllUsed();
        try { config.Validate(); }
        catch (ArgumentOutOfRangeException e) { throw new UsageException(e.Message.Split('\n')[0]); }

        output.WriteLine($"sweep: {config.Runs().Count} runs × {config.TotalSteps} steps ({string.Join(",", config.Tasks)} × {string.Join(",", config.Critics)} × {string.Join(",", config.Estimators)}), " +
                         $"{Math.Min(execution.Parallel, config.Runs().Count)} in parallel, into {outDir}{(resume ? " (resuming)" : "")}");
        var outcome = SweepRunner.Run(config, outDir, execution, output, cancellation);
        var wall = TimeSpan.FromSeconds(outcome.WallSeconds);
        long steps = outcome.Runs.Sum(r => (long)r.Estimates.Length);
        output.WriteLine($"total wall time {wall:hh\\:mm\\:ss\\.f} ({outcome.WallSeconds.ToString("0.0", CultureInfo.InvariantCulture)} s; {steps} steps recorded over {outcome.Runs.Count} runs)");
        output.WriteLine($"reports: {Path.Combine(outDir, Reports.Report.IndexFile)}, {Path.Combine(outDir, Reports.Report.SummaryFile)}");
        var failed = outcome.Runs.Where(r => r.Status == RunStatus.Failed).ToArray();
        foreach (var r in failed) output.WriteLine($"FAILED {r.Spec.Id}: {r.Error}");
        if (outcome.Runs.Any(r => r.Status == RunStatus.Interrupted))
        {
            output.WriteLine($"interrupted: continue with  sweep --resume --out {outDir}");
            return 130;
        }
        return failed.Length > 0 ? 1 : 0;
    }

    private static SweepConfig ParseConfig(ParsedOptions o, SweepConfig? saved)
    {
        string critic = o.String("critic", saved is null ? "both" : string.Join(",", saved.Critics)).ToLowerInvariant();
        string[] critics = critic == "both" ? SweepConfig.CriticKinds : critic.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        foreach (var c in critics)
            if (!SweepConfig.CriticKinds.Contains(c)) throw new UsageException($"--critic must be concat, separable or both, got '{critic}'");
        string task = o.String("task", saved is null ? "both" : string.Join(",", saved.Tasks)).ToLowerInvariant();
        string[] tasks = task == "both" ? ["gaussian", "cubic"] : task.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        foreach (var t in tasks)
            if (!TaskRegistry.Contains(t)) throw new UsageException($"--task: unknown task '{t}'; tasks: {TaskRegistry.Names} (or both = gaussian,cubic)");
        string estimators = o.String("estimators", saved is null ? SweepConfig.DefaultEstimators : string.Join(",", saved.Estimators));
        IReadOnlyList<BoundSpec> bounds;
        try { bounds = BoundSpec.ParseList(estimators); }
        catch (FormatException e) { throw new UsageException($"--estimators: {e.Message}"); }
        if (bounds.Count == 0) throw new UsageException("--estimators needs at least one estimator");
        return new SweepConfig
        {
            Tasks = tasks,
            Critics = critics,
            Estimators = bounds.Select(b => b.Text).ToArray(),
            Dim = o.Int("dim", saved?.Dim ?? 20, min: 1, max: 100_000),
            Batch = o.Int("batch", saved?.Batch ?? 64, min: 2, max: 100_000),
            StepsPerLevel = o.Int("steps-per-level", saved?.StepsPerLevel ?? 4000, min: 1),
            Levels = o.Doubles("levels", saved?.Levels ?? SweepConfig.DefaultLevels, min: 0, max: 1e6),
            LearningRate = o.Double("lr", saved?.LearningRate ?? 5e-4, min: double.Epsilon, max: 10),
            Seed = (ulong)o.Int("seed", (int)(saved?.Seed ?? 0), min: 0),
        };
    }

    // Ctrl-C asks the runs to checkpoint and stop instead of killing the process; a second Ctrl-C kills it.
    private static CancellationToken CancelOnCtrlC()
    {
        var source = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            if (source.IsCancellationRequested) return;
            e.Cancel = true;
            source.Cancel();
            Console.Error.WriteLine("interrupted: saving checkpoints (press Ctrl-C again to abort at once)");
        };
        return source.Token;
    }
}
