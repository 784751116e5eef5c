using System.Globalization;
using System.Text;
using MiBounds.Plots;
using MiBounds.Tensors;
using MiBounds.Vib.Models;
using MiBounds.Vib.Training;
using MiBounds.Vib.Data;
using ScottPlot;

namespace MiBounds.Vib.Reports;

/// <summary>A finished (or partial) training run read from its output directory.</summary>
public sealed record RunSummary(string Directory, TrainConfig Config, RunResults Results)
{
    /// <summary>The last epoch's record, or null if none finished.</summary>
    public EpochRecord? Last => Results.Epochs.Count > 0 ? Results.Epochs[^1] : null;

    /// <summary>Reads run.json and the results of <paramref name="directory"/>.</summary>
    public static RunSummary Load(string directory)
    {
        var runFile = Path.Combine(directory, "run.json");
        if (!File.Exists(runFile)) throw new DataException($"{runFile}: not found (not a training run directory)");
        return new RunSummary(directory, TrainConfig.FromJson(File.ReadAllText(runFile), runFile), RunResults.Load(directory));
    }

    /// <summary>Run directories named by <paramref name="paths"/>: each a run, or a folder whose subfolders are runs.</summary>
    public static List<RunSummary> Collect(IEnumerable<string> paths)
    {
        var runs = new List<RunSummary>();
        foreach (var p in paths)
        {
            if (File.Exists(Path.Combine(p, "run.json"))) runs.Add(Load(p));
            else if (System.IO.Directory.Exists(p))
                runs.AddRange(System.IO.Directory.GetDirectories(p).Order(StringComparer.Ordinal).Where(d => File.Exists(Path.Combine(d, "run.json"))).Select(Load));
            else throw new DataException($"{p}: no such run directory");
        }
        return runs;
    }
}

/// <summary>
/// The report figures, each written as BASE.png and BASE.svg (<see cref="Figures.Save(Plot, string, int, int)"/>):
/// error vs β, the information plane, the K = 2 embedding, robustness curves; and a Markdown summary.
/// </summary>
public static class RunFigures
{
    /// <summary>Base file name (no extension) of the error-vs-β figure.</summary>
    public const string ErrorVsBetaFile = "error_vs_beta";
    /// <summary>Base file name of the information-plane figure.</summary>
    public const string IbPlaneFile = "ib_plane";
    /// <summary>Base file name of the K = 2 embedding figure.</summary>
    public const string EmbeddingFile = "embedding";
    /// <summary>Base file name of the robustness-curve figure.</summary>
    public const string RobustnessFile = "robustness";

    /// <summary>Size of single-panel figures in pixels (wider than 4:3 to leave room for the legend at the right).</summary>
    public const int Width = 1000, Height = 600;

    /// <summary>Fashion-MNIST's class names, by label.</summary>
    public static IReadOnlyList<string> FashionMnistClasses { get; } =
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

    /// <summary>The name of class <paramref name="label"/>: Fashion-MNIST's, or "class N" past its ten.</summary>
    public static string ClassName(int label) => label >= 0 && label < FashionMnistClasses.Count ? FashionMnistClasses[label] : $"class {label}";

    private static string ModelLabel(RunSummary r) => $"{r.Config.Kind.ToString().ToUpperInvariant()} K={r.Config.Bottleneck}";

    // A line with markers through the points sorted by x; points that are not finite are dropped.
    private static void Line(Plot plot, string label, Color color, IEnumerable<(double X, double Y)> points, bool dashed = false)
    {
        var pts = points.Where(p => double.IsFinite(p.X) && double.IsFinite(p.Y)).OrderBy(p => p.X).ToArray();
        if (pts.Length == 0) return;
        var line = plot.Add.Scatter(pts.Select(p => p.X).ToArray(), pts.Select(p => p.Y).ToArray(), color);
        line.LineWidth = 2;
        line.MarkerSize = 7;
        line.LegendText = label;
        if (dashed) line.LinePattern = LinePattern.Dashed;
    }

