using System.Globalization;
using System.Text;
using System.Text.Json;
using MiBounds.Cli;
using MiBounds.Tensors;
using MiBounds.Vib.Hypothesis;

namespace MiBounds.Vib;

internal static partial class Commands
{
    private const string RobustnessTableUsage = """
        usage: robustness-table --runs DIR[,DIR…] [--vib DIR[,DIR…]] [options]
          --runs LIST       hypothesis run directories trained with --robustness (their results.json attack records)
          --vib LIST        runs of the vib/vim/baseline commands: attacked here from their checkpoints (read-only)
          --count N         test images attacked for the --vib runs (default 1000; use the hypothesis runs' --attack-count)
          --epsilons LIST   attack radii for the --vib runs (default 0.15,0.3)
          --out DIR         writes robustness.md, robustness.json and robustness.png/.svg (default: print only)
          --data DIR        IDX directory (default /usr/share/datasets/fashion-mnist)
          --threads N       kernel threads (default: all cores)
        Prints one row per model: clean accuracy, then FGSM and PGD accuracy at each radius.
        """;

    private static void RegisterRobustnessTable(CommandSet commands)
    {
        commands.Add("robustness-table", "table of clean/FGSM/PGD accuracy of hypothesis runs (and VIB runs)", RobustnessTableUsage, RunRobustnessTable);
    }

    private static int RunRobustnessTable(ParsedOptions o)
    {
        var runs = (o.OptionalString("runs") ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var vibRuns = (o.OptionalString("vib") ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        int count = o.Int("count", 1000, 1);
        var epsilons = o.Doubles("epsilons", [0.15, 0.3], 0, 1);
        string? outDir = o.OptionalString("out");
        string? dataDir = o.OptionalString("data");
        Engine.MaxThreads = o.Int("threads", Environment.ProcessorCount, 1, 1024);
        o.EnsureAllUsed();
        if (runs.Length == 0 && vibRuns.Length == 0) throw new UsageException("give --runs and/or --vib run directories");

        var records = new List<AttackRecord>();
        foreach (var dir in runs) records.AddRange(ReadAttackRecords(dir));
        if (vibRuns.Length > 0)
        {
            var data = ImageData.Load(dataDir);
            var test = data.Test.Take(count);
            foreach (var dir in vibRuns)
            {
                var runFile = Path.Combine(dir, "run.json");
                if (!File.Exists(runFile)) throw new UsageException($"--vib: {runFile} not found (not a run of the vib, vim or baseline commands)");
                var config = TrainConfig.FromJson(File.ReadAllText(runFile), runFile);
                var trainer = new VibTrainer(config, data, dir);
                int epochs = trainer.Resume();
                string name = config.ModelName.ToUpperInvariant();
                Console.WriteLine($"{name} ({dir}, {epochs} epochs): attacking {test.Count} test images");
                records.AddRange(HypothesisTrainer.RobustnessOf(name, trainer.Predictor(new Rng(config.Seed + 7919)), test, epsilons,
                    new Rng(config.Seed + 7919), line => Console.WriteLine("  " + line), f => trainer.WithAveragedWeights(f)));
            }
        }
        string table = MarkdownTable(records);
        Console.Write(table);
        if (outDir is not null)
        {
            Directory.CreateDirectory(outDir);
            AtomicFile.WriteAllText(Path.Combine(outDir, "robustness.md"), table);
            AtomicFile.WriteAllText(Path.Combine(outDir, "robustness.json"), HypothesisTrainer.ResultsJson([], records));
            Plots.RobustnessCurves(records, Path.Combine(outDir, Plots.RobustnessFile));
        }
        return 0;
    }

    private static List<AttackRecord> ReadAttackRecords(string dir)
    {
        var path = Path.Combine(dir, "results.json");
        if (!File.Exists(path)) throw new UsageException($"--runs: {path} not found");
        try
        {
            var list = ResultsJsonFile.ReadAttacks(File.ReadAllText(path));
            if (list.Count == 0) throw new UsageException($"--runs: {path} holds no attack records (train with --robustness)");
            return list;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or KeyNotFoundException)
        {
            throw new DataException($"{path}: malformed results ({e.Message})", e);
        }
    }

    /// <summary>Rows per model (in order of appearance), columns: clean, then each (attack, ε) in order of appearance.</summary>
    internal static string MarkdownTable(IReadOnlyList<AttackRecord> records)
    {
        var models = records.Select(r => r.Model).Distinct().ToList();
        var columns = records.Where(r => r.Attack != "none").Select(r => (r.Attack, r.Epsilon)).Distinct().OrderBy(c => c.Epsilon).ThenBy(c => c.Attack, StringComparer.Ordinal).ToList();
        var sb = new StringBuilder("| model | clean |");
        foreach (var (attack, eps) in columns) sb.Append(CultureInfo.InvariantCulture, $" {attack.ToUpperInvariant()} ε={eps:G3} |");
        sb.Append("\n|---|---|").Append(string.Concat(Enumerable.Repeat("---|", columns.Count))).Append('\n');
        foreach (var m in models)
        {
            string Cell(string attack, double eps)
            {
                var r = records.LastOrDefault(x => x.Model == m && x.Attack == attack && (attack == "none" || x.Epsilon == eps));
                return r is null ? "–" : (100 * r.Accuracy).ToString("F1", CultureInfo.InvariantCulture) + "%";
            }
            sb.Append($"| {m} | {Cell("none", 0)} |");
            foreach (var (attack, eps) in columns) sb.Append($" {Cell(attack, eps)} |");
            sb.Append('\n');
        }
        return sb.ToString();
    }
}
