using MiBounds.Tensors;
using MiBounds.Vib.Models;
using MiBounds.Vib.Reproductions;
using MiBounds.Vib.Training;

namespace MiBounds.Vib.Tests;

public class ReproductionTests
{
    private static TrainConfig Tiny(ModelKind kind) => new() { Kind = kind, Bottleneck = 2, Hidden = 8, BatchSize = 20, Epochs = 1, TrainEvalCount = 0, Polyak = 0.5, LearningRate = 1e-3 };

    [Fact]
    public void LabelSmoothingAndConfidencePenaltyLossesMatchTheirFormulas()
    {
        var data = Synthetic.Data(train: 40, test: 20);
        var x = data.Train.Images.Slice(0, 0, 20).Detach();
        var y = data.Train.Labels[..20];
        foreach (var (kind, weight) in new[] { (ModelKind.LabelSmoothing, 0.2), (ModelKind.ConfidencePenalty, 0.3) })
        {
            var config = Tiny(kind) with { LabelSmoothing = kind == ModelKind.LabelSmoothing ? weight : 0, ConfidencePenalty = kind == ModelKind.ConfidencePenalty ? weight : 0 };
            var trainer = new VibTrainer(config, data);
            var (loss, _, _) = trainer.Loss(x, y);
            // Independently: the deterministic code z = μ, log q(y|z), CE and entropy in bits.
            var logp = trainer.Network.LogProbabilities(trainer.Network.Encode(x).Mu).ToRows();
            double ln2 = Math.Log(2), ce = 0, uniform = 0, entropy = 0;
            for (int i = 0; i < 20; i++)
            {
                ce -= logp[i][y[i]] / ln2;
                uniform -= logp[i].Average(v => (double)v) / ln2;
                entropy -= logp[i].Sum(v => Math.Exp(v) * v) / ln2;
            }
            ce /= 20; uniform /= 20; entropy /= 20;
            double expected = kind == ModelKind.LabelSmoothing ? (1 - weight) * ce + weight * uniform : ce - weight * entropy;
            Assert.Equal(expected, loss.Item(), 4);
        }
    }

    [Fact]
    public void NewConfigFieldsStayOutOfOlderRunsJson()
    {
        var json = new TrainConfig().ToJson();
        Assert.DoesNotContain("FullCovariance", json);
        Assert.DoesNotContain("LabelSmoothing", json);
        Assert.Contains("FullCovariance", new TrainConfig { FullCovariance = true }.ToJson());
        Assert.Equal("vib-k2-b1e-03-full", PlannedRun.Of(new TrainConfig { Bottleneck = 2, FullCovariance = true }).Name);
        Assert.Equal("vim-k256-b1e-04-s2", PlannedRun.Of(new TrainConfig { Kind = ModelKind.Vim, Beta = 1e-4, PriorSigma = 2 }).Name);
        Assert.DoesNotContain("Encoder", json);
        Assert.Equal("vib-k256-b1e-03-s0.5-conv", PlannedRun.Of(new TrainConfig { PriorSigma = 0.5, Encoder = EncoderKind.Conv }).Name);
    }

    [Fact]
    public void SchedulerSkipsFinishedRunsAndResumesToALargerBudget()
    {
        var root = Path.Combine(Path.GetTempPath(), "repro-" + Guid.NewGuid().ToString("N"));
        try
        {
            var lines = new List<string>();
            var scheduler = new RunScheduler(root, Synthetic.Data(train: 40, test: 20), lines.Add, CancellationToken.None);
            var run = PlannedRun.Of(Tiny(ModelKind.Vib) with { FullCovariance = true, Beta = 1e-2 });
            Assert.True(scheduler.Train(run));
            Assert.True(scheduler.Train(run));
            Assert.Contains(lines, l => l.Contains("finished (1 epochs)"));
            Assert.True(scheduler.Train(run with { Config = run.Config with { Epochs = 2 } }));
            Assert.Contains(lines, l => l.Contains("resuming after epoch 1"));
            Assert.Equal(2, scheduler.Summary(run)!.Last!.Epoch);
            Assert.True(File.Exists(Path.Combine(run.Folder(root), "embedding.png")));
            // Another configuration in the same folder is refused.
            Assert.Throws<MiBounds.Vib.Data.DataException>(() => scheduler.Train(run with { Config = run.Config with { Hidden = 9 } }));
            var emb = ReproductionAnalyses.Embedding(scheduler.Load(run)!, count: 20, grid: 4);
            Assert.All(emb.Covariances, c => Assert.True(c[0] > 0 && c[2] > 0 && c[0] * c[2] - c[1] * c[1] > 0, "covariance must be positive definite"));
        }
        finally { if (Directory.Exists(root)) Directory.Delete(root, recursive: true); }
    }

