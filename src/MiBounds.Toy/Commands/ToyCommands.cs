using System.CommandLine;

namespace MiBounds.Toy.Commands;

/// <summary>The toy suite's commands, listed explicitly (the mibounds host adds them to its root).</summary>
public static class ToyCommands
{
    /// <summary>sweep, estimate, optimal, tasks and bench-tasks.</summary>
    public static IEnumerable<Command> Create() =>
    [
        SweepCommand.Create(),
        EstimateCommand.Create(),
        OptimalCommand.Create(),
        TasksCommand.Create(),
        BenchTasksCommand.Create(),
    ];

    /// <summary>The toy suite's reproductions (subcommands of `reproduce`): poole.</summary>
    public static IEnumerable<Command> Reproductions() => [MiBounds.Toy.Reproductions.PooleCommand.Create()];
}
