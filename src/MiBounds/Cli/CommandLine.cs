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

    /// <summary>A boolean flag (present = true; "--x false", "--x 0" and "--x 1" also accepted).</summary>
    public bool Flag(string name)
    {
        if (!Has(name)) return false;
        return _values[name] switch
        {
            null or "1" => true,
            "0" => false,
            var v when bool.TryParse(v, out bool b) => b,
            var v => throw new UsageException($"--{name} takes no value or true/false, got '{v}'"),
        };
    }

    /// <summary>A string option, or <paramref name="fallback"/>.</summary>
    public string String(string name, string fallback) => Has(name) ? Value(name) : fallback;

    /// <summary>A string option that may be absent.</summary>
    public string? OptionalString(string name) => Has(name) ? Value(name) : null;

    /// <summary>A string option that must be given.</summary>
    public string Required(string name) => OptionalString(name) ?? throw new UsageException($"--{name} is required");

    private string Value(string name) => _values[name] ?? throw new UsageException($"--{name} needs a value");

    /// <summary>An integer option within [min, max].</summary>
    public int Int(string name, int fallback, int min = int.MinValue, int max = int.MaxValue)
    {
        if (!Has(name)) return fallback;
        string v = Value(name);
        if (!int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out int x)) throw new UsageException($"--{name} must be an integer, got '{v}'");
        if (x < min || x > max) throw new UsageException($"--{name} must be {Range(min, max)}, got {x}");
        return x;
    }

    /// <summary>A real option within [min, max].</summary>
    public double Double(string name, double fallback, double min = double.NegativeInfinity, double max = double.PositiveInfinity)
    {
        if (!Has(name)) return fallback;
        string v = Value(name);
        if (!double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out double x) || double.IsNaN(x)) throw new UsageException($"--{name} must be a number, got '{v}'");
        if (x < min || x > max) throw new UsageException($"--{name} must be {Range(min, max)}, got {x.ToString(CultureInfo.InvariantCulture)}");
        return x;
    }

    /// <summary>A comma-separated list of reals, each within [min, max].</summary>
    public double[] Doubles(string name, double[] fallback, double min = double.NegativeInfinity, double max = double.PositiveInfinity)
    {
        if (!Has(name)) return fallback;
        var parts = Value(name).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
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
        string v = Value(name).ToLowerInvariant();
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
/// A tiny command dispatcher shared by the programs: named commands, a help listing, per-command usage text shown by
/// <c>&lt;command&gt; --help</c>, and the error convention: usage and input errors print one line to stderr and return
/// exit code 2, or 1 for the exception types registered with <see cref="TreatAsDataError{TException}"/>.
/// </summary>
public sealed class CommandSet(string program)
{
    private sealed record Command(string Help, string? Usage, Func<ParsedOptions, int> Run);

    private readonly SortedDictionary<string, Command> _commands = new(StringComparer.Ordinal);
    private readonly List<Type> _dataErrors = [];

    /// <summary>What starts each error line; null (the default) gives "program command: ".</summary>
    public string? ErrorPrefix { get; init; }

    /// <summary>Registers a command.</summary>
    public void Add(string name, string help, Func<ParsedOptions, int> run) => _commands.Add(name, new Command(help, null, run));

    /// <summary>Registers a command whose <paramref name="usage"/> text is printed (exit code 0) when its arguments include --help or -h.</summary>
    public void Add(string name, string help, string usage, Func<ParsedOptions, int> run) => _commands.Add(name, new Command(help, usage, run));

    /// <summary>
    /// Calls every static method of <paramref name="holder"/> whose name starts with "Register" and whose one parameter is
    /// a <see cref="CommandSet"/>, so each command can register itself from its own file.
    /// </summary>
    public void AddFrom(Type holder)
    {
        ArgumentNullException.ThrowIfNull(holder);
        foreach (var m in holder.GetMethods(System.Reflection.BindingFlags.Static | System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.NonPublic))
            if (m.Name.StartsWith("Register", StringComparison.Ordinal) && m.GetParameters() is [{ ParameterType: var t }] && t == typeof(CommandSet))
                m.Invoke(null, [this]);
    }

    /// <summary>Reports exceptions of type <typeparamref name="TException"/> (bad input data rather than a bad command line) on one line with exit code 1.</summary>
    public void TreatAsDataError<TException>() where TException : Exception => _dataErrors.Add(typeof(TException));

    /// <summary>Runs the command named by args[0]; returns the process exit code. Errors go to <paramref name="error"/>, help to <paramref name="output"/> (default: the console's).</summary>
    public int Run(string[] args, TextWriter? error = null, TextWriter? output = null)
    {
        error ??= Console.Error;
        output ??= Console.Out;
        if (args.Length == 0 || args[0] is "help" or "--help" or "-h")
        {
            bool anyUsage = _commands.Values.Any(c => c.Usage is not null);
            output.WriteLine($"usage: {program} <command> [--option value ...]{(anyUsage ? "   (<command> --help for its options)" : "")}");
            int width = Math.Max(14, _commands.Keys.Select(n => n.Length).DefaultIfEmpty(0).Max() + 1);
            foreach (var (name, command) in _commands) output.WriteLine($"  {name.PadRight(width)} {command.Help}");
            return args.Length == 0 ? 2 : 0;
        }
        if (!_commands.TryGetValue(args[0], out var chosen))
        {
            error.WriteLine($"{ErrorPrefix ?? program + ": "}unknown command '{args[0]}' (commands: {string.Join(", ", _commands.Keys)})");
            return 2;
        }
        if (chosen.Usage is not null && args.Skip(1).Any(a => a is "--help" or "-h"))
        {
            output.WriteLine(chosen.Usage);
            return 0;
        }
        try
        {
            return chosen.Run(new ParsedOptions(args[1..]));
        }
        catch (Exception e) when (IsDataError(e) || e is UsageException or FormatException or ArgumentException or IOException or InvalidDataException or UnauthorizedAccessException)
        {
            error.WriteLine($"{ErrorPrefix ?? $"{program} {args[0]}: "}{e.Message}");
            return IsDataError(e) ? 1 : 2;
        }
    }

    private bool IsDataError(Exception e) => _dataErrors.Exists(t => t.IsInstanceOfType(e));
}
