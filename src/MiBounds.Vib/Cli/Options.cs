using System.Globalization;

namespace MiBounds.Vib;

/// <summary>
/// Parsed `--name value` and `--flag` options. Getters convert and validate; every option must be read
/// (<see cref="EnsureAllUsed"/>) so a misspelled one is an error rather than silently ignored.
/// </summary>
internal sealed class Options
{
    private readonly Dictionary<string, string?> _values = new(StringComparer.Ordinal);
    private readonly HashSet<string> _used = new(StringComparer.Ordinal);

    /// <summary>Parses args; a value never starts with "--" (negative numbers are fine: "-1e-3").</summary>
    public static Options Parse(IReadOnlyList<string> args)
    {
        var o = new Options();
        for (int i = 0; i < args.Count; i++)
        {
            string a = args[i];
            if (!a.StartsWith("--", StringComparison.Ordinal) || a.Length == 2) throw new UsageException($"unexpected argument '{a}' (options look like --name value)");
            string name = a[2..];
            string? value = null;
            int eq = name.IndexOf('=');
            if (eq >= 0) { value = name[(eq + 1)..]; name = name[..eq]; }
            else if (i + 1 < args.Count && !args[i + 1].StartsWith("--", StringComparison.Ordinal)) value = args[++i];
            if (!o._values.TryAdd(name, value)) throw new UsageException($"option --{name} is given twice");
        }
        return o;
    }

    /// <summary>Whether the option was given.</summary>
    public bool Has(string name) => _values.ContainsKey(name);

    /// <summary>A boolean flag (given without a value, or with true/false).</summary>
    public bool Flag(string name)
    {
        _used.Add(name);
        if (!_values.TryGetValue(name, out var v)) return false;
        return v switch
        {
            null or "true" or "1" => true,
            "false" or "0" => false,
            _ => throw new UsageException($"--{name} is a flag; got value '{v}'"),
        };
    }

    /// <summary>A string option or <paramref name="fallback"/>.</summary>
    public string? String(string name, string? fallback = null)
    {
        _used.Add(name);
        if (!_values.TryGetValue(name, out var v)) return fallback;
        return v ?? throw new UsageException($"--{name} needs a value");
    }

    /// <summary>A string option that must be given.</summary>
    public string Required(string name) => String(name) ?? throw new UsageException($"--{name} is required");

    /// <summary>An integer option within [min, max].</summary>
    public int Int(string name, int fallback, int min = int.MinValue, int max = int.MaxValue)
    {
        var s = String(name);
        if (s is null) return fallback;
        if (!int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v)) throw new UsageException($"--{name} expects an integer, got '{s}'");
        if (v < min || v > max) throw new UsageException($"--{name} must be in [{min}, {max}], got {v}");
        return v;
    }

    /// <summary>A finite floating-point option within [min, max].</summary>
    public double Double(string name, double fallback, double min = double.MinValue, double max = double.MaxValue)
    {
        var s = String(name);
        if (s is null) return fallback;
        if (!double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) || !double.IsFinite(v)) throw new UsageException($"--{name} expects a number, got '{s}'");
        if (v < min || v > max) throw new UsageException($"--{name} must be in [{min}, {max}], got {s}");
        return v;
    }

    /// <summary>A comma-separated list of numbers, each within [min, max].</summary>
    public double[] Doubles(string name, double[] fallback, double min = double.MinValue, double max = double.MaxValue)
    {
        var s = String(name);
        if (s is null) return fallback;
        var parts = s.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (parts.Length == 0) throw new UsageException($"--{name} expects a comma-separated list of numbers");
        return parts.Select(p =>
        {
            if (!double.TryParse(p, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) || !double.IsFinite(v)) throw new UsageException($"--{name}: '{p}' is not a number");
            if (v < min || v > max) throw new UsageException($"--{name}: {p} must be in [{min}, {max}]");
            return v;
        }).ToArray();
    }

    /// <summary>An option restricted to <paramref name="choices"/>.</summary>
    public string Choice(string name, string fallback, params string[] choices)
    {
        var s = String(name, fallback)!;
        if (!choices.Contains(s, StringComparer.Ordinal)) throw new UsageException($"--{name} must be one of {string.Join(", ", choices)}, got '{s}'");
        return s;
    }

    /// <summary>Throws for any option that no getter asked for (a typo or an option of another command).</summary>
    public void EnsureAllUsed()
    {
        var unknown = _values.Keys.Where(k => !_used.Contains(k)).ToArray();
        if (unknown.Length > 0) throw new UsageException($"unknown option{(unknown.Length > 1 ? "s" : "")} {string.Join(", ", unknown.Select(u => "--" + u))}");
    }
}
