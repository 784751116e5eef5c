using System.Text.Json;
using System.Text.Json.Serialization;
using MiBounds.Tensors;
using MiBounds.Toy.Reports;

namespace MiBounds.Toy.Sweep;

/// <summary>A folder that went into a merge and the shard it holds.</summary>
/// <param name="Folder">The shard's output folder as given.</param>
/// <param name="Shard">Its shard (1/1 for an unsharded sweep).</param>
public sealed record MergeSource(string Folder, SweepShard Shard);

/// <summary>The outcome of <see cref="SweepMerge.Merge"/>.</summary>
/// <param name="Config">The sweep's configuration (the same in every folder).</param>
/// <param name="Runs">Every run's result, in <see cref="SweepConfig.Runs"/> order.</param>
/// <param name="Sources">The folders merged, in the order given.</param>
public sealed record MergeOutcome(SweepConfig Config, IReadOnlyList<RunResult> Runs, IReadOnlyList<MergeSource> Sources);

/// <summary>
/// Builds one sweep's reports from the folders of its finished shards (<c>sweep --shard i/n</c>). Every folder must hold
/// the same sweep.json, the shards together must hold every run exactly once, and every run must be finished (its
/// checkpoint at the last step, its CSV complete). The output folder gets sweep.json, merge.json (the sources),
/// runs/*.csv (copied), summary.json, the figures and index.html; the shards are only read.
/// </summary>
public static class SweepMerge
{
    /// <summary>
    /// Checks <paramref name="shardDirs"/> and writes the merged reports into <paramref name="outDir"/> (which must be
    /// empty or absent, and none of the shards). Problems throw an <see cref="ArgumentException"/> or an
    /// <see cref="InvalidDataException"/> whose one line names the folder and what is wrong.
    /// </summary>
    public static MergeOutcome Merge(string outDir, IReadOnlyList<string> shardDirs)
    {
        ArgumentException.ThrowIfNullOrEmpty(outDir);
        ArgumentNullException.ThrowIfNull(shardDirs);
        var (config, sources, results) = Check(outDir, shardDirs);
        Directory.CreateDirectory(SweepRunner.RunsFolder(outDir));
        config.Save(Path.Combine(outDir, SweepRunner.ConfigFile));
        AtomicFile.WriteAllText(Path.Combine(outDir, SweepRunner.MergeFile), JsonSerializer.Serialize(
            new MergeFileJson(sources.Select(s => new MergeSourceJson(Path.GetFullPath(s.Folder), s.Shard.ToString())).ToArray()), SweepConfig.Json));
        var owner = OwnerOfEachRun(config, sources);
        foreach (var run in config.Runs())
        {
            string name = run.Id + ".csv";
            File.Copy(Path.Combine(SweepRunner.RunsFolder(owner[run.Id].Folder), name), Path.Combine(SweepRunner.RunsFolder(outDir), name), overwrite: true);
        }
        string from = string.Join(", ", sources.Select(s => $"{s.Folder} ({s.Shard})"));
        Report.WriteAll(config, results, outDir, $"Merged from {sources.Count} folder{(sources.Count == 1 ? "" : "s")}: {from}.");
        return new MergeOutcome(config, results, sources);
    }

