using System.CommandLine;
using System.Globalization;
using MiBounds.Commands;
using MiBounds.Tensors;
using MiBounds.Training;
using MiBounds.Vib.Data;
using MiBounds.Vib.Dim;
using static MiBounds.Commands.CommandOptions;

namespace MiBounds.Vib.Commands;

public static partial class VibCommands
{
    private static Command CreateDim()
    {
        var d = new DimConfig(); // the defaults live in DimConfig only
        var estimator = Choice("--estimator", "bound trained through MiBound.FromScores: js (DIM's default), infonce, dv", d.Estimator, ScoreBounds.DimEstimators);
        var mode = Choice("--mode", "global, local (DIM(L)) or both objectives", d.Mode.ToString().ToLowerInvariant(), "global", "local", "both");
        var epochs = Int("--epochs", "training epochs", d.Epochs, 0, 100000);
        var batch = Int("--batch", "batch size K: each score matrix is K×K", d.BatchSize, 2, 4096);
        var lr = Double("--lr", "Adam learning rate", d.LearningRate, 1e-12, 10);
        var seed = Int("--seed", "seed", (int)d.Seed, 0);
        var trainCount = Int("--train-count", "train on the first N training images (0 = all 60000)", d.TrainCount, 0);
        var prior = Double("--prior", "weight of adversarial prior matching to a uniform prior (0 = off)", d.PriorWeight, 0, 1e6);
        var width = Int("--width", "shared projection width of the critics", d.Width, 1, 65536);
        var probeTrain = Int("--probe-train", "training images the probes learn from", d.ProbeTrainCount, 10);
        var probeTest = Int("--probe-test", "test images the probes are scored on (0 = all 10000)", d.ProbeTestCount, 0);
        var probeEpochs = Int("--probe-epochs", "probe training epochs", d.ProbeEpochs, 1, 100000);
        var outDir = OptionalString("--out", "run.json, training.csv, checkpoint.safetensors, results.json (default results/dim-<estimator>-<mode>)");
        var resume = Flag("--resume", "continue the run in --out (only --epochs may differ)");
        var data = OptionalString("--data", DataHelp);
        var threads = Int("--threads", ThreadsHelp, Environment.ProcessorCount, 1, 1024);
        var command = new Command("dim", "train Deep InfoMax (global/local, js|infonce|dv) and probe its features. After training, the encoder is frozen and " +
            "linear and MLP probes are trained on its global code and conv features, on a random encoder's global code and on raw pixels; " +
            "results.json holds {estimator, probe, features, accuracy}.")
            { estimator, mode, epochs, batch, lr, seed, trainCount, prior, width, probeTrain, probeTest, probeEpochs, outDir, resume, data, threads };
        return command.WithVibAction(run =>
        {
            var config = new DimConfig
            {
                Estimator = run.Get(estimator),
                Mode = Enum.Parse<DimMode>(run.Get(mode), ignoreCase: true),
                Epochs = run.Get(epochs),
                BatchSize = run.Get(batch),
                LearningRate = run.Get(lr),
                Seed = (ulong)run.Get(seed),
                TrainCount = run.Get(trainCount),
                PriorWeight = run.Get(prior),
                Width = run.Get(width),
                ProbeTrainCount = run.Get(probeTrain),
                ProbeTestCount = run.Get(probeTest),
                ProbeEpochs = run.Get(probeEpochs),
            };
            string dir = OutputPaths.EnsureFolder(run.Get(outDir) ?? Path.Combine("results", $"dim-{config.Estimator}-{config.Mode.ToString().ToLowerInvariant()}"), "--out", create: !run.Get(resume));
            return RunDim(run, config, dir, run.Get(resume), run.Get(data), run.Get(threads));
        });
    }

    private static int RunDim(CommandRun run, DimConfig config, string outDir, bool resume, string? dataDir, int threads)
    {
        var log = run.Out;
        Engine.MaxThreads = threads;
        var data = ImageData.Load(dataDir);
        PrepareRunFolder(outDir, resume, config.ToJson(), (saved, file) => DimConfig.FromJson(saved, file) with { Epochs = config.Epochs } == config);
        var trainer = new DimTrainer(config, data.Train, outDir, run.Cancellation);
        ResumeIfAsked(run, trainer, resume, outDir);
        log.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"DIM {config.Mode.ToString().ToLowerInvariant()} with {config.Estimator}: {(config.TrainCount > 0 ? Math.Min(config.TrainCount, data.Train.Count) : data.Train.Count)} train images, batch {config.BatchSize}, {trainer.Model.ParameterCount():N0} parameters, {threads} thread(s)"));
        var fit = WithProgress(run, onStep => trainer.Train(onStep, r => log.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"epoch {r.Epoch,3}/{config.Epochs}  {r.Seconds,6:F1}s  loss {r.Loss:F4}  global bound {Nats(r.GlobalBound)}  local bound {Nats(r.LocalBound)}"))));
        if (fit.Reason == StopReason.Interrupted) return Interrupted(run, "dim", outDir, fit);
        log.WriteLine($"probes: {config.ProbeTrainCount} training images, {config.ProbeEpochs} epochs");
        var records = trainer.EvaluateProbes(data, new ProbeSettings(Epochs: config.ProbeEpochs), line => log.WriteLine("  " + line));
        AtomicFile.WriteAllText(Path.Combine(outDir, "results.json"), DimTrainer.ResultsJson(records));
        log.WriteLine($"results in {outDir}");
        return 0;
    }

    private static string Nats(double v) => double.IsFinite(v) ? v.ToString("F3", CultureInfo.InvariantCulture) + " nats" : "n/a";
}
