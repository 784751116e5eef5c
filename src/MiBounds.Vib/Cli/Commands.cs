using System.Reflection;

namespace MiBounds.Vib;

/// <summary>A command of the command line: its name, a one-line description, a usage text and the action (returns an exit code).</summary>
internal sealed record Command(string Name, string Description, string Usage, Func<Options, int> Run);

/// <summary>
/// The command table. Each command file adds a `static void Register…()` method to this partial class that calls
/// <see cref="Add"/>; <see cref="Dispatch"/> finds those methods by reflection.
/// </summary>
internal static partial class Commands
{
    private static readonly Dictionary<string, Command> Table = new(StringComparer.Ordinal);
    private static bool _registered;

    /// <summary>Adds a command (names must be unique).</summary>
    internal static void Add(Command command)
    {
        if (!Table.TryAdd(command.Name, command)) throw new InvalidOperationException($"command '{command.Name}' is registered twice");
    }

    /// <summary>All registered commands, by name.</summary>
    internal static IReadOnlyDictionary<string, Command> All
    {
        get { RegisterAll(); return Table; }
    }

    private static void RegisterAll()
    {
        if (_registered) return;
        _registered = true;
        foreach (var m in typeof(Commands).GetMethods(BindingFlags.Static | BindingFlags.NonPublic))
            if (m.Name.StartsWith("Register", StringComparison.Ordinal) && m.Name != nameof(RegisterAll) && m.GetParameters().Length == 0)
                m.Invoke(null, null);
    }

    /// <summary>Runs the command named by args[0]; usage errors print one line and return 2.</summary>
    internal static int Dispatch(string[] args, TextWriter stdout, TextWriter stderr)
    {
        RegisterAll();
        if (args.Length == 0 || args[0] is "help" or "--help" or "-h")
        {
            stdout.WriteLine("usage: <command> [options]   (<command> --help for its options)");
            foreach (var c in Table.Values.OrderBy(c => c.Name, StringComparer.Ordinal)) stdout.WriteLine($"  {c.Name,-12} {c.Description}");
            return args.Length == 0 ? 2 : 0;
        }
        if (!Table.TryGetValue(args[0], out var command))
        {
            stderr.WriteLine($"error: unknown command '{args[0]}' (known: {string.Join(", ", Table.Keys.Order(StringComparer.Ordinal))})");
            return 2;
        }
        if (args.Skip(1).Any(a => a is "--help" or "-h"))
        {
            stdout.WriteLine(command.Usage);
            return 0;
        }
        try
        {
            var options = Options.Parse(args[1..]);
            int rc = command.Run(options);
            return rc;
        }
        catch (UsageException e)
        {
            stderr.WriteLine($"error: {e.Message}");
            return 2;
        }
        catch (DataException e)
        {
            stderr.WriteLine($"error: {e.Message}");
            return 1;
        }
    }
}

/// <summary>A bad command line: reported as one line, exit code 2.</summary>
internal sealed class UsageException(string message) : Exception(message);
