using System.Diagnostics;
using System.Globalization;
using Spectre.Console;

namespace MiBounds.Toy.Sweep;

/// <summary>
/// Shows the runs' progress: a live Spectre.Console table (step, current estimate, steps/s and ETA per active run, the
/// sweep's ETA in the title) on an interactive terminal, followed by a per-run summary table that stays on screen;
/// otherwise (redirected output, CI) plain lines every few seconds (the sweep's, then each active run's, with ETAs)
/// and one per finished run. An ETA is the remaining steps ÷ the recent steps/s (the sweep's: of every running run).
/// </summary>
internal sealed class ProgressDisplay(IReadOnlyList<RunProgress> runs, bool live, double plainIntervalSeconds, TextWriter log)
{
    private readonly RunStatus[] _reported = new RunStatus[runs.Count];

    /// <summary>Whether the live table can be drawn here.</summary>
    public static bool CanDrawLive =>
        !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive
        && string.IsNullOrEmpty(Environment.GetEnvironmentVariable("CI"));

    /// <summary>Refreshes until <paramref name="finished"/> returns true.</summary>
    public void RunUntil(Func<bool> finished)
    {
        if (live) RunLive(finished);
        else RunPlain(finished);
    }

    private void RunLive(Func<bool> finished)
    {
        var started = Stopwatch.StartNew();
        AnsiConsole.Live(Build(started.Elapsed)).AutoClear(false).Overflow(VerticalOverflow.Ellipsis).Start(ctx =>
        {
            while (!finished())
            {
                ctx.UpdateTarget(Build(started.Elapsed));
                Thread.Sleep(500);
            }
            ctx.UpdateTarget(new Text("")); // nothing active is left to show; the final table follows
        });
        // The live table's last frame lists only active runs (none by now): print every run's outcome as ordinary
        // output after it, so it stays on screen and in the scrollback.
        AnsiConsole.Write(FinalTable(started.Elapsed));
        ReportFinished(AnsiConsole.Console.Profile.Out.Writer, onlyProblems: true);
    }

    internal Table Build(TimeSpan elapsed)
    {
        int done = runs.Count(r => r.Status == RunStatus.Done), pending = runs.Count(r => r.Status == RunStatus.Pending);
        var table = new Table().Border(TableBorder.Simple)
            .Title($"staircase sweep: {done}/{runs.Count} runs done, {pending} waiting, {Clock(elapsed)} elapsed, ETA {Clock(SweepEta(runs))}")
            .AddColumn("run").AddColumn(new TableColumn("step").RightAligned()).AddColumn(new TableColumn("done").RightAligned())
            .AddColumn(new TableColumn("estimate").RightAligned()).AddColumn(new TableColumn("steps/s").RightAligned())
            .AddColumn(new TableColumn("ETA").RightAligned()).AddColumn("status");
        foreach (var r in runs.Where(r => r.Status is RunStatus.Running or RunStatus.Failed or RunStatus.Interrupted))
        {
            string status = r.Status switch
            {
                RunStatus.Running => "[green]running[/]",
                RunStatus.Failed => "[red]failed[/]",
                _ => "[yellow]interrupted[/]",
            };
            table.AddRow(Markup.Escape(r.Spec.Id), $"{r.Step}/{r.TotalSteps}", Percent(r), F(r.Estimate), F(r.StepsPerSecond, "0.0"),
                r.Status == RunStatus.Running ? Clock(RunEta(r)) : "-", status);
        }
        return table;
    }

    /// <summary>Every run's outcome: steps, last estimate and status (shown once the live table is gone).</summary>
    internal Table FinalTable(TimeSpan elapsed)
    {
        int done = runs.Count(r => r.Status == RunStatus.Done);
        var table = new Table().Border(TableBorder.Simple)
            .Title($"staircase sweep: {done}/{runs.Count} runs done in {Clock(elapsed)}")
            .AddColumn("run").AddColumn(new TableColumn("steps").RightAligned()).AddColumn(new TableColumn("last estimate").RightAligned()).AddColumn("status");
        foreach (var r in runs)
            table.AddRow(Markup.Escape(r.Spec.Id), $"{r.Step}/{r.TotalSteps}", F(r.Estimate), r.Status switch
            {
                RunStatus.Done => "done",
                RunStatus.Failed => "[red]failed[/]",
                RunStatus.Interrupted => "[yellow]interrupted[/]",
                RunStatus.Pending => "not started",
                _ => "running",
            });
        return table;
    }

