using System.Text.Json.Nodes;
using MiBounds.Commands;
using MiBounds.Toy.Commands;
using MiBounds.Toy.Reports;
using MiBounds.Toy.Sweep;
using Spectre.Console;

namespace MiBounds.Toy.Tests;

// In the sweep tests' collection: their warm-step allocation test must not share the two cores with these sweeps.
[Collection(SweepTests.Collection)]
public sealed class ShardTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "mib-shard-tests-" + Guid.NewGuid().ToString("N"));

    public ShardTests() => Directory.CreateDirectory(_root);

    public void Dispose()
    {
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
    }

    // Six runs (two critics × three estimators), two levels of six steps.
    private static readonly string[] Tiny = ["--dim", "2", "--batch", "8", "--steps-per-level", "6", "--levels", "1,2",
        "--task", "gaussian", "--estimators", "nwj,alpha0.5,infonce", "--checkpoint-every", "4", "--parallel", "2"];

    private static readonly string[] Seed3 = [.. Tiny, "--seed", "3"];

    private string Dir(string name) => Path.Combine(_root, name);

    private static (int Code, string Out, string Err) Run(params string[] args) => Cli.Run(args);

    private static (int Code, string Output) Sweep(string[] args, int? crashAfterSteps = null)
    {
        var (code, output, error) = Cli.Run([SweepCommand.Create(crashAfterSteps)], ["sweep", .. args, "--plain"]);
        return (code, output + error);
    }

    // summary.json without its timing field.
    private static string SummaryWithoutTiming(string dir)
    {
        var records = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, Report.SummaryFile)))!.AsArray();
        foreach (var r in records) r!.AsObject().Remove("steps_per_second");
        return records.ToJsonString();
    }

    [Fact]
    public void ShardsSplitTheRunsDisjointlyAndCoverThemAll()
    {
        var config = new SweepConfig { Tasks = ["gaussian", "cubic"], Critics = ["concat", "separable"], Estimators = ["nwj", "js", "mine"], Levels = [1] };
        var all = config.Runs();
        foreach (int n in new[] { 1, 2, 3, 5, 12 })
        {
            var parts = Enumerable.Range(1, n).Select(i => new SweepShard(i, n).Select(all)).ToArray();
            Assert.Equal(all.Select(r => r.Id).Order(), parts.SelectMany(p => p).Select(r => r.Id).Order());
            Assert.True(parts.Max(p => p.Count) - parts.Min(p => p.Count) <= 1);
        }
        // Round robin: the slow concat runs (listed first) are spread over the shards.
        Assert.All(Enumerable.Range(1, 3), i => Assert.Contains(new SweepShard(i, 3).Select(all), r => r.Critic == "concat"));
        Assert.Equal(new SweepShard(2, 4), SweepShard.Parse("2/4"));
        foreach (var bad in new[] { "0/2", "3/2", "2", "a/b", "1/0", "-1/2", "1/2/3" }) Assert.Throws<FormatException>(() => SweepShard.Parse(bad));
    }

    [Fact]
    public void MergedShardsEqualAnUnshardedSweep()
    {
        string whole = Dir("whole"), one = Dir("one"), two = Dir("two"), merged = Dir("merged");
        Assert.Equal(0, Sweep([.. Seed3, "--out", whole]).Code);
        var (code1, out1) = Sweep([.. Seed3, "--out", one, "--shard", "1/2"]);
        Assert.True(code1 == 0, out1);
        Assert.Contains("sweep shard 1/2: 3 runs", out1);
        Assert.Equal(0, Sweep([.. Seed3, "--out", two, "--shard", "2/2"]).Code);
        Assert.Equal(3, Directory.GetFiles(Path.Combine(one, "runs")).Length);
        Assert.Contains("Shard 1/2 of the sweep", File.ReadAllText(Path.Combine(one, Report.IndexFile)));

        var (code, output, error) = Run("sweep", "merge", merged, two, one);
        Assert.True(code == 0, output + error);
        Assert.Contains("merged 6 runs from 2 folders (2/2, 1/2)", output);
        Assert.Equal(SummaryWithoutTiming(whole), SummaryWithoutTiming(merged));
        foreach (var csv in Directory.GetFiles(Path.Combine(whole, "runs")))
            Assert.Equal(File.ReadAllText(csv), File.ReadAllText(Path.Combine(merged, "runs", Path.GetFileName(csv))));
        foreach (var figure in new[] { Report.FigurePng("concat", "gaussian"), Report.FigureSvg("separable", "gaussian") })
            Assert.True(File.Exists(Path.Combine(merged, figure)), figure);
        string index = File.ReadAllText(Path.Combine(merged, Report.IndexFile));
        Assert.Contains("Merged from 2 folders", index);
        Assert.Equal(6, index.Split("<tr>").Count(row => row.Contains("gaussian-", StringComparison.Ordinal) && row.Contains("done", StringComparison.Ordinal)));

        // A merged folder is no shard to resume or merge again.
        var (resumeCode, resumeOut) = Sweep(["--resume", "--out", merged]);
        Assert.Equal(2, resumeCode);
        Assert.Contains("merged sweep", resumeOut);
        var again = Run("sweep", "merge", Dir("again"), merged);
        Assert.Equal(2, again.Code);
        Assert.Contains("is a merged sweep, not a shard", again.Err);
    }

    [Fact]
    public void MergeRefusesIncompleteOrForeignShards()
    {
        string one = Dir("one"), two = Dir("two"), other = Dir("other"), partial = Dir("partial");
        Assert.Equal(0, Sweep([.. Seed3, "--out", one, "--shard", "1/2"]).Code);
        Assert.Equal(0, Sweep([.. Seed3, "--out", two, "--shard", "2/2"]).Code);
        Assert.Equal(0, Sweep([.. Tiny, "--seed", "4", "--out", other, "--shard", "2/2"]).Code);
        Assert.Equal(130, Sweep([.. Seed3, "--out", partial, "--shard", "2/2"], crashAfterSteps: 5).Code);

        void Refused(string expected, params string[] dirs)
        {
            var (code, output, error) = Run(["sweep", "merge", Dir("out-" + Guid.NewGuid().ToString("N")), .. dirs]);
            Assert.True(code == 2, output + error);
            Assert.Contains(expected, error);
            Assert.Single(error.TrimEnd().Split('\n'));
            Assert.Contains("sweep merge: ", error);
        }

        Refused("shard 2/2 missing", one);
        Refused($"{other} is not a shard of the same sweep as {one} (seed: 3 in {one}, 4 in {other})", one, other);
        Refused($"is unfinished (4 of 12 steps): finish it with sweep --resume --out {partial}", one, partial);
        Refused($"{one}/ is given twice", one, two, one + "/");
        Refused("is not a sweep folder (no sweep.json)", one, _root);
        Refused("no such folder", one, Dir("nowhere"));

        // The same shard of a copied folder: each run once only.
        CopyFolder(one, Dir("copy"));
        Refused("is in more than one folder", one, Dir("copy"), two);

        // A non-empty output folder is refused too.
        Directory.CreateDirectory(Dir("busy"));
        File.WriteAllText(Path.Combine(Dir("busy"), "x"), "x");
        var (busyCode, _, busyError) = Run("sweep", "merge", Dir("busy"), one, two);
        Assert.Equal(2, busyCode);
        Assert.Contains("is not empty", busyError);

        // The unfinished shard, resumed, merges.
        Assert.Equal(0, Sweep(["--resume", "--out", partial]).Code);
        Assert.Equal(0, Run("sweep", "merge", Dir("ok"), one, partial).Code);
    }

    [Fact]
    public void ResumeKeepsTheShardAndRefusesAnother()
    {
        string dir = Dir("s");
        Assert.Equal(130, Sweep([.. Seed3, "--out", dir, "--shard", "2/3"], crashAfterSteps: 3).Code);
        var (code, output) = Sweep(["--resume", "--out", dir]);
        Assert.True(code == 0, output);
        Assert.Contains("sweep shard 2/3: 2 runs", output);
        Assert.Equal(2, Directory.GetFiles(Path.Combine(dir, "runs")).Length);

        var (other, message) = Sweep(["--resume", "--out", dir, "--shard", "1/3"]);
        Assert.Equal(2, other);
        Assert.Contains("--shard 1/3 differs from the shard saved", message);
        var (empty, emptyMessage) = Sweep([.. Seed3, "--out", Dir("e"), "--shard", "7/7"]);
        Assert.Equal(2, empty);
        Assert.Contains("holds no run", emptyMessage);
        var (bad, badMessage) = Sweep([.. Seed3, "--out", Dir("b"), "--shard", "3/2"]);
        Assert.Equal(2, bad);
        Assert.Contains("--shard: a shard i/n needs 1 ≤ i ≤ n", badMessage);
    }

    [Fact]
    public void ProgressShowsEtasForRunsAndTheSweep()
    {
        var config = new SweepConfig { Tasks = ["gaussian"], Critics = ["separable"], Estimators = ["nwj", "js", "mine"], Levels = [1], StepsPerLevel = 1000 };
        var runs = config.Runs().Select(r => new RunProgress(r, 1000)).ToArray();
        runs[0].Status = RunStatus.Running; runs[0].Step = 400; runs[0].StepsPerSecond = 10; runs[0].Estimate = 0.5;
        runs[1].Status = RunStatus.Running; runs[1].Step = 900; runs[1].StepsPerSecond = 10;
        // The third waits: 600 + 100 + 1000 steps left at 20 steps/s together.
        Assert.Equal(TimeSpan.FromSeconds(60), ProgressDisplay.RunEta(runs[0]));
        Assert.Equal(TimeSpan.FromSeconds(85), ProgressDisplay.SweepEta(runs));
        Assert.Equal("00:01:25", ProgressDisplay.Clock(ProgressDisplay.SweepEta(runs)));
        Assert.Equal("-", ProgressDisplay.Clock(ProgressDisplay.RunEta(runs[2])));

        var display = new ProgressDisplay(runs, live: false, plainIntervalSeconds: 1, TextWriter.Null);
        var lines = display.PlainLines(TimeSpan.FromSeconds(75)).ToArray();
        Assert.Equal("[00:01:15] sweep: 0/3 runs done, 2 running, 1 waiting, 20.0 steps/s, ETA 00:01:25", lines[0]);
        Assert.Equal("[00:01:15] gaussian-separable-nwj: step 400/1000, 40 % done, estimate 0.500, 10.0 steps/s, ETA 00:01:00", lines[1]);
        Assert.Equal(3, lines.Length);

        // The live table has an ETA column and the sweep's ETA in its title; the final table lists every run.
        var live = Render(display.Build(TimeSpan.FromSeconds(75)));
        Assert.Contains("ETA 00:01:25", live);
        Assert.Contains("00:01:00", live);
        runs[0].Status = RunStatus.Done; runs[0].Step = 1000;
        runs[1].Status = RunStatus.Failed;
        var final = Render(display.FinalTable(TimeSpan.FromSeconds(100)));
        Assert.Contains("1/3 runs done", final);
        Assert.All(runs, r => Assert.Contains(r.Spec.Id, final));
        Assert.Contains("failed", final);
        Assert.Contains("not started", final);
    }

    private static string Render(Spectre.Console.Rendering.IRenderable table)
    {
        var text = new StringWriter();
        ConsoleOutput.Create(text).Write(table);
        return text.ToString();
    }

    private static void CopyFolder(string from, string to)
    {
        foreach (var dir in Directory.GetDirectories(from, "*", SearchOption.AllDirectories)) Directory.CreateDirectory(dir.Replace(from, to));
        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from, "*", SearchOption.AllDirectories)) File.Copy(file, file.Replace(from, to));
    }
}
