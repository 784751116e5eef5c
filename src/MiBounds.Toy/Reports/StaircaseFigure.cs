using System.Globalization;
using System.Net;
using System.Text;
using MiBounds.Toy.Sweep;

namespace MiBounds.Toy.Reports;

/// <summary>
/// The paper's Figure 2 layout for one critic and task: a panel per bound with the raw estimates faint (a min–max band
/// per pixel column), their EMA (span 200) bold, the true staircase, and the bound's ceiling dashed.
/// </summary>
public static class StaircaseFigure
{
    private const int PanelWidth = 260, PanelHeight = 190, Left = 34, Top = 26, Gap = 18, Columns = 5, Header = 46;
    private static readonly string[] s_palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];

    /// <summary>The SVG document.</summary>
    public static string Render(SweepConfig config, string critic, string task, IReadOnlyList<RunResult> runs)
    {
        int columns = Math.Max(1, Math.Min(Columns, runs.Count)), rows = Math.Max(1, (runs.Count + columns - 1) / columns);
        int cellWidth = Left + PanelWidth + Gap, cellHeight = Top + PanelHeight + 30;
        int width = columns * cellWidth + Gap, height = Header + rows * cellHeight;
        double yMin = Math.Min(-1, config.Levels.Min() - 1), yMax = config.Levels.Max() * 1.2 + 2;
        var svg = new StringBuilder();
        svg.Append(CultureInfo.InvariantCulture, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" font-family=\"sans-serif\" font-size=\"11\">\n");
        svg.Append(CultureInfo.InvariantCulture, $"<rect width=\"{width}\" height=\"{height}\" fill=\"white\"/>\n");
        svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{Gap}\" y=\"18\" font-size=\"14\" font-weight=\"bold\">{Esc(task)} task, {Esc(critic)} critic (d={config.Dim}, K={config.Batch})</text>\n");
        svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{Gap}\" y=\"36\" fill=\"#555\">faint: raw estimates; bold: EMA (span 200); black: true MI; dashed: the bound's ceiling</text>\n");
        for (int p = 0; p < runs.Count; p++)
        {
            double ox = Gap + (p % columns) * cellWidth + Left, oy = Header + (p / columns) * cellHeight + Top;
            Panel(svg, config, runs[p], s_palette[p % s_palette.Length], ox, oy, yMin, yMax, $"clip{p}");
        }
        svg.Append("</svg>\n");
        return svg.ToString();
    }

    private static void Panel(StringBuilder svg, SweepConfig config, RunResult run, string color, double ox, double oy, double yMin, double yMax, string clipId)
    {
        int total = config.TotalSteps;
        double X(double step) => ox + step / total * PanelWidth;
        double Y(double v) => oy + (yMax - Math.Clamp(v, yMin - 1, yMax + 1)) / (yMax - yMin) * PanelHeight;
        string F(double v) => v.ToString("0.#", CultureInfo.InvariantCulture);

        svg.Append(CultureInfo.InvariantCulture, $"<g>\n<clipPath id=\"{clipId}\"><rect x=\"{F(ox)}\" y=\"{F(oy)}\" width=\"{PanelWidth}\" height=\"{PanelHeight}\"/></clipPath>\n");
        svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{F(ox + PanelWidth / 2.0)}\" y=\"{F(oy - 8)}\" text-anchor=\"middle\" font-size=\"13\">{Esc(Report.DisplayName(run.Spec.Bound))}</text>\n");
        svg.Append(CultureInfo.InvariantCulture, $"<rect x=\"{F(ox)}\" y=\"{F(oy)}\" width=\"{PanelWidth}\" height=\"{PanelHeight}\" fill=\"none\" stroke=\"#999\"/>\n");
        for (int tick = (int)Math.Ceiling(yMin / 2) * 2; tick <= yMax; tick += 2)
        {
            svg.Append(CultureInfo.InvariantCulture, $"<line x1=\"{F(ox - 3)}\" x2=\"{F(ox + PanelWidth)}\" y1=\"{F(Y(tick))}\" y2=\"{F(Y(tick))}\" stroke=\"#eee\"/>");
            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{F(ox - 5)}\" y=\"{F(Y(tick) + 4)}\" text-anchor=\"end\" fill=\"#555\">{tick}</text>\n");
        }
        for (int level = 0; level <= config.Levels.Length; level++)
        {
            double step = level * config.StepsPerLevel;
            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{F(X(step))}\" y=\"{F(oy + PanelHeight + 13)}\" text-anchor=\"middle\" fill=\"#555\">{FormatSteps(step)}</text>");
        }
        svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{F(ox + PanelWidth / 2.0)}\" y=\"{F(oy + PanelHeight + 26)}\" text-anchor=\"middle\" fill=\"#555\">steps</text>\n");

        svg.Append(CultureInfo.InvariantCulture, $"<g clip-path=\"url(#{clipId})\">\n");
        var est = run.Estimates;
        if (est.Length > 0)
        {
            // Raw estimates: one vertical min–max segment per pixel column keeps the file small at 20 000 steps.
            var band = new StringBuilder();
            double perBucket = (double)total / PanelWidth;
            for (int b = 0; b < PanelWidth; b++)
            {
                int from = (int)(b * perBucket), to = Math.Min(est.Length, Math.Max(from + 1, (int)((b + 1) * perBucket)));
                if (from >= est.Length) break;
                double lo = double.PositiveInfinity, hi = double.NegativeInfinity;
                for (int i = from; i < to; i++) { lo = Math.Min(lo, est[i]); hi = Math.Max(hi, est[i]); }
                double x = X((from + to) / 2.0);
                band.Append(CultureInfo.InvariantCulture, $"M{F(x)} {F(Y(hi))}V{F(Math.Max(Y(lo), Y(hi) + 0.5))}");
            }
            svg.Append(CultureInfo.InvariantCulture, $"<path d=\"{band}\" stroke=\"{color}\" stroke-opacity=\"0.3\" stroke-width=\"1\" fill=\"none\"/>\n");
            var ema = Statistics.Ema(est);
            var line = new StringBuilder();
            int stride = Math.Max(1, est.Length / (2 * PanelWidth));
            for (int i = 0; i < ema.Length; i += stride) line.Append(CultureInfo.InvariantCulture, $"{(i == 0 ? "M" : "L")}{F(X(i))} {F(Y(ema[i]))}");
            line.Append(CultureInfo.InvariantCulture, $"L{F(X(ema.Length - 1))} {F(Y(ema[^1]))}");
            svg.Append(CultureInfo.InvariantCulture, $"<path d=\"{line}\" stroke=\"{color}\" stroke-width=\"2\" fill=\"none\"/>\n");
        }
        var truth = new StringBuilder();
        for (int level = 0; level < config.Levels.Length; level++)
        {
            double y = Y(config.Levels[level]);
            truth.Append(CultureInfo.InvariantCulture, $"{(level == 0 ? "M" : "L")}{F(X(level * config.StepsPerLevel))} {F(y)}H{F(X((level + 1) * config.StepsPerLevel))}");
        }
        svg.Append(CultureInfo.InvariantCulture, $"<path d=\"{truth}\" stroke=\"black\" stroke-width=\"1.5\" fill=\"none\"/>\n");
        if (run.Ceiling is double ceiling && ceiling < yMax)
            svg.Append(CultureInfo.InvariantCulture, $"<line x1=\"{F(ox)}\" x2=\"{F(ox + PanelWidth)}\" y1=\"{F(Y(ceiling))}\" y2=\"{F(Y(ceiling))}\" stroke=\"#444\" stroke-dasharray=\"5 4\"><title>ceiling {ceiling.ToString("0.00", CultureInfo.InvariantCulture)} nats</title></line>\n");
        svg.Append("</g>\n");
        if (run.Status != RunStatus.Done)
            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{F(ox + 4)}\" y=\"{F(oy + 14)}\" fill=\"#b00\">{Esc(run.Status.ToString().ToLowerInvariant())} at step {est.Length}</text>\n");
        svg.Append("</g>\n");
    }

    private static string FormatSteps(double steps) => steps >= 1000 ? (steps / 1000).ToString("0.#", CultureInfo.InvariantCulture) + "k" : steps.ToString("0", CultureInfo.InvariantCulture);

    private static string Esc(string s) => WebUtility.HtmlEncode(s);
}
