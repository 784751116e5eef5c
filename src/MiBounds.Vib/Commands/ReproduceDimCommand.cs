using System.CommandLine;
using System.Globalization;
using MiBounds.Commands;
using MiBounds.Tensors;
using MiBounds.Vib.Data;
using MiBounds.Vib.Dim;
using MiBounds.Vib.Reproductions;
using static MiBounds.Commands.CommandOptions;

namespace MiBounds.Vib.Commands;

public static partial class VibCommands
{
    private static Command CreateReproduceDim()
    {
        var d = new DimReproductionOptions();
        var modes = String("--modes", "objectives: global, local, both", "global,local,both");
        var estimators = String("--estimators", "bounds: js, infonce, dv", string.Join(",", d.Estimators));
        var variant = Choice("--variant", "authors: rdevon/DIM's model and pooled negatives; ours: the dim command's model", d.Variant, "authors", "ours");
        var epochs = Int("--epochs", "training epochs of each encoder", d.Epochs, 1, 100000);
        var probeAt = Doubles("--probe-at", "epochs after which the probes run (the last epoch is always probed)", d.ProbeAt.Select(e => (double)e).ToArray(), 1, 100000);
        var batch = Int("--batch", "batch size K (the authors: 64)", d.BatchSize, 2, 4096);
        var lr = Double("--lr", "Adam learning rate (the authors: 1e-4)", d.LearningRate, 1e-12, 10);
        var width = OptionalInt("--width", "critic width (default 2048 for authors, 256 for ours)", 1, 65536);
        var trainCount = Int("--train-count", "train the encoders on the first N images (0 = all)", 0, 0);
        var probeTrain = Int("--probe-train", "training images of the probes", d.ProbeTrainCount, 10);
        var probeTest = Int("--probe-test", "test images of the probes (0 = all)", 0, 0);
        var probeEpochs = Int("--probe-epochs", "probe training epochs", d.ProbeEpochs, 1, 100000);
        var seed = Int("--seed", "seed", (int)d.Seed, 0);
        var outDir = String("--out", "folder of the runs", Path.Combine("results", "dim-reproduction"));
        var report = String("--report", "report folder: REPORT/dim.md, REPORT/dim/ (figures, results.json)", Path.Combine("docs", "reproductions"));
        var reportOnly = Flag("--report-only", "rebuild the report from REPORT/dim/results.json, training nothing");
        var data = OptionalString("--data", DataHelp);
        var threads = Int("--threads", ThreadsHelp, Environment.ProcessorCount, 1, 1024);
        var command = new Command("dim", "Deep InfoMax: DIM(G), DIM(L), DIM(G+L) × JS, InfoNCE, DV, probed (linear, MLP on conv, FC, code) after chosen epochs beside a random encoder, raw pixels and a supervised encoder. Resumable: rerun the same command")
            { modes, estimators, variant, epochs, probeAt, batch, lr, width, trainCount, probeTrain, probeTest, probeEpochs, seed, outDir, report, reportOnly, data, threads };
        return command.WithVibAction(run =>
        {
            static string[] List(string s) => s.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            var modeList = List(run.Get(modes)).Select(m => m switch
            {
                "global" => DimMode.Global, "local" => DimMode.Local, "both" => DimMode.Both,
                _ => throw new UsageException($"--modes: unknown mode '{m}' (global, local, both)"),
            }).ToArray();
            var estimatorList = List(run.Get(estimators));
            foreach (var e in estimatorList)
                if (!ScoreBounds.DimEstimators.Contains(e)) throw new UsageException($"--estimators: unknown estimator '{e}' ({string.Join(", ", ScoreBounds.DimEstimators)})");
            string v = run.Get(variant);
            var o = new DimReproductionOptions
            {
                Modes = modeList, Estimators = estimatorList, Variant = v, Epochs = run.Get(epochs), ProbeAt = run.Get(probeAt).Select(x => (int)x).ToArray(),
                BatchSize = run.Get(batch), LearningRate = run.Get(lr), Width = run.Get(width) ?? (v == "authors" ? 2048 : 256), TrainCount = run.Get(trainCount),
                ProbeTrainCount = run.Get(probeTrain), ProbeTestCount = run.Get(probeTest), ProbeEpochs = run.Get(probeEpochs), Seed = (ulong)run.Get(seed),
            };
            string reportDir = OutputPaths.EnsureFolder(Path.Combine(run.Get(report), "dim"), "--report");
            string resultsPath = Path.Combine(reportDir, "results.json");
            var results = File.Exists(resultsPath) ? DimReproduction.FromJson(File.ReadAllText(resultsPath), resultsPath) : new DimReproductionResults();
            bool interrupted = false;
            if (!run.Get(reportOnly))
            {
                Engine.MaxThreads = run.Get(threads);
                var images = ImageData.Load(run.Get(data));
                var c = CultureInfo.InvariantCulture;
                results = results with
                {
                    Settings = new Dictionary<string, string>
                    {
                        ["data"] = images.Directory,
                        ["variant"] = v,
                        ["models"] = string.Join(", ", modeList.SelectMany(m => estimatorList.Select(e => DimReproduction.Name(m, e)))),
                        ["epochs"] = $"{o.Epochs}; probes after epochs {string.Join(", ", o.ProbeEpochList())}",
                        ["optimizer"] = string.Create(c, $"Adam {o.LearningRate:G}, batch {o.BatchSize} (the authors: Adam 1e-4, batch 64)"),
                        ["critic width"] = o.Width.ToString(c) + " (the authors' mi_units: 2048)",
                        ["encoder training images"] = o.TrainCount > 0 ? $"first {o.TrainCount}" : "all",
                        ["probes"] = $"trained on the first {o.ProbeTrainCount} training images for {o.ProbeEpochs} epochs, scored on {(o.ProbeTestCount > 0 ? $"the first {o.ProbeTestCount}" : "all")} test images",
                        ["supervised reference"] = $"the same encoder + a linear softmax head on the code, cross-entropy, {o.Epochs} epochs",
                        ["seed"] = o.Seed.ToString(c),
                        ["command"] = "mibounds-cli reproduce dim " + string.Join(" ", Environment.GetCommandLineArgs().SkipWhile(a => a != "dim").Skip(1)),
                    },
                };
                string runs = OutputPaths.EnsureFolder(run.Get(outDir), "--out");
                results = DimReproduction.Run(o, images, runs, results, r => AtomicFile.WriteAllText(resultsPath, DimReproduction.ToJson(r)), run.Out, run.Cancellation);
                AtomicFile.WriteAllText(resultsPath, DimReproduction.ToJson(results));
                interrupted = run.Cancellation.IsCancellationRequested;
            }
            if (results.Probes.Count > 0)
            {
                DimReproduction.Figure(results, Path.Combine(reportDir, "probes-linear"), "linear");
                DimReproduction.Figure(results, Path.Combine(reportDir, "probes-mlp"), "mlp");
            }
            string md = Path.Combine(run.Get(report), "dim.md");
            AtomicFile.WriteAllText(md, DimReproduction.Report(results));
            run.Out.WriteLine($"report: {md}");
            if (interrupted) { run.Out.WriteLine("interrupted: rerun the same command to continue"); return CommandHost.Interrupted; }
            return 0;
        });
    }
}