    // Whole decades around [min, max] (log₁₀ units), so the log axis starts and ends at a labelled tick.
    private static (double Lo, double Hi) Decades(double min, double max)
    {
        double lo = Math.Floor(min), hi = Math.Ceiling(max);
        return hi > lo ? (lo, hi) : (lo - 1, hi + 1);
    }

    /// <summary>Test and train error (1-shot and 12-shot) of the last epoch vs β (log axis), one colour per model kind; β-free baselines as dashed levels.</summary>
    public static void ErrorVsBeta(IReadOnlyList<RunSummary> runs, string basePath)
    {
        var done = runs.Where(r => r.Last is not null).ToList();
        var swept = done.Where(r => r.Config.Beta > 0).ToList();
        var plot = Figures.NewPlot("Error vs β (last epoch)", "β", "error (%)");
        Figures.LogX(plot);
        int color = 0;
        foreach (var group in swept.GroupBy(ModelLabel))
        {
            (double, double) At(RunSummary r, double acc) => (Math.Log10(r.Config.Beta), 100 * (1 - acc));
            Line(plot, $"{group.Key} test 1-shot", Figures.Color(color), group.Select(r => At(r, r.Last!.TestAcc1)));
            Line(plot, $"{group.Key} test 12-shot", Figures.Color(color + 1), group.Select(r => At(r, r.Last!.TestAcc12)));
            Line(plot, $"{group.Key} train 1-shot", Figures.Color(color), group.Select(r => At(r, r.Last!.TrainAcc1)), dashed: true);
            Line(plot, $"{group.Key} train 12-shot", Figures.Color(color + 1), group.Select(r => At(r, r.Last!.TrainAcc12)), dashed: true);
            color += 2;
        }
        foreach (var r in done.Where(r => r.Config.Beta == 0))
        {
            var level = plot.Add.HorizontalLine(100 * (1 - r.Last!.TestAcc1), 2, Figures.Color(color++), LinePattern.Dotted);
            level.LegendText = $"{r.Config.ModelName} test (no β)";
        }
        var (lo, hi) = swept.Count > 0 ? Decades(swept.Min(r => Math.Log10(r.Config.Beta)), swept.Max(r => Math.Log10(r.Config.Beta))) : (-3, 0);
        double eMax = done.Count > 0 ? done.Max(r => 100 * Math.Max(Math.Max(1 - r.Last!.TestAcc1, 1 - r.Last.TrainAcc1), Math.Max(1 - r.Last.TestAcc12, 1 - r.Last.TrainAcc12))) : 100;
        plot.Axes.SetLimits(lo, hi, 0, Math.Min(100, eMax * 1.1 + 1));
        plot.ShowLegend(Edge.Right);
        Figures.Save(plot, basePath, Width, Height);
    }

    /// <summary>The information plane: I(Z;Y) lower bound vs I(Z;X) upper bound (bits, log x axis) of each stochastic run, train and test.</summary>
    public static void IbPlane(IReadOnlyList<RunSummary> runs, string basePath)
    {
        var pts = runs.Where(r => r.Last is not null && double.IsFinite(r.Last.IzxBits) && r.Last.IzxBits > 0).ToList();
        var plot = Figures.NewPlot("Information plane (last epoch)", "I(Z;X) upper bound (bits)", "I(Z;Y) lower bound (bits)");
        Figures.LogX(plot);
        int color = 0;
        foreach (var group in pts.GroupBy(ModelLabel))
        {
            Line(plot, $"{group.Key} test", Figures.Color(color), group.Select(r => (Math.Log10(r.Last!.IzxBits), r.Last.IzyBits)));
            Line(plot, $"{group.Key} train", Figures.Color(color), group.Where(r => r.Last!.TrainIzxBits > 0).Select(r => (Math.Log10(r.Last!.TrainIzxBits), r.Last.TrainIzyBits)), dashed: true);
            color++;
        }
        var hy = plot.Add.HorizontalLine(Math.Log2(10), 1.5f, new Color(0x44, 0x44, 0x44), LinePattern.Dashed);
        hy.LegendText = "H(Y) = log₂ 10";
        var logs = pts.SelectMany(r => new[] { r.Last!.IzxBits, r.Last.TrainIzxBits }).Where(v => v > 0 && double.IsFinite(v)).Select(Math.Log10).ToList();
        var (lo, hi) = logs.Count > 0 ? Decades(logs.Min(), logs.Max()) : (-1, 1);
        double yMin = pts.Count > 0 ? Math.Min(0, pts.Min(r => Math.Min(r.Last!.IzyBits, r.Last.TrainIzyBits))) : 0;
        plot.Axes.SetLimits(lo, hi, double.IsFinite(yMin) ? yMin : 0, Math.Log2(10) * 1.08);
        plot.ShowLegend(Edge.Right);
        Figures.Save(plot, basePath, Width, Height);
    }

