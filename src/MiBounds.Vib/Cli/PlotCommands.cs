using MiBounds.Cli;
using MiBounds.Tensors;
using Spectre.Console;

namespace MiBounds.Vib;

internal static partial class Commands
{
    private static void RegisterPlots(CommandSet commands)
    {
        commands.Add("plot", "collect runs' results into PNG/SVG plots and a Markdown summary",
            "usage: plot --runs DIR[,DIR…] [--out DIR]\n  --runs    run directories, or folders whose subfolders are runs\n  --out     where error_vs_beta, ib_plane, robustness (.png and .svg) and summary.md go (default: the first --runs entry)",
            PlotCommand);
    }

    private static int PlotCommand(ParsedOptions o)
    {
        var paths = o.Required("runs").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (paths.Length == 0) throw new UsageException("--runs needs at least one directory");
        string outDir = o.OptionalString("out") ?? paths[0];
        o.EnsureAllUsed();
        var runs = RunSummary.Collect(paths);
        if (runs.Count == 0) throw new UsageException($"no run directories (with run.json) under {string.Join(", ", paths)}");
        Directory.CreateDirectory(outDir);
        Plots.ErrorVsBeta(runs, Path.Combine(outDir, Plots.ErrorVsBetaFile));
        Plots.IbPlane(runs, Path.Combine(outDir, Plots.IbPlaneFile));
        if (runs.Any(r => r.Results.Attacks.Count > 0)) Plots.RobustnessCurves(runs, Path.Combine(outDir, Plots.RobustnessFile));
        var summary = Plots.SummaryMarkdown(runs);
        AtomicFile.WriteAllText(Path.Combine(outDir, "summary.md"), summary);
        AnsiConsole.WriteLine(summary);
        AnsiConsole.MarkupLine($"{runs.Count} run(s): plots and summary.md in [bold]{Markup.Escape(outDir)}[/]");
        return 0;
    }
}
