using System.Globalization;
using MiBounds.Cli;
using MiBounds.Tensors;
using MiBounds.Vib.Dim;

namespace MiBounds.Vib;

internal static partial class Commands
{
    private const string DimUsage = """
        usage: dim [--estimator js|infonce|dv] [--mode global|local|both] [options]
          --estimator NAME  bound trained through MiBound.FromScores: js (DIM's default), infonce, dv (default js)
          --mode M          global, local or both objectives (default local = DIM(L))
          --epochs N        training epochs (default 3)
          --batch N         batch size K: each score matrix is K×K (default 64)
          --lr X            Adam learning rate (default 1e-3)
          --seed N          seed (default 1)
          --train-count N   train on the first N training images (default 0 = all 60000)
          --prior W         weight of adversarial prior matching to a uniform prior (default 0 = off)
          --width N         shared projection width of the critics (default 256)
          --probe-train N   training images the probes learn from (default 10000)
          --probe-test N    test images the probes are scored on (default 0 = all 10000)
          --probe-epochs N  probe training epochs (default 20)
          --out DIR         run.json, training.csv, checkpoint.safetensors, results.json (default results/dim-<estimator>-<mode>)
          --resume          continue the run in DIR (only --epochs may differ)
          --data DIR        IDX directory (default /usr/share/datasets/fashion-mnist)
          --threads N       kernel threads (default: all cores)
        After training, the encoder is frozen and linear and MLP probes are trained on its global code and conv features,
        on a random encoder's global code and on raw pixels; results.json holds {estimator, probe, features, accuracy}.
        """;

    private static void RegisterDim(CommandSet commands)
    {
        commands.Add("dim", "train Deep InfoMax (global/local, js|infonce|dv) and probe its features", DimUsage, RunDim);
    }

    /// <summary>Reads the dim command's run options (validated; bad values throw <see cref="UsageException"/>).</summary>
    internal static DimConfig ReadDimConfig(ParsedOptions o)
    {
        var d = new DimConfig(); // the defaults live in DimConfig only
        return new()
        {
            Estimator = o.Choice("estimator", d.Estimator, ScoreBounds.DimEstimators),
            Mode = Enum.Parse<DimMode>(o.Choice("mode", d.Mode.ToString().ToLowerInvariant(), "global", "local", "both"), ignoreCase: true),
            Epochs = o.Int("epochs", d.Epochs, 0, 100000),
            BatchSize = o.Int("batch", d.BatchSize, 2, 4096),
            LearningRate = o.Double("lr", d.LearningRate, 1e-12, 10),
            Seed = (ulong)o.Int("seed", (int)d.Seed, 0),
            TrainCount = o.Int("train-count", d.TrainCount, 0),
            PriorWeight = o.Double("prior", d.PriorWeight, 0, 1e6),
            Width = o.Int("width", d.Width, 1, 65536),
            ProbeTrainCount = o.Int("probe-train", d.ProbeTrainCount, 10),
            ProbeTestCount = o.Int("probe-test", d.ProbeTestCount, 0),
            ProbeEpochs = o.Int("probe-epochs", d.ProbeEpochs, 1, 100000),
        };
    }

