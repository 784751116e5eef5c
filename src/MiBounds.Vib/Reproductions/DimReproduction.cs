using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using MiBounds.Plots;
using MiBounds.Tensors;
using MiBounds.Tensors.Nn;
using MiBounds.Tensors.Optim;
using MiBounds.Training;
using MiBounds.Vib.Data;
using MiBounds.Vib.Dim;
using ScottPlot;

namespace MiBounds.Vib.Reproductions;

/// <summary>One probe: the encoder (e.g. "DIM(L) infonce", "random", "pixels", "supervised"), its epoch, probe kind, features, accuracy.</summary>
public sealed record DimProbeCell(string Model, int Epoch, string Probe, string Features, double Accuracy, double Seconds);

/// <summary>Everything the DIM report is built from (results.json next to it).</summary>
public sealed record DimReproductionResults
{
    /// <summary>The protocol as run.</summary>
    public Dictionary<string, string> Settings { get; init; } = [];
    /// <summary>Probe results.</summary>
    public List<DimProbeCell> Probes { get; init; } = [];
    /// <summary>Training seconds per model.</summary>
    public Dictionary<string, double> TrainSeconds { get; init; } = [];
}

/// <summary>The settings of `reproduce dim`.</summary>
public sealed record DimReproductionOptions
{
    /// <summary>Objectives: global, local, both.</summary>
    public DimMode[] Modes { get; init; } = [DimMode.Global, DimMode.Local, DimMode.Both];
    /// <summary>Estimators: js, infonce, dv.</summary>
    public string[] Estimators { get; init; } = ["js", "infonce", "dv"];
    /// <summary>"authors" (rdevon/DIM's model, pooled negatives) or "ours" (<see cref="DimNetwork"/>).</summary>
    public string Variant { get; init; } = "authors";
    /// <summary>Training epochs.</summary>
    public int Epochs { get; init; } = 10;
    /// <summary>Epochs after which the probes run (the last is always added).</summary>
    public int[] ProbeAt { get; init; } = [1, 2, 5, 10];
    /// <summary>Batch size (the authors: 64).</summary>
    public int BatchSize { get; init; } = 64;
    /// <summary>Adam learning rate (the authors: 1e-4).</summary>
    public double LearningRate { get; init; } = 1e-4;
    /// <summary>Critic width (the authors' mi_units: 2048; ours 256).</summary>
    public int Width { get; init; } = 2048;
    /// <summary>Training images of the encoders (0 = all).</summary>
    public int TrainCount { get; init; }
    /// <summary>Training images the probes learn from.</summary>
    public int ProbeTrainCount { get; init; } = 10000;
    /// <summary>Test images the probes are scored on (0 = all).</summary>
    public int ProbeTestCount { get; init; }
    /// <summary>Probe training epochs.</summary>
    public int ProbeEpochs { get; init; } = 20;
    /// <summary>Seed.</summary>
    public ulong Seed { get; init; } = 1;

    /// <summary>The probe epochs, sorted, within the budget, with the last epoch.</summary>
    public int[] ProbeEpochList() => ProbeAt.Where(e => e >= 1 && e <= Epochs).Append(Epochs).Distinct().Order().ToArray();
}

/// <summary>
/// The Deep InfoMax reproduction: DIM(G), DIM(L), DIM(G+L) × JS, InfoNCE, DV trained as dim runs (resumable), probed
/// (linear and MLP on the conv features, the FC layer and the code) after chosen epochs, beside a random encoder, raw
/// pixels and the same encoder trained supervised; a rerun skips what results.json already holds.
/// </summary>
public static class DimReproduction
{
    /// <summary>The paper's name of a model: DIM(G), DIM(L), DIM(G+L) and the estimator.</summary>
    public static string Name(DimMode mode, string estimator) => $"{(mode switch { DimMode.Global => "DIM(G)", DimMode.Local => "DIM(L)", _ => "DIM(G+L)" })} {estimator}";

