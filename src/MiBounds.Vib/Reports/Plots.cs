using System.Globalization;
using System.Text;
using MiBounds.Tensors;
using MiBounds.Vib.Training;
using MiBounds.Vib.Data;

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

/// <summary>The report figures: error vs β, the information plane, the K = 2 embedding, and a Markdown summary.</summary>
public static class Plots
{
    private static string C(int i) => SvgChart.Palette[i % SvgChart.Palette.Length];

    /// <summary>Test and train error (1-shot and 12-shot) of the last epoch vs β, one line per model kind; β-free baselines as dashed levels.</summary>
    public static void ErrorVsBeta(IReadOnlyList<RunSummary> runs, string path)
    {
        var done = runs.Where(r => r.Last is not null).ToList();
        var swept = done.Where(r => r.Config.Beta > 0).ToList();
        double bMin = swept.Count > 0 ? swept.Min(r => r.Config.Beta) : 1e-8, bMax = swept.Count > 0 ? swept.Max(r => r.Config.Beta) : 1;
        double eMax = done.Count > 0 ? done.Max(r => Math.Max(1 - r.Last!.TestAcc1, 1 - r.Last.TrainAcc1)) : 1;
        var chart = new SvgChart("Error vs β (last epoch)", "β", "error", (bMin / 2, bMax * 2), (0, Math.Min(1, eMax * 1.1 + 0.01)), logX: true, width: 900, legendWidth: 230);
        int color = 0;
        foreach (var group in swept.GroupBy(r => (r.Config.Kind, r.Config.Bottleneck)))
        {
            string name = $"{group.Key.Kind.ToString().ToLowerInvariant()} K={group.Key.Bottleneck}";
            chart.Line($"{name} test 1-shot", C(color), group.Select(r => (r.Config.Beta, 1 - r.Last!.TestAcc1)));
            chart.Line($"{name} test 12-shot", C(color + 1), group.Select(r => (r.Config.Beta, 1 - r.Last!.TestAcc12)));
            chart.Line($"{name} train 1-shot", C(color), group.Select(r => (r.Config.Beta, 1 - r.Last!.TrainAcc1)), dashed: true);
            chart.Line($"{name} train 12-shot", C(color + 1), group.Select(r => (r.Config.Beta, 1 - r.Last!.TrainAcc12)), dashed: true);
            color += 2;
        }
        foreach (var r in done.Where(r => r.Config.Beta == 0))
            chart.HorizontalLine($"{r.Config.ModelName} test", C(color++), 1 - r.Last!.TestAcc1);
        chart.Save(path);
    }

    /// <summary>The information plane: I(Z;Y) lower bound vs I(Z;X) upper bound (bits) of each stochastic run, train and test.</summary>
    public static void IbPlane(IReadOnlyList<RunSummary> runs, string path)
    {
        var pts = runs.Where(r => r.Last is not null && double.IsFinite(r.Last.IzxBits)).ToList();
        double xMax = pts.Count > 0 ? pts.Max(r => Math.Max(r.Last!.IzxBits, r.Last.TrainIzxBits)) : 1;
        double yMin = pts.Count > 0 ? Math.Min(0, pts.Min(r => Math.Min(r.Last!.IzyBits, r.Last.TrainIzyBits))) : 0;
        var chart = new SvgChart("Information plane (last epoch)", "I(Z;X) upper bound [bits]", "I(Z;Y) lower bound [bits]", (0.1, Math.Max(1, xMax) * 1.5), (yMin, Math.Log2(10) * 1.02), logX: true, width: 760);
        int color = 0;
        foreach (var group in pts.GroupBy(r => (r.Config.Kind, r.Config.Bottleneck)))
        {
            string name = $"{group.Key.Kind.ToString().ToLowerInvariant()} K={group.Key.Bottleneck}";
            chart.Line($"{name} test", C(color), group.Select(r => (r.Last!.IzxBits, r.Last.IzyBits)));
            chart.Line($"{name} train", C(color), group.Select(r => (r.Last!.TrainIzxBits, r.Last.TrainIzyBits)), dashed: true);
            foreach (var r in group) chart.Marker(r.Last!.IzxBits, r.Last.IzyBits, C(color), 4, $"β={r.Config.Beta:G3}");
            color++;
        }
        chart.HorizontalLine("H(Y) = log₂ 10", "#444", Math.Log2(10));
        chart.Save(path);
    }

