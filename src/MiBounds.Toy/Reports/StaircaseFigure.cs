using System.Globalization;
using MiBounds.Plots;
using MiBounds.Toy.Sweep;
using ScottPlot;

namespace MiBounds.Toy.Reports;

/// <summary>
/// The paper's Figure 2 layout for one critic and task: a panel per bound (sharing the step axis and the MI range) with
/// the raw estimates faint, their EMA (span 200) bold, the true staircase, and the bound's ceiling dashed.
/// </summary>
public static class StaircaseFigure
{
    /// <summary>The y-axis label of every panel.</summary>
    public const string YLabel = "MI (nats)";

    /// <summary>The x-axis label of the bottom row.</summary>
    public const string XLabel = "training step";

    /// <summary>Legend text of a ceiling line: "ceiling 2.08 nats".</summary>
    public static string CeilingLabel(double ceiling) => string.Create(CultureInfo.InvariantCulture, $"ceiling {ceiling:0.00} nats");

    /// <summary>The figure's panels, one subplot per run in order; each panel's title is the bound's display name.</summary>
    public static Multiplot Build(SweepConfig config, IReadOnlyList<RunResult> runs)
    {
        var (rows, columns) = Grid(runs.Count);
        if (runs.Count == 0) return new Multiplot(Figures.NewPlot("no runs", XLabel, YLabel));
        Multiplot? multiplot = null;
        var (yMin, yMax) = YLimits(config);
        for (int p = 0; p < runs.Count; p++)
        {
            bool bottom = p + columns >= runs.Count, left = p % columns == 0;
            var plot = Figures.NewPlot(Report.DisplayName(runs[p].Spec.Bound), bottom ? XLabel : "", left ? YLabel : "");
            Panel(plot, config, runs[p], Figures.Color(p), legend: p == 0);
            plot.Axes.SetLimits(0, config.TotalSteps, yMin, yMax);
            // new Multiplot() starts with a blank subplot of its own; seed it with the first panel instead.
            if (multiplot is null) multiplot = new Multiplot(plot);
            else multiplot.AddPlot(plot);
        }
        multiplot!.Layout = new ScottPlot.MultiplotLayouts.Grid(rows, columns);
        multiplot.SharedAxes.ShareX(multiplot.GetPlots());
        multiplot.SharedAxes.ShareY(multiplot.GetPlots());
        return multiplot;
    }

    // Every panel's y range: below zero (diverging estimates) up to a margin above the highest level.
    private static (double Min, double Max) YLimits(SweepConfig config) => (Math.Min(-1, config.Levels.Min() - 1), config.Levels.Max() * 1.2 + 2);

    /// <summary>The figure's size in pixels: 1200 wide (1500 for five columns), 380 px per row plus the header.</summary>
    public static (int Width, int Height) Size(int panels)
    {
        var (rows, columns) = Grid(panels);
        return (columns >= 5 ? 1500 : 1200, 70 + rows * 380);
    }

    /// <summary>Writes <c>basePath.png</c> and <c>basePath.svg</c>.</summary>
    public static void Save(SweepConfig config, string critic, string task, IReadOnlyList<RunResult> runs, string basePath)
    {
        var (width, height) = Size(runs.Count);
        Figures.Save(Build(config, runs), basePath, width, height,
            $"{task} task, {critic} critic (d = {config.Dim}, K = {config.Batch})",
            "faint: raw estimates · bold: EMA (span 200) · black: true MI · dashed: the bound's ceiling");
    }

    // Up to three panels in a row; more fill rows of up to five, as in the paper's figure.
    private static (int Rows, int Columns) Grid(int panels)
    {
        int columns = panels <= 3 ? Math.Max(1, panels) : Math.Min(5, (panels + 1) / 2);
        return ((Math.Max(1, panels) + columns - 1) / columns, columns);
    }

    private static void Panel(Plot plot, SweepConfig config, RunResult run, Color color, bool legend)
    {
        var est = run.Estimates;
        if (est.Length > 0)
        {
            // Signal plots draw one min–max segment per pixel column, so 20 000 steps stay small in the SVG.
            var raw = plot.Add.Signal(est);
            raw.Color = color.WithAlpha(0.3);
            raw.LineWidth = 1;
            raw.MarkerSize = 0;
            var ema = plot.Add.Signal(Statistics.Ema(est));
            ema.Color = color;
            ema.LineWidth = 2.5f;
            ema.MarkerSize = 0;
            if (legend) { raw.LegendText = "raw estimate"; ema.LegendText = "EMA (span 200)"; }
        }
        var xs = new List<double>();
        var ys = new List<double>();
        for (int level = 0; level < config.Levels.Length; level++)
        {
            xs.Add(level * config.StepsPerLevel); ys.Add(config.Levels[level]);
            xs.Add((level + 1) * config.StepsPerLevel); ys.Add(config.Levels[level]);
        }
        var truth = plot.Add.ScatterLine(xs.ToArray(), ys.ToArray(), Colors.Black);
        truth.LineWidth = 1.5f;
        if (legend) truth.LegendText = "true MI";
        if (run.Ceiling is double ceiling)
        {
            var line = plot.Add.HorizontalLine(ceiling, 1.5f, new Color(0x44, 0x44, 0x44), LinePattern.Dashed);
            line.LegendText = CeilingLabel(ceiling);
        }
        if (run.Status != RunStatus.Done)
        {
            // Lower right, clear of the legends (upper left) and of the staircase (which climbs to the upper right).
            var note = plot.Add.Text($"{(run.Status == RunStatus.Failed ? "failed" : "stopped")} at step {est.Length}", config.TotalSteps * 0.98, YLimits(config).Min + 0.3);
            note.LabelFontColor = new Color(0xbb, 0, 0);
            note.LabelFontSize = Figures.LegendFontSize;
            note.LabelAlignment = Alignment.LowerRight;
        }
        plot.Legend.Alignment = Alignment.UpperLeft;
        plot.Legend.FontSize = 12;
        plot.ShowLegend();
    }
}