    /// <summary>The dim run's configuration for one model.</summary>
    public static DimConfig Config(DimReproductionOptions o, DimMode mode, string estimator, int epochs) => new()
    {
        Estimator = estimator, Mode = mode, Epochs = epochs, BatchSize = o.BatchSize, LearningRate = o.LearningRate, Seed = o.Seed,
        TrainCount = o.TrainCount, Width = o.Width, ProbeTrainCount = o.ProbeTrainCount, ProbeTestCount = o.ProbeTestCount, ProbeEpochs = o.ProbeEpochs,
        Variant = o.Variant == "authors" ? "authors" : null,
    };

    /// <summary>Trains and probes everything missing from <paramref name="results"/>; <paramref name="save"/> after each probe set.</summary>
    public static DimReproductionResults Run(DimReproductionOptions o, ImageData data, string runsDir, DimReproductionResults results,
        Action<DimReproductionResults> save, TextWriter log, CancellationToken cancellation)
    {
        var probeTrain = data.Train.Take(Math.Min(o.ProbeTrainCount, data.Train.Count));
        var probeTest = o.ProbeTestCount > 0 ? data.Test.Take(Math.Min(o.ProbeTestCount, data.Test.Count)) : data.Test;
        var settings = new ProbeSettings(Epochs: o.ProbeEpochs);
        bool authors = o.Variant == "authors";

        // Baselines first: cheap, and they frame every other number.
        if (!results.Probes.Any(p => p.Model == "pixels"))
            ProbeSet(results, "pixels", 0, [("pixels", probeTrain.Images, probeTest.Images)], probeTrain, probeTest, data.Train.Classes, settings, o.Seed, log, save);
        if (!results.Probes.Any(p => p.Model == "random"))
        {
            var random = RandomEncoder(data.Train.Height, o.Seed + 1000003, probeTrain.Images.Slice(0, 0, Math.Min(2000, probeTrain.Count)), authors);
            ProbeSet(results, "random", 0, Sets(random, probeTrain, probeTest), probeTrain, probeTest, data.Train.Classes, settings, o.Seed, log, save);
        }
        foreach (var mode in o.Modes)
            foreach (var estimator in o.Estimators)
            {
                string name = Name(mode, estimator), dir = Path.Combine(runsDir, $"{o.Variant}-{mode.ToString().ToLowerInvariant()}-{estimator}");
                foreach (int epoch in o.ProbeEpochList())
                {
                    if (cancellation.IsCancellationRequested) return results;
                    if (results.Probes.Any(p => p.Model == name && p.Epoch == epoch)) continue;
                    var trainer = TrainTo(Config(o, mode, estimator, epoch), data.Train, dir, log, name, cancellation, results);
                    if (trainer is null) return results;
                    if (trainer.EpochsDone > epoch) { log.WriteLine($"{name}: the checkpoint is past epoch {epoch}; its probes are skipped"); continue; }
                    ProbeSet(results, name, epoch, Sets(trainer.Model.Encoder, probeTrain, probeTest), probeTrain, probeTest, data.Train.Classes, settings, o.Seed, log, save);
                }
            }
        if (!results.Probes.Any(p => p.Model == "supervised" && p.Epoch == o.Epochs) && !cancellation.IsCancellationRequested)
        {
            var sw = Stopwatch.StartNew();
            var encoder = Supervised(data.Train, o, Path.Combine(runsDir, $"{o.Variant}-supervised"), log, cancellation);
            if (encoder is null) return results;
            results.TrainSeconds["supervised"] = sw.Elapsed.TotalSeconds;
            ProbeSet(results, "supervised", o.Epochs, Sets(encoder, probeTrain, probeTest), probeTrain, probeTest, data.Train.Classes, settings, o.Seed, log, save);
        }
        return results;
    }

