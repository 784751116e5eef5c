using System.Globalization;
using System.Text;
using MiBounds.Tensors;
using MiBounds.Vib.Reports;
using MiBounds.Vib.Training;

namespace MiBounds.Vib.Reproductions;

/// <summary>
/// What the two paper reproductions share: the run loop (train each planned run, then its analyses, skipping what is
/// done), reading results back, and the report's common sections.
/// </summary>
public abstract class Reproduction(ReproductionSettings settings, RunScheduler scheduler, Action<string> log)
{
    /// <summary>The settings.</summary>
    protected ReproductionSettings Settings { get; } = settings;
    /// <summary>Trains and loads the runs.</summary>
    protected RunScheduler Scheduler { get; } = scheduler;
    /// <summary>Progress lines.</summary>
    protected Action<string> Log { get; } = log;

    /// <summary>The command's name (vib or vim).</summary>
    public abstract string Command { get; }

    /// <summary>Every run, in the order they are trained (the tables' runs first).</summary>
    public abstract IReadOnlyList<PlannedRun> Plan();

    /// <summary>The analyses of one trained run, each skipped when its JSON exists with the same settings.</summary>
    protected abstract void Analyse(PlannedRun run, Lazy<VibTrainer> trainer);

    /// <summary>Writes the report and its figures from the JSON results alone.</summary>
    public abstract void WriteReport();

    /// <summary>Trains every run and runs its analyses; false when interrupted (everything done so far is kept).</summary>
    public bool Run()
    {
        foreach (var run in Plan())
        {
            if (Scheduler.Cancelled || !Scheduler.Train(run)) return false;
            if (!Scheduler.HasCheckpoint(run)) continue; // diverged before its first checkpoint: no model to analyse
            Analyse(run, new Lazy<VibTrainer>(() => Scheduler.Load(run)!));
            if (Scheduler.Cancelled) return false;
        }
        return true;
    }

    /// <summary>
    /// Runs <paramref name="compute"/> unless the run folder holds <paramref name="file"/> accepted by <paramref name="valid"/>
    /// and computed on the model as it is now: beside the file, <c>FILE.epochs</c> records the epochs the run had trained,
    /// so a run trained further (a larger --epochs) is analysed again; a file without that record is recomputed.
    /// </summary>
    protected void Cached<T>(PlannedRun run, string file, Func<T, bool> valid, Func<T> compute, string what) where T : class
    {
        string dir = run.Folder(Settings.Root), epochsFile = Path.Combine(dir, file + ".epochs");
        string epochs = (Last(run)?.Epoch ?? 0).ToString(CultureInfo.InvariantCulture);
        if (ReproductionAnalyses.Read(dir, file, valid) is not null && File.Exists(epochsFile) && File.ReadAllText(epochsFile).Trim() == epochs) return;
        Log($"{run.Name}: {what} (model after {epochs} epochs)");
        var watch = System.Diagnostics.Stopwatch.StartNew();
        ReproductionAnalyses.Write(dir, file, compute());
        AtomicFile.WriteAllText(epochsFile, epochs + "\n");
        Log(string.Create(CultureInfo.InvariantCulture, $"{run.Name}: {what} done in {watch.Elapsed.TotalSeconds:F0}s"));
    }

    /// <summary>A run's analysis result, or null.</summary>
    protected T? Result<T>(PlannedRun run, string file) where T : class => ReproductionAnalyses.Read<T>(run.Folder(Settings.Root), file);

    /// <summary>A run's last epoch, or null when it has not finished one.</summary>
    protected EpochRecord? Last(PlannedRun run) => Scheduler.Summary(run)?.Last;

    /// <summary>The header: dataset, seeds, the command, compute time and run status.</summary>
    protected void Header(StringBuilder md, string title, string paper)
    {
        var runs = Plan();
        var summaries = runs.Select(r => (r, s: Scheduler.Summary(r), diverged: Scheduler.Divergence(r))).ToList();
        double seconds = summaries.Sum(p => p.s?.Results.Epochs.Sum(e => e.Seconds) ?? 0);
        int finished = summaries.Count(p => p.s?.Last is { } l && l.Epoch >= p.r.Config.Epochs);
        var inv = CultureInfo.InvariantCulture;
        md.AppendLine($"# {title}").AppendLine();
        md.AppendLine($"Reproduction of {paper}, written by `reproduce {Command}` from the JSON results in `{Settings.Root}` (rebuild with `--report-only`).").AppendLine();
        md.AppendLine($"- Data: **{Settings.DatasetName}**{(Settings.IsMnist ? "" : " (the papers use MNIST: their numbers are shown beside ours for orientation, not as a target)")}" +
            (Settings.TrainCount > 0 || Settings.TestCount > 0 ? string.Create(inv, $"; **subset**: {Settings.TrainCount} training / {Settings.TestCount} test images (a smoke run, not a result)") : ""));
        md.AppendLine(string.Create(inv, $"- Runs: {finished} of {runs.Count} finished (each at its epoch budget: {string.Join(", ", runs.Select(r => r.Config.Epochs).Distinct())}); training time {seconds / 3600:F2} h (sum of the epochs' seconds; analyses not included)"));
        md.AppendLine(string.Create(inv, $"- Seed: {Settings.Seed} for every run (initialization, noise, shuffles); attacks seeded from it"));
        md.AppendLine($"- Command: `{Settings.CommandLine(Command)}`");
        md.AppendLine();
        md.AppendLine("| run | epochs | test err (1) | test err (12) | train err (1) | s/epoch |").AppendLine("|---|---|---|---|---|---|");
        foreach (var (r, s, divergence) in summaries)
        {
            var e = s?.Last;
            double secs = s is null || s.Results.Epochs.Count == 0 ? double.NaN : s.Results.Epochs.Select(x => x.Seconds).Order().ElementAt(s.Results.Epochs.Count / 2);
            bool diverged = divergence is not null;
            string epochs = e is null ? (diverged ? "none (diverged)" : "not started") : e.Epoch.ToString(inv) + (diverged ? " (then diverged)" : "");
            md.AppendLine($"| {r.Name} | {epochs} | {Fmt.Err(e?.TestAcc1 ?? double.NaN)} | {Fmt.Err(e?.TestAcc12 ?? double.NaN)} | {Fmt.Err(e?.TrainAcc1 ?? double.NaN)} | {Fmt.Num(secs, "F1")} |");
        }
        md.AppendLine();
        foreach (var (r, _, message) in summaries.Where(p => p.diverged is not null))
            md.AppendLine($"- {r.Name} diverged while training further ({message}); its table rows and analyses use its last checkpoint.");
        if (summaries.Any(p => p.diverged is not null)) md.AppendLine();
    }

    /// <summary>A claim of the paper and whether it holds on our numbers (never tuned: a claim that fails is reported as failing).</summary>
    protected static string Claim(string claim, bool? holds, string numbers) =>
        $"- {claim}: **{(holds is null ? "not measured yet" : holds.Value ? "holds" : "does not hold")}** ({numbers})";

    /// <summary>Writes the Markdown file atomically (its folder created).</summary>
    protected void Save(StringBuilder md)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(Settings.Report))!);
        AtomicFile.WriteAllText(Settings.Report, md.ToString());
    }
}