    /// <summary>What the embedding figure shows: per image the mean and standard deviation of p(z|x) and the label; the decoder's entropy on a grid.</summary>
    /// <param name="Means">Per image, the encoder's mean (z₁, z₂).</param>
    /// <param name="Sigmas">Per image, the encoder's standard deviations.</param>
    /// <param name="Labels">Per image, its class.</param>
    /// <param name="EntropyBits">H(q(y|z)) in bits on a grid: [row, column], row 0 at <see cref="CoordinateRect.Bottom"/>, column 0 at the left.</param>
    /// <param name="Extent">The area the grid covers (and the plot shows).</param>
    /// <param name="MaxEntropyBits">The colour scale's top: log₂ of the class count.</param>
    public sealed record EmbeddingData(double[][] Means, double[][] Sigmas, int[] Labels, double[,] EntropyBits, CoordinateRect Extent, double MaxEntropyBits);

    /// <summary>
    /// For a K = 2 model: 95% ellipses of p(z|x) for the first <paramref name="count"/> test images, coloured by class,
    /// over the entropy (bits) of the decoder's q(y|z) on a grid. Uses the averaged weights.
    /// </summary>
    public static void Embedding(VibTrainer trainer, string basePath, int count = 1000, int grid = 60)
    {
        if (trainer.Network.Bottleneck != 2) throw new InvalidOperationException($"the embedding plot needs K = 2, the model has K = {trainer.Network.Bottleneck}");
        var test = trainer.Data.Test.Take(count);
        var data = trainer.WithAveragedWeights(() =>
        {
            using var _ = Tensor.NoGrad();
            var (mu, sigma) = trainer.Network.Encode(test.Images);
            var m = mu.ToRows().Select(r => r.Select(v => (double)v).ToArray()).ToArray();
            var s = sigma.ToRows().Select(r => r.Select(v => (double)v).ToArray()).ToArray();
            var (h, extent) = EntropyGrid(trainer.Network, m, s, grid);
            var labels = Enumerable.Range(0, test.Count).Select(i => (int)test.Labels[i]).ToArray();
            return new EmbeddingData(m, s, labels, h, extent, Math.Log2(trainer.Network.Classes));
        });
        Embedding(data, basePath);
    }