    private static int RunDim(ParsedOptions o)
    {
        var config = ReadDimConfig(o);
        string outDir = o.OptionalString("out") ?? Path.Combine("results", $"dim-{config.Estimator}-{config.Mode.ToString().ToLowerInvariant()}");
        bool resume = o.Flag("resume");
        string? dataDir = o.OptionalString("data");
        int threads = o.Int("threads", Environment.ProcessorCount, 1, 1024);
        o.EnsureAllUsed();
        Engine.MaxThreads = threads;
        var runFile = Path.Combine(outDir, "run.json");
        CheckResume(outDir, runFile, resume, saved => DimConfig.FromJson(saved, runFile) with { Epochs = config.Epochs } == config);

        var data = ImageData.Load(dataDir);
        Directory.CreateDirectory(outDir);
        AtomicFile.WriteAllText(runFile, config.ToJson());
        using var cancel = CancelOnCtrlC(); // stopgap until the CLI wires SIGINT/SIGTERM
        var trainer = new DimTrainer(config, data.Train, outDir, cancel.Token);
        if (resume) Console.WriteLine(Resumed(outDir, trainer.Resume(), trainer.StepInEpoch, trainer.StepsPerEpoch));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"DIM {config.Mode.ToString().ToLowerInvariant()} with {config.Estimator}: {(config.TrainCount > 0 ? Math.Min(config.TrainCount, data.Train.Count) : data.Train.Count)} train images, batch {config.BatchSize}, {trainer.Network.ParameterCount():N0} parameters, {threads} thread(s)"));
        var fit = trainer.Train(QuarterEpochLog, r => Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"epoch {r.Epoch,3}/{config.Epochs}  {r.Seconds,6:F1}s  loss {r.Loss:F4}  global bound {Nats(r.GlobalBound)}  local bound {Nats(r.LocalBound)}")));
        if (fit.Reason == MiBounds.Training.StopReason.Interrupted) return Interrupted("dim", outDir, fit);
        Console.WriteLine($"probes: {config.ProbeTrainCount} training images, {config.ProbeEpochs} epochs");
        var records = trainer.EvaluateProbes(data, new ProbeSettings(Epochs: config.ProbeEpochs), line => Console.WriteLine("  " + line));
        AtomicFile.WriteAllText(Path.Combine(outDir, "results.json"), DimTrainer.ResultsJson(records));
        Console.WriteLine($"results in {outDir}");
        return 0;
    }

    private static string Resumed(string outDir, int epochs, int stepInEpoch, int stepsPerEpoch) =>
        stepInEpoch > 0 ? $"resumed {outDir} in epoch {epochs + 1}, after batch {stepInEpoch}/{stepsPerEpoch}" : $"resumed {outDir} after epoch {epochs}";

    // Checkpointed mid-epoch: --resume continues from the very next batch.
    private static int Interrupted(string command, string outDir, MiBounds.Training.FitResult fit)
    {
        Console.WriteLine($"interrupted after {fit.Steps} steps ({fit.Epochs} epochs done): continue with  {command} --resume --out {outDir}");
        return 130;
    }

    // Ctrl-C asks the trainer to checkpoint and stop instead of killing the process; a second Ctrl-C kills it.
    private static CancelOnCtrlCSource CancelOnCtrlC() => new();

    private sealed class CancelOnCtrlCSource : IDisposable
    {
        private readonly CancellationTokenSource _source = new();

        public CancelOnCtrlCSource() => Console.CancelKeyPress += OnCancel;

        public CancellationToken Token => _source.Token;

        private void OnCancel(object? sender, ConsoleCancelEventArgs e)
        {
            if (_source.IsCancellationRequested) return;
            e.Cancel = true;
            _source.Cancel();
            Console.Error.WriteLine("interrupted: saving a checkpoint (press Ctrl-C again to abort at once)");
        }

        public void Dispose()
        {
            Console.CancelKeyPress -= OnCancel;
            _source.Dispose();
        }
    }

    private static string Nats(double v) => double.IsFinite(v) ? v.ToString("F3", CultureInfo.InvariantCulture) + " nats" : "n/a";

    private static void QuarterEpochLog(int b, int total)
    {
        if (b % Math.Max(1, total / 4) == 0 && b < total) Console.WriteLine($"  batch {b}/{total}");
    }

    /// <summary>
    /// --resume needs DIR/run.json with the same options (<paramref name="sameRun"/>); without it DIR must not hold a
    /// checkpoint already.
    /// </summary>
    private static void CheckResume(string outDir, string runFile, bool resume, Func<string, bool> sameRun)
    {
        if (resume)
        {
            if (!File.Exists(runFile)) throw new UsageException($"--resume: {runFile} not found (nothing to resume in {outDir})");
            if (!sameRun(File.ReadAllText(runFile)))
                throw new UsageException($"--resume: the options differ from the run in {outDir} ({runFile}); give the same ones (only --epochs may change)");
            if (!File.Exists(Path.Combine(outDir, MiBounds.Training.TrainingCheckpoint.FileName)))
                throw new UsageException($"--resume: {outDir} holds no checkpoint yet (the run was killed before its first epoch ended); start it again without --resume");
        }
        else if (File.Exists(Path.Combine(outDir, MiBounds.Training.TrainingCheckpoint.FileName)))
            throw new UsageException($"{outDir} already holds a run; add --resume to continue it or choose another --out");
    }
}
