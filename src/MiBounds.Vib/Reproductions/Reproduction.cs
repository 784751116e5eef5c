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
        md.AppendLine($"Reproduction of {paper}, written by `reproduce {Command}` from the JSON results in `{Settings.Root}` (rebuild with `--report-only`); the numbers it was built from are in `{Path.GetFileName(Settings.FigureFolder)}/results.json` beside it.").AppendLine();
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

    /// <summary>
    /// "Where training stands": test error (12 samples) vs epoch of <paramref name="runs"/> as a figure, and a table of each
    /// run's error at the end, its best epoch and the change over its last quarter of epochs (negative: still improving).
    /// </summary>
    protected void TrainingCurves(StringBuilder md, IReadOnlyList<(string Label, PlannedRun Run)> runs, string paperLength)
    {
        var inv = CultureInfo.InvariantCulture;
        md.AppendLine("## Where training stands").AppendLine();
        md.AppendLine($"Test error (12 samples) after each epoch; {paperLength}. The last column is the error at the end minus the error a quarter of the epochs earlier, in points.").AppendLine();
        md.AppendLine("| run | epochs | test err (12) | best (epoch) | last quarter | train err (1) |").AppendLine("|---|---|---|---|---|---|");
        var series = new List<Series>();
        int improving = 0, shown = 0;
        foreach (var (label, run) in runs)
        {
            var epochs = Scheduler.Summary(run)?.Results.Epochs ?? [];
            if (epochs.Count == 0) { md.AppendLine($"| {label} | not started | | | | |"); continue; }
            var last = epochs[^1];
            var best = epochs.MaxBy(e => e.TestAcc12)!;
            int quarter = Math.Max(1, epochs.Count / 4);
            double change = epochs.Count > quarter ? 100 * (epochs[^(quarter + 1)].TestAcc12 - last.TestAcc12) : double.NaN;
            shown++;
            if (change < -0.1) improving++;
            string changeText = double.IsFinite(change) ? change.ToString("+0.00;−0.00;0.00", inv) + string.Create(inv, $" (epochs {epochs[^(quarter + 1)].Epoch}→{last.Epoch})") : "—";
            md.AppendLine(string.Create(inv, $"| {label} | {last.Epoch} | {Fmt.Err(last.TestAcc12)} | {Fmt.Err(best.TestAcc12)} ({best.Epoch}) | {changeText} | {Fmt.Err(last.TrainAcc1)} |"));
            // K = 2 errors sit far above K = 256's and would flatten their curves: those runs are in the table only.
            if (run.Config.Bottleneck != 2) series.Add(new(label, epochs.Select(e => ((double)e.Epoch, 100 * (1 - e.TestAcc12))).ToList(), series.Count));
        }
        md.AppendLine();
        if (series.Count > 0)
        {
            var (path, link) = Settings.Figure("fig_training_curves");
            double lowest = series.SelectMany(s => s.Points).Min(p => p.Y);
            ReproductionFigures.Lines(path, "Test error (12 samples) vs epoch", "epoch", "test error (%)", series, logX: false, yMin: Math.Max(0, Math.Floor(lowest) - 1));
            md.AppendLine($"![test error vs epoch]({link})").AppendLine();
            if (runs.Any(r => r.Run.Config.Bottleneck == 2)) md.AppendLine("(The K = 2 runs are in the table only: their errors are on another scale.)").AppendLine();
        }
        if (shown == 0) return;
        md.AppendLine(string.Create(inv, $"- {improving} of {shown} runs lowered their test error by more than 0.1 point over their last quarter of epochs: {(improving == 0 ? "at this length the test curves have flattened" : "those have not converged at this length")}.")).AppendLine();
    }

    /// <summary>A claim of the paper and whether it holds on our numbers (never tuned: a claim that fails is reported as failing).</summary>
    protected static string Claim(string claim, bool? holds, string numbers) =>
        $"- {claim}: **{(holds is null ? "not measured yet" : holds.Value ? "holds" : "does not hold")}** ({numbers})";

    /// <summary>Writes the Markdown file atomically (its folder created), and beside its figures the results it was built from.</summary>
    protected void Save(StringBuilder md)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(Settings.Report))!);
        AtomicFile.WriteAllText(Settings.Report, md.ToString());
        Directory.CreateDirectory(Settings.FigureFolder);
        MiBounds.Data.JsonOutput.Write(Path.Combine(Settings.FigureFolder, "results.json"), CollectResults());
    }

    /// <summary>
    /// Per planned run: its epochs' records, its divergence, and the scalar results of its analyses (the targeted attack
    /// per image without the adversarial pixels; K = 2 embeddings stay in the run folders).
    /// </summary>
    private object CollectResults() => new
    {
        Command = Settings.CommandLine(Command),
        Runs = Plan().Select(r => new
        {
            r.Name,
            Epochs = Scheduler.Summary(r)?.Results.Epochs ?? [],
            Diverged = Scheduler.Divergence(r),
            Targeted = Result<TargetedAttack>(r, TargetedAttack.File) is { } t
                ? new { t.Source, t.Target, t.Options, Images = t.Images.Select(i => new { i.Index, i.Success, i.L0, i.L1, i.L2, i.LInf }).ToList() }
                : null,
            AttackAccuracy = Result<AttackAccuracy>(r, AttackAccuracy.File),
            Representation = Result<Representation>(r, Representation.File),
        }).ToList(),
    };
}
