using MiBounds.Cli;

namespace MiBounds.Toy;

/// <summary>The toy suite's command line: each command registers itself from its own file.</summary>
internal static partial class Program
{
    private static int Main(string[] args)
    {
        var commands = new CommandSet("MiBounds.Toy");
        foreach (var m in typeof(Program).GetMethods(System.Reflection.BindingFlags.Static | System.Reflection.BindingFlags.NonPublic))
            if (m.Name.StartsWith("Register", StringComparison.Ordinal) && m.GetParameters() is [{ ParameterType: var t }] && t == typeof(CommandSet))
                m.Invoke(null, [commands]);
        return commands.Run(args);
    }
}
