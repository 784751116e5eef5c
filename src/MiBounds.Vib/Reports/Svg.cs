using System.Globalization;
using System.Text;
using MiBounds.Tensors;

namespace MiBounds.Vib.Reports;

/// <summary>A minimal SVG chart: a plot area with linear or log₁₀ axes, lines, markers, ellipses, rectangles and a legend.</summary>
public sealed class SvgChart
{
    private readonly StringBuilder _body = new();
    private readonly List<(string Label, string Color, bool Dashed)> _legend = [];
    private const double Left = 70, Top = 40, Bottom = 50;
    private readonly double Right;

    /// <summary>Canvas width in pixels.</summary>
    public double Width { get; }
    /// <summary>Canvas height in pixels.</summary>
    public double Height { get; }
    /// <summary>Data range of the x axis (log₁₀ of the values when <see cref="LogX"/>).</summary>
    public (double Min, double Max) X { get; }
    /// <summary>Data range of the y axis.</summary>
    public (double Min, double Max) Y { get; }
    /// <summary>Whether x is on a log₁₀ scale.</summary>
    public bool LogX { get; }

    /// <summary>Distinct colors for series and classes.</summary>
    public static readonly string[] Palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];

    private readonly string _title, _xLabel, _yLabel;

    /// <summary>Creates a chart over the given data ranges (x in data units; with <paramref name="logX"/> they must be positive).</summary>
    public SvgChart(string title, string xLabel, string yLabel, (double Min, double Max) x, (double Min, double Max) y, bool logX = false, double width = 640, double height = 420, double legendWidth = 150)
    {
        Right = legendWidth;
        _title = title; _xLabel = xLabel; _yLabel = yLabel; LogX = logX; Width = width; Height = height;
        X = logX ? (Math.Log10(x.Min), Math.Log10(x.Max)) : x;
        if (X.Max <= X.Min) X = (X.Min - 0.5, X.Max + 0.5);
        Y = y.Max > y.Min ? y : (y.Min - 0.5, y.Max + 0.5);
    }

    private static string F(double v) => v.ToString("0.##", CultureInfo.InvariantCulture);

    /// <summary>Pixel x of a data value.</summary>
    public double Px(double x) => Left + ((LogX ? Math.Log10(x) : x) - X.Min) / (X.Max - X.Min) * (Width - Left - Right);
    /// <summary>Pixel y of a data value.</summary>
    public double Py(double y) => Height - Bottom - (y - Y.Min) / (Y.Max - Y.Min) * (Height - Top - Bottom);

    /// <summary>A polyline with markers through the points (sorted by x), added to the legend.</summary>
    public void Line(string label, string color, IEnumerable<(double X, double Y)> points, bool dashed = false, bool markers = true)
    {
        var pts = points.Where(p => double.IsFinite(p.X) && double.IsFinite(p.Y) && (!LogX || p.X > 0)).OrderBy(p => p.X).ToArray();
        if (pts.Length == 0) return;
        _body.Append($"<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"2\"{(dashed ? " stroke-dasharray=\"6 4\"" : "")} points=\"");
        foreach (var p in pts) _body.Append(F(Px(p.X))).Append(',').Append(F(Py(p.Y))).Append(' ');
        _body.Append("\"/>\n");
        if (markers) foreach (var p in pts) Marker(p.X, p.Y, color);
        _legend.Add((label, color, dashed));
    }

    /// <summary>A horizontal reference line across the plot, added to the legend.</summary>
    public void HorizontalLine(string label, string color, double y)
    {
        _body.Append($"<line x1=\"{F(Left)}\" x2=\"{F(Width - Right)}\" y1=\"{F(Py(y))}\" y2=\"{F(Py(y))}\" stroke=\"{color}\" stroke-width=\"1.5\" stroke-dasharray=\"6 4\"/>\n");
        _legend.Add((label, color, true));
    }

    /// <summary>A filled circle at a data point.</summary>
    public void Marker(double x, double y, string color, double radius = 3.5, string? tooltip = null)
    {
        _body.Append($"<circle cx=\"{F(Px(x))}\" cy=\"{F(Py(y))}\" r=\"{F(radius)}\" fill=\"{color}\">{(tooltip is null ? "" : $"<title>{Escape(tooltip)}</title>")}</circle>\n");
    }

    /// <summary>An axis-aligned ellipse with data-unit radii.</summary>
    public void Ellipse(double cx, double cy, double rx, double ry, string color, double opacity = 0.35)
    {
        double sx = Math.Abs(Px(cx + rx) - Px(cx)), sy = Math.Abs(Py(cy + ry) - Py(cy));
        _body.Append($"<ellipse cx=\"{F(Px(cx))}\" cy=\"{F(Py(cy))}\" rx=\"{F(Math.Max(sx, 0.5))}\" ry=\"{F(Math.Max(sy, 0.5))}\" fill=\"none\" stroke=\"{color}\" stroke-opacity=\"{F(opacity)}\"/>\n");
    }

    /// <summary>A filled data-unit rectangle (for heat maps), drawn under later elements.</summary>
    public void Cell(double x0, double y0, double x1, double y1, string fill)
    {
        double px0 = Px(x0), px1 = Px(x1), py0 = Py(y1), py1 = Py(y0);
        _body.Append($"<rect x=\"{F(px0)}\" y=\"{F(py0)}\" width=\"{F(px1 - px0 + 0.5)}\" height=\"{F(py1 - py0 + 0.5)}\" fill=\"{fill}\"/>\n");
    }

    /// <summary>Adds a legend entry without drawing anything.</summary>
    public void LegendEntry(string label, string color) => _legend.Add((label, color, false));

    private static string Escape(string s) => s.Replace("&", "&amp;").Replace("<", "&lt;").Replace(">", "&gt;");

    /// <summary>The SVG document.</summary>
    public string Render()
    {
        var sb = new StringBuilder();
        sb.Append($"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{F(Width)}\" height=\"{F(Height)}\" font-family=\"sans-serif\" font-size=\"12\">\n");
        sb.Append($"<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n");
        sb.Append($"<text x=\"{F(Width / 2)}\" y=\"20\" text-anchor=\"middle\" font-size=\"14\">{Escape(_title)}</text>\n");
        sb.Append($"<clipPath id=\"plot\"><rect x=\"{F(Left)}\" y=\"{F(Top)}\" width=\"{F(Width - Left - Right)}\" height=\"{F(Height - Top - Bottom)}\"/></clipPath>\n");
        sb.Append("<g clip-path=\"url(#plot)\">\n").Append(_body).Append("</g>\n");
        sb.Append($"<rect x=\"{F(Left)}\" y=\"{F(Top)}\" width=\"{F(Width - Left - Right)}\" height=\"{F(Height - Top - Bottom)}\" fill=\"none\" stroke=\"black\"/>\n");
        for (int i = 0; i <= 5; i++)
        {
            double fx = X.Min + (X.Max - X.Min) * i / 5, fy = Y.Min + (Y.Max - Y.Min) * i / 5;
            double px = Left + (Width - Left - Right) * i / 5, py = Height - Bottom - (Height - Top - Bottom) * i / 5;
            string xt = LogX ? "1e" + fx.ToString("0.#", CultureInfo.InvariantCulture) : fx.ToString("G3", CultureInfo.InvariantCulture);
            sb.Append($"<text x=\"{F(px)}\" y=\"{F(Height - Bottom + 16)}\" text-anchor=\"middle\">{xt}</text>\n");
            sb.Append($"<text x=\"{F(Left - 6)}\" y=\"{F(py + 4)}\" text-anchor=\"end\">{fy.ToString("G3", CultureInfo.InvariantCulture)}</text>\n");
        }
        sb.Append($"<text x=\"{F((Left + Width - Right) / 2)}\" y=\"{F(Height - 12)}\" text-anchor=\"middle\">{Escape(_xLabel)}</text>\n");
        sb.Append($"<text transform=\"translate(16,{F((Top + Height - Bottom) / 2)}) rotate(-90)\" text-anchor=\"middle\">{Escape(_yLabel)}</text>\n");
        for (int i = 0; i < _legend.Count; i++)
        {
            var (label, color, dashed) = _legend[i];
            double y = Top + 10 + 18 * i, x = Width - Right + 10;
            sb.Append($"<line x1=\"{F(x)}\" x2=\"{F(x + 20)}\" y1=\"{F(y)}\" y2=\"{F(y)}\" stroke=\"{color}\" stroke-width=\"3\"{(dashed ? " stroke-dasharray=\"4 3\"" : "")}/>\n");
            sb.Append($"<text x=\"{F(x + 26)}\" y=\"{F(y + 4)}\">{Escape(label)}</text>\n");
        }
        sb.Append("</svg>\n");
        return sb.ToString();
    }

    /// <summary>Writes <see cref="Render"/> to <paramref name="path"/>.</summary>
    public void Save(string path) => AtomicFile.WriteAllText(path, Render());
}
