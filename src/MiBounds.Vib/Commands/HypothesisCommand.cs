using System.CommandLine;
using System.Globalization;
using MiBounds.Commands;
using MiBounds.Tensors;
using MiBounds.Training;
using MiBounds.Vib.Data;
using MiBounds.Vib.Hypothesis;
using MiBounds.Vib.Reports;
using static MiBounds.Commands.CommandOptions;

namespace MiBounds.Vib.Commands;

public static partial class VibCommands
{
    private static Command CreateHypothesis()
    {
        var objective = Choice("--objective", "dv (C-DV) or js (C-JS): the library's bound on the N×10 score matrix T(x_i, k) with positives at (i, y_i); cnn: the same trunk with a 10-way softmax head; vib: the cnn with a VIB bottleneck (Guess First's \"Alemi et al.\"); lenet: the LeNet-5-like black-box substitute", "dv", "dv", "js", "cnn", "vib", "lenet");
        var ie = Double("--ie", "weight of the information-elimination MMD regularizer (C-DV-IE, C-JS-IE; 0 = off)", 0, 0, 1e6);
        var ieSigma = OptionalDouble("--ie-sigma", "Gaussian kernel bandwidth of the regularizer (default: median heuristic per batch)", 1e-9, 1e9);
        var epochs = Int("--epochs", "training epochs", 5, 0, 100000);
        var batch = Int("--batch", "batch size", 100, 2, 1 << 16);
        var lr = Double("--lr", "Adam learning rate", 1e-3, 1e-12, 10);
        var seed = Int("--seed", "seed", 1, 0);
        var trainCount = Int("--train-count", "train on the first N training images (0 = all 60000)", 0, 0);
        var outDir = OptionalString("--out", "run.json, training.csv, checkpoint.safetensors, results.json (default results/hypothesis-<model>)");
        var resume = Flag("--resume", "continue the run in --out (only --epochs may differ)");
        var robustness = Flag("--robustness", "after training, FGSM and PGD accuracy (white-box, the model's own prediction rule)");
        var epsilons = Doubles("--epsilons", "attack radii in [0, 1] pixel units", [0.15, 0.3], 0, 1);
        var attackCount = Int("--attack-count", "test images attacked", 1000, 1);
        var data = OptionalString("--data", DataHelp);
        var threads = Int("--threads", ThreadsHelp, Environment.ProcessorCount, 1, 1024);
        var command = new Command("hypothesis", "train the label-hypothesis classifier (C-DV, C-JS, ±IE) or its CNN baseline")
            { objective, ie, ieSigma, epochs, batch, lr, seed, trainCount, outDir, resume, robustness, epsilons, attackCount, data, threads };
        return command.WithVibAction(run =>
        {
            string o = run.Get(objective);
            double lambda = run.Get(ie);
            if (o is not ("dv" or "js") && lambda > 0) throw new UsageException($"--ie applies to the hypothesis models (--objective dv or js), not to {o}");
            var config = new HypothesisConfig
            {
                Objective = o,
                Lambda = lambda,
                Sigma = run.Get(ieSigma),
                Epochs = run.Get(epochs),
                BatchSize = run.Get(batch),
                LearningRate = run.Get(lr),
                Seed = (ulong)run.Get(seed),
                TrainCount = run.Get(trainCount),
            };
            string dir = OutputPaths.EnsureFolder(run.Get(outDir) ?? Path.Combine("results", "hypothesis-" + config.ModelName.ToLowerInvariant()), "--out", create: !run.Get(resume));
            return RunHypothesis(run, config, dir, run.Get(resume), run.Get(robustness) ? run.Get(epsilons) : null, run.Get(attackCount), run.Get(data), run.Get(threads));
        });
    }

    private static int RunHypothesis(CommandRun run, HypothesisConfig config, string outDir, bool resume, double[]? attackEpsilons, int attackCount, string? dataDir, int threads)
    {
        var log = run.Out;
        Engine.MaxThreads = threads;
        var data = ImageData.Load(dataDir);
        PrepareRunFolder(outDir, resume, config.ToJson(), (saved, file) => HypothesisConfig.FromJson(saved, file) with { Epochs = config.Epochs } == config);
        var trainer = new HypothesisTrainer(config, data.Train, outDir, run.Cancellation);
        ResumeIfAsked(run, trainer, resume, outDir);
        log.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{config.ModelName}: {(config.TrainCount > 0 ? Math.Min(config.TrainCount, data.Train.Count) : data.Train.Count)} train images, batch {config.BatchSize}, {trainer.Module.ParameterCount():N0} parameters, {threads} thread(s)"));
        var fit = WithProgress(run, onStep => trainer.Train(data.Test, onStep, r => log.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"epoch {r.Epoch,3}/{config.Epochs}  {r.Seconds,6:F1}s  loss {r.Loss:F4}  bound {Nats(r.Bound)}  IE {r.Regularizer:F4}  test acc {r.TestAccuracy:P2}"))));
        if (fit.Reason == StopReason.Interrupted) return Interrupted(run, "hypothesis", outDir, fit);
        var attacks = new List<AttackRecord>();
        if (attackEpsilons is not null)
        {
            log.WriteLine($"robustness on the first {attackCount} test images");
            attacks = trainer.Robustness(data.Test.Take(attackCount), attackEpsilons, line => log.WriteLine("  " + line));
            RunFigures.RobustnessCurves(attacks, Path.Combine(outDir, RunFigures.RobustnessFile));
        }
        var previous = ReadCsvEpochs(Path.Combine(outDir, "training.csv"), config.ModelName);
        AtomicFile.WriteAllText(Path.Combine(outDir, "results.json"), HypothesisTrainer.ResultsJson(previous, attacks));
        log.WriteLine($"results in {outDir}");
        return 0;
    }

    // Epoch records of every session of the run (training.csv keeps them across --resume).
    private static List<HypothesisEpochRecord> ReadCsvEpochs(string path, string model)
    {
        if (!File.Exists(path)) return [];
        return File.ReadAllLines(path).Skip(1).Where(l => l.Length > 0).Select(l =>
        {
            var f = l.Split(',');
            double D(int i) => MetricsLog.Parse(f[i]); // as MetricsLog writes them (nan, inf)
            return new HypothesisEpochRecord(model, int.Parse(f[1], CultureInfo.InvariantCulture), D(2), D(3), D(4), D(5), D(6));
        }).ToList();
    }
}
