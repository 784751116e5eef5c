using System.Globalization;
using MiBounds.Plots;

namespace MiBounds.Vib.Reports;

/// <summary>
/// The representation-learning runs' report page (index.html beside the figures that <c>plot</c> writes): the
/// error-vs-β, information-plane and robustness figures that exist in the folder (PNG by relative path, linking the
/// SVG), a summary table with one row per run, and a robustness table when runs were attacked.
/// </summary>
public static class RunReport
{
    /// <summary>File name of the page.</summary>
    public const string IndexFile = "index.html";

    /// <summary>Id of the table with one row per run.</summary>
    public const string RunsTableId = "runs";

    /// <summary>Id of the robustness table (one row per attacked run).</summary>
    public const string RobustnessTableId = "robustness";

    /// <summary>Writes <see cref="IndexFile"/> into <paramref name="folder"/> for <paramref name="runs"/>; returns its path.</summary>
    public static string Write(IReadOnlyList<RunSummary> runs, string folder)
    {
        ArgumentNullException.ThrowIfNull(runs);
        string path = Path.Combine(folder, IndexFile);
        Build(runs, folder).Save(path);
        return path;
    }

    /// <summary>The page; figures are included when their PNG is in <paramref name="folder"/>.</summary>
    public static HtmlPage Build(IReadOnlyList<RunSummary> runs, string folder)
    {
        var inv = CultureInfo.InvariantCulture;
        var page = new HtmlPage("Representation learning: runs");
        page.Paragraph($"{runs.Count} run{(runs.Count == 1 ? "" : "s")}. Errors are of the last finished epoch, measured with the Polyak-averaged weights; " +
                       "I(Z;X) is a variational upper bound and I(Z;Y) a lower bound, in bits, on the test set.");
        foreach (var (file, title) in new[]
                 {
                     (RunFigures.ErrorVsBetaFile, "Error vs β"),
                     (RunFigures.IbPlaneFile, "Information plane"),
                     (RunFigures.RobustnessFile, "Robustness to adversarial examples"),
                 })
        {
            if (!File.Exists(Path.Combine(folder, file + ".png"))) continue;
            page.Heading(title);
            page.Figure(file + ".png", File.Exists(Path.Combine(folder, file + ".svg")) ? file + ".svg" : null, title);
        }

        static string Percent(double v) => double.IsFinite(v) ? (100 * v).ToString("0.00", CultureInfo.InvariantCulture) : "-";
        static string Bits(double v) => double.IsFinite(v) ? v.ToString("0.00", CultureInfo.InvariantCulture) : "-";
        page.Heading("Runs");
        page.Table(RunsTableId,
            [new("run"), new("model"), new("K", true), new("β", true), new("epochs", true), new("test error 1-sample (%)", true),
             new("test error 12-sample (%)", true), new("I(Z;X) ≤ (bits)", true), new("I(Z;Y) ≥ (bits)", true)],
            runs.Select(r =>
            {
                var e = r.Last;
                return (IReadOnlyList<string>)[RunName(r), r.Config.ModelName, r.Config.Bottleneck.ToString(inv), r.Config.Beta > 0 ? r.Config.Beta.ToString("G3", inv) : "-",
                    e is null ? "0" : e.Epoch.ToString(inv), e is null ? "-" : Percent(1 - e.TestAcc1), e is null ? "-" : Percent(1 - e.TestAcc12),
                    e is null ? "-" : Bits(e.IzxBits), e is null ? "-" : Bits(e.IzyBits)];
            }));

        var attacked = runs.Where(r => r.Results.Attacks.Count > 0).ToList();
        if (attacked.Count > 0)
        {
            var columns = attacked.SelectMany(r => r.Results.Attacks).Where(a => a.Attack != "none").Select(a => (a.Attack, a.Epsilon))
                .Distinct().OrderBy(c => c.Attack, StringComparer.Ordinal).ThenBy(c => c.Epsilon).ToList();
            page.Heading("Adversarial accuracy (%)");
            page.Table(RobustnessTableId,
                [new("run"), new("clean", true), .. columns.Select(c => new HtmlColumn(string.Create(inv, $"{c.Attack} ε={c.Epsilon:G3}"), true))],
                attacked.Select(r =>
                {
                    string Acc(string attack, double eps) => r.Results.Attacks.FirstOrDefault(a => a.Attack == attack && Math.Abs(a.Epsilon - eps) < 1e-12) is { } a ? Percent(a.Accuracy) : "-";
                    return (IReadOnlyList<string>)[RunName(r), Acc("none", 0), .. columns.Select(c => Acc(c.Attack, c.Epsilon))];
                }));
        }
        page.Paragraph("Raw data: each run's results.json and results.csv; the same tables as Markdown in summary.md.");
        return page;
    }

    private static string RunName(RunSummary r) => Path.GetFileName(Path.TrimEndingDirectorySeparator(r.Directory));
}