    /// <summary>
    /// The area a K = 2 embedding shows — the 1st–99th percentile of the images' 2σ extents (<paramref name="sigmas"/>:
    /// per image the standard deviation along each axis), padded by 5% — and the decoder's entropy H(q(y|z)) in bits
    /// on a <paramref name="grid"/>² grid over it: [row, column], row 0 at the bottom.
    /// </summary>
    public static (double[,] EntropyBits, CoordinateRect Extent) EntropyGrid(VibNetwork network, double[][] means, double[][] sigmas, int grid)
    {
        // Percentiles, not the extremes: a few far-out images do not shrink the rest to a dot.
        double Lo(int k) => means.Select((r, i) => r[k] - 2.0 * sigmas[i][k]).Order().ElementAt(means.Length / 100);
        double Hi(int k) => means.Select((r, i) => r[k] + 2.0 * sigmas[i][k]).OrderDescending().ElementAt(means.Length / 100);
        double x0 = Lo(0), x1 = Hi(0), y0 = Lo(1), y1 = Hi(1);
        double padX = 0.05 * (x1 - x0) + 1e-3, padY = 0.05 * (y1 - y0) + 1e-3;
        x0 -= padX; x1 += padX; y0 -= padY; y1 += padY;
        var zs = new float[grid * grid * 2];
        for (int i = 0; i < grid; i++)
            for (int j = 0; j < grid; j++)
            {
                zs[2 * (i * grid + j)] = (float)(x0 + (x1 - x0) * (j + 0.5) / grid);
                zs[2 * (i * grid + j) + 1] = (float)(y0 + (y1 - y0) * (i + 0.5) / grid);
            }
        var logp = network.LogProbabilities(Tensor.FromArray(zs, grid * grid, 2)).ToRows();
        var h = new double[grid, grid];
        for (int i = 0; i < grid; i++)
            for (int j = 0; j < grid; j++)
                h[i, j] = -logp[i * grid + j].Sum(l => Math.Exp(l) * l) / Math.Log(2);
        return (h, new CoordinateRect(x0, x1, y0, y1));
    }

    /// <summary>The embedding figure from its data: the entropy heat map with a colour bar, 95% ellipses coloured by class name with a legend.</summary>
    public static void Embedding(EmbeddingData data, string basePath)
    {
        var plot = Figures.NewPlot("Test embeddings (95% ellipses of p(z|x)) over the decoder's entropy", "z₁", "z₂");
        var heat = plot.Add.Heatmap(data.EntropyBits);
        heat.Rectangle = data.Extent; // the grid's outer edges (Extent would place the edge cells' centres there)
        heat.FlipVertically = true; // row 0 is the grid's lowest z₂
        // White where the decoder is certain, mid grey at log₂ classes: the class colours stay visible on top.
        heat.Colormap = new ScottPlot.Colormaps.CustomInterpolated([Colors.White, new Color(0x80, 0x80, 0x80)]);
        heat.ManualRange = new ScottPlot.Range(0, data.MaxEntropyBits);
        var bar = plot.Add.ColorBar(heat, Edge.Right);
        bar.Label = "H(q(y|z)) (bits)";
        bar.LabelStyle.FontSize = Figures.LabelFontSize;
        bar.Axis.TickGenerator = new RoundTicks();
        bar.Axis.TickLabelStyle.FontSize = Figures.TickFontSize;
        double r95 = Math.Sqrt(5.991); // χ²₂ 95% quantile: the ellipse holding 95% of a 2-D Gaussian's mass
        for (int i = 0; i < data.Means.Length; i++)
        {
            var e = plot.Add.Ellipse(data.Means[i][0], data.Means[i][1], r95 * data.Sigmas[i][0], r95 * data.Sigmas[i][1]);
            e.LineColor = Figures.Color(data.Labels[i]).WithAlpha(0.5);
            e.LineWidth = 1;
            e.FillColor = Colors.Transparent;
        }
        foreach (int c in data.Labels.Distinct().Order())
            plot.Legend.ManualItems.Add(new LegendItem { LabelText = ClassName(c), LineColor = Figures.Color(c), LineWidth = 4 });
        plot.Axes.SetLimits(data.Extent.Left, data.Extent.Right, data.Extent.Bottom, data.Extent.Top);
        plot.ShowLegend(Edge.Right);
        Figures.Save(plot, basePath, Width, 700);
    }