    /// <summary>A one-run reproduction whose analysis counts how often it is computed.</summary>
    private sealed class CountingReproduction(ReproductionSettings settings, RunScheduler scheduler, PlannedRun run)
        : Reproduction(settings, scheduler, _ => { })
    {
        public int Computed;
        public override string Command => "test";
        public override IReadOnlyList<PlannedRun> Plan() => [run];
        protected override void Analyse(PlannedRun r, Lazy<VibTrainer> trainer) =>
            Cached<int[]>(r, "analysis.json", _ => true, () => [++Computed, trainer.Value.EpochsDone], "count");
        public override void WriteReport() { }
    }

    [Fact]
    public void AnAnalysisIsComputedAgainWhenItsRunHasTrainedFurther()
    {
        var root = Path.Combine(Path.GetTempPath(), "repro-" + Guid.NewGuid().ToString("N"));
        try
        {
            var scheduler = new RunScheduler(root, Synthetic.Data(train: 40, test: 20), _ => { }, CancellationToken.None);
            var settings = new ReproductionSettings { Root = root, Report = Path.Combine(root, "r.md"), Betas = [1e-3] };
            var run = PlannedRun.Of(Tiny(ModelKind.Deterministic));
            var oneEpoch = new CountingReproduction(settings, scheduler, run);
            Assert.True(oneEpoch.Run());
            Assert.True(oneEpoch.Run());
            Assert.Equal(1, oneEpoch.Computed);                     // the same model: the cached analysis stands
            var twoEpochs = new CountingReproduction(settings, scheduler, run with { Config = run.Config with { Epochs = 2 } });
            Assert.True(twoEpochs.Run());
            Assert.Equal(1, twoEpochs.Computed);                    // trained further: analysed again, on the 2-epoch model
            Assert.Equal([1, 2], ReproductionAnalyses.Read<int[]>(run.Folder(root), "analysis.json")!);
            File.Delete(Path.Combine(run.Folder(root), "analysis.json.epochs"));
            Assert.True(twoEpochs.Run());
            Assert.Equal(2, twoEpochs.Computed);                    // no record of the model it saw: recomputed
        }
        finally { if (Directory.Exists(root)) Directory.Delete(root, recursive: true); }
    }

    [Fact]
    public void ADivergingRunIsKeptAndNamedAndTheOthersGoOn()
    {
        var root = Path.Combine(Path.GetTempPath(), "repro-" + Guid.NewGuid().ToString("N"));
        try
        {
            var lines = new List<string>();
            var scheduler = new RunScheduler(root, Synthetic.Data(train: 40, test: 20), lines.Add, CancellationToken.None);
            var wild = PlannedRun.Of(Tiny(ModelKind.Deterministic) with { LearningRate = 1e30, Epochs = 3 });
            Assert.True(scheduler.Train(wild));                      // diverges, but the caller goes on
            Assert.Contains("the loss became", scheduler.Divergence(wild));
            Assert.Contains(lines, l => l.Contains("the reproduction goes on"));
            Assert.True(scheduler.Train(wild));                      // not trained again into the same divergence
            Assert.Contains(lines, l => l.Contains("it diverged in an earlier run"));
            var analysed = new CountingReproduction(new ReproductionSettings { Root = root, Report = Path.Combine(root, "r.md"), Betas = [1e-3] }, scheduler, wild);
            Assert.True(analysed.Run());
            Assert.Equal(0, analysed.Computed);                     // no checkpoint before the divergence: nothing to analyse
            var fine = PlannedRun.Of(Tiny(ModelKind.Vib) with { Beta = 1e-3 });
            Assert.True(scheduler.Train(fine));
            Assert.Null(scheduler.Divergence(fine));
        }
        finally { if (Directory.Exists(root)) Directory.Delete(root, recursive: true); }
    }