    private static DimTrainer? TrainTo(DimConfig config, ImageDataset train, string dir, TextWriter log, string name, CancellationToken cancellation, DimReproductionResults results)
    {
        Directory.CreateDirectory(dir);
        string runFile = Path.Combine(dir, "run.json");
        bool hasCheckpoint = File.Exists(Path.Combine(dir, TrainingCheckpoint.FileName));
        if (hasCheckpoint && File.Exists(runFile) && DimConfig.FromJson(File.ReadAllText(runFile), runFile) with { Epochs = config.Epochs } != config)
            throw new DataException($"{runFile}: the run there has other settings than this reproduction's; use another --out");
        AtomicFile.WriteAllText(runFile, config.ToJson());
        var trainer = new DimTrainer(config, train, dir, cancellation);
        if (hasCheckpoint) trainer.Resume();
        if (trainer.EpochsDone >= config.Epochs) return trainer;
        log.WriteLine($"{name}: training epochs {trainer.EpochsDone + 1}–{config.Epochs} in {dir}");
        var fit = trainer.Train(onEpoch: r =>
        {
            results.TrainSeconds[name] = results.TrainSeconds.GetValueOrDefault(name) + r.Seconds;
            log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {name} epoch {r.Epoch}  {r.Seconds:F0}s  loss {r.Loss:F4}  global {r.GlobalBound:F3}  local {r.LocalBound:F3} nats"));
        });
        return fit.Reason == StopReason.Interrupted ? null : trainer;
    }

    /// <summary>Conv (flattened local map), FC and code features of the probe sets, the encoder in evaluation mode.</summary>
    public static (string Name, Tensor Train, Tensor Test)[] Sets(DimEncoder encoder, ImageDataset train, ImageDataset test)
    {
        var a = Features(encoder, train.Images);
        var b = Features(encoder, test.Images);
        return [("conv", a.Conv, b.Conv), ("fc", a.Fc, b.Fc), ("code", a.Code, b.Code)];
    }

    /// <summary>The encoder's three feature sets (see <see cref="DimTrainer.FeatureSets"/>).</summary>
    public static (Tensor Conv, Tensor Fc, Tensor Code) Features(DimEncoder encoder, Tensor images, int batch = 500) => DimTrainer.FeatureSets(encoder, images, batch);

    /// <summary>A random encoder of the variant's architecture, batch-norm statistics set from <paramref name="images"/> (see <see cref="DimTrainer.RandomEncoder"/>).</summary>
    public static DimEncoder RandomEncoder(int side, ulong seed, Tensor images, bool authors) => DimTrainer.RandomEncoder(side, seed, images, batchNormFirst: authors);

    private static void ProbeSet(DimReproductionResults results, string model, int epoch, (string Name, Tensor Train, Tensor Test)[] sets, ImageDataset train, ImageDataset test,
        int classes, ProbeSettings settings, ulong seed, TextWriter log, Action<DimReproductionResults> save)
    {
        foreach (var kind in new[] { ProbeKind.Linear, ProbeKind.Mlp })
            foreach (var (name, a, b) in sets)
            {
                var sw = Stopwatch.StartNew();
                double acc = Probes.Accuracy(a, train.Labels, b, test.Labels, classes, kind, settings, new Rng(seed + 17));
                var cell = new DimProbeCell(model, epoch, kind.ToString().ToLowerInvariant(), name, acc, sw.Elapsed.TotalSeconds);
                results.Probes.Add(cell);
                log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {model} epoch {epoch}: {cell.Probe,-6} probe on {name,-6} ({a.Dim(1),5} dims) {acc:P2} ({cell.Seconds:F0}s)"));
            }
        save(results);
    }

    /// <summary>
    /// The supervised upper reference: the same encoder with a linear softmax head on the code, cross-entropy, Adam at the
    /// DIM learning rate, the DIM epochs; checkpointed in <paramref name="dir"/> and resumed. Null when interrupted.
    /// </summary>
    public static DimEncoder? Supervised(ImageDataset train, DimReproductionOptions o, string? dir, TextWriter log, CancellationToken cancellation)
    {
        var images = o.TrainCount > 0 ? train.Take(o.TrainCount) : train;
        var rng = new Rng(o.Seed);
        var model = new SupervisedModel(new DimEncoder(rng, train.Height, batchNormFirst: o.Variant == "authors"), train.Classes, rng, images);
        var adam = new Adam(model.Modules.SelectMany(m => m.Module.Parameters()).ToArray(), (float)o.LearningRate);
        string config = JsonSerializer.Serialize(new { o.Variant, o.BatchSize, o.LearningRate, o.Seed, o.TrainCount });
        if (dir is not null) Directory.CreateDirectory(dir);
        var loop = new Trainer(model, adam, rng, new TrainerOptions
        {
            Epochs = o.Epochs, DatasetRows = images.Count, BatchSize = o.BatchSize, CheckpointEveryEpoch = dir is not null,
            Checkpoint = CheckpointTarget.InFolder(dir, "dim-supervised", config), Cancellation = cancellation,
            OnEpoch = e => log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  supervised epoch {e.Epoch}  {e.Seconds:F0}s  loss {e.MeanLoss:F4}")),
        });
        if (dir is not null && File.Exists(Path.Combine(dir, TrainingCheckpoint.FileName))) loop.Resume();
        var fit = loop.Fit();
        if (fit.Divergence is { } d) throw new DataException(d.Message, d);
        return fit.Reason == StopReason.Interrupted ? null : model.Encoder;
    }

