using System.CommandLine;
using System.Globalization;
using MiBounds.Commands;
using MiBounds.Tensors;
using MiBounds.Vib.Data;
using MiBounds.Vib.Reproductions;
using static MiBounds.Commands.CommandOptions;

namespace MiBounds.Vib.Commands;

public static partial class VibCommands
{
    private static Command CreateReproduceGuessFirst()
    {
        var d = new GuessFirstOptions();
        static string Csv(IEnumerable<double> v) => string.Join(",", v.Select(x => x.ToString(CultureInfo.InvariantCulture)));
        var models = String("--models", "comma-separated models: " + string.Join(", ", GuessFirst.Models.Select(m => m.Key)), string.Join(",", d.Models));
        var epochs = Int("--epochs", "training epochs of each model (the paper: 200)", d.Epochs, 1, 100000);
        var subEpochs = Int("--substitute-epochs", "training epochs of the LeNet-5 substitute", d.SubstituteEpochs, 1, 100000);
        var batch = Int("--batch", "batch size (the paper: 250)", d.BatchSize, 2, 1 << 16);
        var lr = Double("--lr", "Adam learning rate (the paper: 1e-3)", d.LearningRate, 1e-12, 10);
        var lambda = Double("--ie", "λ of the information-elimination regularizer of C-DV-IE and C-JS-IE", d.Lambda, 1e-12, 1e6);
        var beta = Double("--beta", "β of Alemi et al. (the CNN with a VIB bottleneck)", d.Beta, 0, 1e6);
        var trainCount = Int("--train-count", "train the models on the first N training images (0 = all; the substitute always uses all)", 0, 0);
        var attackCount = Int("--attack-count", "test images per attacked cell", d.AttackCount, 1);
        var attacks = String("--attacks", "attack kinds: " + string.Join(", ", Attacks.AttackCatalog.Kinds), string.Join(",", d.Attacks));
        var fgsm = Doubles("--fgsm-sizes", $"FGSM L∞ radii (default {Csv(d.FgsmSizes)})", d.FgsmSizes, 0, 1);
        var pgd = Doubles("--pgd-sizes", $"PGD L∞ radii (default {Csv(d.PgdSizes)})", d.PgdSizes, 0, 1);
        var seed = Int("--seed", "seed of every run", (int)d.Seed, 0);
        var outDir = String("--out", "folder of the runs (one per model) and cells", Path.Combine("results", "guess-first"));
        var report = String("--report", "report folder: REPORT/guess-first.md, REPORT/guess-first/ (figures, results.json)", Path.Combine("docs", "reproductions"));
        var reportOnly = Flag("--report-only", "rebuild the report from REPORT/guess-first/results.json, training and attacking nothing");
        var data = OptionalString("--data", DataHelp);
        var threads = Int("--threads", ThreadsHelp, Environment.ProcessorCount, 1, 1024);
        var command = new Command("guess-first", "the Guess-First paper: CNN, C-DV, C-JS, C-DV-IE, C-JS-IE and Alemi et al. trained, then attacked white-box and black-box (LeNet-5 substitute) with FGSM, PGD and C&W L2; Tables 1–2 and Figure 3. Resumable: rerun the same command")
            { models, epochs, subEpochs, batch, lr, lambda, beta, trainCount, attackCount, attacks, fgsm, pgd, seed, outDir, report, reportOnly, data, threads };
        return command.WithVibAction(run =>
        {
            var o = new GuessFirstOptions
            {
                Models = run.Get(models).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
                Epochs = run.Get(epochs), SubstituteEpochs = run.Get(subEpochs), BatchSize = run.Get(batch), LearningRate = run.Get(lr),
                Lambda = run.Get(lambda), Beta = run.Get(beta), TrainCount = run.Get(trainCount), AttackCount = run.Get(attackCount),
                Attacks = run.Get(attacks).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
                FgsmSizes = run.Get(fgsm), PgdSizes = run.Get(pgd), Seed = (ulong)run.Get(seed),
            };
            foreach (var m in o.Models)
                if (!GuessFirst.Models.Any(x => x.Key == m)) throw new UsageException($"--models: unknown model '{m}'; models: {string.Join(", ", GuessFirst.Models.Select(x => x.Key))}");
            foreach (var a in o.Attacks)
                if (!Attacks.AttackCatalog.Kinds.Contains(a)) throw new UsageException($"--attacks: unknown attack '{a}'; attacks: {string.Join(", ", Attacks.AttackCatalog.Kinds)}");
            string reportDir = OutputPaths.EnsureFolder(Path.Combine(run.Get(report), "guess-first"), "--report");
            string resultsPath = Path.Combine(reportDir, "results.json");
            var results = File.Exists(resultsPath) ? GuessFirst.FromJson(File.ReadAllText(resultsPath), resultsPath) : new GuessFirstResults();
            string dataDir = results.Settings.GetValueOrDefault("data") ?? run.Get(data) ?? ImageData.DefaultDirectory;
            bool interrupted = false;
            if (!run.Get(reportOnly))
            {
                Engine.MaxThreads = run.Get(threads);
                var images = ImageData.Load(run.Get(data));
                dataDir = images.Directory;
                var settings = new Dictionary<string, string>
                {
                    ["data"] = dataDir,
                    ["models"] = string.Join(", ", o.Models),
                    ["epochs"] = $"{o.Epochs} per model (the paper: 200); substitute {o.SubstituteEpochs}",
                    ["optimizer"] = string.Create(CultureInfo.InvariantCulture, $"Adam {o.LearningRate:G}, batch {o.BatchSize} (the paper: Adam 1e-3, batch 250)"),
                    ["IE λ"] = o.Lambda.ToString("G", CultureInfo.InvariantCulture) + " (ours; set with --ie)",
                    ["Alemi β"] = o.Beta.ToString("G", CultureInfo.InvariantCulture),
                    ["training images"] = o.TrainCount > 0 ? $"first {o.TrainCount}" : "all",
                    ["attacked images per cell"] = o.AttackCount.ToString(CultureInfo.InvariantCulture),
                    ["FGSM sizes"] = Csv(o.FgsmSizes), ["PGD sizes"] = Csv(o.PgdSizes), ["C&W L2 sizes"] = Csv(o.CwSizes),
                    ["seed"] = o.Seed.ToString(CultureInfo.InvariantCulture),
                    ["runs folder"] = run.Get(outDir),
                    ["command"] = "mibounds-cli reproduce guess-first " + string.Join(" ", Environment.GetCommandLineArgs().SkipWhile(a => a != "guess-first").Skip(1)),
                };
                results = results with { Settings = settings };
                string runs = OutputPaths.EnsureFolder(run.Get(outDir), "--out");
                results = GuessFirst.Run(o, images, runs, results, r => AtomicFile.WriteAllText(resultsPath, GuessFirst.ToJson(r)), run.Out, run.Cancellation);
                AtomicFile.WriteAllText(resultsPath, GuessFirst.ToJson(results));
                interrupted = run.Cancellation.IsCancellationRequested;
            }
            GuessFirst.Figure(results, Path.Combine(reportDir, "figure3"));
            if (results.Epochs.Count > 0) GuessFirst.AccuracyCurve(results, Path.Combine(reportDir, "accuracy"));
            string md = Path.Combine(run.Get(report), "guess-first.md");
            AtomicFile.WriteAllText(md, GuessFirst.Report(results, o, dataDir));
            run.Out.WriteLine($"report: {md}");
            if (interrupted) { run.Out.WriteLine("interrupted: rerun the same command to continue"); return CommandHost.Interrupted; }
            return 0;
        });
    }
}
