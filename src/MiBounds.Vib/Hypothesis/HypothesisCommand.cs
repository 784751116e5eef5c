using System.Globalization;
using MiBounds.Cli;
using MiBounds.Tensors;
using MiBounds.Vib.Hypothesis;

namespace MiBounds.Vib;

internal static partial class Commands
{
    private const string HypothesisUsage = """
        usage: hypothesis --objective dv|js|cnn [--ie LAMBDA] [options]
          --objective O     dv (C-DV) or js (C-JS): the library's bound on the N×10 score matrix T(x_i, k) with
                            positives at (i, y_i); cnn: the same trunk with a 10-way softmax head (default dv)
          --ie LAMBDA       weight of the information-elimination MMD regularizer (C-DV-IE, C-JS-IE; default 0 = off)
          --ie-sigma X      Gaussian kernel bandwidth of the regularizer (default: median heuristic per batch)
          --epochs N        training epochs (default 5)
          --batch N         batch size (default 100)
          --lr X            Adam learning rate (default 1e-3)
          --seed N          seed (default 1)
          --train-count N   train on the first N training images (default 0 = all 60000)
          --out DIR         run.json, training.csv, checkpoint.safetensors, results.json (default results/hypothesis-<model>)
          --resume          continue the run in DIR (only --epochs may differ)
          --robustness      after training, FGSM and PGD accuracy (white-box, the model's own prediction rule)
          --epsilons LIST   attack radii in [0, 1] pixel units (default 0.15,0.3)
          --attack-count N  test images attacked (default 1000)
          --data DIR        IDX directory (default /usr/share/datasets/fashion-mnist)
          --threads N       kernel threads (default: all cores)
        """;

    private static void RegisterHypothesis(CommandSet commands)
    {
        commands.Add("hypothesis", "train the label-hypothesis classifier (C-DV, C-JS, ±IE) or its CNN baseline", HypothesisUsage, RunHypothesis);
    }

    /// <summary>Reads the hypothesis command's run options (validated; bad values throw <see cref="UsageException"/>).</summary>
    internal static HypothesisConfig ReadHypothesisConfig(ParsedOptions o)
    {
        string objective = o.Choice("objective", "dv", "dv", "js", "cnn");
        double lambda = o.Double("ie", 0, 0, 1e6);
        if (objective == "cnn" && lambda > 0) throw new UsageException("--ie applies to the hypothesis models (--objective dv or js), not to the cnn baseline");
        double sigmaValue = o.Double("ie-sigma", double.NaN, 1e-9, 1e9);
        double? sigma = double.IsNaN(sigmaValue) ? null : sigmaValue;
        return new HypothesisConfig
        {
            Objective = objective,
            Lambda = lambda,
            Sigma = sigma,
            Epochs = o.Int("epochs", 5, 0, 100000),
            BatchSize = o.Int("batch", 100, 2, 1 << 16),
            LearningRate = o.Double("lr", 1e-3, 1e-12, 10),
            Seed = (ulong)o.Int("seed", 1, 0),
            TrainCount = o.Int("train-count", 0, 0),
        };
    }

    private static int RunHypothesis(ParsedOptions o)
    {
        var config = ReadHypothesisConfig(o);
        string outDir = o.OptionalString("out") ?? Path.Combine("results", "hypothesis-" + config.ModelName.ToLowerInvariant());
        bool resume = o.Flag("resume");
        bool robustness = o.Flag("robustness");
        var epsilons = o.Doubles("epsilons", [0.15, 0.3], 0, 1);
        int attackCount = o.Int("attack-count", 1000, 1);
        string? dataDir = o.OptionalString("data");
        int threads = o.Int("threads", Environment.ProcessorCount, 1, 1024);
        o.EnsureAllUsed();
        Engine.MaxThreads = threads;
        var runFile = Path.Combine(outDir, "run.json");
        CheckResume(outDir, runFile, resume, saved => HypothesisConfig.FromJson(saved, runFile) with { Epochs = config.Epochs } == config);

        var data = ImageData.Load(dataDir);
        Directory.CreateDirectory(outDir);
        AtomicFile.WriteAllText(runFile, config.ToJson());
        var trainer = new HypothesisTrainer(config, data.Train, outDir);
        if (resume) Console.WriteLine($"resumed {outDir} after epoch {trainer.Resume()}");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{config.ModelName}: {(config.TrainCount > 0 ? Math.Min(config.TrainCount, data.Train.Count) : data.Train.Count)} train images, batch {config.BatchSize}, {trainer.Module.ParameterCount():N0} parameters, {threads} thread(s)"));
        while (trainer.EpochsDone < config.Epochs)
        {
            var r = trainer.TrainEpoch(data.Test, QuarterEpochLog);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"epoch {r.Epoch,3}/{config.Epochs}  {r.Seconds,6:F1}s  loss {r.Loss:F4}  bound {Nats(r.Bound)}  IE {r.Regularizer:F4}  test acc {r.TestAccuracy:P2}"));
        }
        var attacks = new List<AttackRecord>();
        if (robustness)
        {
            Console.WriteLine($"robustness on the first {attackCount} test images");
            attacks = trainer.Robustness(data.Test.Take(attackCount), epsilons, line => Console.WriteLine("  " + line));
            Plots.RobustnessCurves(attacks, Path.Combine(outDir, Plots.RobustnessFile));
        }
        var previous = ReadCsvEpochs(Path.Combine(outDir, "training.csv"), config.ModelName);
        AtomicFile.WriteAllText(Path.Combine(outDir, "results.json"), HypothesisTrainer.ResultsJson(previous, attacks));
        Console.WriteLine($"results in {outDir}");
        return 0;
    }

    // Epoch records of every session of the run (training.csv keeps them across --resume).
    private static List<HypothesisEpochRecord> ReadCsvEpochs(string path, string model)
    {
        if (!File.Exists(path)) return [];
        return File.ReadAllLines(path).Skip(1).Where(l => l.Length > 0).Select(l =>
        {
            var f = l.Split(',');
            double D(int i) => f[i] == "nan" ? double.NaN : double.Parse(f[i], CultureInfo.InvariantCulture);
            return new HypothesisEpochRecord(model, int.Parse(f[1], CultureInfo.InvariantCulture), D(2), D(3), D(4), D(5), D(6));
        }).ToList();
    }
}
