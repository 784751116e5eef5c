using System.Diagnostics;
using System.Globalization;
using Spectre.Console;

namespace MiBounds.Toy.Sweep;

/// <summary>
/// Shows the runs' progress: a live Spectre.Console table (step, level, current estimate, steps/s per active run)
/// on an interactive terminal; otherwise (redirected output, CI) plain lines every few seconds and one per finished run.
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
            ctx.UpdateTarget(Build(started.Elapsed));
        });
        ReportFinished(AnsiConsole.Console.Profile.Out.Writer, onlyProblems: true);
    }

    private Table Build(TimeSpan elapsed)
    {
        int done = runs.Count(r => r.Status == RunStatus.Done), pending = runs.Count(r => r.Status == RunStatus.Pending);
        var table = new Table().Border(TableBorder.Simple)
            .Title($"staircase sweep: {done}/{runs.Count} runs done, {pending} waiting, {elapsed:hh\\:mm\\:ss}")
            .AddColumn("run").AddColumn(new TableColumn("step").RightAligned()).AddColumn(new TableColumn("done").RightAligned())
            .AddColumn(new TableColumn("estimate").RightAligned()).AddColumn(new TableColumn("steps/s").RightAligned()).AddColumn("status");
        foreach (var r in runs.Where(r => r.Status is RunStatus.Running or RunStatus.Failed or RunStatus.Interrupted))
        {
            string status = r.Status switch
            {
                RunStatus.Running => "[green]running[/]",
                RunStatus.Failed => "[red]failed[/]",
                _ => "[yellow]interrupted[/]",
            };
            table.AddRow(Markup.Escape(r.Spec.Id), $"{r.Step}/{r.TotalSteps}", Percent(r), F(r.Estimate), F(r.StepsPerSecond, "0.0"), status);
        }
        return table;
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
                foreach (var r in runs.Where(r => r.Status == RunStatus.Running))
                    log.WriteLine($"[{started.Elapsed:hh\\:mm\\:ss}] {r.Spec.Id}: step {r.Step}/{r.TotalSteps}, {Percent(r)} done, estimate {F(r.Estimate)}, {F(r.StepsPerSecond, "0.0")} steps/s");
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
