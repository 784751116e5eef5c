using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using MiBounds.Commands;
using MiBounds.Tensors;
using MiBounds.Vib.Data;
using MiBounds.Vib.Hypothesis;
using MiBounds.Vib.Reports;
using MiBounds.Vib.Training;
using static MiBounds.Commands.CommandOptions;

namespace MiBounds.Vib.Commands;

public static partial class VibCommands
{
    private static Command CreateRobustnessTable()
    {
        var runs = OptionalString("--runs", "hypothesis run directories trained with --robustness (their results.json attack records), comma-separated");
        var vib = OptionalString("--vib", "runs of the vib/vim/baseline commands: attacked here from their checkpoints (read-only), comma-separated");
        var count = Int("--count", "test images attacked for the --vib runs (use the hypothesis runs' --attack-count)", 1000, 1);
        var epsilons = Doubles("--epsilons", "attack radii for the --vib runs", [0.15, 0.3], 0, 1);
        var outDir = OptionalString("--out", "writes robustness.md, robustness.json and robustness.png/.svg (default: print only)");
        var data = OptionalString("--data", DataHelp);
        var threads = Int("--threads", ThreadsHelp, Environment.ProcessorCount, 1, 1024);
        var command = new Command("robustness-table", "table of clean/FGSM/PGD accuracy of hypothesis runs (and VIB runs): one row per model, clean accuracy, then FGSM and PGD accuracy at each radius")
            { runs, vib, count, epsilons, outDir, data, threads };
        return command.WithVibAction(run =>
        {
            static string[] List(string? s) => (s ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            var hypothesisRuns = List(run.Get(runs));
            var vibRuns = List(run.Get(vib));
            if (hypothesisRuns.Length == 0 && vibRuns.Length == 0) throw new UsageException("give --runs and/or --vib run directories");
            string? folder = run.Get(outDir) is { } given ? OutputPaths.EnsureFolder(given, "--out") : null;
            Engine.MaxThreads = run.Get(threads);
            return RunRobustnessTable(run, hypothesisRuns, vibRuns, run.Get(count), run.Get(epsilons), folder, run.Get(data));
        });
    }

    private static int RunRobustnessTable(CommandRun run, string[] runs, string[] vibRuns, int count, double[] epsilons, string? outDir, string? dataDir)
    {
        var log = run.Out;
        var records = new List<AttackRecord>();
        foreach (var dir in runs) records.AddRange(ReadAttackRecords(dir));
        if (vibRuns.Length > 0)
        {
            var data = ImageData.Load(dataDir);
            var test = data.Test.Take(count);
            foreach (var dir in vibRuns)
            {
                if (run.Cancellation.IsCancellationRequested) return CommandHost.Interrupted;
                var runFile = Path.Combine(dir, "run.json");
                if (!File.Exists(runFile)) throw new UsageException($"--vib: {runFile} not found (not a run of the vib, vim or baseline commands)");
                var config = TrainConfig.FromJson(File.ReadAllText(runFile), runFile);
                var trainer = new VibTrainer(config, data, dir);
                int epochs = trainer.Resume();
                string name = config.ModelName.ToUpperInvariant();
                log.WriteLine($"{name} ({dir}, {epochs} epochs): attacking {test.Count} test images");
                records.AddRange(HypothesisTrainer.RobustnessOf(name, trainer.Predictor(new Rng(config.Seed + 7919)), test, epsilons,
                    new Rng(config.Seed + 7919), line => log.WriteLine("  " + line), f => trainer.WithAveragedWeights(f)));
            }
        }
        string table = MarkdownTable(records);
        log.Write(table);
        if (outDir is not null)
        {
            AtomicFile.WriteAllText(Path.Combine(outDir, "robustness.md"), table);
            AtomicFile.WriteAllText(Path.Combine(outDir, "robustness.json"), HypothesisTrainer.ResultsJson([], records));
            RunFigures.RobustnessCurves(records, Path.Combine(outDir, RunFigures.RobustnessFile));
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