    [Fact]
    public void ReportsAreWrittenWithoutAnyRun()
    {
        var root = Path.Combine(Path.GetTempPath(), "repro-" + Guid.NewGuid().ToString("N"));
        try
        {
            var settings = new ReproductionSettings { Root = root, Report = Path.Combine(root, "docs", "paper.md"), Betas = [1e-3, 1e-1], Epochs = 3 };
            var scheduler = new RunScheduler(root, Synthetic.Data(train: 40, test: 20), _ => { }, CancellationToken.None);
            new AlemiReproduction(settings, scheduler, _ => { }).WriteReport();
            var md = File.ReadAllText(settings.Report);
            Assert.Contains("| vib-k256-b1e-03 | not started |", md);
            Assert.Contains("not measured yet", md);
            Assert.Contains("--epochs 3", md);
            new CrescimannaReproduction(settings with { Report = Path.Combine(root, "docs", "vim.md") }, scheduler, _ => { }).WriteReport();
            Assert.Contains("Not run (`--conv-epochs 0`)", File.ReadAllText(Path.Combine(root, "docs", "vim.md")));
        }
        finally { if (Directory.Exists(root)) Directory.Delete(root, recursive: true); }
    }

    [Fact]
    public void WhereTrainingStandsGivesEachRunsBestEpochAndLastQuarterChange()
    {
        var root = Path.Combine(Path.GetTempPath(), "repro-" + Guid.NewGuid().ToString("N"));
        try
        {
            var settings = new ReproductionSettings { Root = root, Report = Path.Combine(root, "docs", "vib.md"), Betas = [1e-3], Epochs = 4 };
            var scheduler = new RunScheduler(root, Synthetic.Data(train: 40, test: 20), _ => { }, CancellationToken.None);
            var alemi = new AlemiReproduction(settings, scheduler, _ => { });
            var det = alemi.Plan().First(r => r.Config.Kind == ModelKind.Deterministic);
            Assert.True(scheduler.Train(det with { Config = det.Config with { Hidden = 8, BatchSize = 20, LearningRate = 1e-2 } }));
            alemi.WriteReport();
            var md = File.ReadAllText(settings.Report);
            var epochs = scheduler.Summary(det)!.Results.Epochs;
            var inv = System.Globalization.CultureInfo.InvariantCulture;
            string Err(double acc) => (100 * (1 - acc)).ToString("F2", inv) + "%";
            var best = epochs.MaxBy(e => e.TestAcc12)!;
            double change = 100 * (epochs[2].TestAcc12 - epochs[3].TestAcc12); // a quarter of 4 epochs: epoch 3 → 4
            var cells = md.Split('\n').Single(l => l.StartsWith("| deterministic | 4 |", StringComparison.Ordinal)).Split('|', StringSplitOptions.TrimEntries)[1..^1];
            Assert.Equal(["deterministic", "4", Err(epochs[3].TestAcc12), $"{Err(best.TestAcc12)} ({best.Epoch})",
                change.ToString("+0.00;−0.00;0.00", inv) + " (epochs 3→4)", Err(epochs[3].TrainAcc1)], cells);
            Assert.Contains("| dropout | not started |", md);
            Assert.True(File.Exists(Path.Combine(root, "docs", "vib", "fig_training_curves.png")));
            // The results the report was built from, beside its figures.
            using var json = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(root, "docs", "vib", "results.json")));
            var runs = json.RootElement.GetProperty("runs").EnumerateArray().ToList();
            Assert.Equal(alemi.Plan().Count, runs.Count);
            var detRun = runs.Single(r => r.GetProperty("name").GetString() == det.Name);
            Assert.Equal(4, detRun.GetProperty("epochs").GetArrayLength());
            Assert.Equal(epochs[3].TestAcc12, detRun.GetProperty("epochs")[3].GetProperty("test_acc12").GetDouble(), 6);
        }
        finally { if (Directory.Exists(root)) Directory.Delete(root, recursive: true); }
    }

    [Fact]
    public void TheConvolutionalSigmaBetaStudyPlansTrainsAndReportsItsRuns()
    {
        var root = Path.Combine(Path.GetTempPath(), "repro-" + Guid.NewGuid().ToString("N"));
        try
        {
            var settings = new ReproductionSettings { Root = root, Report = Path.Combine(root, "docs", "vim.md"), Betas = [1e-3], Epochs = 1, ConvEpochs = 1 };
            var data = new Data.ImageData(Synthetic.Dataset(40, side: 8, seed: 1), Synthetic.Dataset(20, side: 8, seed: 2), "synthetic");
            var scheduler = new RunScheduler(root, data, _ => { }, CancellationToken.None);
            var vim = new CrescimannaReproduction(settings, scheduler, _ => { });
            var conv = vim.Plan().Where(r => r.Config.Encoder == EncoderKind.Conv).ToList();
            Assert.Equal(CrescimannaReproduction.ConvSigmas.Length * CrescimannaReproduction.ConvBetas.Length * 2, conv.Count);
            Assert.All(conv, r => Assert.Equal((1e-3, 0.5, 30, 1), (r.Config.LearningRate, r.Config.Decay, r.Config.DecayEvery, r.Config.Epochs)));
            Assert.DoesNotContain(new CrescimannaReproduction(settings with { ConvEpochs = 0 }, scheduler, _ => { }).Plan(), r => r.Config.Encoder == EncoderKind.Conv);
            // Two of the study's runs trained (at the batch size the tiny data allow): their errors fill their cells, the rest stay empty.
            var vimRun = conv.First(r => r.Config is { Kind: ModelKind.Vim, PriorSigma: 2.5, Beta: 1e-3 });
            var vibRun = conv.First(r => r.Config is { Kind: ModelKind.Vib, PriorSigma: 0.5, Beta: 1e-3 });
            foreach (var r in new[] { vimRun, vibRun }) Assert.True(scheduler.Train(r with { Config = r.Config with { BatchSize = 20 } }));
            vim.WriteReport();
            var md = File.ReadAllText(settings.Report);
            string Err(PlannedRun r) => (100 * (1 - scheduler.Summary(r)!.Last!.TestAcc12)).ToString("F2", System.Globalization.CultureInfo.InvariantCulture) + "%";
            var row = md.Split('\n').Single(l => l.StartsWith("| 0.001 |", StringComparison.Ordinal) && l.Contains(Err(vimRun), StringComparison.Ordinal));
            var cells = row.Split('|', StringSplitOptions.TrimEntries)[2..^1]; // VIB σ = 0.5, 1, 2.5, then VIM σ = 0.5, 1, 2.5
            Assert.Equal([Err(vibRun), "—", "—", "—", "—", Err(vimRun)], cells);
            Assert.Contains("VIM's best prior is wider than VIB's", md);
            Assert.True(File.Exists(Path.Combine(root, "docs", "vim", "fig_conv_sigma_beta.png")));
        }
        finally { if (Directory.Exists(root)) Directory.Delete(root, recursive: true); }
    }

    [Fact]
    public void EllipseAxesOfARotatedCovariance()
    {
        // Σ = R diag(4, 1) Rᵀ with R a 30° rotation.
        double t = Math.PI / 6, c = Math.Cos(t), s = Math.Sin(t);
        var (major, minor, degrees) = ReproductionFigures.EllipseAxes([4 * c * c + s * s, 3 * c * s, 4 * s * s + c * c]);
        Assert.Equal(2, major, 9); Assert.Equal(1, minor, 9); Assert.Equal(30, degrees, 9);
    }
}
