using System.CommandLine;
using MiBounds.Commands;
using MiBounds.Vib.Data;
using MiBounds.Vib.Models;

namespace MiBounds.Vib.Commands;

/// <summary>
/// The image-model commands, listed explicitly (the mibounds host adds them to its root). Each command file holds its
/// own factory method of this partial class.
/// </summary>
public static partial class VibCommands
{
    /// <summary>vib, vim, baseline, robustness, plot, dim, hypothesis and robustness-table.</summary>
    public static IEnumerable<Command> Create() =>
    [
        CreateTraining(ModelKind.Vib),
        CreateTraining(ModelKind.Vim),
        CreateTraining(ModelKind.Deterministic),
        CreateRobustness(),
        CreatePlot(),
        CreateDim(),
        CreateHypothesis(),
        CreateRobustnessTable(),
    ];

    private const string DataHelp = "IDX directory (default /usr/share/datasets/fashion-mnist)";
    private const string ThreadsHelp = "kernel threads (default: all cores)";

    // DataException (a missing or corrupt data file or checkpoint) is bad data: the host's one-line error, exit code 2.
    private static Command WithVibAction(this Command command, Func<CommandRun, int> action) => command.WithAction(run =>
    {
        try { return action(run); }
        catch (DataException e) { throw new InvalidDataException(e.Message, e); }
    });

    // The run's token reaches the trainers between epochs only: they take no token yet.
    private static bool StopRequested(CommandRun run, string outDir)
    {
        if (!run.Cancellation.IsCancellationRequested) return false;
        run.Out.WriteLine($"interrupted: the last finished epoch is checkpointed; continue with --resume --out {outDir}");
        return true;
    }
}
