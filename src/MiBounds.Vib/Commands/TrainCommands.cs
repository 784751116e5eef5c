using System.CommandLine;
using System.Globalization;
using MiBounds.Commands;
using MiBounds.Tensors;
using MiBounds.Training;
using MiBounds.Vib.Data;
using MiBounds.Vib.Models;
using MiBounds.Vib.Reports;
using MiBounds.Vib.Training;
using Spectre.Console;
using static MiBounds.Commands.CommandOptions;

namespace MiBounds.Vib.Commands;

public static partial class VibCommands
{
    /// <summary>The options of the training commands; the kind-specific ones are null where the command lacks them.</summary>
    private sealed record TrainOptions(
        Option<double>? Beta, Option<double>? Sigma, Option<bool>? MultiScale, Option<string>? Kind, Option<double>? Dropout,
        Option<int> K, Option<int> Hidden, Option<string> Encoder, Option<int> Epochs, Option<int> Batch, Option<int> Seed, Option<double> Lr, Option<int> TrainEval,
        Option<string?> Out, Option<bool> Resume, Option<string?> Data, Option<int> Threads, Option<bool> Robustness, Option<double[]> Epsilons)
    {
        public IEnumerable<Option> All() =>
            new Option?[] { Beta, Sigma, MultiScale, Kind, Dropout, K, Hidden, Encoder, Epochs, Batch, Seed, Lr, TrainEval, Out, Resume, Data, Threads, Robustness, Epsilons }.OfType<Option>();
    }

    /// <summary>vib (kind Vib), vim (Vim) or baseline (Deterministic, with --kind deterministic|dropout).</summary>
    private static Command CreateTraining(ModelKind kind)
    {
        bool stochastic = kind is ModelKind.Vib or ModelKind.Vim;
        var o = new TrainOptions(
            stochastic ? Double("--beta", kind == ModelKind.Vib ? "weight of KL(p(z|x) ‖ N(0,I)) in bits" : "weight of the MMD term", 1e-3, 0, 1e6) : null,
            kind == ModelKind.Vim ? Double("--sigma", "prior standard deviation", 1, 1e-6, 1e6) : null,
            kind == ModelKind.Vim ? Flag("--multiscale", "sum the kernel over the scales 0.1…10") : null,
            stochastic ? null : Choice("--kind", "baseline kind", "deterministic", "deterministic", "dropout"),
            stochastic ? null : Double("--dropout", "dropout rate (with --kind dropout)", 0.5, 0, 0.95),
            Int("--k", "bottleneck size K", 256, 1, 65536),
            Int("--hidden", "width of the encoder's hidden layers", 1024, 1, 65536),
            Choice("--encoder", "encoder: mlp (the VIB paper's, two hidden layers) or conv (the Guess-First conv trunk, then one hidden layer)", "mlp", "mlp", "conv"),
            Int("--epochs", "epochs", 20, 1, 100000),
            Int("--batch", "batch size", 100, 2, 1 << 20),
            Int("--seed", "seed", 1, 0),
            Double("--lr", "Adam learning rate (decayed ×0.97 every 2 epochs)", 1e-4, 1e-12, 10),
            Int("--train-eval", "training images evaluated per epoch (0 = all 60000)", 10000, 0),
            OptionalString("--out", "results.csv, results.json, run.json, checkpoint.safetensors, embedding.png/.svg for K=2 (default results/<model>)"),
            Flag("--resume", "continue from --out's checkpoint"),
            OptionalString("--data", DataHelp),
            Int("--threads", ThreadsHelp, Environment.ProcessorCount, 1, 1024),
            Flag("--robustness", "after training, FGSM/PGD accuracy on the first 1000 test images"),
            Doubles("--epsilons", "attack radii in [0,1] pixel units", [0.1, 0.2, 0.3], 0, 1));
        var (name, description) = kind switch
        {
            ModelKind.Vib => ("vib", "train a variational information bottleneck (CE + β·KL)"),
            ModelKind.Vim => ("vim", "train a variational InfoMax model (CE + β·MMD to N(0, σ²I))"),
            _ => ("baseline", "train a baseline with the same network (z = μ): deterministic or dropout"),
        };
        var command = new Command(name, description);
        foreach (var option in o.All()) command.Options.Add(option);
        return command.WithVibAction(run =>
        {
            var actual = o.Kind is null ? kind : run.Get(o.Kind) == "dropout" ? ModelKind.Dropout : ModelKind.Deterministic;
            return Train(run, o, ReadTrainConfig(run, o, actual));
        });
    }

