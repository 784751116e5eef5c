using System.Globalization;
using MiBounds.Cli;
using MiBounds.Tensors;
using Spectre.Console;

namespace MiBounds.Vib;

internal static partial class Commands
{
    private const string CommonUsage = """
          --k N             bottleneck size K (default 256)
          --hidden N        width of the encoder's hidden layers (default 1024)
          --epochs N        epochs (default 20)
          --batch N         batch size (default 100)
          --seed N          seed (default 1)
          --lr X            Adam learning rate (default 1e-4; decayed ×0.97 every 2 epochs)
          --train-eval N    training images evaluated per epoch (default 10000, 0 = all 60000)
          --out DIR         results.csv, results.json, run.json, checkpoint.safetensors, embedding.png/.svg for K=2 (default results/<model>)
          --resume          continue from DIR's checkpoint
          --data DIR        IDX directory (default /usr/share/datasets/fashion-mnist)
          --threads N       kernel threads (default: all cores)
          --robustness      after training, FGSM/PGD accuracy on the first 1000 test images
          --epsilons LIST   attack radii in [0,1] pixel units (default 0.1,0.2,0.3)
        """;

    private static void RegisterTraining(CommandSet commands)
    {
        commands.Add("vib", "train a variational information bottleneck (CE + β·KL)",
            "usage: vib [--beta 1e-3] [options]\n  --beta X          weight of KL(p(z|x) ‖ N(0,I)) in bits (default 1e-3)\n" + CommonUsage,
            o => Train(o, ModelKind.Vib));
        commands.Add("vim", "train a variational InfoMax model (CE + β·MMD to N(0, σ²I))",
            "usage: vim [--beta 1e-3] [--sigma 1] [--multiscale] [options]\n  --beta X          weight of the MMD term (default 1e-3)\n  --sigma X         prior standard deviation (default 1)\n  --multiscale      sum the kernel over the scales 0.1…10\n" + CommonUsage,
            o => Train(o, ModelKind.Vim));
        commands.Add("baseline", "train a baseline with the same network (z = μ): deterministic or dropout",
            "usage: baseline [--kind deterministic|dropout] [--dropout 0.5] [options]\n" + CommonUsage,
            o => Train(o, o.Choice("kind", "deterministic", "deterministic", "dropout") == "dropout" ? ModelKind.Dropout : ModelKind.Deterministic));
        commands.Add("robustness", "FGSM/PGD accuracy of a trained run (reads DIR/checkpoint.safetensors)",
            "usage: robustness --out DIR [--count 1000] [--epsilons 0.1,0.2,0.3] [--data DIR] [--threads N]",
            RobustnessCommand);
    }

    /// <summary>Reads the options shared by every training command into a config (validated; bad values throw <see cref="UsageException"/>).</summary>
    internal static TrainConfig ReadTrainConfig(ParsedOptions o, ModelKind kind) => new()
    {
        Kind = kind,
        Beta = kind is ModelKind.Vib or ModelKind.Vim ? o.Double("beta", 1e-3, 0, 1e6) : 0,
        PriorSigma = kind == ModelKind.Vim ? o.Double("sigma", 1, 1e-6, 1e6) : 1,
        MultiScale = kind == ModelKind.Vim && o.Flag("multiscale"),
        DropoutRate = kind == ModelKind.Dropout ? o.Double("dropout", 0.5, 0, 0.95) : 0.5,
        Bottleneck = o.Int("k", 256, 1, 65536),
        Hidden = o.Int("hidden", 1024, 1, 65536),
        Epochs = o.Int("epochs", 20, 1, 100000),
        BatchSize = o.Int("batch", 100, 2, 1 << 20),
        Seed = (ulong)o.Int("seed", 1, 0),
        LearningRate = o.Double("lr", 1e-4, 1e-12, 10),
        TrainEvalCount = o.Int("train-eval", 10000, 0),
    };