    /// <summary>
    /// Accuracy vs attack radius ε: one colour per model, solid FGSM and dashed PGD, each curve starting at the clean
    /// accuracy (ε = 0). The last record of each (model, attack, ε) counts.
    /// </summary>
    public static void RobustnessCurves(IReadOnlyList<AttackRecord> records, string basePath)
    {
        var plot = Figures.NewPlot("Adversarial robustness (L∞ attacks)", "ε (L∞ radius, pixels in [0, 1])", "accuracy (%)");
        var models = records.Select(r => r.Model).Distinct().ToList();
        var attacks = records.Where(r => r.Attack != "none").Select(r => r.Attack).Distinct().ToList();
        for (int m = 0; m < models.Count; m++)
        {
            var mine = records.Where(r => r.Model == models[m]).ToList();
            var clean = mine.LastOrDefault(r => r.Attack == "none");
            for (int a = 0; a < attacks.Count; a++)
            {
                var pts = mine.Where(r => r.Attack == attacks[a]).GroupBy(r => r.Epsilon).Select(g => (g.Key, 100 * g.Last().Accuracy)).ToList();
                if (pts.Count == 0) continue;
                if (clean is not null) pts.Add((0, 100 * clean.Accuracy));
                Line(plot, $"{models[m]} {attacks[a].ToUpperInvariant()}", Figures.Color(m), pts, dashed: a % 2 == 1);
            }
        }
        double epsMax = records.Count > 0 ? records.Max(r => r.Epsilon) : 0.3;
        plot.Axes.SetLimits(0, epsMax > 0 ? epsMax * 1.05 : 0.3, 0, 100);
        plot.ShowLegend(Edge.Right);
        Figures.Save(plot, basePath, Width, Height);
    }

    /// <summary>The robustness curves of training runs, each run's records named by its directory.</summary>
    public static void RobustnessCurves(IReadOnlyList<RunSummary> runs, string basePath) =>
        RobustnessCurves(runs.SelectMany(r => r.Results.Attacks.Select(a => a with { Model = Path.GetFileName(r.Directory.TrimEnd('/')) })).ToList(), basePath);

    /// <summary>A Markdown summary: one row per run (last epoch, median seconds per epoch) and the robustness table.</summary>
    public static string SummaryMarkdown(IReadOnlyList<RunSummary> runs)
    {
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.AppendLine("| run | model | K | β | epochs | s/epoch (median) | test acc 1 | test acc 12 | train acc 1 | I(Z;X) ≤ [bits] | I(Z;Y) ≥ [bits] |");
        sb.AppendLine("|---|---|---|---|---|---|---|---|---|---|---|");
        foreach (var r in runs.Where(r => r.Last is not null))
        {
            var e = r.Last!;
            var secs = r.Results.Epochs.Select(x => x.Seconds).Order().ToArray();
            string Bits(double v) => double.IsFinite(v) ? v.ToString("F2", inv) : "—";
            sb.AppendLine(string.Create(inv, $"| {Path.GetFileName(r.Directory.TrimEnd('/'))} | {r.Config.ModelName} | {r.Config.Bottleneck} | {(r.Config.Beta > 0 ? r.Config.Beta.ToString("G3", inv) : "—")} | {e.Epoch} | {secs[secs.Length / 2]:F1} | {e.TestAcc1:P2} | {e.TestAcc12:P2} | {e.TrainAcc1:P2} | {Bits(e.IzxBits)} | {Bits(e.IzyBits)} |"));
        }
        var attacked = runs.Where(r => r.Results.Attacks.Count > 0).ToList();
        if (attacked.Count > 0)
        {
            var columns = attacked.SelectMany(r => r.Results.Attacks).Where(a => a.Attack != "none").Select(a => (a.Attack, a.Epsilon)).Distinct().OrderBy(c => c.Attack).ThenBy(c => c.Epsilon).ToList();
            sb.AppendLine().Append("| run | clean |");
            foreach (var (a, eps) in columns) sb.Append(string.Create(inv, $" {a} ε={eps:G3} |"));
            sb.AppendLine().Append("|---|---|").AppendLine(string.Concat(Enumerable.Repeat("---|", columns.Count)));
            foreach (var r in attacked)
            {
                string Acc(string attack, double eps) => r.Results.Attacks.FirstOrDefault(a => a.Attack == attack && Math.Abs(a.Epsilon - eps) < 1e-12)?.Accuracy.ToString("P1", inv) ?? "—";
                sb.Append($"| {Path.GetFileName(r.Directory.TrimEnd('/'))} | {Acc("none", 0)} |");
                foreach (var (a, eps) in columns) sb.Append($" {Acc(a, eps)} |");
                sb.AppendLine();
            }
        }
        return sb.ToString();
    }
}