    private static (SweepConfig Config, List<MergeSource> Sources, RunResult[] Results) Check(string outDir, IReadOnlyList<string> shardDirs)
    {
        if (shardDirs.Count == 0) throw new ArgumentException("no shard folders given");
        if (File.Exists(outDir)) throw new ArgumentException($"{outDir} is a file, not a folder");
        if (Directory.Exists(outDir) && Directory.EnumerateFileSystemEntries(outDir).Any())
            throw new ArgumentException($"{outDir} is not empty; merge into a new folder");
        var seen = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var dir in shardDirs)
        {
            string full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(dir));
            if (full == Path.TrimEndingDirectorySeparator(Path.GetFullPath(outDir))) throw new ArgumentException($"{dir} is both the output and a shard; merge into a new folder");
            if (!seen.TryAdd(full, dir)) throw new ArgumentException($"{dir} is given twice");
        }

        // The same sweep everywhere: the first folder's sweep.json is the reference.
        SweepConfig? config = null;
        string first = shardDirs[0];
        var sources = new List<MergeSource>();
        foreach (var dir in shardDirs)
        {
            if (!Directory.Exists(dir)) throw new ArgumentException($"{dir}: no such folder");
            string configPath = Path.Combine(dir, SweepRunner.ConfigFile);
            if (!File.Exists(configPath)) throw new InvalidDataException($"{dir} is not a sweep folder (no {SweepRunner.ConfigFile})");
            if (File.Exists(Path.Combine(dir, SweepRunner.MergeFile))) throw new InvalidDataException($"{dir} is a merged sweep, not a shard: merge the shards themselves");
            var here = SweepConfig.Load(configPath);
            if (config is null) config = here;
            else if (here.DifferenceFrom(config, $"in {first}", $"in {dir}") is string difference)
                throw new InvalidDataException($"{dir} is not a shard of the same sweep as {first} ({difference})");
            sources.Add(new MergeSource(dir, SweepShard.Load(dir, here)));
        }
        config!.Validate();

        // Every run held exactly once.
        var runs = config.Runs();
        var holders = runs.ToDictionary(r => r.Id, _ => new List<MergeSource>(), StringComparer.Ordinal);
        foreach (var s in sources)
            foreach (var r in s.Shard.Select(runs)) holders[r.Id].Add(s);
        foreach (var r in runs)
            if (holders[r.Id] is { Count: > 1 } twice)
                throw new InvalidDataException($"run {r.Id} is in more than one folder: {string.Join(" and ", twice.Select(s => $"{s.Folder} ({s.Shard})"))}");
        var missing = runs.Where(r => holders[r.Id].Count == 0).ToArray();
        if (missing.Length > 0) throw new InvalidDataException(MissingMessage(runs, sources, missing));

        // Every run finished: read back as a resumed run would be, which also checks each checkpoint's configuration.
        var results = new RunResult[runs.Count];
        var execution = new SweepExecution { Parallel = 1 };
        for (int i = 0; i < runs.Count; i++)
        {
            var source = holders[runs[i].Id][0];
            var run = new SweepRun(config, runs[i], source.Folder, execution, new RunProgress(runs[i], config.TotalSteps), CancellationToken.None);
            if (!File.Exists(run.CheckpointPath))
                throw new InvalidDataException($"run {runs[i].Id} in {source.Folder} has not started (no {Path.GetFileName(run.CheckpointPath)}): run sweep --resume --out {source.Folder}");
            run.TryResume();
            if (run.StepsDone < config.TotalSteps)
                throw new InvalidDataException($"run {runs[i].Id} in {source.Folder} is unfinished ({run.StepsDone} of {config.TotalSteps} steps): finish it with sweep --resume --out {source.Folder}");
            var result = run.Result(RunStatus.Done);
            if (result.Estimates.Length < config.TotalSteps)
                throw new InvalidDataException($"{run.CsvPath} holds {result.Estimates.Length} rows, but its checkpoint is at step {config.TotalSteps}");
            results[i] = result;
        }
        return (config, sources, results);
    }

    private static Dictionary<string, MergeSource> OwnerOfEachRun(SweepConfig config, List<MergeSource> sources)
    {
        var runs = config.Runs();
        var owner = new Dictionary<string, MergeSource>(StringComparer.Ordinal);
        foreach (var s in sources)
            foreach (var r in s.Shard.Select(runs)) owner[r.Id] = s;
        return owner;
    }

    // Names the missing shards when every folder is a shard of one split (the usual case), else the first missing run.
    private static string MissingMessage(IReadOnlyList<RunSpec> runs, List<MergeSource> sources, RunSpec[] missing)
    {
        string runsText = missing.Length == 1 ? $"run {missing[0].Id}" : $"{missing.Length} of {runs.Count} runs, the first {missing[0].Id}";
        int n = sources[0].Shard.Count;
        if (n > 1 && sources.All(s => s.Shard.Count == n))
        {
            var absent = Enumerable.Range(1, n).Where(i => sources.All(s => s.Shard.Index != i) && new SweepShard(i, n).Select(runs).Count > 0).ToArray();
            return $"the folders do not cover the sweep: shard{(absent.Length == 1 ? "" : "s")} {string.Join(", ", absent.Select(i => $"{i}/{n}"))} missing ({runsText})";
        }
        return $"the folders do not cover the sweep: no folder holds {runsText}";
    }

    private sealed record MergeFileJson([property: JsonPropertyName("sources")] MergeSourceJson[] Sources);

    private sealed record MergeSourceJson([property: JsonPropertyName("folder")] string Folder, [property: JsonPropertyName("shard")] string Shard);
}
