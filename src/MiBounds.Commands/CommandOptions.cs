using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;

namespace MiBounds.Commands;

/// <summary>
/// Typed options with the project's conventions: "--name" plus a description, a default shown by --help, a range whose
/// violation is one parse error naming the option, invariant-culture numbers, case-insensitive choices, and flags
/// that take no value (or true/false/1/0).
/// </summary>
public static class CommandOptions
{
    /// <summary>An integer within [min, max], <paramref name="fallback"/> when absent.</summary>
    public static Option<int> Int(string name, string description, int fallback, int min = int.MinValue, int max = int.MaxValue) =>
        new(name) { Description = description, DefaultValueFactory = _ => fallback, CustomParser = r => ParseInt(r, name, min, max) ?? fallback };

    /// <summary>An integer within [min, max] that may be absent (null); the command supplies the default.</summary>
    public static Option<int?> OptionalInt(string name, string description, int min = int.MinValue, int max = int.MaxValue) =>
        new(name) { Description = description, CustomParser = r => ParseInt(r, name, min, max) };

    /// <summary>A real within [min, max], <paramref name="fallback"/> when absent.</summary>
    public static Option<double> Double(string name, string description, double fallback, double min = double.NegativeInfinity, double max = double.PositiveInfinity) =>
        new(name) { Description = description, DefaultValueFactory = _ => fallback, CustomParser = r => ParseDouble(r, name, min, max) ?? fallback };

    /// <summary>A real within [min, max] that may be absent (null).</summary>
    public static Option<double?> OptionalDouble(string name, string description, double min = double.NegativeInfinity, double max = double.PositiveInfinity) =>
        new(name) { Description = description, CustomParser = r => ParseDouble(r, name, min, max) };

    /// <summary>A comma-separated list of reals, each within [min, max], <paramref name="fallback"/> when absent.</summary>
    public static Option<double[]> Doubles(string name, string description, double[] fallback, double min = double.NegativeInfinity, double max = double.PositiveInfinity)
    {
        var option = new Option<double[]>(name)
        {
            Description = description,
            CustomParser = r => ParseDoubles(r, name, min, max) ?? fallback,
            Arity = ArgumentArity.ExactlyOne,
        };
        option.DefaultValueFactory = _ => fallback;
        return option;
    }

    /// <summary>A comma-separated list of reals that may be absent (null).</summary>
    public static Option<double[]?> OptionalDoubles(string name, string description, double min = double.NegativeInfinity, double max = double.PositiveInfinity) =>
        new(name) { Description = description, CustomParser = r => ParseDoubles(r, name, min, max), Arity = ArgumentArity.ExactlyOne };

    /// <summary>A string, <paramref name="fallback"/> when absent.</summary>
    public static Option<string> String(string name, string description, string fallback) =>
        new(name) { Description = description, DefaultValueFactory = _ => fallback };

    /// <summary>A string that may be absent (null).</summary>
    public static Option<string?> OptionalString(string name, string description) => new(name) { Description = description };

    /// <summary>A string that must be given.</summary>
    public static Option<string> RequiredString(string name, string description) => new(name) { Description = description, Required = true };

    /// <summary>One of <paramref name="allowed"/> (compared in lower case), <paramref name="fallback"/> when absent.</summary>
    public static Option<string> Choice(string name, string description, string fallback, params string[] allowed) =>
        new(name)
        {
            Description = $"{description} ({string.Join("|", allowed)})",
            DefaultValueFactory = _ => fallback,
            CustomParser = r =>
            {
                if (r.Tokens.Count == 0) return fallback;
                string v = r.Tokens[0].Value.ToLowerInvariant();
                if (allowed.Contains(v)) return v;
                r.AddError($"{name} must be one of {string.Join(", ", allowed)}, got '{v}'");
                return fallback;
            },
        };

    /// <summary>A flag: "--name" alone is true; "--name true|false|1|0" also accepted.</summary>
    public static Option<bool> Flag(string name, string description) =>
        new(name)
        {
            Description = description,
            Arity = ArgumentArity.ZeroOrOne,
            CustomParser = r =>
            {
                if (r.Tokens.Count == 0) return true;
                return r.Tokens[0].Value switch
                {
                    "1" => true,
                    "0" => false,
                    var v when bool.TryParse(v, out bool b) => b,
                    var v => Fail(r, $"{name} takes no value or true/false, got '{v}'", false),
                };
            },
        };

    private static T Fail<T>(ArgumentResult r, string message, T value)
    {
        r.AddError(message);
        return value;
    }

    private static int? ParseInt(ArgumentResult r, string name, int min, int max)
    {
        if (r.Tokens.Count == 0) return null;
        string v = r.Tokens[0].Value;
        if (!int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out int x)) return Fail<int?>(r, $"{name} must be an integer, got '{v}'", null);
        if (x < min || x > max) return Fail<int?>(r, $"{name} must be {Range(min, max)}, got {x}", null);
        return x;
    }

    private static double? ParseDouble(ArgumentResult r, string name, double min, double max)
    {
        if (r.Tokens.Count == 0) return null;
        string v = r.Tokens[0].Value;
        if (!double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out double x) || double.IsNaN(x)) return Fail<double?>(r, $"{name} must be a number, got '{v}'", null);
        if (x < min || x > max) return Fail<double?>(r, $"{name} must be {Range(min, max)}, got {x.ToString(CultureInfo.InvariantCulture)}", null);
        return x;
    }

    private static double[]? ParseDoubles(ArgumentResult r, string name, double min, double max)
    {
        if (r.Tokens.Count == 0) return null;
        var parts = r.Tokens[0].Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (parts.Length == 0) return Fail<double[]?>(r, $"{name} needs at least one value", null);
        var values = new double[parts.Length];
        for (int i = 0; i < parts.Length; i++)
        {
            if (!double.TryParse(parts[i], NumberStyles.Float, CultureInfo.InvariantCulture, out double x) || double.IsNaN(x)) return Fail<double[]?>(r, $"{name}: '{parts[i]}' is not a number", null);
            if (x < min || x > max) return Fail<double[]?>(r, $"{name}: each value must be {Range(min, max)}, got {parts[i]}", null);
            values[i] = x;
        }
        return values;
    }

    private static string Range(double min, double max) =>
        double.IsNegativeInfinity(min) || min == int.MinValue ? $"≤ {max.ToString(CultureInfo.InvariantCulture)}"
        : double.IsPositiveInfinity(max) || max == int.MaxValue ? $"≥ {min.ToString(CultureInfo.InvariantCulture)}"
        : $"in [{min.ToString(CultureInfo.InvariantCulture)}, {max.ToString(CultureInfo.InvariantCulture)}]";
}