    private sealed class SupervisedModel(DimEncoder encoder, int classes, Rng rng, ImageDataset train) : ITrainable
    {
        private readonly Linear _head = new(encoder.CodeSize, classes, rng);
        public DimEncoder Encoder => encoder;
        public IReadOnlyList<(string Name, Module Module)> Modules => [("encoder", encoder), ("head", _head)];
        public Tensor Loss(in TrainingBatch batch)
        {
            var labels = new int[batch.Rows.Length];
            for (int i = 0; i < labels.Length; i++) labels[i] = train.Labels[batch.Rows[i]];
            return Tensor.CrossEntropy(_head.Forward(encoder.Forward(train.Images.GatherRows(batch.Rows)).Code), labels);
        }
    }

    /// <summary>Linear-probe accuracy (%) vs epoch, one panel per feature set, one line per DIM model, baselines dashed.</summary>
    public static void Figure(DimReproductionResults r, string basePath, string probe = "linear")
    {
        Multiplot? multiplot = null;
        var models = r.Probes.Where(p => p.Epoch > 0 && p.Model.StartsWith("DIM", StringComparison.Ordinal)).Select(p => p.Model).Distinct().ToList();
        double maxEpoch = Math.Max(1, r.Probes.Max(p => (double)p.Epoch));
        foreach (var features in new[] { "conv", "fc", "code" })
        {
            var plot = Figures.NewPlot($"{probe} probe on {features}", "training epoch", "test accuracy (%)");
            for (int m = 0; m < models.Count; m++)
            {
                var pts = r.Probes.Where(p => p.Model == models[m] && p.Probe == probe && p.Features == features).OrderBy(p => p.Epoch).ToArray();
                var line = plot.Add.Scatter(pts.Select(p => (double)p.Epoch).ToArray(), pts.Select(p => 100 * p.Accuracy).ToArray(), Figures.Color(m));
                line.LineWidth = 2; line.MarkerSize = 6; line.LegendText = models[m];
            }
            int b = models.Count;
            foreach (var (baseline, f) in new[] { ("random", features), ("supervised", features), ("pixels", "pixels") })
                if (r.Probes.LastOrDefault(p => p.Model == baseline && p.Probe == probe && p.Features == f) is { } cell)
                {
                    var hl = plot.Add.HorizontalLine(100 * cell.Accuracy, 1.5f, Figures.Color(b++), LinePattern.Dashed);
                    hl.LegendText = baseline;
                }
            if (multiplot is null) { plot.ShowLegend(Edge.Bottom); multiplot = new Multiplot(plot); }
            else { plot.HideLegend(); multiplot.AddPlot(plot); }
            plot.Axes.SetLimitsX(0, maxEpoch + 0.5);
        }
        multiplot!.Layout = new ScottPlot.MultiplotLayouts.Columns();
        Figures.Save(multiplot, basePath, 1600, 700, $"Deep InfoMax: {probe}-probe accuracy vs training epoch", "dashed: random encoder, supervised encoder, raw pixels");
    }

