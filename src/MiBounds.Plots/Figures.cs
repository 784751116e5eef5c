using System.Reflection;
using MiBounds.Tensors;
using ScottPlot;
using SkiaSharp;

namespace MiBounds.Plots;

/// <summary>
/// The one place figures are styled and saved: every figure is written as <c>BASE.png</c> and <c>BASE.svg</c>,
/// each atomically, in the bundled DejaVu Sans so text looks the same on every machine.
/// </summary>
public static class Figures
{
    /// <summary>The font every figure uses (bundled, so a machine without system fonts still renders text).</summary>
    public const string FontName = "DejaVu Sans";

    /// <summary>Tick-label size in pixels: readable when a 1200 px figure is pasted at column width.</summary>
    public const float TickFontSize = 15;

    /// <summary>Axis-label size in pixels.</summary>
    public const float LabelFontSize = 18;

    /// <summary>Title size in pixels.</summary>
    public const float TitleFontSize = 20;

    /// <summary>Legend text size in pixels.</summary>
    public const float LegendFontSize = 14;

    /// <summary>Ten distinct colours (matplotlib's tab10), for series and classes.</summary>
    public static IReadOnlyList<Color> Palette { get; } =
        new[] { "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf" }.Select(ScottPlot.Color.FromHex).ToArray();

    /// <summary>The <paramref name="i"/>-th palette colour, cycling.</summary>
    public static Color Color(int i) => Palette[((i % Palette.Count) + Palette.Count) % Palette.Count];

    private static readonly Lazy<bool> s_fonts = new(RegisterFonts);

    /// <summary>
    /// A plot with the shared style: title, axis labels, round (1, 2, 5 × 10ᵏ) ticks on both axes, readable font sizes.
    /// Use <see cref="LogX"/> / <see cref="LogY"/> for decade axes (plot log₁₀ of the values).
    /// </summary>
    public static Plot NewPlot(string? title, string xLabel, string yLabel)
    {
        _ = s_fonts.Value;
        var plot = new Plot();
        if (title is not null) plot.Title(title, TitleFontSize);
        plot.XLabel(xLabel, LabelFontSize);
        plot.YLabel(yLabel, LabelFontSize);
        plot.Axes.Bottom.TickGenerator = new RoundTicks();
        plot.Axes.Left.TickGenerator = new RoundTicks();
        plot.Axes.Bottom.TickLabelStyle.FontSize = TickFontSize;
        plot.Axes.Left.TickLabelStyle.FontSize = TickFontSize;
        plot.Legend.FontSize = LegendFontSize;
        plot.Legend.SymbolWidth = 36; // long enough that dashed and dotted lines read as such
        return plot;
    }

    /// <summary>Makes the x axis a decade axis: data are log₁₀ of the values, ticks read 10ᵏ.</summary>
    public static void LogX(Plot plot) => plot.Axes.Bottom.TickGenerator = new DecadeTicks();

    /// <summary>Makes the y axis a decade axis: data are log₁₀ of the values, ticks read 10ᵏ.</summary>
    public static void LogY(Plot plot) => plot.Axes.Left.TickGenerator = new DecadeTicks();

    /// <summary>Writes <paramref name="plot"/> to <c>basePath.png</c> and <c>basePath.svg</c> (<paramref name="basePath"/> has no extension).</summary>
    public static void Save(Plot plot, string basePath, int width, int height)
    {
        ApplyFont(plot);
        Save(basePath, width, height, (canvas, rect) => plot.Render(canvas, rect));
    }