    private static int Train(ParsedOptions o, ModelKind kind)
    {
        var config = ReadTrainConfig(o, kind);
        string outDir = o.OptionalString("out") ?? Path.Combine("results", config.ModelName);
        bool resume = o.Flag("resume");
        string? dataDir = o.OptionalString("data");
        int threads = o.Int("threads", Environment.ProcessorCount, 1, 1024);
        bool robustness = o.Flag("robustness");
        var epsilons = o.Doubles("epsilons", [0.1, 0.2, 0.3], 0, 1);
        o.EnsureAllUsed();

        Engine.MaxThreads = threads;
        var runFile = Path.Combine(outDir, "run.json");
        if (resume)
        {
            if (!File.Exists(runFile)) throw new UsageException($"--resume: {runFile} not found (nothing to resume in {outDir})");
            var saved = TrainConfig.FromJson(File.ReadAllText(runFile), runFile);
            if (saved with { Epochs = config.Epochs } != config)
                throw new UsageException($"--resume: the options differ from the run in {outDir} ({runFile}); give the same ones (only --epochs may change)");
        }
        else if (File.Exists(Path.Combine(outDir, Checkpoint.FileName)))
            throw new UsageException($"{outDir} already holds a run; add --resume to continue it or choose another --out");

        var data = ImageData.Load(dataDir);
        Directory.CreateDirectory(outDir);
        AtomicFile.WriteAllText(runFile, config.ToJson());
        var trainer = new VibTrainer(config, data, outDir);
        if (resume) AnsiConsole.MarkupLine($"resumed [bold]{Markup.Escape(outDir)}[/] after epoch {trainer.Resume()}");
        AnsiConsole.MarkupLine($"[bold]{Markup.Escape(config.Label)}[/]: {data.Train.Count} train / {data.Test.Count} test images from {Markup.Escape(data.Directory)}, {trainer.Network.ParameterCount():N0} parameters, {threads} thread(s), H(Y) = {trainer.LabelEntropyBits:F3} bits");
        while (trainer.EpochsDone < config.Epochs)
        {
            var record = RunEpochWithProgress(trainer);
            AnsiConsole.MarkupLine(string.Create(CultureInfo.InvariantCulture,
                $"epoch {record.Epoch,3}/{config.Epochs}  {record.Seconds,6:F1}s  loss {record.LossBits:F4}  test acc {record.TestAcc1:P2} (1) {record.TestAcc12:P2} ({config.EvalSamples})  train acc {record.TrainAcc1:P2}  I(Z;X) ≤ {Bits(record.IzxBits)}  I(Z;Y) ≥ {Bits(record.IzyBits)}"));
        }
        if (config.Bottleneck == 2) Plots.Embedding(trainer, Path.Combine(outDir, Plots.EmbeddingFile));
        if (robustness) RunRobustness(trainer, epsilons, 1000);
        AnsiConsole.MarkupLine($"results in [bold]{Markup.Escape(outDir)}[/]");
        return 0;
    }

    private static string Bits(double v) => double.IsFinite(v) ? v.ToString("F2", CultureInfo.InvariantCulture) + " bits" : "n/a";

    private static EpochRecord RunEpochWithProgress(VibTrainer trainer)
    {
        if (Console.IsOutputRedirected || !AnsiConsole.Profile.Capabilities.Interactive)
        {
            // Logs (nohup) get a line every quarter epoch rather than a redrawn bar.
            return trainer.TrainEpoch((b, total) =>
            {
                if (b % Math.Max(1, total / 4) == 0 && b < total) Console.WriteLine($"  batch {b}/{total}");
            });
        }
        EpochRecord? result = null;
        AnsiConsole.Progress().Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask($"epoch {trainer.EpochsDone + 1}");
                result = trainer.TrainEpoch((b, total) => { task.MaxValue = total; task.Value = b; });
                task.StopTask();
            });
        return result!;
    }

    private static void RunRobustness(VibTrainer trainer, double[] epsilons, int count)
    {
        AnsiConsole.MarkupLine($"robustness on the first {count} test images ({(trainer.Network.IsStochastic ? trainer.Config.EvalSamples + "-sample averaged" : "deterministic")} prediction)");
        var records = trainer.Robustness(epsilons, count, line => AnsiConsole.WriteLine("  " + line));
        if (trainer.OutputDirectory is string dir) Plots.RobustnessCurves(records, Path.Combine(dir, Plots.RobustnessFile));
    }

    private static int RobustnessCommand(ParsedOptions o)
    {
        string outDir = o.Required("out");
        int count = o.Int("count", 1000, 1);
        var epsilons = o.Doubles("epsilons", [0.1, 0.2, 0.3], 0, 1);
        string? dataDir = o.OptionalString("data");
        Engine.MaxThreads = o.Int("threads", Environment.ProcessorCount, 1, 1024);
        o.EnsureAllUsed();
        var runFile = Path.Combine(outDir, "run.json");
        if (!File.Exists(runFile)) throw new UsageException($"{runFile} not found: --out must be a training run's directory");
        var config = TrainConfig.FromJson(File.ReadAllText(runFile), runFile);
        var trainer = new VibTrainer(config, ImageData.Load(dataDir), outDir);
        int epochs = trainer.Resume();
        AnsiConsole.MarkupLine($"[bold]{Markup.Escape(config.Label)}[/] after {epochs} epochs");
        RunRobustness(trainer, epsilons, count);
        return 0;
    }
}
