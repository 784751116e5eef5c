using System.CommandLine;
using MiBounds.Commands;
using MiBounds.Tensors;
using MiBounds.Training;
using MiBounds.Vib.Training;
using Spectre.Console;
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

    /// <summary>The image models' reproductions (subcommands of `reproduce`): vib, vim, guess-first and dim.</summary>
    public static IEnumerable<Command> Reproductions() => [.. CreateVibReproductions(), CreateReproduceGuessFirst(), CreateReproduceDim()];

    private const string DataHelp = "IDX directory (default /usr/share/datasets/fashion-mnist)";
    private const string ThreadsHelp = "kernel threads (default: all cores)";

    // DataException (a missing or corrupt data file or checkpoint) is bad data: the host's one-line error, exit code 2.
    private static Command WithVibAction(this Command command, Func<CommandRun, int> action) => command.WithAction(run =>
    {
        try { return action(run); }
        catch (DataException e) { throw new InvalidDataException(e.Message, e); }
    });

    /// <summary>
    /// The run folder rule of every training command: --resume needs DIR/run.json with the same options except the
    /// epoch budget (<paramref name="sameRun"/>) and a checkpoint; without --resume, DIR must not hold a run already.
    /// Then run.json is (re)written. Returns its path.
    /// </summary>
    private static string PrepareRunFolder(string outDir, bool resume, string configJson, Func<string, string, bool> sameRun)
    {
        var runFile = Path.Combine(outDir, "run.json");
        string checkpoint = Path.Combine(outDir, TrainingCheckpoint.FileName);
        if (resume)
        {
            if (!File.Exists(runFile)) throw new UsageException($"--resume: {runFile} not found (nothing to resume in {outDir})");
            if (!sameRun(File.ReadAllText(runFile), runFile))
                throw new UsageException($"--resume: the options differ from the run in {outDir} ({runFile}); give the same ones (only --epochs may change)");
            if (!File.Exists(checkpoint))
                throw new UsageException($"--resume: {outDir} holds no checkpoint yet (the run was killed before its first checkpoint); start it again without --resume");
        }
        else if (File.Exists(checkpoint))
            throw new UsageException($"{outDir} already holds a run; add --resume to continue it or choose another --out");
        AtomicFile.WriteAllText(runFile, configJson);
        return runFile;
    }

    // With --resume: restores the folder's checkpoint and says where the run continues.
    private static void ResumeIfAsked<TRecord>(CommandRun run, EpochTrainer<TRecord> trainer, bool resume, string outDir)
    {
        if (!resume) return;
        int epochs = trainer.Resume();
        run.Out.WriteLine(trainer.StepInEpoch > 0 ? $"resumed {outDir} in epoch {epochs + 1}, after batch {trainer.StepInEpoch}/{trainer.StepsPerEpoch}" : $"resumed {outDir} after epoch {epochs}");
    }

    // The trainer checkpointed mid-epoch: --resume continues from the very next batch.
    private static int Interrupted(CommandRun run, string command, string outDir, FitResult fit)
    {
        run.Out.WriteLine($"interrupted after {fit.Steps} steps ({fit.Epochs} epochs done): continue with  {command} --resume --out {outDir}");
        return CommandHost.Interrupted;
    }

    /// <summary>
    /// Runs <paramref name="train"/> (which takes the per-step callback) with progress: on a terminal a bar per epoch,
    /// otherwise (a log file, a pipe) a plain line every quarter epoch.
    /// </summary>
    private static FitResult WithProgress(CommandRun run, Func<Action<StepReport>, FitResult> train)
    {
        if (!run.Interactive)
            return train(s =>
            {
                if (s.StepInEpoch % Math.Max(1, s.StepsPerEpoch / 4) == 0 && s.StepInEpoch < s.StepsPerEpoch) run.Out.WriteLine($"  batch {s.StepInEpoch}/{s.StepsPerEpoch}");
            });
        FitResult? result = null;
        run.Console.Progress().Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                ProgressTask? task = null;
                result = train(s =>
                {
                    task ??= ctx.AddTask($"epoch {s.Epoch + 1}", maxValue: s.StepsPerEpoch);
                    task.Value = s.StepInEpoch;
                    if (s.StepInEpoch == s.StepsPerEpoch) { task.StopTask(); task = null; }
                });
                task?.StopTask();
            });
        return result!;
    }
}
