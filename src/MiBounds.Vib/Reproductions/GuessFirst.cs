using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using MiBounds.Plots;
using MiBounds.Tensors;
using MiBounds.Training;
using MiBounds.Vib.Attacks;
using MiBounds.Vib.Data;
using MiBounds.Vib.Hypothesis;
using ScottPlot;

namespace MiBounds.Vib.Reproductions;

/// <summary>One model of the Guess-First tables: its name in the paper, and the hypothesis-run settings that train it.</summary>
public sealed record GuessFirstModel(string Key, string Name, string Objective, double Lambda);

/// <summary>One attacked cell: model, attack, mode (white or black), size, accuracy on <c>Count</c> test images.</summary>
public sealed record GuessFirstCell(string Model, string Attack, string Mode, double Size, double Accuracy, int Count, double Seconds);

/// <summary>One model's test accuracy after one epoch (the accuracy curve).</summary>
public sealed record GuessFirstEpoch(string Model, int Epoch, double TestAccuracy, double Seconds);

/// <summary>Everything the report is built from (results.json next to it).</summary>
public sealed record GuessFirstResults
{
    /// <summary>The protocol's settings as run.</summary>
    public Dictionary<string, string> Settings { get; init; } = [];
    /// <summary>Clean accuracy on the whole test set per model.</summary>
    public Dictionary<string, double> Clean { get; init; } = [];
    /// <summary>Attacked cells.</summary>
    public List<GuessFirstCell> Cells { get; init; } = [];
    /// <summary>Per-epoch test accuracy of every model (the substitute included).</summary>
    public List<GuessFirstEpoch> Epochs { get; init; } = [];
    /// <summary>Training seconds per model.</summary>
    public Dictionary<string, double> TrainSeconds { get; init; } = [];
    /// <summary>Epochs each model (and the substitute) had when its cells were measured.</summary>
    public Dictionary<string, int> TrainedEpochs { get; init; } = [];
}

/// <summary>The settings of a `reproduce guess-first` run.</summary>
public sealed record GuessFirstOptions
{
    /// <summary>Model keys to train and attack (<see cref="GuessFirst.Models"/>).</summary>
    public string[] Models { get; init; } = GuessFirst.Models.Select(m => m.Key).ToArray();
    /// <summary>Training epochs of the models (the paper: 200).</summary>
    public int Epochs { get; init; } = 200;
    /// <summary>Training epochs of the LeNet-5 substitute.</summary>
    public int SubstituteEpochs { get; init; } = 20;
    /// <summary>Batch size (the paper: 250).</summary>
    public int BatchSize { get; init; } = 250;
    /// <summary>Adam learning rate (the paper: 1e-3).</summary>
    public double LearningRate { get; init; } = 1e-3;
    /// <summary>λ of the information-elimination regularizer of the -IE models.</summary>
    public double Lambda { get; init; } = 1;
    /// <summary>β of "Alemi et al." (the CNN with a VIB bottleneck).</summary>
    public double Beta { get; init; } = 1e-3;
    /// <summary>Training images (0 = all).</summary>
    public int TrainCount { get; init; }
    /// <summary>Test images attacked per cell.</summary>
    public int AttackCount { get; init; } = 1000;
    /// <summary>Attack kinds of the grid.</summary>
    public string[] Attacks { get; init; } = ["fgsm", "pgd", "cw"];
    /// <summary>FGSM radii (the figure; the paper goes up to 1).</summary>
    public double[] FgsmSizes { get; init; } = [0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0];
    /// <summary>PGD radii.</summary>
    public double[] PgdSizes { get; init; } = [0.05, 0.1, 0.15, 0.2, 0.25, 0.3];
    /// <summary>C&amp;W L2 sizes (pixels in [0, 1]; the paper reports L2 2.0).</summary>
    public double[] CwSizes { get; init; } = [0.5, 1.0, 2.0, 3.0];
    /// <summary>Seed of every run.</summary>
    public ulong Seed { get; init; } = 1;