    /// <summary>
    /// Writes a multi-panel figure: <paramref name="multiplot"/>'s panels below an optional figure title, as
    /// <c>basePath.png</c> and <c>basePath.svg</c>.
    /// </summary>
    public static void Save(Multiplot multiplot, string basePath, int width, int height, string? title = null, string? subtitle = null)
    {
        foreach (var plot in multiplot.GetPlots()) ApplyFont(plot);
        float header = (title is null ? 0 : TitleFontSize + 16) + (subtitle is null ? 0 : LegendFontSize + 8);
        Save(basePath, width, height, (canvas, rect) =>
        {
            // Multiplot lays panels out from the canvas origin whatever rectangle it is given, so shift the canvas instead.
            canvas.Save();
            canvas.Translate(0, header);
            multiplot.Render(canvas, new PixelRect(0, width, height - header, 0));
            canvas.Restore();
            using var paint = new SKPaint { Color = SKColors.Black, IsAntialias = true };
            if (title is not null)
            {
                using var font = new SKFont(Typeface(bold: true), TitleFontSize);
                canvas.DrawText(title, width / 2f, TitleFontSize + 8, SKTextAlign.Center, font, paint);
            }
            if (subtitle is not null)
            {
                using var font = new SKFont(Typeface(bold: false), LegendFontSize);
                paint.Color = new SKColor(0x44, 0x44, 0x44);
                canvas.DrawText(subtitle, width / 2f, header - 6, SKTextAlign.Center, font, paint);
            }
        });
    }

    private static void Save(string basePath, int width, int height, Action<SKCanvas, PixelRect> draw)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 16);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 16);
        _ = s_fonts.Value;
        var rect = new PixelRect(0, width, height, 0);
        using (var surface = SKSurface.Create(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Premul)))
        {
            surface.Canvas.Clear(SKColors.White);
            draw(surface.Canvas, rect);
            using var image = surface.Snapshot();
            using var png = image.Encode(SKEncodedImageFormat.Png, 100);
            AtomicFile.WriteAllBytes(basePath + ".png", png.AsSpan());
        }
        AtomicFile.Write(basePath + ".svg", stream =>
        {
            // The canvas must be disposed before the stream is flushed: disposal writes the closing </svg>.
            using var canvas = SKSvgCanvas.Create(new SKRect(0, 0, width, height), stream);
            using (var background = new SKPaint { Color = SKColors.White }) canvas.DrawRect(0, 0, width, height, background);
            draw(canvas, rect);
        });
    }

    // Every text element in the bundled font; ScottPlot would otherwise pick a system font per label.
    private static void ApplyFont(Plot plot)
    {
        plot.Font.Set(FontName);
        plot.Legend.FontName = FontName;
        plot.Legend.SetBestFontOnEachRender = false;
        foreach (var panel in plot.Axes.GetPanels())
            if (panel is ScottPlot.Panels.ColorBar bar) bar.LabelStyle.FontName = FontName;
    }

    private static SKTypeface? s_regular, s_bold;

    /// <summary>The bundled typeface.</summary>
    public static SKTypeface Typeface(bool bold)
    {
        _ = s_fonts.Value;
        return bold ? s_bold! : s_regular!;
    }

    private static bool RegisterFonts()
    {
        static SKTypeface Load(string name)
        {
            using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream(name)
                ?? throw new InvalidOperationException($"embedded font {name} is missing");
            return SKTypeface.FromStream(stream) ?? throw new InvalidOperationException($"embedded font {name} does not load");
        }
        s_regular = Load("DejaVuSans.ttf");
        s_bold = Load("DejaVuSans-Bold.ttf");
        Fonts.FontResolvers.Insert(0, new EmbeddedFontResolver());
        Fonts.Default = FontName;
        Fonts.Sans = FontName;
        return true;
    }

    private sealed class EmbeddedFontResolver : IFontResolver
    {
        public SKTypeface? CreateTypeface(string fontName, bool bold, bool italic) =>
            fontName == FontName ? (bold ? s_bold : s_regular) : null;

        public SKTypeface? CreateTypeface(string fontName, FontWeight weight, FontSlant slant, FontSpacing spacing) =>
            fontName == FontName ? ((int)weight >= (int)FontWeight.SemiBold ? s_bold : s_regular) : null;
    }
}
