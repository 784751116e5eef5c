using MiBounds.Vib.Models;
using MiBounds.Vib.Reports;
using MiBounds.Vib.Training;
using MiBounds.Tensors;
using MiBounds.TestSupport;
using ScottPlot;

namespace MiBounds.Vib.Tests;

/// <summary>Each figure on tiny synthetic inputs: a PNG of the stated size and an SVG with the labels a reader needs.</summary>
public sealed class PlotTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "vib-plots-" + Guid.NewGuid().ToString("N"));

    public PlotTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    private static RunSummary Run(ModelKind kind, double beta, double acc, double izx, double izy, params AttackRecord[] attacks)
    {
        var results = new RunResults();
        results.Epochs.Add(new EpochRecord(kind.ToString().ToLowerInvariant(), 3, 1.5, acc, acc + 0.01, acc + 0.02, acc + 0.03, izx, izy, izx * 1.1, izy * 1.02, 1));
        results.Attacks.AddRange(attacks);
        return new RunSummary($"/runs/{kind}-{beta:G3}", new TrainConfig { Kind = kind, Beta = beta, Bottleneck = 256 }, results);
    }

    private static readonly RunSummary[] s_runs =
    [
        Run(ModelKind.Vib, 1e-6, 0.90, 300, 3.2), Run(ModelKind.Vib, 1e-4, 0.91, 40, 3.1), Run(ModelKind.Vib, 1e-2, 0.85, 4, 2.6),
        Run(ModelKind.Vib, 1, 0.3, 0.05, 0.4), Run(ModelKind.Deterministic, 0, 0.89, double.NaN, double.NaN),
    ];

    [Fact]
    public void ReportPageEmbedsTheFiguresPresentAndHasOneEscapedRowPerRun()
    {
        RunFigures.ErrorVsBeta(s_runs, Path.Combine(_dir, RunFigures.ErrorVsBetaFile));
        var odd = new RunSummary("/runs/a<b>&c", new TrainConfig { Kind = ModelKind.Vib, Beta = 1e-3, Bottleneck = 2 }, new RunResults());
        string path = RunReport.Write([.. s_runs, odd], _dir);
        string html = File.ReadAllText(path);
        Assert.StartsWith("<!DOCTYPE html>", html);
        Assert.Contains("<a href=\"error_vs_beta.svg\"><img src=\"error_vs_beta.png\"", html);
        Assert.DoesNotContain("ib_plane.png", html); // not drawn here
        Assert.DoesNotContain("robustness.png", html);
        Assert.Contains("<td class=\"l\">a&lt;b&gt;&amp;c</td>", html);
        Assert.DoesNotContain("a<b>", html);
        var table = html[html.IndexOf($"<table id=\"{RunReport.RunsTableId}\">", StringComparison.Ordinal)..];
        table = table[..table.IndexOf("</table>", StringComparison.Ordinal)];
        Assert.Equal(s_runs.Length + 1, table.Split("<tr>").Length - 2); // the header row aside
        Assert.Contains("<td>10.00</td>", table); // VIB β=1e-6: test error 1-sample 10 %
        foreach (var tag in new[] { "table", "thead", "tbody", "tr", "figure", "a", "p", "h2" })
            Assert.Equal(html.Split($"<{tag}>").Length + html.Split($"<{tag} ").Length - 2, html.Split($"</{tag}>").Length - 1);
    }

    [Fact]
    public void ErrorVsBetaHasDecadeTicksUnitsAndLegend()
    {
        string path = Path.Combine(_dir, RunFigures.ErrorVsBetaFile);
        RunFigures.ErrorVsBeta(s_runs, path);
        var texts = FigureChecks.Check(path, RunFigures.Width, RunFigures.Height, "β", "error (%)", "VIB K=256 test 1-shot", "VIB K=256 train 12-shot", "deterministic test (no β)");
        FigureChecks.HasDecadeLabels(texts, -6, -4, -2, 0);
    }

    [Fact]
    public void IbPlaneIsInBitsWithDecadeTicks()
    {
        string path = Path.Combine(_dir, RunFigures.IbPlaneFile);
        RunFigures.IbPlane(s_runs, path);
        var texts = FigureChecks.Check(path, RunFigures.Width, RunFigures.Height, "I(Z;X) upper bound (bits)", "I(Z;Y) lower bound (bits)", "VIB K=256 test", "VIB K=256 train", "H(Y) = log₂ 10");
        FigureChecks.HasDecadeLabels(texts, -2, 0, 2);
    }

    [Fact]
    public void EmbeddingNamesClassesAndLabelsTheColourBar()
    {
        // Three classes at three corners; the entropy grid rises to the right.
        var rng = new Rng(5);
        int n = 60, grid = 8;
        var means = Enumerable.Range(0, n).Select(i => new[] { (i % 3) * 2.0 + rng.NextDouble(), (i % 3 == 1 ? 3 : 0) + rng.NextDouble() }).ToArray();
        var sigmas = Enumerable.Range(0, n).Select(_ => new[] { 0.2, 0.3 }).ToArray();
        var labels = Enumerable.Range(0, n).Select(i => i % 3 == 2 ? 9 : i % 3).ToArray();
        var h = new double[grid, grid];
        for (int i = 0; i < grid; i++) for (int j = 0; j < grid; j++) h[i, j] = Math.Log2(10) * j / (grid - 1);
        string path = Path.Combine(_dir, RunFigures.EmbeddingFile);
        RunFigures.Embedding(new RunFigures.EmbeddingData(means, sigmas, labels, h, new CoordinateRect(-1, 6, -1, 5), Math.Log2(10)), path);
        var texts = FigureChecks.Check(path, RunFigures.Width, 700, "z₁", "z₂", "H(q(y|z)) (bits)", "T-shirt/top", "Trouser", "Ankle boot");
        Assert.DoesNotContain("Pullover", texts); // only the classes present
        Assert.DoesNotContain(texts, t => t.StartsWith("class ", StringComparison.Ordinal));
    }

    [Fact]
    public void RobustnessCurvesHaveOneLinePerModelAndAttack()
    {
        AttackRecord[] records =
        [
            new("vib", "none", 0, 0.9), new("vib", "fgsm", 0.1, 0.5), new("vib", "pgd", 0.1, 0.3), new("vib", "fgsm", 0.3, 0.2), new("vib", "pgd", 0.3, 0.05),
            new("cnn", "none", 0, 0.92), new("cnn", "fgsm", 0.1, 0.2), new("cnn", "pgd", 0.1, 0.01),
        ];
        string path = Path.Combine(_dir, RunFigures.RobustnessFile);
        RunFigures.RobustnessCurves(records, path);
        FigureChecks.Check(path, RunFigures.Width, RunFigures.Height, "accuracy (%)", "ε (L∞ radius, pixels in [0, 1])", "vib FGSM", "vib PGD", "cnn FGSM", "cnn PGD");
    }

    [Fact]
    public void DecadeAndRoundTicks()
    {
        Assert.Equal("10⁻³", MiBounds.Plots.DecadeTicks.Label(-3));
        Assert.Equal("10⁰", MiBounds.Plots.DecadeTicks.Label(0));
        Assert.Equal("10¹²", MiBounds.Plots.DecadeTicks.Label(12));
        var decades = MiBounds.Plots.DecadeTicks.Generate(-9, 0, 12).Where(t => t.IsMajor).Select(t => t.Position).ToArray();
        Assert.Equal(Enumerable.Range(-9, 10).Select(k => (double)k), decades);
        var crowded = MiBounds.Plots.DecadeTicks.Generate(-20, 0, 6).Where(t => t.IsMajor).Select(t => t.Position).ToArray();
        Assert.True(crowded.Length <= 6 && crowded.All(p => p % 1 == 0), string.Join(",", crowded));
        foreach (var (min, max) in new[] { (0.0, 0.0463), (0.0, 0.678), (-1.0, 11.6), (0.0, 20000.0), (-3.3, 7.1) })
        {
            var major = MiBounds.Plots.RoundTicks.Generate(min, max, 6).Where(t => t.IsMajor).ToArray();
            Assert.InRange(major.Length, 2, 12);
            double step = major[1].Position - major[0].Position;
            double mantissa = step / Math.Pow(10, Math.Floor(Math.Log10(step) + 1e-9));
            Assert.Contains(Math.Round(mantissa, 6), new[] { 1.0, 2.0, 5.0 });
            Assert.All(major, t => Assert.Equal(t.Position, double.Parse(t.Label, System.Globalization.CultureInfo.InvariantCulture), 9));
        }
    }
}
