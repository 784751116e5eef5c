using System.CommandLine;
using MiBounds.Commands;
using MiBounds.Toy.Commands;

namespace MiBounds.Toy.Tests;

/// <summary>Runs toy commands through the command host as the program does, with captured output and no signal handlers.</summary>
internal static class Cli
{
    public static (int Code, string Out, string Err) Run(params string[] args) => Run(ToyCommands.Create(), args);

    public static (int Code, string Out, string Err) Run(IEnumerable<Command> commands, string[] args, Interruption? interruption = null)
    {
        var root = new RootCommand("toy tests");
        foreach (var c in commands) root.Subcommands.Add(c);
        var output = new StringWriter();
        var error = new StringWriter();
        using var own = interruption is null ? new Interruption() : null;
        int code = CommandHost.Run(root, args, output, error, interruption ?? own!);
        return (code, output.ToString(), error.ToString());
    }
}