    /// <summary>The sizes of an attack kind.</summary>
    public double[] Sizes(string attack) => attack switch { "fgsm" => FgsmSizes, "pgd" => PgdSizes, _ => CwSizes };
}

/// <summary>
/// The Guess-First reproduction (label-hypothesis classifiers, their Tables 1–2 and Figure 3): trains the six models and
/// the LeNet-5 substitute as hypothesis runs (resumable, one folder each), then fills the attack grid cell by cell into
/// cells.json (a rerun skips the cells it has), white-box against each model and black-box by transfer from the substitute.
/// </summary>
public static class GuessFirst
{
    /// <summary>The paper's models.</summary>
    public static readonly GuessFirstModel[] Models =
    [
        new("cnn", "CNN", "cnn", 0),
        new("c-dv", "C-DV", "dv", 0),
        new("c-js", "C-JS", "js", 0),
        new("c-dv-ie", "C-DV-IE", "dv", 1),
        new("c-js-ie", "C-JS-IE", "js", 1),
        new("alemi", "Alemi et al.", "vib", 0),
    ];

    /// <summary>The paper's MNIST row (Table 1) that the issue quotes: white-box PGD at ε = 0.15, in %.</summary>
    public static readonly Dictionary<string, double> PaperMnistPgd015 = new()
    {
        ["CNN"] = 4.4, ["C-DV"] = 26.2, ["C-JS"] = 69.8, ["C-DV-IE"] = 38.0, ["C-JS-IE"] = 78.0, ["Alemi et al."] = 11.4,
    };

    /// <summary>The hypothesis-run configuration of a model (λ = 1 marks the -IE models and is replaced by the options' λ).</summary>
    public static HypothesisConfig Config(GuessFirstModel model, GuessFirstOptions o) => new()
    {
        Objective = model.Objective,
        Lambda = model.Lambda > 0 ? o.Lambda : 0,
        Epochs = model.Objective == "lenet" ? o.SubstituteEpochs : o.Epochs,
        BatchSize = o.BatchSize,
        LearningRate = o.LearningRate,
        Seed = o.Seed,
        TrainCount = model.Objective == "lenet" ? 0 : o.TrainCount, // the substitute learns from the full training set
        Beta = model.Objective == "vib" ? o.Beta : null,
    };

    /// <summary>The substitute of the black-box attacks.</summary>
    public static readonly GuessFirstModel SubstituteModel = new("substitute", "LeNet-5 substitute", "lenet", 0);

