using System.Globalization;
using ScottPlot;

namespace MiBounds.Plots;

/// <summary>Linear ticks at round values: steps of 1, 2 or 5 × 10ᵏ, about one label per 70 px across and 50 px up.</summary>
public sealed class RoundTicks : ITickGenerator
{
    /// <inheritdoc/>
    public Tick[] Ticks { get; set; } = [];

    /// <inheritdoc/>
    public int MaxTickCount { get; set; } = 1000;

    /// <inheritdoc/>
    public void Regenerate(CoordinateRange range, Edge edge, PixelLength size, Paint paint, LabelStyle labelStyle)
    {
        bool horizontal = edge is Edge.Bottom or Edge.Top;
        int target = Math.Clamp((int)(size.Length / (horizontal ? 70 : 50)), 2, 10);
        Ticks = Generate(range.Min, range.Max, target);
    }

    /// <summary>The step (1, 2 or 5 × 10ᵏ) that gives about <paramref name="target"/> intervals over [min, max].</summary>
    public static double Step(double min, double max, int target)
    {
        double raw = Math.Abs(max - min) / Math.Max(1, target);
        if (!(raw > 0) || !double.IsFinite(raw)) return 1;
        double decade = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        double m = raw / decade;
        return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * decade;
    }

    /// <summary>Major ticks at multiples of <see cref="Step"/> in [min, max], minor ticks between.</summary>
    public static Tick[] Generate(double min, double max, int target)
    {
        if (min > max) (min, max) = (max, min);
        double step = Step(min, max, target);
        int decimals = Math.Max(0, -(int)Math.Floor(Math.Log10(step) + 1e-9));
        double mantissa = step / Math.Pow(10, Math.Floor(Math.Log10(step) + 1e-9));
        int minorPerMajor = Math.Abs(mantissa - 2) < 1e-6 ? 4 : 5;
        var ticks = new List<Tick>();
        long first = (long)Math.Ceiling(min / step - 1e-9), last = (long)Math.Floor(max / step + 1e-9);
        if (last - first > 1000) return [];
        for (long i = first - 1; i <= last; i++)
        {
            double v = i * step;
            if (i >= first) ticks.Add(Tick.Major(v, Format(v, decimals)));
            for (int j = 1; j < minorPerMajor; j++)
            {
                double w = v + j * step / minorPerMajor;
                if (w >= min && w <= max) ticks.Add(Tick.Minor(w));
            }
        }
        return [.. ticks];
    }

    private static string Format(double v, int decimals)
    {
        if (Math.Abs(v) < 1e-12) v = 0; // no "-0"
        return v.ToString("F" + decimals.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
    }
}

/// <summary>
/// Ticks for a log axis drawn in log₁₀ units: labels 10ᵏ at decades (every 2nd, 3rd … decade when they would crowd),
/// minor ticks at 2…9 × 10ᵏ.
/// </summary>
public sealed class DecadeTicks : ITickGenerator
{
    /// <inheritdoc/>
    public Tick[] Ticks { get; set; } = [];

    /// <inheritdoc/>
    public int MaxTickCount { get; set; } = 1000;

    /// <inheritdoc/>
    public void Regenerate(CoordinateRange range, Edge edge, PixelLength size, Paint paint, LabelStyle labelStyle)
    {
        bool horizontal = edge is Edge.Bottom or Edge.Top;
        int target = Math.Clamp((int)(size.Length / (horizontal ? 70 : 50)), 2, 12);
        Ticks = Generate(range.Min, range.Max, target);
    }

    /// <summary>Ticks over [min, max] (log₁₀ units): at most about <paramref name="target"/> labelled decades.</summary>
    public static Tick[] Generate(double min, double max, int target)
    {
        if (min > max) (min, max) = (max, min);
        if (!double.IsFinite(min) || !double.IsFinite(max) || max - min > 400) return [];
        int lo = (int)Math.Floor(min), hi = (int)Math.Ceiling(max);
        int every = 1;
        while ((hi - lo) / every + 1 > target) every = every switch { 1 => 2, 2 => 3, 3 => 5, _ => every * 2 };
        var ticks = new List<Tick>();
        for (int k = lo; k <= hi; k++)
        {
            bool labelled = ((k % every) + every) % every == 0;
            if (k >= min - 1e-9 && k <= max + 1e-9) ticks.Add(labelled ? Tick.Major(k, Label(k)) : Tick.Minor(k));
            if (every == 1)
                for (int m = 2; m <= 9; m++)
                {
                    double w = k + Math.Log10(m);
                    if (w >= min && w <= max) ticks.Add(Tick.Minor(w));
                }
        }
        return [.. ticks];
    }

    /// <summary>"10" with the exponent in superscript digits, e.g. 10⁻³.</summary>
    public static string Label(int exponent)
    {
        const string digits = "⁰¹²³⁴⁵⁶⁷⁸⁹";
        var s = exponent.ToString(CultureInfo.InvariantCulture);
        return "10" + string.Concat(s.Select(c => c == '-' ? '⁻' : digits[c - '0']));
    }
}
