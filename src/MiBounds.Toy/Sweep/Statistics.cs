namespace MiBounds.Toy.Sweep;

/// <summary>Mean, bias and variance of a level's estimates against the true MI.</summary>
/// <param name="Mean">Mean of the window's estimates.</param>
/// <param name="Bias">Mean − true MI.</param>
/// <param name="Variance">Sample variance (n − 1 in the denominator; 0 for a single value).</param>
/// <param name="Count">How many estimates the window held.</param>
public readonly record struct LevelStatistics(double Mean, double Bias, double Variance, int Count);

/// <summary>Summary statistics and smoothing used by the sweep's reports.</summary>
public static class Statistics
{
    /// <summary>The number of final steps per level that the summary statistics use (all of them when fewer).</summary>
    public const int Window = 1000;

    /// <summary>Statistics over the last <paramref name="window"/> values of <paramref name="levelEstimates"/> (or all when fewer).</summary>
    public static LevelStatistics Summarize(ReadOnlySpan<double> levelEstimates, double trueMi, int window = Window)
    {
        if (levelEstimates.IsEmpty) throw new ArgumentException("a level with no estimates has no statistics", nameof(levelEstimates));
        if (window < 1) throw new ArgumentOutOfRangeException(nameof(window), window, "must be at least 1");
        var tail = levelEstimates[Math.Max(0, levelEstimates.Length - window)..];
        double sum = 0;
        foreach (var v in tail) sum += v;
        double mean = sum / tail.Length, squares = 0;
        foreach (var v in tail) squares += (v - mean) * (v - mean);
        double variance = tail.Length > 1 ? squares / (tail.Length - 1) : 0;
        return new LevelStatistics(mean, mean - trueMi, variance, tail.Length);
    }

    /// <summary>
    /// Exponential moving average with span s (weight α = 2/(s+1)), bias-corrected like pandas' <c>ewm(span=s).mean()</c>
    /// (adjust=True): ema_t = Σ_k (1−α)^(t−k) v_k / Σ_k (1−α)^(t−k), so the first values are not pulled toward zero.
    /// </summary>
    public static double[] Ema(ReadOnlySpan<double> values, int span = 200)
    {
        if (span < 1) throw new ArgumentOutOfRangeException(nameof(span), span, "must be at least 1");
        double decay = 1 - 2.0 / (span + 1);
        var result = new double[values.Length];
        double numerator = 0, denominator = 0;
        for (int t = 0; t < values.Length; t++)
        {
            numerator = decay * numerator + values[t];
            denominator = decay * denominator + 1;
            result[t] = numerator / denominator;
        }
        return result;
    }
}
