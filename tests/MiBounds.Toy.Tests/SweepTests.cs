using System.Text.Json;
using System.Xml.Linq;
using MiBounds.Bounds;
using MiBounds.Commands;
using MiBounds.TestSupport;
using MiBounds.Toy.Commands;
using ScottPlot;
using MiBounds.Toy.Reports;
using MiBounds.Toy.Sweep;
using MiBounds.Training;

namespace MiBounds.Toy.Tests;

[Collection(Collection)]
public sealed class SweepTests : IDisposable
{
    /// <summary>The sweep-running test classes, run one after another (not in parallel).</summary>
    public const string Collection = "sweeps";

    private readonly string _root = Path.Combine(Path.GetTempPath(), "mib-toy-tests-" + Guid.NewGuid().ToString("N"));

    public SweepTests() => Directory.CreateDirectory(_root);

    public void Dispose()
    {
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
    }

    private static (int Code, string Output) Sweep(string[] args, int? crashAfterSteps = null, CancellationToken cancellation = default)
    {
        using var interruption = new Interruption();
        if (cancellation.IsCancellationRequested) interruption.Request(System.Runtime.InteropServices.PosixSignal.SIGINT);
        var (code, output, error) = Cli.Run([SweepCommand.Create(crashAfterSteps)], ["sweep", .. args, "--plain"], interruption);
        return (code, output + error);
    }

    private static readonly string[] Tiny = ["--dim", "2", "--batch", "8", "--steps-per-level", "6", "--levels", "1,2", "--seed", "3"];

