using System.Collections.Concurrent;
using System.Diagnostics;
using MiBounds.Tensors;
using MiBounds.Toy.Reports;

namespace MiBounds.Toy.Sweep;

/// <summary>How a sweep is executed (none of this changes the numbers).</summary>
public sealed record SweepExecution
{
    /// <summary>Independent runs trained at once, each on one thread with one engine thread.</summary>
    public int Parallel { get; init; } = Environment.ProcessorCount;

    /// <summary>Steps between checkpoints.</summary>
    public int CheckpointEvery { get; init; } = 500;

    /// <summary>Continue the sweep already in the output folder.</summary>
    public bool Resume { get; init; }

    /// <summary>Draw a live Spectre.Console table (false: plain periodic lines).</summary>
    public bool LiveDisplay { get; init; }

    /// <summary>Which of the sweep's runs this invocation trains (all by default); see <see cref="SweepShard"/>.</summary>
    public SweepShard Shard { get; init; } = SweepShard.All;

    /// <summary>Seconds between plain progress lines.</summary>
    public double PlainInterval { get; init; } = 15;

    /// <summary>Tests only: every run stops abruptly after this many new steps, without a final checkpoint, like a crash.</summary>
    public int? CrashAfterSteps { get; init; }

    /// <summary>Tests only: called on the run's thread after each step with the steps done (to cancel mid-run, or measure).</summary>
    internal Action<RunSpec, long>? AfterStep { get; init; }
}

/// <summary>The outcome of a sweep.</summary>
/// <param name="Runs">Every run's result.</param>
/// <param name="WallSeconds">Wall time of this invocation.</param>
public sealed record SweepOutcome(IReadOnlyList<RunResult> Runs, double WallSeconds)
{
    /// <summary>Whether every run finished.</summary>
    public bool Complete => Runs.All(r => r.Status == RunStatus.Done);
}

/// <summary>Runs a sweep into an output folder: sweep.json, runs/*.csv, checkpoints/*.safetensors, then the reports.</summary>
public static class SweepRunner
{
    /// <summary>Name of the saved configuration.</summary>
    public const string ConfigFile = "sweep.json";

    /// <summary>
    /// Prepares <paramref name="outDir"/> (creating it, or checking that a resumed sweep matches <paramref name="config"/>
    /// and the same <see cref="SweepExecution.Shard"/>), trains every unfinished run of the shard in parallel, and writes the reports (also after an interruption, with what is done).
    /// Cancelling <paramref name="cancellation"/> (Ctrl-C, SIGTERM) makes every training run checkpoint and end
    /// <see cref="RunStatus.Interrupted"/>; runs not yet started end so without training.
    /// </summary>
    public static SweepOutcome Run(SweepConfig config, string outDir, SweepExecution execution, TextWriter log, CancellationToken cancellation)
    {
        config.Validate();
        if (execution.Parallel < 1) throw new ArgumentException($"parallel must be at least 1, got {execution.Parallel}");
        if (execution.CheckpointEvery < 1) throw new ArgumentException($"checkpoint-every must be at least 1, got {execution.CheckpointEvery}");
        var runs = execution.Shard.Select(config.Runs());
        if (runs.Count == 0) throw new ArgumentException($"shard {execution.Shard} holds no run: the sweep has only {config.Runs().Count} runs, so split it into at most that many shards");
        PrepareFolder(config, outDir, execution.Resume, execution.Shard, runs);
        var wall = Stopwatch.StartNew();
        var progress = runs.Select(r => new RunProgress(r, config.TotalSteps)).ToArray();
        var results = new RunResult?[runs.Count];
        var queue = new ConcurrentQueue<int>(Enumerable.Range(0, runs.Count));
        var failures = new ConcurrentQueue<Exception>();

        void Worker()
        {
            using var _ = Engine.LimitThreads(1); // the cores are shared by whole runs; per-run results depend only on the seed
            while (queue.TryDequeue(out int i))
            {
                try { results[i] = TrainOne(config, runs[i], outDir, execution, progress[i], cancellation); }
                catch (Exception e) // an exception escaping a worker thread would kill the process and every other run with it
                {
                    progress[i].Status = RunStatus.Failed;
                    progress[i].Error = e.Message;
                    failures.Enqueue(e);
                }
            }
        }

        int threads = Math.Min(execution.Parallel, runs.Count);
        var workers = Enumerable.Range(0, threads).Select(n => new Thread(Worker) { Name = $"sweep-{n}", IsBackground = true }).ToArray();
        foreach (var w in workers) w.Start();
        var display = new ProgressDisplay(progress, execution.LiveDisplay, execution.PlainInterval, log);
        display.RunUntil(() => workers.All(w => !w.IsAlive));
        foreach (var w in workers) w.Join();
        if (failures.TryPeek(out var first) && first is InvalidDataException or IOException && results.All(r => r is null)) throw first; // e.g. every checkpoint unreadable: one clear error

        var finished = results.Select((r, i) => r ?? new RunResult(runs[i], [], new double[config.Levels.Length], null, RunStatus.Failed, progress[i].Error)).ToArray();
        Report.WriteAll(config, finished, outDir, execution.Shard.IsAll ? null :
            $"Shard {execution.Shard} of the sweep: {runs.Count} of its {config.Runs().Count} runs. Once every shard is done, sweep merge OUT DIR... builds the whole sweep's report.");
        wall.Stop();
        return new SweepOutcome(finished, wall.Elapsed.TotalSeconds);
    }

