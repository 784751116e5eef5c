using System.Globalization;
using MiBounds.Tensors;
using MiBounds.Training;
using MiBounds.Vib.Data;
using MiBounds.Vib.Models;
using MiBounds.Vib.Reports;
using MiBounds.Vib.Training;

namespace MiBounds.Vib.Reproductions;

/// <summary>One training run of a reproduction: an ordinary vib/vim/baseline run folder named after its settings.</summary>
/// <param name="Name">Folder name, e.g. vib-k256-b1e-03-s1.</param>
/// <param name="Config">The run's configuration (written as run.json).</param>
public sealed record PlannedRun(string Name, TrainConfig Config)
{
    /// <summary>A run named by model, K, β (stochastic models), σ (when not 1 or for VIM), the covariance and the encoder.</summary>
    public static PlannedRun Of(TrainConfig config)
    {
        var inv = CultureInfo.InvariantCulture;
        string name = config.ModelName + "-k" + config.Bottleneck.ToString(inv);
        if (config.Kind is ModelKind.Vib or ModelKind.Vim) name += "-b" + config.Beta.ToString("0e+00", inv).Replace("+", "", StringComparison.Ordinal);
        if (config.Kind == ModelKind.Vim || config.PriorSigma != 1) name += "-s" + config.PriorSigma.ToString("0.###", inv);
        if (config.FullCovariance) name += "-full";
        if (config.Encoder == EncoderKind.Conv) name += "-conv";
        return new PlannedRun(name, config);
    }

    /// <summary>The run's folder under <paramref name="root"/>.</summary>
    public string Folder(string root) => Path.Combine(root, Name);
}

/// <summary>How a reproduction's runs are trained: skipped when finished, resumed when partial, started otherwise.</summary>
public sealed class RunScheduler(string root, ImageData data, Action<string> log, CancellationToken cancellation)
{
    /// <summary>The folder holding every run.</summary>
    public string Root { get; } = root;
    /// <summary>The data the runs train on.</summary>
    public ImageData Data { get; } = data;

    /// <summary>
    /// Trains <paramref name="run"/> to its epoch budget through <see cref="VibTrainer"/>; returns false when interrupted
    /// (the run's checkpoint is written, and the next call resumes it). A folder holding another configuration is refused.
    /// </summary>
    public bool Train(PlannedRun run)
    {
        string dir = run.Folder(Root);
        Directory.CreateDirectory(dir);
        string runFile = Path.Combine(dir, "run.json");
        bool hasCheckpoint = HasCheckpoint(run);
        if (File.Exists(runFile) && hasCheckpoint)
        {
            var saved = TrainConfig.FromJson(File.ReadAllText(runFile), runFile);
            if (saved with { Epochs = run.Config.Epochs } != run.Config)
                throw new DataException($"{runFile}: the run in this folder has other settings than the reproduction's {run.Name}; move it away");
        }
        AtomicFile.WriteAllText(runFile, run.Config.ToJson());
        var trainer = new VibTrainer(run.Config, Data, dir, cancellation);
        if (hasCheckpoint) trainer.Resume();
        if (trainer.EpochsDone >= run.Config.Epochs) { log($"{run.Name}: finished ({trainer.EpochsDone} epochs)"); return true; }
        string divergedFile = Path.Combine(dir, DivergedFile);
        if (Divergence(run) is { } earlier)
        {
            // Training again from the same checkpoint and seed would diverge at the same step.
            log($"{run.Name}: kept at epoch {trainer.EpochsDone}: it diverged in an earlier run ({earlier}); delete {divergedFile} to train it again");
            return true;
        }
        log(hasCheckpoint ? $"{run.Name}: resuming after epoch {trainer.EpochsDone}" : $"{run.Name}: training {run.Config.Epochs} epochs");
        FitResult fit;
        try
        {
            fit = trainer.Train(onEpoch: e => log(string.Create(CultureInfo.InvariantCulture,
                $"  {run.Name} epoch {e.Epoch}/{run.Config.Epochs} {e.Seconds:F0}s test err {100 * (1 - e.TestAcc1):F2}% (1) {100 * (1 - e.TestAcc12):F2}% (12)")));
        }
        catch (DataException e) when (e.InnerException is NonFiniteObjectiveException)
        {
            // One diverging run does not end the reproduction: it stays at its last checkpoint, and the report says so.
            AtomicFile.WriteAllText(divergedFile, e.Message + "\n");
            log($"{run.Name}: {e.Message}; kept at its last checkpoint (epoch {trainer.EpochsDone}), the reproduction goes on");
            return true;
        }
        if (fit.Reason == StopReason.Interrupted) return false;
        if (run.Config.Bottleneck == 2) RunFigures.Embedding(trainer, Path.Combine(dir, RunFigures.EmbeddingFile));
        return true;
    }

    /// <summary>The file a run's folder holds once its training diverged: the divergence's message.</summary>
    public const string DivergedFile = "diverged.txt";

    /// <summary>Why the run stopped short of its budget when its training diverged, or null.</summary>
    public string? Divergence(PlannedRun run)
    {
        string path = Path.Combine(run.Folder(Root), DivergedFile);
        return File.Exists(path) ? File.ReadAllText(path).Trim() : null;
    }

    /// <summary>Whether the run's folder holds a checkpoint (a model to analyse).</summary>
    public bool HasCheckpoint(PlannedRun run) => File.Exists(Path.Combine(run.Folder(Root), TrainingCheckpoint.FileName));

    /// <summary>The trained run restored from its checkpoint (averaged weights applied by the analyses), or null if it has none.</summary>
    public VibTrainer? Load(PlannedRun run)
    {
        string dir = run.Folder(Root);
        if (!HasCheckpoint(run)) return null;
        var trainer = new VibTrainer(run.Config, Data, dir);
        trainer.Resume();
        return trainer;
    }

    /// <summary>The run's summary (run.json and results), or null when it has not started.</summary>
    public RunSummary? Summary(PlannedRun run)
    {
        string dir = run.Folder(Root);
        return File.Exists(Path.Combine(dir, "run.json")) ? RunSummary.Load(dir) : null;
    }

    /// <summary>Whether cancellation was requested.</summary>
    public bool Cancelled => cancellation.IsCancellationRequested;
}
