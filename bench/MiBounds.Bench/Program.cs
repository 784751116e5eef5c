using System.CommandLine;
using BenchmarkDotNet.Running;
using MiBounds.Commands;

namespace MiBounds.Bench;

/// <summary>
/// Entry point. `dotnet run -c Release --project bench/MiBounds.Bench -- &lt;command&gt;` runs one of the
/// command-line measurements of <see cref="BenchCommands.Create"/>; anything else goes to BenchmarkDotNet's switcher
/// (e.g. `-- --filter '*Gemm*'`).
/// </summary>
internal static class Program
{
    private static int Main(string[] args)
    {
        var root = new RootCommand("MiBounds measurements; anything that is not one of these commands goes to BenchmarkDotNet (e.g. --filter '*')");
        foreach (var command in BenchCommands.Create()) root.Subcommands.Add(command);
        if (args.Length > 0 && (args[0] is "--help" or "-h" or "-?" || root.Subcommands.Any(c => c.Name == args[0])))
            return CommandHost.Run(root, args);
        if (args is ["list"]) return CommandHost.Run(root, ["--help"]);
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
        return 0;
    }
}

/// <summary>The measurement commands, listed explicitly.</summary>
internal static class BenchCommands
{
    public static IEnumerable<Command> Create() =>
        [.. GemmCommandList.Create(), .. StepsCommandList.Create(), .. EngineCommandList.Create(), .. KernelCommandList.Create(), .. ModelCommandList.Create(), .. EvalCommandList.Create()];

    // The measurements parse their own options (described in the command's text): every token after the name goes to them.
    public static Command PassThrough(string name, string description, Func<string[], int> run) =>
        new Command(name, description) { TreatUnmatchedTokensAsErrors = false }.WithAction(r => run([.. r.Parse.UnmatchedTokens]));
}