    /// <summary>The folder holding each run's estimates CSV.</summary>
    public static string RunsFolder(string outDir) => Path.Combine(outDir, "runs");

    /// <summary>The folder holding each run's checkpoint.</summary>
    public static string CheckpointFolder(string outDir) => Path.Combine(outDir, "checkpoints");

    private static RunResult TrainOne(SweepConfig config, RunSpec spec, string outDir, SweepExecution execution, RunProgress progress, CancellationToken cancellation)
    {
        var run = new SweepRun(config, spec, outDir, execution, progress, cancellation);
        run.TryResume();
        return run.Train();
    }

    /// <summary>Name of the file that marks a folder written by <see cref="SweepMerge"/> (it holds no checkpoints to resume).</summary>
    public const string MergeFile = "merge.json";

    private static void PrepareFolder(SweepConfig config, string outDir, bool resume, SweepShard shard, IReadOnlyList<RunSpec> runs)
    {
        if (File.Exists(outDir)) throw new ArgumentException($"--out {outDir} is a file, not a folder");
        string configPath = Path.Combine(outDir, ConfigFile);
        if (resume)
        {
            if (!File.Exists(configPath)) throw new ArgumentException($"nothing to resume: {configPath} does not exist");
            var saved = SweepConfig.Load(configPath);
            if (config.DifferenceFrom(saved) is string difference)
                throw new ArgumentException($"the options differ from the sweep saved in {configPath} ({difference}); resume with the same options (or none)");
            if (File.Exists(Path.Combine(outDir, MergeFile)))
                throw new ArgumentException($"{outDir} is a merged sweep (it has {MergeFile} and no checkpoints): resume its shards, then merge again");
            var savedShard = SweepShard.Load(outDir, saved);
            if (savedShard != shard && !(savedShard.IsAll && shard.IsAll))
                throw new ArgumentException($"--shard {shard} differs from the shard saved in {outDir} ({savedShard}); resume with the same --shard (or none)");
            // Checkpoints of the toy sweep's own binary format (before the training spine) cannot be read: say so rather than restart those runs.
            string? old = Directory.Exists(CheckpointFolder(outDir)) ? Directory.EnumerateFiles(CheckpointFolder(outDir), "*.ckpt").Order(StringComparer.Ordinal).FirstOrDefault() : null;
            if (old is not null)
                throw new InvalidDataException($"{old} is a checkpoint of an older format (the toy sweep's own); it cannot be resumed: start the sweep again in a new folder");
        }
        else
        {
            if (Directory.Exists(outDir) && Directory.EnumerateFileSystemEntries(outDir).Any())
                throw new ArgumentException($"--out {outDir} is not empty; pass --resume to continue the sweep there, or choose another folder");
            Directory.CreateDirectory(outDir);
            config.Save(configPath);
            if (!shard.IsAll) shard.Save(outDir, runs);
        }
        Directory.CreateDirectory(RunsFolder(outDir));
        Directory.CreateDirectory(CheckpointFolder(outDir));
    }
}
