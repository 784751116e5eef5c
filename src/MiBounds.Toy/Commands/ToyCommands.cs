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
}
