using MiBounds.Cli;

namespace MiBounds.Toy;

/// <summary>The toy suite's command line: each command registers itself from its own file.</summary>
internal static partial class Program
{
    private static int Main(string[] args)
    {
        var commands = new CommandSet("MiBounds.Toy");
        commands.AddFrom(typeof(Program));
        return commands.Run(args);
    }
}
