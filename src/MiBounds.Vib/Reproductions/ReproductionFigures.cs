using MiBounds.Plots;
using MiBounds.Vib.Reports;
using ScottPlot;

namespace MiBounds.Vib.Reproductions;

/// <summary>One line of a reproduction figure: its legend, points (x, y) and style.</summary>
public sealed record Series(string Label, IReadOnlyList<(double X, double Y)> Points, int Color, bool Dashed = false);

/// <summary>The reproductions' figures (PNG + SVG through <see cref="Figures.Save(Plot, string, int, int)"/>), drawn from the JSON results alone.</summary>
public static class ReproductionFigures
{
    /// <summary>Lines against x (log₁₀ x when <paramref name="logX"/>), with optional horizontal reference levels (dotted).</summary>
    public static void Lines(string basePath, string title, string xLabel, string yLabel, IReadOnlyList<Series> series, bool logX, IReadOnlyList<(string Label, double Y)>? levels = null, double? yMin = null)
    {
        var plot = Figures.NewPlot(title, xLabel, yLabel);
        if (logX) Figures.LogX(plot);
        var xs = new List<double>(); var ys = new List<double>();
        foreach (var s in series)
        {
            var pts = s.Points.Where(p => double.IsFinite(p.X) && double.IsFinite(p.Y) && (!logX || p.X > 0))
                .Select(p => (X: logX ? Math.Log10(p.X) : p.X, p.Y)).OrderBy(p => p.X).ToArray();
            if (pts.Length == 0) continue;
            var line = plot.Add.Scatter(pts.Select(p => p.X).ToArray(), pts.Select(p => p.Y).ToArray(), Figures.Color(s.Color));
            line.LineWidth = 2; line.MarkerSize = 7; line.LegendText = s.Label;
            // Open markers too: Skia's SVG backend drops dash patterns ("Unsupported path effect"), the markers stay.
            if (s.Dashed) { line.LinePattern = LinePattern.Dashed; line.MarkerShape = MarkerShape.OpenCircle; }
            xs.AddRange(pts.Select(p => p.X)); ys.AddRange(pts.Select(p => p.Y));
        }
        int c = series.Count;
        foreach (var (label, y) in levels ?? [])
        {
            if (!double.IsFinite(y)) continue;
            var level = plot.Add.HorizontalLine(y, 2, Figures.Color(c++), LinePattern.Dotted);
            level.LegendText = label;
            ys.Add(y);
        }
        if (xs.Count > 0)
        {
            double lo = xs.Min(), hi = xs.Max();
            if (logX) { lo = Math.Floor(lo); hi = Math.Ceiling(hi); }
            if (hi <= lo) { lo -= 1; hi += 1; }
            double y0 = yMin ?? Math.Min(0, ys.Min()), y1 = ys.Max();
            plot.Axes.SetLimits(lo, hi, y0, y1 + 0.08 * (y1 - y0) + 1e-9);
        }
        plot.ShowLegend(Edge.Right);
        Figures.Save(plot, basePath, RunFigures.Width, RunFigures.Height);
    }

    /// <summary>A K = 2 embedding: the decoder's entropy as a heat map, each image's 95% ellipse of p(z|x) (full covariance) coloured by class.</summary>
    public static void Embedding(Embedding2D data, string title, string basePath)
    {
        var plot = Figures.NewPlot(title, "z₁", "z₂");
        int g = data.EntropyBits.Length;
        var h = new double[g, g];
        for (int i = 0; i < g; i++) for (int j = 0; j < g; j++) h[i, j] = data.EntropyBits[i][j];
        var heat = plot.Add.Heatmap(h);
        heat.Rectangle = new CoordinateRect(data.X0, data.X1, data.Y0, data.Y1);
        heat.FlipVertically = true; // row 0 is the grid's lowest z₂
        heat.Colormap = new ScottPlot.Colormaps.CustomInterpolated([Colors.White, new Color(0x80, 0x80, 0x80)]);
        heat.ManualRange = new ScottPlot.Range(0, data.MaxEntropyBits);
        var bar = plot.Add.ColorBar(heat, Edge.Right);
        bar.Label = "H(q(y|z)) (bits)";
        bar.Axis.TickGenerator = new RoundTicks();
        double r95 = Math.Sqrt(5.991); // χ²₂ 95% quantile
        for (int i = 0; i < data.Means.Length; i++)
        {
            var (rx, ry, degrees) = EllipseAxes(data.Covariances[i]);
            var e = plot.Add.Ellipse(data.Means[i][0], data.Means[i][1], Math.Max(r95 * rx, 1e-3 * (data.X1 - data.X0)), Math.Max(r95 * ry, 1e-3 * (data.Y1 - data.Y0)));
            e.Rotation = Angle.FromDegrees(degrees);
            e.LineColor = Figures.Color(data.Labels[i]).WithAlpha(0.5);
            e.LineWidth = 1;
            e.FillColor = Colors.Transparent;
        }
        foreach (int c in data.Labels.Distinct().Order())
            plot.Legend.ManualItems.Add(new LegendItem { LabelText = RunFigures.ClassName(c), LineColor = Figures.Color(c), LineWidth = 4 });
        plot.Axes.SetLimits(data.X0, data.X1, data.Y0, data.Y1);
        plot.ShowLegend(Edge.Right);
        Figures.Save(plot, basePath, RunFigures.Width, 700);
    }

