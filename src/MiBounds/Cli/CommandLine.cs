using System.Globalization;

namespace MiBounds.Cli;

/// <summary>A command-line mistake; the programs print its message on one line and exit with code 2.</summary>
public sealed class UsageException(string message) : Exception(message);

/// <summary>
/// Parsed <c>--name value</c> and <c>--flag</c> options of one command. Typed getters validate and throw
/// <see cref="UsageException"/> naming the option; <see cref="EnsureAllUsed"/> rejects unknown options.
/// </summary>
public sealed class ParsedOptions
{
    private readonly Dictionary<string, string?> _values = new(StringComparer.Ordinal);
    private readonly HashSet<string> _used = new(StringComparer.Ordinal);

    /// <summary>Parses <paramref name="args"/>: each option starts with "--"; a value follows unless the next token is an option or absent.</summary>
    public ParsedOptions(IReadOnlyList<string> args)
    {
        for (int i = 0; i < args.Count; i++)
        {
            string a = args[i];
            if (!a.StartsWith("--", StringComparison.Ordinal) || a.Length == 2)
                throw new UsageException($"unexpected argument '{a}' (options look like --name value)");
            string name = a[2..];
            string? value = null;
            int eq = name.IndexOf('=');
            if (eq >= 0) { value = name[(eq + 1)..]; name = name[..eq]; }
            else if (i + 1 < args.Count && !(args[i + 1].StartsWith("--", StringComparison.Ordinal))) value = args[++i];
            if (!_values.TryAdd(name, value)) throw new UsageException($"option --{name} given twice");
        }
    }

    /// <summary>Whether the option was given.</summary>
    public bool Has(string name) { _used.Add(name); return _values.ContainsKey(name); }

    /// <summary>A boolean flag (present = true; "--x false" also accepted).</summary>
    public bool Flag(string name)
    {
        if (!Has(name)) return false;
        var v = _values[name];
        if (v is null) return true;
        return bool.TryParse(v, out bool b) ? b : throw new UsageException($"--{name} takes no value or true/false, got '{v}'");
    }

    /// <summary>A string option, or <paramref name="fallback"/>.</summary>
    public string String(string name, string fallback) => Has(name) ? Required(name) : fallback;

    /// <summary>A string option that may be absent.</summary>
    public string? OptionalString(string name) => Has(name) ? Required(name) : null;

    private string Required(string name) => _values[name] ?? throw new UsageException($"--{name} needs a value");

    /// <summary>An integer option within [min, max].</summary>
    public int Int(string name, int fallback, int min = int.MinValue, int max = int.MaxValue)
    {
        if (!Has(name)) return fallback;
        string v = Required(name);
        if (!int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out int x)) throw new UsageException($"--{name} must be an integer, got '{v}'");
        if (x < min || x > max) throw new UsageException($"--{name} must be {Range(min, max)}, got {x}");
        return x;
    }

    /// <summary>A real option within [min, max].</summary>
    public double Double(string name, double fallback, double min = double.NegativeInfinity, double max = double.PositiveInfinity)
    {
        if (!Has(name)) return fallback;
        string v = Required(name);
        if (!double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out double x) || double.IsNaN(x)) throw new UsageException($"--{name} must be a number, got '{v}'");
        if (x < min || x > max) throw new UsageException($"--{name} must be {Range(min, max)}, got {x.ToString(CultureInfo.InvariantCulture)}");
        return x;
    }

    /// <summary>A comma-separated list of reals, each within [min, max].</summary>
    public double[] Doubles(string name, double[] fallback, double min = double.NegativeInfinity, double max = double.PositiveInfinity)
    {
        if (!Has(name)) return fallback;
        var parts = Required(name).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (parts.Length == 0) throw new UsageException($"--{name} needs at least one value");
        return parts.Select(p =>
        {
            if (!double.TryParse(p, NumberStyles.Float, CultureInfo.InvariantCulture, out double x) || double.IsNaN(x)) throw new UsageException($"--{name}: '{p}' is not a number");
            if (x < min || x > max) throw new UsageException($"--{name}: each value must be {Range(min, max)}, got {p}");
            return x;
        }).ToArray();
    }

    /// <summary>One of a fixed set of words.</summary>
    public string Choice(string name, string fallback, params string[] allowed)
    {
        if (!Has(name)) return fallback;
        string v = Required(name).ToLowerInvariant();
        return allowed.Contains(v) ? v : throw new UsageException($"--{name} must be one of {string.Join(", ", allowed)}, got '{v}'");
    }

    /// <summary>Throws if an option was given that no getter asked for (a typo, or an option of another command).</summary>
    public void EnsureAllUsed()
    {
        var unknown = _values.Keys.Where(k => !_used.Contains(k)).ToArray();
        if (unknown.Length > 0) throw new UsageException($"unknown option{(unknown.Length > 1 ? "s" : "")} {string.Join(", ", unknown.Select(u => "--" + u))}");
    }

    private static string Range(double min, double max) =>
        double.IsNegativeInfinity(min) ? $"≤ {max.ToString(CultureInfo.InvariantCulture)}"
        : double.IsPositiveInfinity(max) || max == int.MaxValue ? $"≥ {min.ToString(CultureInfo.InvariantCulture)}"
        : $"in [{min.ToString(CultureInfo.InvariantCulture)}, {max.ToString(CultureInfo.InvariantCulture)}]";
}

/// <summary>
/// A tiny command dispatcher shared by the programs: named commands, a help listing, and the error convention
/// (usage and input errors print one line to stderr and return exit code 2).
/// </summary>
public sealed class CommandSet(string program)
{
    private readonly SortedDictionary<string, (string Help, Func<ParsedOptions, int> Run)> _commands = new(StringComparer.Ordinal);

    /// <summary>Registers a command.</summary>
    public void Add(string name, string help, Func<ParsedOptions, int> run) => _commands.Add(name, (help, run));

    /// <summary>Runs the command named by args[0]; returns the process exit code.</summary>
    public int Run(string[] args, TextWriter? error = null)
    {
        error ??= Console.Error;
        if (args.Length == 0 || args[0] is "help" or "--help" or "-h")
        {
            Console.WriteLine($"usage: {program} <command> [--option value ...]");
            foreach (var (name, (help, _)) in _commands) Console.WriteLine($"  {name,-14} {help}");
            return args.Length == 0 ? 2 : 0;
        }
        if (!_commands.TryGetValue(args[0], out var command))
        {
            error.WriteLine($"{program}: unknown command '{args[0]}' (commands: {string.Join(", ", _commands.Keys)})");
            return 2;
        }
        try
        {
            return command.Run(new ParsedOptions(args[1..]));
        }
        catch (Exception e) when (e is UsageException or FormatException or ArgumentException or IOException or InvalidDataException or UnauthorizedAccessException)
        {
            error.WriteLine($"{program} {args[0]}: {e.Message}");
            return 2;
        }
    }
}
