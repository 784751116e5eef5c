using System.CommandLine;
using MiBounds.Commands;
using MiBounds.Tensors;
using MiBounds.Vib.Reports;
using Spectre.Console;
using static MiBounds.Commands.CommandOptions;

namespace MiBounds.Vib.Commands;

public static partial class VibCommands
{
    private static Command CreatePlot()
    {
        var runs = RequiredString("--runs", "run directories, or folders whose subfolders are runs (comma-separated)");
        var outDir = OptionalString("--out", "where error_vs_beta, ib_plane, robustness (.png and .svg), summary.md and index.html go (default: the first --runs entry)");
        return new Command("plot", "collect runs' results into PNG/SVG plots, a Markdown summary and an HTML report page") { runs, outDir }
            .WithVibAction(run =>
            {
                var paths = run.Get(runs).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                if (paths.Length == 0) throw new UsageException("--runs needs at least one directory");
                string folder = run.Get(outDir) is { } given ? OutputPaths.EnsureFolder(given, "--out") : paths[0];
                var found = RunSummary.Collect(paths);
                if (found.Count == 0) throw new UsageException($"no run directories (with run.json) under {string.Join(", ", paths)}");
                RunFigures.ErrorVsBeta(found, Path.Combine(folder, RunFigures.ErrorVsBetaFile));
                RunFigures.IbPlane(found, Path.Combine(folder, RunFigures.IbPlaneFile));
                if (found.Any(r => r.Results.Attacks.Count > 0)) RunFigures.RobustnessCurves(found, Path.Combine(folder, RunFigures.RobustnessFile));
                var summary = RunFigures.SummaryMarkdown(found);
                AtomicFile.WriteAllText(Path.Combine(folder, "summary.md"), summary);
                string page = RunReport.Write(found, folder);
                run.Console.WriteLine(summary);
                run.Console.MarkupLine($"{found.Count} run(s): plots and summary.md in [bold]{Markup.Escape(folder)}[/]; report page [bold]{Markup.Escape(page)}[/]");
                return 0;
            });
    }
}