    /// <summary>The principal standard deviations and the major axis's angle (degrees) of a 2×2 covariance given as (s₁₁, s₁₂, s₂₂).</summary>
    public static (double Major, double Minor, double Degrees) EllipseAxes(double[] cov)
    {
        double a = cov[0], b = cov[1], c = cov[2];
        double mean = (a + c) / 2, r = Math.Sqrt((a - c) * (a - c) / 4 + b * b);
        double angle = 0.5 * Math.Atan2(2 * b, a - c);
        return (Math.Sqrt(Math.Max(0, mean + r)), Math.Sqrt(Math.Max(0, mean - r)), angle * 180 / Math.PI);
    }

    /// <summary>
    /// The adversarial examples of the targeted attack as a grid: one row per model, one column per image, each tile the
    /// example (pixels in [−1, 1]) with a green frame on success and a red one on failure (the clean image is shown then).
    /// </summary>
    public static void AdversarialGrid(IReadOnlyList<(string Model, TargetedAttack Attack)> rows, int side, string basePath)
    {
        int cols = rows.Count == 0 ? 1 : rows.Max(r => r.Attack.Images.Count), gap = 2, cell = side + gap;
        int height = Math.Max(1, rows.Count) * cell, width = cols * cell;
        var pixels = new double[height, width];
        for (int i = 0; i < height; i++) for (int j = 0; j < width; j++) pixels[i, j] = double.NaN;
        var plot = Figures.NewPlot("Targeted C&W L2 examples (green: success, red: failure)", "test image", "");
        for (int r = 0; r < rows.Count; r++)
            for (int c = 0; c < rows[r].Attack.Images.Count; c++)
            {
                var img = rows[r].Attack.Images[c];
                for (int y = 0; y < side; y++) for (int x = 0; x < side; x++) pixels[r * cell + y, c * cell + x] = (img.Adversarial[y * side + x] + 1) / 2;
                var frame = plot.Add.Rectangle(c * cell - 0.5, c * cell + side - 0.5, height - r * cell - side - 0.5, height - r * cell - 0.5);
                frame.FillColor = Colors.Transparent;
                frame.LineColor = img.Success ? new Color(0x2c, 0xa0, 0x2c) : new Color(0xd6, 0x27, 0x28);
                frame.LineWidth = 2;
            }
        var heat = plot.Add.Heatmap(pixels);
        heat.Colormap = new ScottPlot.Colormaps.CustomInterpolated([Colors.Black, Colors.White]);
        heat.ManualRange = new ScottPlot.Range(0, 1);
        heat.Rectangle = new CoordinateRect(-0.5, width - 0.5, -0.5, height - 0.5);
        plot.MoveToBack(heat);
        var ticks = rows.Select((row, r) => new Tick(height - r * cell - side / 2.0, row.Model)).ToArray();
        plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericManual(ticks);
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(Enumerable.Range(0, cols).Select(c => new Tick(c * cell + side / 2.0, (c + 1).ToString(System.Globalization.CultureInfo.InvariantCulture))).ToArray());
        plot.Axes.SetLimits(-1, width, -1, height);
        Figures.Save(plot, basePath, Math.Max(500, 60 * cols + 200), Math.Max(200, 60 * Math.Max(1, rows.Count) + 120));
    }
}