    /// <summary>The plain progress lines at <paramref name="elapsed"/>: the sweep's, then one per running run.</summary>
    internal IEnumerable<string> PlainLines(TimeSpan elapsed)
    {
        int done = runs.Count(r => r.Status == RunStatus.Done), pending = runs.Count(r => r.Status == RunStatus.Pending);
        var active = runs.Where(r => r.Status == RunStatus.Running).ToArray();
        yield return $"[{Clock(elapsed)}] sweep: {done}/{runs.Count} runs done, {active.Length} running, {pending} waiting, " +
                     $"{F(active.Sum(r => r.StepsPerSecond), "0.0")} steps/s, ETA {Clock(SweepEta(runs))}";
        foreach (var r in active)
            yield return $"[{Clock(elapsed)}] {r.Spec.Id}: step {r.Step}/{r.TotalSteps}, {Percent(r)} done, estimate {F(r.Estimate)}, {F(r.StepsPerSecond, "0.0")} steps/s, ETA {Clock(RunEta(r))}";
    }

    /// <summary>A run's remaining steps ÷ its recent steps/s; null while its speed is unknown.</summary>
    internal static TimeSpan? RunEta(RunProgress r) =>
        r.StepsPerSecond > 0 ? TimeSpan.FromSeconds(Math.Max(0, r.TotalSteps - r.Step) / r.StepsPerSecond) : null;

    /// <summary>
    /// The steps left in every run still to train (running or waiting) ÷ the running runs' recent steps/s together
    /// (the sweep's throughput); zero when nothing is left, null while no speed is known.
    /// </summary>
    internal static TimeSpan? SweepEta(IReadOnlyList<RunProgress> runs)
    {
        long remaining = runs.Where(r => r.Status is RunStatus.Pending or RunStatus.Running).Sum(r => (long)Math.Max(0, r.TotalSteps - r.Step));
        if (remaining == 0) return TimeSpan.Zero;
        double speed = runs.Where(r => r.Status == RunStatus.Running).Sum(r => r.StepsPerSecond);
        return speed > 0 ? TimeSpan.FromSeconds(remaining / speed) : null;
    }

    /// <summary>hh:mm:ss (hours past 24 keep counting, up to 99), or "-" for an unknown time.</summary>
    internal static string Clock(TimeSpan? time)
    {
        if (time is not TimeSpan t) return "-";
        long seconds = (long)Math.Round(Math.Min(t.TotalSeconds, 99 * 3600 + 3599));
        return string.Create(CultureInfo.InvariantCulture, $"{seconds / 3600:00}:{seconds / 60 % 60:00}:{seconds % 60:00}");
    }

    private void RunPlain(Func<bool> finished)
    {
        var started = Stopwatch.StartNew();
        double nextLine = plainIntervalSeconds;
        while (!finished())
        {
            Thread.Sleep(200);
            ReportFinished(log, onlyProblems: false);
            if (started.Elapsed.TotalSeconds >= nextLine)
            {
                nextLine += plainIntervalSeconds;
                foreach (var line in PlainLines(started.Elapsed)) log.WriteLine(line);
                log.Flush();
            }
        }
        ReportFinished(log, onlyProblems: false);
    }

    // One line per run that changed to a final state since the last call.
    private void ReportFinished(TextWriter writer, bool onlyProblems)
    {
        for (int i = 0; i < runs.Count; i++)
        {
            var r = runs[i];
            var status = r.Status;
            if (status is RunStatus.Pending or RunStatus.Running || _reported[i] == status) continue;
            _reported[i] = status;
            if (onlyProblems && status == RunStatus.Done) continue;
            writer.WriteLine(status switch
            {
                RunStatus.Done => $"{r.Spec.Id}: done ({r.TotalSteps} steps, last estimate {F(r.Estimate)})",
                RunStatus.Failed => $"{r.Spec.Id}: FAILED at step {r.Step}: {r.Error}",
                _ => $"{r.Spec.Id}: interrupted at step {r.Step} (checkpointed)",
            });
        }
        writer.Flush();
    }

    private static string Percent(RunProgress r) => r.Step >= r.TotalSteps ? "-" : $"{r.Step * 1.0 / r.TotalSteps:P0}";

    private static string F(double v, string format = "0.000") => double.IsNaN(v) ? "-" : v.ToString(format, CultureInfo.InvariantCulture);
}
