using MiBounds.Cli;
using MiBounds.Vib.Data;

namespace MiBounds.Vib.Commands;

/// <summary>
/// The command line. Each command file adds a `static void Register…(CommandSet)` method to this partial class;
/// <see cref="Dispatch"/> collects them with <see cref="CommandSet.AddFrom"/> and runs the core dispatcher
/// (usage errors exit 2, <see cref="DataException"/>s exit 1, both as one line starting "error: ").
/// </summary>
internal static partial class VibCommands
{
    /// <summary>Runs the command named by args[0]; returns the exit code.</summary>
    internal static int Dispatch(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var commands = new CommandSet("MiBounds.Vib") { ErrorPrefix = "error: " };
        commands.TreatAsDataError<DataException>();
        commands.AddFrom(typeof(VibCommands));
        return commands.Run(args, stderr, stdout);
    }
}