    [Fact]
    public void TinySweepWritesEveryReport()
    {
        string dir = Path.Combine(_root, "sweep");
        var (code, output) = Sweep([.. Tiny, "--task", "gaussian", "--estimators", "nwj,alpha0.5,infonce", "--out", dir]);
        Assert.True(code == 0, output);
        Assert.Contains("total wall time", output);

        // One CSV per (task, critic, estimator), a header and one line per step.
        var csvs = Directory.GetFiles(Path.Combine(dir, "runs"), "*.csv").Select(Path.GetFileName).Order().ToArray();
        Assert.Equal(6, csvs.Length);
        Assert.Contains("gaussian-concat-alpha0.5.csv", csvs);
        var lines = File.ReadAllLines(Path.Combine(dir, "runs", "gaussian-separable-nwj.csv"));
        Assert.Equal("step,mi,estimate", lines[0]);
        Assert.Equal(13, lines.Length);
        Assert.StartsWith("11,2,", lines[^1]);

        // summary.json: per run and level, exactly the documented fields (alpha only for Iα).
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, Report.SummaryFile)));
        var records = json.RootElement.EnumerateArray().ToArray();
        Assert.Equal(6 * 2, records.Length);
        string[] common = ["task", "critic", "bound", "estimator", "mi", "mean", "bias", "variance", "steps", "steps_per_second"];
        foreach (var r in records)
        {
            var names = r.EnumerateObject().Select(p => p.Name).ToHashSet();
            bool interpolated = r.GetProperty("bound").GetString() == "InterpolatedBound";
            Assert.Equal(common.Concat(interpolated ? ["alpha"] : []).ToHashSet(), names);
            Assert.Equal(6, r.GetProperty("steps").GetInt32());
            Assert.Equal(r.GetProperty("mean").GetDouble() - r.GetProperty("mi").GetDouble(), r.GetProperty("bias").GetDouble(), 9);
            Assert.True(r.GetProperty("variance").GetDouble() >= 0);
            Assert.True(r.GetProperty("steps_per_second").GetDouble() > 0);
            if (interpolated) Assert.Equal(0.5, r.GetProperty("alpha").GetDouble());
        }

        // The summary's mean is the mean of the CSV's level-2 estimates (fewer than 1000, so all 6).
        var level2 = lines.Skip(7).Select(l => double.Parse(l.Split(',')[2], System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        var sepNwj2 = records.Single(r => r.GetProperty("critic").GetString() == "separable" && r.GetProperty("estimator").GetString() == "nwj" && r.GetProperty("mi").GetDouble() == 2);
        Assert.Equal(level2.Average(), sepNwj2.GetProperty("mean").GetDouble(), 12);

        // Each figure is a PNG of the stated size and an SVG with a panel title per bound, the axis labels with units,
        // the legend, and the InfoNCE ceiling at log 8 — both as a legend entry and as the line's position.
        foreach (var critic in new[] { "concat", "separable" })
        {
            var (width, height) = StaircaseFigure.Size(3);
            var texts = FigureChecks.Check(Path.Combine(dir, Report.FigureBase(critic, "gaussian")), width, height,
                "NWJ", "InfoNCE", "Iα (α=0.5)", StaircaseFigure.YLabel, StaircaseFigure.XLabel, "raw estimate", "EMA (span 200)", "true MI",
                StaircaseFigure.CeilingLabel(Math.Log(8)));
            Assert.Contains("ceiling 2.08 nats", texts);
        }
        var config = SweepConfig.Load(Path.Combine(dir, "sweep.json"));
        var figureRuns = new[] { "nwj", "infonce" }.Select(e => new RunResult(new RunSpec("gaussian", "concat", BoundSpec.Parse(e)), [0.5, 1, 1.5], [], e == "infonce" ? Math.Log(8) : null, RunStatus.Done, null)).ToArray();
        var panels = StaircaseFigure.Build(config, figureRuns).GetPlots();
        Assert.Equal(["NWJ", "InfoNCE"], panels.Select(p => p.Axes.Title.Label.Text));
        Assert.Empty(panels[0].GetPlottables<ScottPlot.Plottables.HorizontalLine>());
        Assert.Equal(Math.Log(8), Assert.Single(panels[1].GetPlottables<ScottPlot.Plottables.HorizontalLine>()).Y, 12);
        string index = File.ReadAllText(Path.Combine(dir, Report.IndexFile));
        Assert.Contains(Report.FigurePng("concat", "gaussian"), index);
        Assert.Contains(Report.FigureSvg("concat", "gaussian"), index);
        Assert.Contains($"<table id=\"{Report.RunsTableId}\">", index);
        Assert.Contains($"<table id=\"{Report.LevelsTableId}\">", index);
    }

    [Fact]
    public void ResumedSweepEqualsAnUninterruptedOne()
    {
        string[] config = [.. Tiny, "--task", "cubic", "--critic", "separable", "--estimators", "tuba,mine", "--checkpoint-every", "4"];
        string whole = Path.Combine(_root, "whole"), broken = Path.Combine(_root, "broken");
        Assert.Equal(0, Sweep([.. config, "--out", whole]).Code);

        // A "crash" after 7 steps: the last checkpoint is at step 4 and the CSV already holds 7 rows.
        var (crashCode, _) = Sweep([.. config, "--out", broken], crashAfterSteps: 7);
        Assert.Equal(130, crashCode);
        Assert.Equal(1 + 7, File.ReadAllLines(Path.Combine(broken, "runs", "cubic-separable-tuba.csv")).Length);

        var (code, output) = Sweep(["--resume", "--out", broken, "--checkpoint-every", "4"]);
        Assert.True(code == 0, output);
        foreach (var run in new[] { "cubic-separable-tuba", "cubic-separable-mine" })
            Assert.Equal(File.ReadAllText(Path.Combine(whole, "runs", run + ".csv")), File.ReadAllText(Path.Combine(broken, "runs", run + ".csv")));
        Assert.Equal(Means(whole), Means(broken));

        // Resuming a finished sweep trains nothing and changes nothing.
        var before = File.ReadAllText(Path.Combine(broken, "runs", "cubic-separable-mine.csv"));
        Assert.Equal(0, Sweep(["--resume", "--out", broken]).Code);
        Assert.Equal(before, File.ReadAllText(Path.Combine(broken, "runs", "cubic-separable-mine.csv")));
    }

    private static double[] Means(string dir)
    {
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, Report.SummaryFile)));
        return json.RootElement.EnumerateArray().Select(r => r.GetProperty("mean").GetDouble()).ToArray();
    }

    [Fact]
    public void ResumeRefusesDifferentOptions()
    {
        string dir = Path.Combine(_root, "s");
        Assert.Equal(0, Sweep([.. Tiny, "--task", "gaussian", "--critic", "separable", "--estimators", "js", "--out", dir]).Code);
        var (code, error) = RunCli("sweep", "--resume", "--out", dir, "--batch", "16", "--plain");
        Assert.Equal(2, code);
        Assert.Contains("differ", error);
        Assert.Contains("batch: 8 saved, 16 now", error);
        Assert.Single(error.TrimEnd().Split('\n'));
    }

    // Three bounds (one with a baseline, MINE with its moving average), both critics, two levels, checkpoints every 15 of 80 steps.
    private static readonly string[] Small = ["--dim", "2", "--batch", "8", "--steps-per-level", "40", "--levels", "1,2", "--seed", "3",
        "--task", "gaussian", "--estimators", "nwj,mine,alpha0.5", "--checkpoint-every", "15"];

    private static readonly string[] SmallRuns = ["gaussian-concat-nwj", "gaussian-concat-mine", "gaussian-concat-alpha0.5",
        "gaussian-separable-nwj", "gaussian-separable-mine", "gaussian-separable-alpha0.5"];

    private static void AssertSameRuns(string expected, string actual)
    {
        foreach (var run in SmallRuns)
            Assert.Equal(File.ReadAllText(Path.Combine(expected, "runs", run + ".csv")), File.ReadAllText(Path.Combine(actual, "runs", run + ".csv")));
        Assert.Equal(Means(expected), Means(actual));
    }

    private static long CheckpointStep(string dir, string runId)
    {
        var config = SweepConfig.Load(Path.Combine(dir, SweepRunner.ConfigFile));
        var spec = config.Runs().Single(r => r.Id == runId);
        var state = TrainingCheckpoint.Load(Path.Combine(dir, "checkpoints", runId + ".safetensors"), SweepRun.CheckpointKind, SweepRun.Configuration(config, spec));
        return state.GetLong("loop.step");
    }

    [Fact]
    public void CancelledMidRunAndResumedEqualsAnUninterruptedSweep()
    {
        string whole = Path.Combine(_root, "whole"), cut = Path.Combine(_root, "cut");
        Assert.Equal(0, Sweep([.. Small, "--out", whole]).Code);

        // Cancelled (as by SIGTERM) when concat MINE has done 37 steps, between its checkpoints at 30 and 45; three runs train at once.
        var config = SweepConfig.Load(Path.Combine(whole, SweepRunner.ConfigFile));
        var cancel = new CancellationTokenSource();
        var execution = new SweepExecution
        {
            Parallel = 3, CheckpointEvery = 15,
            AfterStep = (spec, step) => { if (spec.Id == "gaussian-concat-mine" && step == 37) cancel.Cancel(); },
        };
        var outcome = SweepRunner.Run(config, cut, execution, TextWriter.Null, cancel.Token);
        Assert.False(outcome.Complete);
        var mine = outcome.Runs.Single(r => r.Spec.Id == "gaussian-concat-mine");
        Assert.Equal(RunStatus.Interrupted, mine.Status);
        Assert.Equal(37, mine.Estimates.Length);
        // Every run that had started checkpointed where it stopped, and its CSV holds exactly those steps.
        foreach (var r in outcome.Runs.Where(r => r.Estimates.Length > 0 && r.Status == RunStatus.Interrupted))
        {
            Assert.Equal(r.Estimates.Length, CheckpointStep(cut, r.Spec.Id));
            Assert.Equal(1 + r.Estimates.Length, File.ReadAllLines(Path.Combine(cut, "runs", r.Spec.Id + ".csv")).Length);
        }
        Assert.Contains(outcome.Runs, r => r.Status == RunStatus.Interrupted && r.Estimates.Length < 80);

        // Cancelled again before any run starts: exit code 130, nothing trained, nothing rewritten.
        string before = File.ReadAllText(Path.Combine(cut, "runs", "gaussian-concat-mine.csv"));
        var (interruptedCode, interruptedOutput) = Sweep(["--resume", "--out", cut], cancellation: new CancellationToken(canceled: true));
        Assert.Equal(130, interruptedCode);
        Assert.Contains("sweep --resume --out", interruptedOutput);
        Assert.Equal(before, File.ReadAllText(Path.Combine(cut, "runs", "gaussian-concat-mine.csv")));
        Assert.Equal(37, CheckpointStep(cut, "gaussian-concat-mine"));

        var (code, output) = Sweep(["--resume", "--out", cut]);
        Assert.True(code == 0, output);
        AssertSameRuns(whole, cut);
    }

    [Fact]
    public void CrashedAfterItsLastCheckpointAndResumedEqualsAnUninterruptedSweep()
    {
        string whole = Path.Combine(_root, "whole"), crashed = Path.Combine(_root, "crashed");
        Assert.Equal(0, Sweep([.. Small, "--out", whole]).Code);
        // Every run dies after 25 steps: the last checkpoint is at 15 and the CSV holds 10 rows more, which the resume drops.
        Assert.Equal(130, Sweep([.. Small, "--out", crashed], crashAfterSteps: 25).Code);
        foreach (var run in SmallRuns)
        {
            Assert.Equal(1 + 25, File.ReadAllLines(Path.Combine(crashed, "runs", run + ".csv")).Length);
            Assert.Equal(15, CheckpointStep(crashed, run));
        }
        var (code, output) = Sweep(["--resume", "--out", crashed]);
        Assert.True(code == 0, output);
        AssertSameRuns(whole, crashed);
    }

    [Fact]
    public void ARunsCheckpointIsATrainingCheckpointWithCriticOptimizerAndMinesAverage()
    {
        string dir = Path.Combine(_root, "ckpt");
        Assert.Equal(0, Sweep([.. Small, "--critic", "separable", "--out", dir]).Code);
        var config = SweepConfig.Load(Path.Combine(dir, SweepRunner.ConfigFile));
        CheckpointState Load(string id) => TrainingCheckpoint.Load(Path.Combine(dir, "checkpoints", id + ".safetensors"), SweepRun.CheckpointKind,
            SweepRun.Configuration(config, config.Runs().Single(r => r.Id == id)));

        var mine = Load("gaussian-separable-mine");
        Assert.Contains(mine.Tensors.Keys, k => k.StartsWith("module.critic.", StringComparison.Ordinal));
        Assert.Contains(mine.Tensors.Keys, k => k.StartsWith("optimizer.", StringComparison.Ordinal));
        Assert.True(mine.HasTensor("bound.moving_average"));
        Assert.Equal(80, mine.GetLong("loop.step"));
        var seconds = mine.GetDoubles(SweepRun.LevelSecondsKey);
        Assert.Equal(2, seconds.Length);
        Assert.All(seconds, s => Assert.True(s > 0));
        var alpha = Load("gaussian-separable-alpha0.5");
        Assert.Contains(alpha.Tensors.Keys, k => k.StartsWith("module.baseline.", StringComparison.Ordinal));
        Assert.False(alpha.HasTensor("bound.moving_average"));

        // The checkpoint is bound to the run's identity: another run's configuration is refused in one line naming the difference.
        var other = config.Runs().Single(r => r.Id == "gaussian-separable-nwj");
        var e = Assert.Throws<InvalidDataException>(() => TrainingCheckpoint.Load(Path.Combine(dir, "checkpoints", "gaussian-separable-mine.safetensors"),
            SweepRun.CheckpointKind, SweepRun.Configuration(config, other)));
        Assert.Contains("run: \"gaussian-separable-mine\" in the checkpoint, \"gaussian-separable-nwj\" now", e.Message);
    }

    [Fact]
    public void AnOldFormatCheckpointIsReportedInsteadOfRestartingTheRun()
    {
        string dir = Path.Combine(_root, "old");
        Assert.Equal(0, Sweep([.. Tiny, "--task", "gaussian", "--critic", "separable", "--estimators", "js", "--out", dir]).Code);
        string ckpt = Path.Combine(dir, "checkpoints", "gaussian-separable-js.ckpt");
        File.Delete(Path.ChangeExtension(ckpt, ".safetensors"));
        File.WriteAllText(ckpt, "MIBOUNDS-TOY-RUN-1");
        string csv = File.ReadAllText(Path.Combine(dir, "runs", "gaussian-separable-js.csv"));
        var (code, error) = RunCli("sweep", "--resume", "--out", dir, "--plain");
        Assert.Equal(2, code);
        Assert.Contains(ckpt, error);
        Assert.Contains("older format", error);
        Assert.Single(error.TrimEnd().Split('\n'));
        Assert.Equal(csv, File.ReadAllText(Path.Combine(dir, "runs", "gaussian-separable-js.csv")));
    }

    private static (int Code, string Error) RunCli(params string[] args)
    {
        var (code, _, error) = Cli.Run(args);
        return (code, error);
    }

    [Theory]
    [InlineData("unknown estimator 'bogus'", "--estimators", "nwj,bogus")]
    [InlineData("--dim must be", "--dim", "0")]
    [InlineData("--batch must be", "--batch", "1")]
    [InlineData("--steps-per-level must be", "--steps-per-level", "-5")]
    [InlineData("--critic must be", "--critic", "mlp")]
    [InlineData("unknown task 'banana'", "--task", "banana")]
    [InlineData("unknown option --colour", "--colour", "red")]
    [InlineData("--lr must be", "--lr", "-1")]
    [InlineData("--resume needs --out", "--resume")]
    public void InvalidOptionsGiveOneLineAndExitCode2(string expected, params string[] args)
    {
        var (code, error) = RunCli(["sweep", .. args, "--plain"]);
        Assert.Equal(2, code);
        Assert.Contains(expected, error);
        Assert.Single(error.TrimEnd().Split('\n'));
    }

    [Fact]
    public void OutDirThatIsAFileIsRejected()
    {
        string file = Path.Combine(_root, "a-file");
        File.WriteAllText(file, "x");
        var (code, error) = RunCli("sweep", "--out", file, "--plain");
        Assert.Equal(2, code);
        Assert.Contains("is a file", error);
        Assert.Single(error.TrimEnd().Split('\n'));
    }

    [Fact]
    public void NonEmptyOutDirNeedsResume()
    {
        string dir = Path.Combine(_root, "busy");
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "something"), "x");
        var (code, error) = RunCli(["sweep", .. Tiny, "--out", dir, "--plain"]);
        Assert.Equal(2, code);
        Assert.Contains("--resume", error);
    }

    [Fact]
    public void TasksCommandListsTasksWithTheirMi()
    {
        var (code, text, _) = Cli.Run("tasks", "--dim", "20", "--levels", "2,10");
        Assert.Equal(0, code);
        Assert.Contains("gaussian:", text);
        Assert.Contains("cubic:", text);
        Assert.Contains("true MI 10 nats", text);
        Assert.Contains("ρ=0.7951", text); // √(1 − e^(−1)) = 0.79506
    }
}