    /// <summary>
    /// For a K = 2 model: 95% ellipses of p(z|x) for the first <paramref name="count"/> test images, colored by class,
    /// over the entropy (bits) of the decoder's q(y|z) on a grid (white = certain, dark = uncertain). Uses the averaged weights.
    /// </summary>
    public static void Embedding(VibTrainer trainer, string path, int count = 1000, int grid = 60)
    {
        if (trainer.Network.Bottleneck != 2) throw new InvalidOperationException($"the embedding plot needs K = 2, the model has K = {trainer.Network.Bottleneck}");
        var test = trainer.Data.Test.Take(count);
        trainer.WithAveragedWeights(() =>
        {
            using var _ = Tensor.NoGrad();
            var (mu, sigma) = trainer.Network.Encode(test.Images);
            var m = mu.ToRows(); var s = sigma.ToRows();
            double Lo(int k) => m.Select((r, i) => r[k] - 2.0 * s[i][k]).Order().ElementAt(m.Length / 100);
            double Hi(int k) => m.Select((r, i) => r[k] + 2.0 * s[i][k]).OrderDescending().ElementAt(m.Length / 100);
            double x0 = Lo(0), x1 = Hi(0), y0 = Lo(1), y1 = Hi(1);
            double padX = 0.05 * (x1 - x0) + 1e-3, padY = 0.05 * (y1 - y0) + 1e-3;
            x0 -= padX; x1 += padX; y0 -= padY; y1 += padY;
            var chart = new SvgChart("Test embeddings (95% ellipses) over the decoder's entropy", "z₁", "z₂", (x0, x1), (y0, y1), width: 680, height: 560);
            var zs = new float[grid * grid * 2];
            for (int i = 0; i < grid; i++)
                for (int j = 0; j < grid; j++)
                {
                    zs[2 * (i * grid + j)] = (float)(x0 + (x1 - x0) * (j + 0.5) / grid);
                    zs[2 * (i * grid + j) + 1] = (float)(y0 + (y1 - y0) * (i + 0.5) / grid);
                }
            var logp = trainer.Network.LogProbabilities(Tensor.FromArray(zs, grid * grid, 2)).ToRows();
            double hMax = Math.Log2(trainer.Network.Classes);
            for (int i = 0; i < grid; i++)
                for (int j = 0; j < grid; j++)
                {
                    double h = -logp[i * grid + j].Sum(l => Math.Exp(l) * l) / Math.Log(2);
                    int shade = (int)Math.Round(255 - 160 * Math.Clamp(h / hMax, 0, 1));
                    chart.Cell(x0 + (x1 - x0) * j / grid, y0 + (y1 - y0) * i / grid, x0 + (x1 - x0) * (j + 1) / grid, y0 + (y1 - y0) * (i + 1) / grid, $"rgb({shade},{shade},{shade})");
                }
            double r95 = Math.Sqrt(5.991); // χ²₂ 95% quantile: the ellipse holding 95% of a 2-D Gaussian's mass
            for (int i = 0; i < m.Length; i++) chart.Ellipse(m[i][0], m[i][1], r95 * s[i][0], r95 * s[i][1], SvgChart.Palette[test.Labels[i] % 10]);
            for (int c = 0; c < trainer.Network.Classes; c++) chart.LegendEntry($"class {c}", SvgChart.Palette[c % 10]);
            chart.Save(path);
            return 0;
        });
    }

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
