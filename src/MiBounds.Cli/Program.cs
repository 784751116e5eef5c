using System.CommandLine;
using System.CommandLine.Help;
using MiBounds.Commands;
using MiBounds.Toy.Commands;
using MiBounds.Vib.Commands;

namespace MiBounds.Cli;

/// <summary>
/// The mibounds command line: `mibounds &lt;command&gt; [options]` as the installed tool (MiBounds.Cli), or
/// `dotnet run --project src/MiBounds.Cli -c Release -- &lt;command&gt; [options]` in a checkout.
/// The only project that sees both command lists; each library lists its own commands.
/// </summary>
public static class Program
{
    /// <summary>The program's name in usage lines and messages: the tool's command, not the assembly (mibounds-cli).</summary>
    public const string Name = "mibounds";

    /// <summary>The root command with every toy-suite and image-model command.</summary>
    public static Command CreateRoot()
    {
        // Not a RootCommand: that takes its name from the assembly file, which cannot be "mibounds" (see the csproj).
        var root = new Command(Name, "Mutual-information bounds: the toy suite (sweep, estimate, ...) and the image models (vib, dim, hypothesis, ...).")
        {
            new HelpOption(),
            new VersionOption(),
        };
        foreach (var command in ToyCommands.Create().Concat(VibCommands.Create())) root.Subcommands.Add(command);
        // One `reproduce` command gathers each library's paper reproductions.
        var reproduce = new Command("reproduce", "run a paper's protocol and write its report (docs/reproductions/<paper>.md)");
        foreach (var command in ToyCommands.Reproductions().Concat(VibCommands.Reproductions())) reproduce.Subcommands.Add(command);
        root.Subcommands.Add(reproduce);
        return root;
    }

    private static int Main(string[] args) => CommandHost.Run(CreateRoot(), args);
}