    /// <summary>The markdown report.</summary>
    public static string Report(DimReproductionResults r)
    {
        var c = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.AppendLine("# Deep InfoMax (Hjelm et al., 2019): representations probed");
        sb.AppendLine();
        sb.AppendLine("Written by `mibounds-cli reproduce dim` from `dim/results.json` (`--report-only` rebuilds it). The paper reports CIFAR-10/100, Tiny ImageNet, STL-10 and CelebA, none of which we have: this is Fashion-MNIST (or MNIST with --data), so the paper's numbers cannot be set beside ours; its qualitative claims are checked below.");
        sb.AppendLine();
        sb.AppendLine("## Protocol and its differences from the authors' code (rdevon/DIM, basic28x28)");
        sb.AppendLine();
        foreach (var (k, v) in r.Settings) sb.AppendLine($"- {k}: {v}");
        sb.AppendLine("- Variant `authors`: encoder conv 5×5/64 and 5×5/128 stride 2 with batch-norm + ReLU after both, FC 1024 (batch-norm, ReLU), code 64; local critic: their MI 1×1 network (1×1 conv without bias → batch-norm → ReLU → 1×1 conv, plus an identity-initialized linear shortcut, then layer-norm) on the 128-channel map and on the code, `units` wide; global critic: FC 1024 (batch-norm, ReLU) → linear on the flattened map, linear on the code; scores are plain dot products; the local objective pools negatives across all locations (JS and DV as theirs; InfoNCE scores each positive against the row's (K−1)·L negatives, where theirs also keeps the L self-pairs at a constant −10 score).");
        sb.AppendLine("- Remaining differences: no prior matching and no activation penalty (the authors' DIM(L) runs add prior matching with γ = 0.1); global and local objectives weighted 1 : 1 in DIM(G+L) (the paper's α, β are tuned per dataset); probes are our Adam-trained linear softmax and one-hidden-layer (200 ReLU) MLP on standardized features, not the paper's SVM and dropout MLP; the epochs are far fewer than the authors' 1000.");
        sb.AppendLine("- Variant `ours` (kept as an option): conv1 without batch-norm, MLP projections (256 wide) with a 1/√width temperature, and the local bound averaged over per-location K×K matrices.");
        sb.AppendLine("- The bound the training logs show for the js runs is the value of the JS-trained critic as an MI bound, NWJ(S + 1) (the convention of docs/bounds): 1 + mean S[i,i] − mean e^S[i,j] over negatives. The JS objective pushes scores far apart, and where one negative score exceeds ≈ 709 its e^S is beyond double range, so that batch's value, and its epoch's mean, is −∞. That is the bound's value (astronomically negative), not a failure: training uses the JS objective, which stays finite.");
        sb.AppendLine();
        var cols = new[] { ("linear", "conv"), ("linear", "fc"), ("linear", "code"), ("mlp", "conv"), ("mlp", "fc"), ("mlp", "code") };
        var names = r.Probes.Select(p => p.Model).Distinct().OrderBy(m => m switch { "pixels" => 0, "random" => 1, "supervised" => 3, _ => 2 }).ToList();
        int LatestEpoch(string model) => r.Probes.Where(p => p.Model == model).Max(p => p.Epoch);
        var trainedEpochs = names.Where(m => m != "pixels" && m != "random").Select(LatestEpoch).Distinct().Order().ToList();
        // A run still in progress leaves encoders at different epochs: the table then says each one's, and the claims
        // compare models at an epoch both have reached.
        sb.AppendLine(trainedEpochs.Count <= 1
            ? $"## Probe accuracy (%) on the test set, encoders after {trainedEpochs.DefaultIfEmpty(0).Single()} epochs"
            : $"## Probe accuracy (%) on the test set, each encoder at its latest probed epoch (runs in progress: epochs {string.Join(", ", trainedEpochs)})");
        sb.AppendLine();
        sb.Append("| encoder | epoch |").Append(string.Concat(cols.Select(x => $" {x.Item1} {x.Item2} |"))).AppendLine();
        sb.Append("|---|---|").Append(string.Concat(cols.Select(_ => "---|"))).AppendLine();
        foreach (var m in names)
        {
            int epoch = LatestEpoch(m);
            sb.Append($"| {m} | {epoch} |");
            foreach (var (probe, f) in cols)
            {
                var cell = r.Probes.LastOrDefault(p => p.Model == m && p.Epoch == epoch && p.Probe == probe && (p.Features == f || m == "pixels" && f == "conv" && p.Features == "pixels"));
                sb.Append(cell is null ? " – |" : string.Create(c, $" {100 * cell.Accuracy:F1} |"));
            }
            sb.AppendLine();
        }
        sb.AppendLine();
        sb.AppendLine("(pixels: the raw image in the conv column.)");
        sb.AppendLine();
        sb.AppendLine("## The paper's claims on our data");
        sb.AppendLine();
        double? Acc(string model, string probe, string f, int? epoch = null) => r.Probes
            .Where(p => p.Model == model && p.Probe == probe && p.Features == f && (epoch is null || p.Epoch == epoch))
            .OrderBy(p => p.Epoch).LastOrDefault()?.Accuracy;
        // The latest epoch at which every one of the models has a linear probe of its code (null if there is none).
        int? CommonEpoch(params string[] models) => models
            .Select(m => r.Probes.Where(p => p.Model == m && p.Probe == "linear" && p.Features == "code").Select(p => p.Epoch).ToHashSet())
            .Aggregate((a, b) => { a.IntersectWith(b); return a; }) is { Count: > 0 } both ? both.Max() : null;
        string At(int epoch) => trainedEpochs.Count > 1 ? $", both at epoch {epoch}" : "";
        foreach (var est in new[] { "js", "infonce", "dv" })
            if (CommonEpoch($"DIM(L) {est}", $"DIM(G) {est}") is int e
                && Acc($"DIM(L) {est}", "linear", "code", e) is double l && Acc($"DIM(G) {est}", "linear", "code", e) is double g)
                sb.AppendLine(string.Create(c, $"- DIM(L) gives better codes than DIM(G) with {est}: {(l > g ? "holds" : "**does not hold**")} (linear probe on the code: {100 * l:F1}% vs {100 * g:F1}%{At(e)})"));
        string[] localModels = ["DIM(L) js", "DIM(L) infonce", "DIM(L) dv"];
        if (CommonEpoch(localModels) is int le)
        {
            var local = localModels.Select(m => (e: m[7..], a: Acc(m, "linear", "code", le)!.Value)).ToList();
            sb.AppendLine(string.Create(c, $"- InfoNCE is the best local estimator: {(local.MaxBy(x => x.a).e == "infonce" ? "holds" : "**does not hold**")} ({string.Join(", ", local.Select(x => $"{x.e} {100 * x.a:F1}%"))}{(trainedEpochs.Count > 1 ? $", all at epoch {le}" : "")})"));
        }
        if (Acc("random", "linear", "code") is double rnd)
            foreach (var m in names.Where(n => n.StartsWith("DIM", StringComparison.Ordinal)))
                if (Acc(m, "linear", "code") is double a && a <= rnd) sb.AppendLine(string.Create(c, $"- {m}'s code is **not** better than a random encoder's ({100 * a:F1}% vs {100 * rnd:F1}%)"));
        sb.AppendLine();
        sb.AppendLine("![linear-probe accuracy vs epoch](dim/probes-linear.png)");
        sb.AppendLine();
        sb.AppendLine("![MLP-probe accuracy vs epoch](dim/probes-mlp.png)");
        sb.AppendLine();
        sb.AppendLine("## Compute");
        sb.AppendLine();
        foreach (var (m, s) in r.TrainSeconds) sb.AppendLine(string.Create(c, $"- {m}: {s / 3600:F2} h training"));
        sb.AppendLine(string.Create(c, $"- probes: {r.Probes.Sum(p => p.Seconds) / 3600:F2} h over {r.Probes.Count} probes"));
        return sb.ToString();
    }

    /// <summary>Serializes the results.</summary>
    public static string ToJson(DimReproductionResults r) => MiBounds.Data.JsonOutput.Serialize(r); // NaN (a cell not measured) as null

    /// <summary>Reads results written by <see cref="ToJson"/>.</summary>
    public static DimReproductionResults FromJson(string json, string source) => JsonFiles.Read<DimReproductionResults>(json, source, "dim reproduction results");
}