    private static TrainConfig ReadTrainConfig(CommandRun run, TrainOptions o, ModelKind kind) => new()
    {
        Kind = kind,
        Beta = o.Beta is null ? 0 : run.Get(o.Beta),
        PriorSigma = o.Sigma is null ? 1 : run.Get(o.Sigma),
        MultiScale = o.MultiScale is not null && run.Get(o.MultiScale),
        DropoutRate = kind == ModelKind.Dropout && o.Dropout is not null ? run.Get(o.Dropout) : 0.5,
        Bottleneck = run.Get(o.K),
        Hidden = run.Get(o.Hidden),
        Encoder = run.Get(o.Encoder) == "conv" ? EncoderKind.Conv : EncoderKind.Mlp,
        Epochs = run.Get(o.Epochs),
        BatchSize = run.Get(o.Batch),
        Seed = (ulong)run.Get(o.Seed),
        LearningRate = run.Get(o.Lr),
        TrainEvalCount = run.Get(o.TrainEval),
    };

    private static int Train(CommandRun run, TrainOptions o, TrainConfig config)
    {
        bool resume = run.Get(o.Resume);
        string outDir = OutputPaths.EnsureFolder(run.Get(o.Out) ?? Path.Combine("results", config.ModelName), "--out", create: !resume);
        int threads = run.Get(o.Threads);
        var console = run.Console;
        Engine.MaxThreads = threads;
        var data = ImageData.Load(run.Get(o.Data));
        PrepareRunFolder(outDir, resume, config.ToJson(), (saved, file) => TrainConfig.FromJson(saved, file) with { Epochs = config.Epochs } == config);
        var trainer = new VibTrainer(config, data, outDir, run.Cancellation);
        ResumeIfAsked(run, trainer, resume, outDir);
        console.MarkupLine($"[bold]{Markup.Escape(config.Label)}[/]: {data.Train.Count} train / {data.Test.Count} test images from {Markup.Escape(data.Directory)}, {trainer.Network.ParameterCount():N0} parameters, {threads} thread(s), H(Y) = {trainer.LabelEntropyBits:F3} bits");
        var result = WithProgress(run, onStep => trainer.Train(onStep, record => console.MarkupLine(Markup.Escape(string.Create(CultureInfo.InvariantCulture,
            $"epoch {record.Epoch,3}/{config.Epochs}  {record.Seconds,6:F1}s  loss {record.LossBits:F4}  test acc {record.TestAcc1:P2} (1) {record.TestAcc12:P2} ({config.EvalSamples})  train acc {record.TrainAcc1:P2}  I(Z;X) ≤ {Bits(record.IzxBits)}  I(Z;Y) ≥ {Bits(record.IzyBits)}")))));
        if (result.Reason == StopReason.Interrupted)
        {
            console.MarkupLine($"interrupted after step {result.Steps} (epoch {result.Epochs + 1}): checkpoint in [bold]{Markup.Escape(outDir)}[/], continue with --resume");
            return CommandHost.Interrupted;
        }
        if (config.Bottleneck == 2) RunFigures.Embedding(trainer, Path.Combine(outDir, RunFigures.EmbeddingFile));
        if (run.Get(o.Robustness)) RunRobustness(console, trainer, run.Get(o.Epsilons), 1000);
        console.MarkupLine($"results in [bold]{Markup.Escape(outDir)}[/]");
        return 0;
    }

    private static string Bits(double v) => double.IsFinite(v) ? v.ToString("F2", CultureInfo.InvariantCulture) + " bits" : "n/a";

    private static void RunRobustness(IAnsiConsole console, VibTrainer trainer, double[] epsilons, int count)
    {
        console.MarkupLine($"robustness on the first {count} test images ({(trainer.Network.IsStochastic ? trainer.Config.EvalSamples + "-sample averaged" : "deterministic")} prediction)");
        var records = trainer.Robustness(epsilons, count, line => console.WriteLine("  " + line));
        if (trainer.OutputDirectory is string dir) RunFigures.RobustnessCurves(records, Path.Combine(dir, RunFigures.RobustnessFile));
    }

    private static Command CreateRobustness()
    {
        var outDir = RequiredString("--out", "a training run's directory (reads its checkpoint.safetensors, adds the attack records)");
        var count = Int("--count", "test images attacked", 1000, 1);
        var epsilons = Doubles("--epsilons", "attack radii in [0,1] pixel units", [0.1, 0.2, 0.3], 0, 1);
        var data = OptionalString("--data", DataHelp);
        var threads = Int("--threads", ThreadsHelp, Environment.ProcessorCount, 1, 1024);
        return new Command("robustness", "FGSM/PGD accuracy of a trained run (reads DIR/checkpoint.safetensors)") { outDir, count, epsilons, data, threads }
            .WithVibAction(run =>
            {
                string dir = run.Get(outDir);
                Engine.MaxThreads = run.Get(threads);
                var runFile = Path.Combine(dir, "run.json");
                if (!File.Exists(runFile)) throw new UsageException($"{runFile} not found: --out must be a training run's directory");
                var config = TrainConfig.FromJson(File.ReadAllText(runFile), runFile);
                var trainer = new VibTrainer(config, ImageData.Load(run.Get(data)), dir);
                int epochs = trainer.Resume();
                run.Console.MarkupLine($"[bold]{Markup.Escape(config.Label)}[/] after {epochs} epochs");
                RunRobustness(run.Console, trainer, run.Get(epsilons), run.Get(count));
                return 0;
            });
    }
}
