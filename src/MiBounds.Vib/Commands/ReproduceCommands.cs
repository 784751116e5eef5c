using System.CommandLine;
using MiBounds.Commands;
using MiBounds.Tensors;
using MiBounds.Vib.Attacks;
using MiBounds.Vib.Data;
using MiBounds.Vib.Reproductions;
using static MiBounds.Commands.CommandOptions;

namespace MiBounds.Vib.Commands;

public static partial class VibCommands
{
    /// <summary>reproduce vib (Alemi et al. 2017) and reproduce vim (Crescimanna and Graham).</summary>
    private static IEnumerable<Command> CreateVibReproductions() =>
    [
        CreateReproduction("vib", "Alemi et al. 2017, Deep VIB: Table 1, Figures 1–4", "alemi2017", AlemiReproduction.DefaultBetas,
            (s, r, l) => new AlemiReproduction(s, r, l)),
        CreateReproduction("vim", "Crescimanna and Graham, Variational InfoMax: Tables 1–3, Figures 1–2, the σ × β study of a convolutional encoder", "crescimanna2019", CrescimannaReproduction.DefaultBetas,
            (s, r, l) => new CrescimannaReproduction(s, r, l)),
    ];

    private static Command CreateReproduction(string name, string description, string reportName, double[] betas, Func<ReproductionSettings, RunScheduler, Action<string>, Reproduction> create)
    {
        var epochs = Int("--epochs", "epochs of every run (the paper: 200)", 200, 1, 100000);
        var outDir = OptionalString("--out", $"folder of the run folders (default results/reproduce-{name})");
        var report = OptionalString("--report", $"the Markdown report (default docs/reproductions/{reportName}.md; figures in the folder of the same name)");
        var reportOnly = Flag("--report-only", "rebuild the report from the JSON results without training or attacking");
        var betaGrid = Doubles("--betas", "β grid of the sweeps", betas, 0, 1e6);
        var trainCount = Int("--train-count", "use only the first N training images (0 = all; for smoke runs)", 0, 0);
        var testCount = Int("--test-count", "use only the first N test images (0 = all; for smoke runs)", 0, 0);
        var attackCount = Int("--attack-count", "test images of the accuracy-under-C&W sweep", 1000, 1);
        var source = Int("--source", "class of the ten images of the targeted attack (default Trouser)", 1, 0);
        var target = Int("--target", "target class of the targeted attack (default Bag)", 8, 0);
        var cwIterations = Int("--cw-iterations", "C&W Adam iterations per binary-search step (ten-image attack)", 1000, 1);
        var cwSteps = Int("--cw-search-steps", "C&W binary-search steps over c (ten-image attack)", 9, 1);
        var sweepIterations = Int("--cw-sweep-iterations", "C&W iterations per search step in the accuracy sweep", 100, 1);
        var sweepSteps = Int("--cw-sweep-search-steps", "C&W binary-search steps in the accuracy sweep", 5, 1);
        var cwLr = Double("--cw-lr", "C&W Adam learning rate", 1e-2, 1e-9, 10);
        var cwC = Double("--cw-c", "C&W initial c", 1e-3, 1e-12, 1e12);
        var cwKappa = Double("--cw-confidence", "C&W confidence κ", 0, 0, 1e6);
        var skipSweep = Flag("--skip-attack-sweep", "skip the accuracy-under-C&W sweep (its most expensive part)");
        var seed = Int("--seed", "seed of every run", 1, 0);
        var data = OptionalString("--data", DataHelp);
        var threads = Int("--threads", ThreadsHelp, Environment.ProcessorCount, 1, 1024);
        var convEpochs = name == "vim" ? Int("--conv-epochs", "epochs of the σ × β study with the convolutional encoder (0 skips it; Adam 1e-3 halved every 30 epochs)", 60, 0, 100000) : null;
        var command = new Command(name, description)
        {
            epochs, outDir, report, reportOnly, betaGrid, trainCount, testCount, attackCount, source, target,
            cwIterations, cwSteps, sweepIterations, sweepSteps, cwLr, cwC, cwKappa, skipSweep, seed, data, threads,
        };
        if (convEpochs is not null) command.Options.Add(convEpochs);
        return command.WithVibAction(run =>
        {
            Engine.MaxThreads = run.Get(threads);
            var cw = new CarliniWagnerOptions { Iterations = run.Get(cwIterations), BinarySearchSteps = run.Get(cwSteps), LearningRate = run.Get(cwLr), InitialC = run.Get(cwC), Confidence = run.Get(cwKappa) };
            var settings = new ReproductionSettings
            {
                Root = run.Get(outDir) ?? Path.Combine("results", "reproduce-" + name),
                Report = run.Get(report) ?? Path.Combine("docs", "reproductions", reportName + ".md"),
                Epochs = run.Get(epochs), Betas = run.Get(betaGrid), TrainCount = run.Get(trainCount), TestCount = run.Get(testCount),
                AttackCount = run.Get(attackCount), Source = run.Get(source), Target = run.Get(target),
                TargetedAttack = cw, SweepAttack = cw with { Iterations = run.Get(sweepIterations), BinarySearchSteps = run.Get(sweepSteps) },
                Seed = (ulong)run.Get(seed), SkipAttackSweep = run.Get(skipSweep), Data = run.Get(data),
                ConvEpochs = convEpochs is null ? 0 : run.Get(convEpochs),
            };
            if (settings.Betas.Length == 0) throw new UsageException("--betas needs at least one value");
            if (settings.Source == settings.Target) throw new UsageException("--source and --target must differ");
            OutputPaths.EnsureFolder(settings.Root, "--out");
            var full = ImageData.Load(settings.Data);
            var used = new ImageData(settings.TrainCount > 0 ? full.Train.Take(settings.TrainCount) : full.Train, settings.TestCount > 0 ? full.Test.Take(settings.TestCount) : full.Test, full.Directory);
            void Log(string line) => run.Out.WriteLine(line);
            var reproduction = create(settings, new RunScheduler(settings.Root, used, Log, run.Cancellation), Log);
            if (!run.Get(reportOnly))
            {
                run.Out.WriteLine($"reproduce {name}: {reproduction.Plan().Count} runs in {settings.Root}, {used.Train.Count} train / {used.Test.Count} test images from {used.Directory}");
                if (!reproduction.Run())
                {
                    reproduction.WriteReport();
                    run.Out.WriteLine($"interrupted: finished runs and analyses are kept; run the same command again to continue (report so far in {settings.Report})");
                    return CommandHost.Interrupted;
                }
            }
            reproduction.WriteReport();
            run.Out.WriteLine($"report in {settings.Report}, figures in {settings.FigureFolder}");
            return 0;
        });
    }
}
