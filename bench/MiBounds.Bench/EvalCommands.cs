using System.Diagnostics;
using System.Globalization;
using MiBounds.Tensors;
using MiBounds.Vib.Attacks;
using MiBounds.Vib.Data;
using MiBounds.Vib.Dim;
using MiBounds.Vib.Hypothesis;
using MiBounds.Vib.Models;
using MiBounds.Vib.Training;

namespace MiBounds.Bench;

/// <summary>
/// `eval`: seconds for the evaluation paths users wait on (VIB's 12-sample accuracy on 10 000 images, PGD-40 on 1000,
/// C&amp;W on 100, DIM's linear and MLP probes, the hypothesis classifier's test accuracy), at each thread count, median
/// of repeats; with --compare, bench/peers/torch_vib_eval.py runs the same VIB work in PyTorch, alternating with ours.
/// </summary>
internal static class EvalCommandList
{
    public static IEnumerable<System.CommandLine.Command> Create() =>
    [
        BenchCommands.PassThrough("eval", "evaluation paths, ours [vs PyTorch] at 1 and 2 threads [--work vib-test12,vib-pgd40,vib-cw,dim-probe-linear,dim-probe-mlp,hyp-test|all] [--threads 1,2] [--repeats 3] [--compare [--peer FILE]] [--data DIR] [--json FILE]", EvalCommands.Run),
    ];
}

internal static class EvalCommands
{
    public static readonly string[] All = ["vib-test12", "vib-pgd40", "vib-cw", "dim-probe-linear", "dim-probe-mlp", "hyp-test"];

    /// <summary>One evaluation: what it does, the call (returns an accuracy, so the work cannot be skipped), its peer work or null.</summary>
    private sealed record EvalWork(string Name, string Description, Func<double> Run, string? PeerWork);

    private static EvalWork Create(string name, string? data)
    {
        var images = ModelWorkload.TrainingImages(data);
        ImageDataset First(int count) => images.Take(Math.Min(count, images.Count));
        switch (name)
        {
            case "vib-test12" or "vib-pgd40" or "vib-cw":
            {
                // Untrained VIB at K = 256: the work, not the weights, is measured (as in the peer); inside
                // WithAveragedWeights, as the trainer's own evaluations and attacks run (evaluation mode, frozen weights).
                var trainer = new VibTrainer(new TrainConfig { Kind = ModelKind.Vib, Bottleneck = 256 }, new ImageData(images, First(100), "bench"));
                var rng = new Rng(11);
                var model = trainer.Predictor(rng);
                if (name == "vib-test12")
                {
                    var set = First(10000);
                    return new(name, $"12-sample accuracy on {set.Count} images, batches of 500", () => trainer.WithAveragedWeights(() => AdversarialAttacks.Accuracy(model, set.Images, set.Labels)), "test12");
                }
                if (name == "vib-pgd40")
                {
                    var set = First(1000);
                    return new(name, $"PGD 40 steps, ε 0.1, on {set.Count} images (12-sample model), batches of 100",
                        () => trainer.WithAveragedWeights(() => AdversarialAttacks.AdversarialAccuracy(model, set.Images, set.Labels, AttackSpec.Pgd(0.1), rng)), "pgd40");
                }
                var cw = First(100);
                // No early abort: its stopping point depends on the weights, so the two sides would not do the same work.
                var options = new CarliniWagnerOptions { Iterations = 100, BinarySearchSteps = 5, AbortEarly = false };
                return new(name, $"untargeted C&W L2, {options.BinarySearchSteps} × {options.Iterations} iterations (no early abort), on {cw.Count} images (12-sample model)",
                    () => trainer.WithAveragedWeights(() => CarliniWagner.AdversarialAccuracy(model, cw.Images, cw.Labels, null, options)), "cw");
            }
            case "dim-probe-linear" or "dim-probe-mlp":
            {
                // Probe on 64-d features of 10 000 training and 10 000 test rows, 20 epochs (reproduce dim's default).
                var labels = First(10000).Labels;
                var train = Tensor.RandomNormal(new Rng(3), [labels.Length, 64]);
                var test = Tensor.RandomNormal(new Rng(4), [labels.Length, 64]);
                var kind = name.EndsWith("linear", StringComparison.Ordinal) ? ProbeKind.Linear : ProbeKind.Mlp;
                return new(name, $"{kind} probe on [{labels.Length}, 64] features, {new ProbeSettings().Epochs} epochs, scored on {labels.Length}",
                    () => Probes.Accuracy(train, labels, test, labels, 10, kind, new ProbeSettings(), new Rng(5)), null);
            }
            case "hyp-test":
            {
                var trainer = new HypothesisTrainer(new HypothesisConfig { Objective = "dv" }, First(100));
                var set = First(10000);
                return new(name, $"C-DV test accuracy on {set.Count} images (ten hypotheses each)", () => trainer.TestAccuracy(set), null);
            }
            default:
                throw new ArgumentException($"unknown evaluation '{name}' ({string.Join(", ", All)})");
        }
    }

    /// <summary>The committed peer script: --peer FILE, else bench/peers/torch_vib_eval.py above the working directory or the binary.</summary>
    private static string? FindPeer(string? explicitPath)
    {
        if (explicitPath is not null) return File.Exists(explicitPath) ? Path.GetFullPath(explicitPath) : null;
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, "bench", "peers", "torch_vib_eval.py");
                if (File.Exists(candidate)) return candidate;
            }
        return null;
    }

    public static int Run(string[] args)
    {
        var listed = PeerComparison.Option(args, "--work") ?? "all";
        var names = listed == "all" ? All : listed.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var threadCounts = PeerComparison.ThreadCounts(args);
        int repeats = int.Parse(PeerComparison.Option(args, "--repeats") ?? "3", CultureInfo.InvariantCulture);
        bool compare = args.Contains("--compare");
        string? data = PeerComparison.Option(args, "--data"), jsonPath = PeerComparison.Option(args, "--json");
        string python = PeerComparison.Option(args, "--python") ?? "/usr/bin/python3";
        string? script = compare ? FindPeer(PeerComparison.Option(args, "--peer")) : null;
        if (compare && script is null)
        {
            Console.Error.WriteLine("eval --compare needs bench/peers/torch_vib_eval.py: run from the repository or pass --peer FILE");
            return 2;
        }

        Console.WriteLine($"# {Environment.ProcessorCount} processors; median of {repeats} repeats{(compare ? ", ours and the peer alternating" : "")}; load average at start {PeerComparison.LoadAverage()}");
        var results = new List<Dictionary<string, object>>();
        foreach (var name in names)
        {
            var work = Create(name, data);
            Console.WriteLine($"# {name}: {work.Description}");
            string[] peerArgs = work.PeerWork is null ? [] : data is null ? ["--work", work.PeerWork] : ["--work", work.PeerWork, "--data", data];
            Func<int, double>? peer = script is not null && work.PeerWork is not null ? threads => PeerComparison.RunPeer(python, script, peerArgs, threads) : null;
            double accuracy = double.NaN;
            var row = PeerComparison.Alternate("work", name, threadCounts, repeats, () =>
            {
                var sw = Stopwatch.StartNew();
                accuracy = work.Run();
                return sw.Elapsed.TotalSeconds;
            }, peer, note: () => $"  accuracy {accuracy:P1}");
            row["description"] = work.Description;
            results.Add(row);
        }
        PeerComparison.Finish(results, threadCounts, r => $"{r["work"]}: {r["description"]}", jsonPath);
        return 0;
    }
}