    /// <summary>
    /// Trains (or resumes, or loads when done) every model and the substitute under <paramref name="runsDir"/>, then fills
    /// the missing cells. <paramref name="save"/> is called after every model and cell with the results so far.
    /// </summary>
    public static GuessFirstResults Run(GuessFirstOptions o, ImageData data, string runsDir, GuessFirstResults results, Action<GuessFirstResults> save,
        TextWriter log, CancellationToken cancellation)
    {
        var models = o.Models.Select(k => Models.FirstOrDefault(m => m.Key == k) ?? throw new ArgumentException($"unknown model '{k}'; models: {string.Join(", ", Models.Select(m => m.Key))}")).ToList();
        var trained = new Dictionary<string, HypothesisTrainer>();
        foreach (var m in models.Append(SubstituteModel))
        {
            if (cancellation.IsCancellationRequested) return results;
            var trainer = TrainOrLoad(m, Config(m, o), data, Path.Combine(runsDir, m.Key), results, log, cancellation);
            if (trainer is null) return results; // interrupted: the run folder holds its checkpoint
            trained[m.Key] = trainer;
            // Cells measured on fewer epochs (a rerun with a larger --epochs) are stale: drop them.
            if (results.TrainedEpochs.GetValueOrDefault(m.Name) != trainer.EpochsDone)
            {
                results.Cells.RemoveAll(c => m.Key == SubstituteModel.Key ? c.Mode == "black" : c.Model == m.Name);
                results.TrainedEpochs[m.Name] = trainer.EpochsDone;
            }
            if (m.Key != SubstituteModel.Key)
            {
                results.Clean[m.Name] = trainer.TestAccuracy(data.Test);
                log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{m.Name}: clean accuracy {results.Clean[m.Name]:P2} on {data.Test.Count} test images"));
            }
            else log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"substitute: clean accuracy {trainer.TestAccuracy(data.Test):P2}"));
            save(results);
        }
        var test = data.Test.Take(Math.Min(o.AttackCount, data.Test.Count));
        var substitute = trained[SubstituteModel.Key];
        foreach (var kind in o.Attacks)
        {
            var attack = AttackCatalog.Create(kind);
            if (attack is null) { log.WriteLine($"{kind}: {AttackCatalog.Missing(kind)}"); continue; }
            foreach (double size in o.Sizes(kind))
            {
                // Black-box: craft once on the substitute, score every model lacking the cell.
                var missing = models.Where(m => !Has(results, m.Name, kind, "black", size, test.Count)).ToList();
                if (missing.Count > 0 && !cancellation.IsCancellationRequested)
                {
                    var sw = Stopwatch.StartNew();
                    var adv = substitute.InEvalMode(() => AttackCatalog.Craft(attack, substitute.Classifier.LogProbabilities, test.Images, test.Labels, size, new Rng(o.Seed + 7919)));
                    double craft = sw.Elapsed.TotalSeconds;
                    foreach (var m in missing)
                    {
                        var t = trained[m.Key];
                        double acc = t.InEvalMode(() => AdversarialAttacks.Accuracy(t.Classifier.LogProbabilities, adv, test.Labels));
                        Add(results, new GuessFirstCell(m.Name, kind, "black", size, acc, test.Count, craft / missing.Count), log, save);
                    }
                }
                foreach (var m in models)
                {
                    if (cancellation.IsCancellationRequested) return results;
                    if (Has(results, m.Name, kind, "white", size, test.Count)) continue;
                    var t = trained[m.Key];
                    var sw = Stopwatch.StartNew();
                    double acc = t.InEvalMode(() => AttackCatalog.Accuracy(attack, t.Classifier.LogProbabilities, t.Classifier.LogProbabilities, test.Images, test.Labels, size, new Rng(o.Seed + 7919)));
                    Add(results, new GuessFirstCell(m.Name, kind, "white", size, acc, test.Count, sw.Elapsed.TotalSeconds), log, save);
                }
            }
        }
        return results;
    }

    private static bool Has(GuessFirstResults r, string model, string attack, string mode, double size, int count) =>
        r.Cells.Any(c => c.Model == model && c.Attack == attack && c.Mode == mode && c.Size == size && c.Count == count);

    private static void Add(GuessFirstResults r, GuessFirstCell cell, TextWriter log, Action<GuessFirstResults> save)
    {
        r.Cells.Add(cell);
        log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {cell.Model,-13} {cell.Attack.ToUpperInvariant(),-4} {cell.Mode}-box size {cell.Size,-5:G3} accuracy {cell.Accuracy:P1} ({cell.Seconds:F0}s)"));
        save(r);
    }

    // Null when interrupted. A finished run (its checkpoint at the epoch budget) is loaded without training.
    private static HypothesisTrainer? TrainOrLoad(GuessFirstModel m, HypothesisConfig config, ImageData data, string dir, GuessFirstResults results, TextWriter log, CancellationToken cancellation)
    {
        Directory.CreateDirectory(dir);
        string runFile = Path.Combine(dir, "run.json");
        bool hasCheckpoint = File.Exists(Path.Combine(dir, TrainingCheckpoint.FileName));
        if (hasCheckpoint && File.Exists(runFile) && HypothesisConfig.FromJson(File.ReadAllText(runFile), runFile) with { Epochs = config.Epochs } != config)
            throw new DataException($"{runFile}: the run there has other settings than this reproduction's; use another --out");
        AtomicFile.WriteAllText(runFile, config.ToJson());
        var trainer = new HypothesisTrainer(config, data.Train, dir, cancellation);
        if (hasCheckpoint) trainer.Resume();
        if (trainer.EpochsDone < config.Epochs)
        {
            log.WriteLine($"{m.Name}: training epochs {trainer.EpochsDone + 1}–{config.Epochs} in {dir}");
            var fit = trainer.Train(data.Test, onEpoch: r => log.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {m.Name} epoch {r.Epoch}/{config.Epochs}  {r.Seconds:F0}s  loss {r.Loss:F4}  test acc {r.TestAccuracy:P2}")));
            if (fit.Reason == StopReason.Interrupted) return null;
        }
        // The accuracy curve comes from training.csv, which keeps every session's epochs.
        results.Epochs.RemoveAll(e => e.Model == m.Name);
        string csv = Path.Combine(dir, "training.csv");
        if (File.Exists(csv))
            foreach (var row in MetricsLog.ReadRows(csv, out _))
                results.Epochs.Add(new GuessFirstEpoch(m.Name, int.Parse(row[1], CultureInfo.InvariantCulture), MetricsLog.Parse(row[6]), MetricsLog.Parse(row[2])));
        results.TrainSeconds[m.Name] = results.Epochs.Where(e => e.Model == m.Name).Sum(e => e.Seconds);
        return trainer;
    }

    /// <summary>Figure 3: accuracy (%) vs perturbation size, one panel per (attack, mode), one line per model, each starting at the clean accuracy.</summary>
    public static void Figure(GuessFirstResults r, string basePath)
    {
        var panels = r.Cells.Select(c => (c.Attack, c.Mode)).Distinct().OrderBy(p => p.Attack, StringComparer.Ordinal).ThenBy(p => p.Mode, StringComparer.Ordinal).ToList();
        var models = r.Cells.Select(c => c.Model).Distinct().ToList();
        if (panels.Count == 0) return;
        Multiplot? multiplot = null;
        foreach (var (attack, mode) in panels)
        {
            string norm = attack == "cw" ? "L2" : "L∞";
            var plot = Figures.NewPlot($"{attack.ToUpperInvariant()}, {mode}-box", $"perturbation size ({norm}, pixels in [0, 1])", "accuracy (%)");
            for (int m = 0; m < models.Count; m++)
            {
                var pts = r.Cells.Where(c => c.Model == models[m] && c.Attack == attack && c.Mode == mode).GroupBy(c => c.Size)
                    .Select(g => (X: g.Key, Y: 100 * g.Last().Accuracy)).ToList();
                if (r.Clean.TryGetValue(models[m], out double clean)) pts.Add((0, 100 * clean));
                pts = pts.OrderBy(p => p.X).ToList();
                var line = plot.Add.Scatter(pts.Select(p => p.X).ToArray(), pts.Select(p => p.Y).ToArray(), Figures.Color(m));
                line.LineWidth = 2; line.MarkerSize = 6; line.LegendText = models[m];
            }
            plot.Axes.SetLimitsY(0, 100);
            if (multiplot is null) { plot.ShowLegend(Edge.Bottom); multiplot = new Multiplot(plot); }
            else { plot.HideLegend(); multiplot.AddPlot(plot); }
        }
        int columns = Math.Min(2, panels.Count), rows = (panels.Count + columns - 1) / columns;
        multiplot!.Layout = new ScottPlot.MultiplotLayouts.Grid(rows, columns);
        Figures.Save(multiplot, basePath, 1300, 80 + rows * 480, "Accuracy vs perturbation size (Guess First, Figure 3)", "black-box: crafted on the LeNet-5 substitute, scored on the model");
    }

    /// <summary>Test accuracy (%) vs epoch per model.</summary>
    public static void AccuracyCurve(GuessFirstResults r, string basePath)
    {
        var plot = Figures.NewPlot("Test accuracy during training", "epoch", "test accuracy (%)");
        var models = r.Epochs.Select(e => e.Model).Distinct().ToList();
        for (int m = 0; m < models.Count; m++)
        {
            var pts = r.Epochs.Where(e => e.Model == models[m]).OrderBy(e => e.Epoch).ToArray();
            var line = plot.Add.Scatter(pts.Select(e => (double)e.Epoch).ToArray(), pts.Select(e => 100 * e.TestAccuracy).ToArray(), Figures.Color(m));
            line.LineWidth = 2; line.MarkerSize = pts.Length > 30 ? 0 : 6; line.LegendText = models[m];
        }
        plot.ShowLegend(Edge.Right);
        Figures.Save(plot, basePath, 1100, 600);
    }

    /// <summary>The markdown report (paper beside ours, the protocol's differences, seeds, commands, compute).</summary>
    public static string Report(GuessFirstResults r, GuessFirstOptions o, string dataDir)
    {
        var c = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        bool fashion = dataDir.Contains("fashion", StringComparison.OrdinalIgnoreCase);
        sb.AppendLine("# \"Guess First\": label-hypothesis classifiers and adversarial robustness");
        sb.AppendLine();
        sb.AppendLine($"Written by `mibounds-cli reproduce guess-first` from `guess-first/results.json` (`--report-only` rebuilds it). Data: `{dataDir}` ({(fashion ? "Fashion-MNIST: the paper's Table 2 dataset" : "MNIST-format IDX files")}).");
        sb.AppendLine();
        sb.AppendLine("## Protocol and its differences from the paper (Appendix F)");
        sb.AppendLine();
        foreach (var (k, v) in r.Settings) sb.AppendLine($"- {k}: {v}");
        sb.AppendLine("- Architecture: as Appendix F — conv 4×4/32 and 4×4/64, stride 2, padding 1, batch-norm + ReLU; FC 512-256-128; the one-hot hypothesis enters with the flattened second-convolution output (the first FC layer is computed factored, same function); IE regularizer on the FC-256 output (Gaussian-kernel MMD across hypotheses, median-heuristic bandwidth). The one-hot columns of the first FC layer are initialized uniform ±1 (ours, so the hypothesis matters from the first step).");
        sb.AppendLine("- \"Alemi et al.\": the CNN with its middle FC layer (256) replaced by a Gaussian bottleneck (μ, softplus σ), β·KL to N(0, I); prediction and attack gradients use z = μ (the paper does not say how it averaged samples).");
        sb.AppendLine("- Attacks: our own implementations, not Foolbox. FGSM: one signed-gradient step; PGD: random start, 40 steps of ε·0.01/0.3 (Foolbox's LinfPGD defaults); both ascend the cross-entropy of the model's log-probabilities (the hypothesis models: log-softmax over T(x, k)). C&W L2: untargeted, 5 binary-search steps over c from 1e-3 with 100 Adam iterations each at lr 0.01, confidence 0 (the original attack: 9 × 10 000); an image counts as robust at size s when the attack found no adversary with L2 ≤ s (pixels in [0, 1]).");
        sb.AppendLine("- Black-box: adversarial images crafted white-box on a LeNet-5-like substitute (conv 5×5/6, pool, conv 5×5/16, pool, FC 120-84-10, ReLU and max-pooling) trained with labels on the full training set, then scored on each model (transfer; the paper's substitute training details beyond \"LeNet-5-like, full training set\" are not reproduced).");
        sb.AppendLine($"- Clean accuracy on the whole test set; each attacked cell on the first {o.AttackCount} test images.");
        sb.AppendLine();
        sb.AppendLine("## Table: accuracy (%)");
        sb.AppendLine();
        var models = r.Clean.Keys.ToList();
        var cols = new List<(string Attack, string Mode, double Size)>();
        foreach (var mode in new[] { "black", "white" })
            foreach (var (attack, size) in new[] { ("fgsm", 0.15), ("fgsm", 0.3), ("pgd", 0.15), ("pgd", 0.3), ("cw", 2.0) }) cols.Add((attack, mode, size));
        sb.Append("| model | clean |").Append(string.Concat(cols.Select(x => string.Create(c, $" {x.Mode}-box {x.Attack.ToUpperInvariant()} {(x.Attack == "cw" ? "L2" : "ε")} {x.Size:G} |")))).AppendLine(" paper MNIST white-box PGD 0.15 |");
        sb.Append("|---|---|").Append(string.Concat(cols.Select(_ => "---|"))).AppendLine("---|");
        foreach (var m in models)
        {
            sb.Append(string.Create(c, $"| {m} | {100 * r.Clean[m]:F1} |"));
            foreach (var (attack, mode, size) in cols)
            {
                var cell = r.Cells.LastOrDefault(x => x.Model == m && x.Attack == attack && x.Mode == mode && x.Size == size);
                sb.Append(cell is not null ? string.Create(c, $" {100 * cell.Accuracy:F1} |") : AttackCatalog.Missing(attack) is not null ? " not yet run |" : " – |");
            }
            sb.AppendLine(PaperMnistPgd015.TryGetValue(m, out double p) ? string.Create(c, $" {p:F1} |") : " – |");
        }
        sb.AppendLine();
        sb.AppendLine("The paper's MNIST row (Table 1): clean 98.8–99.0 for every model; white-box PGD 0.15 in the last column. Its Fashion-MNIST numbers (Table 2) are not transcribed here: compare with the paper directly. `–`: not measured in this run.");
        sb.AppendLine();
        var pgd = r.Cells.Where(x => x.Attack == "pgd" && x.Mode == "white" && x.Size == 0.15).ToDictionary(x => x.Model, x => x.Accuracy);
        if (pgd.Count > 1)
        {
            sb.AppendLine("## The paper's claims on our data");
            sb.AppendLine();
            void Claim(string text, string a, string b)
            {
                if (!pgd.TryGetValue(a, out double x) || !pgd.TryGetValue(b, out double y)) return;
                sb.AppendLine(string.Create(c, $"- {text}: {(x > y ? "holds" : "**does not hold**")} (white-box PGD 0.15: {a} {100 * x:F1}%, {b} {100 * y:F1}%)"));
            }
            Claim("C-DV is more robust than the CNN", "C-DV", "CNN");
            Claim("C-JS is more robust than the CNN", "C-JS", "CNN");
            Claim("C-JS is more robust than C-DV", "C-JS", "C-DV");
            Claim("IE helps C-DV", "C-DV-IE", "C-DV");
            Claim("IE helps C-JS", "C-JS-IE", "C-JS");
            Claim("C-JS-IE is more robust than Alemi et al.", "C-JS-IE", "Alemi et al.");
            sb.AppendLine();
        }
        sb.AppendLine("## Figures");
        sb.AppendLine();
        sb.AppendLine("![accuracy vs perturbation size](guess-first/figure3.png)");
        sb.AppendLine();
        sb.AppendLine("![test accuracy vs epoch](guess-first/accuracy.png)");
        sb.AppendLine();
        sb.AppendLine("## Compute");
        sb.AppendLine();
        foreach (var (m, s) in r.TrainSeconds) sb.AppendLine(string.Create(c, $"- {m}: {r.Epochs.Count(e => e.Model == m)} epochs, {s / 3600:F2} h training"));
        sb.AppendLine(string.Create(c, $"- attacks: {r.Cells.Sum(x => x.Seconds) / 3600:F2} h over {r.Cells.Count} cells"));
        return sb.ToString();
    }

    /// <summary>Serializes the results (indented JSON).</summary>
    public static string ToJson(GuessFirstResults r) => MiBounds.Data.JsonOutput.Serialize(r); // NaN (a cell not measured) as null

    /// <summary>Reads results written by <see cref="ToJson"/>.</summary>
    public static GuessFirstResults FromJson(string json, string source) => JsonFiles.Read<GuessFirstResults>(json, source, "guess-first results");
}
