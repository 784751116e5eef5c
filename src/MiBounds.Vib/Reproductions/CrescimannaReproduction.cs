using System.Globalization;
using System.Text;
using MiBounds.Vib.Models;
using MiBounds.Vib.Training;

namespace MiBounds.Vib.Reproductions;

/// <summary>
/// Crescimanna and Graham, "The Variational InfoMax Learning Objective": Tables 1–3 and Figures 1–2 on the MLP of the VIB
/// paper (Adam lr 1e-4), VIB and VIM with the prior N(0, σ²I); and, with <see cref="ReproductionSettings.ConvEpochs"/>,
/// the paper's σ × β study of a convolutional encoder (its CIFAR-10 experiment) on the same data.
/// </summary>
public sealed class CrescimannaReproduction(ReproductionSettings settings, RunScheduler scheduler, Action<string> log) : Reproduction(settings, scheduler, log)
{
    /// <summary>The default β grid: decades from 1e-5 to 1.</summary>
    public static readonly double[] DefaultBetas = Enumerable.Range(-5, 6).Select(e => Math.Pow(10, e)).ToArray();
    /// <summary>The prior scales compared.</summary>
    public static readonly double[] Sigmas = [1, 2];

    /// <summary>Prior scales of the convolutional σ × β study (the paper's best on CIFAR-10: VIM 2.5, VIB 0.5).</summary>
    public static readonly double[] ConvSigmas = [0.5, 1, 2.5];
    /// <summary>β grid of the convolutional study.</summary>
    public static readonly double[] ConvBetas = [1e-4, 1e-3, 1e-2, 1e-1];

    /// <inheritdoc/>
    public override string Command => "vim";

    private TrainConfig Base => new() { Epochs = Settings.Epochs, Seed = Settings.Seed, Bottleneck = 256 };
    private PlannedRun Model(ModelKind kind, double beta, double sigma, int k = 256) => PlannedRun.Of(Base with { Kind = kind, Beta = beta, PriorSigma = sigma, Bottleneck = k });
    private PlannedRun Baseline(int k = 256) => PlannedRun.Of(Base with { Kind = ModelKind.Deterministic, Beta = 0, Bottleneck = k });

    // The paper's CIFAR-10 schedule: Adam 1e-3 (β1 0.9, the paper states no other), halved every 30 epochs.
    private PlannedRun Conv(ModelKind kind, double beta, double sigma) => PlannedRun.Of(new TrainConfig
    {
        Kind = kind, Beta = beta, PriorSigma = sigma, Bottleneck = 256, Encoder = EncoderKind.Conv, Hidden = 512,
        Epochs = Settings.ConvEpochs, Seed = Settings.Seed, LearningRate = 1e-3, AdamBeta1 = 0.9, Decay = 0.5, DecayEvery = 30,
    });

    /// <inheritdoc/>
    public override IReadOnlyList<PlannedRun> Plan()
    {
        var list = new List<PlannedRun> { Baseline(), Model(ModelKind.Vib, 1e-3, 1), Model(ModelKind.Vim, 1e-3, 1), Model(ModelKind.Vib, 1e-4, 1) };
        foreach (double s in Sigmas) list.AddRange(Settings.Betas.Select(b => Model(ModelKind.Vim, b, s)));
        list.AddRange(Settings.Betas.Select(b => Model(ModelKind.Vib, b, 1)));
        list.Add(Baseline(2));
        foreach (double s in Sigmas) { list.Add(Model(ModelKind.Vib, 1e-3, s, 2)); list.Add(Model(ModelKind.Vim, 1e-3, s, 2)); }
        if (Settings.ConvEpochs > 0)
            foreach (double s in ConvSigmas)
                foreach (var kind in new[] { ModelKind.Vim, ModelKind.Vib })
                    list.AddRange(ConvBetas.Select(b => Conv(kind, b, s)));
        return list.DistinctBy(r => r.Name).ToList();
    }

    private bool InTable2(PlannedRun r) => r.Config.Bottleneck == 256 && r.Config.PriorSigma == 1 &&
        (r.Config.Kind == ModelKind.Deterministic || (r.Config.Kind == ModelKind.Vib && r.Config.Beta is 1e-3 or 1e-4) || (r.Config.Kind == ModelKind.Vim && r.Config.Beta == 1e-3));

    /// <inheritdoc/>
    protected override void Analyse(PlannedRun run, Lazy<VibTrainer> trainer)
    {
        if (InTable2(run))
            Cached<TargetedAttack>(run, TargetedAttack.File, t => t.Options == Settings.TargetedAttack && t.Source == Settings.Source && t.Target == Settings.Target,
                () => ReproductionAnalyses.Targeted(trainer.Value, Settings.Source, Settings.Target, 10, Settings.TargetedAttack), "targeted C&W on ten images");
        bool table3 = run.Config.Bottleneck == 256 && run.Config.PriorSigma == 1 && (run.Config.Kind == ModelKind.Deterministic || run.Config.Beta == 1e-3);
        if (table3 || run.Config.Bottleneck == 2)
            Cached<Representation>(run, Representation.File, r => r.Count == Scheduler.Data.Test.Count, () => ReproductionAnalyses.Quality(trainer.Value, Scheduler.Data.Test.Count), "k-means and Hoyer");
        if (run.Config.Bottleneck == 2)
            Cached<Embedding2D>(run, Embedding2D.File, _ => true, () => ReproductionAnalyses.Embedding(trainer.Value), "K = 2 embedding");
    }

    /// <inheritdoc/>
    public override void WriteReport()
    {
        var md = new StringBuilder();
        var inv = CultureInfo.InvariantCulture;
        Header(md, "The Variational InfoMax Learning Objective (Crescimanna and Graham)", "V. Crescimanna and B. Graham, *The Variational InfoMax Learning Objective* (arXiv 2003.03524)");
        Directory.CreateDirectory(Settings.FigureFolder);

        md.AppendLine("## Table 1 and Figure 1: test error vs β").AppendLine();
        var vib = Last(Model(ModelKind.Vib, 1e-3, 1)); var vim = Last(Model(ModelKind.Vim, 1e-3, 1)); var det = Last(Baseline());
        md.AppendLine("| model (K = 256, β = 1e-3, σ = 1) | paper (MNIST) | ours, 1 sample | ours, 12 samples |").AppendLine("|---|---|---|---|");
        md.AppendLine($"| baseline | — | {Fmt.Err(det?.TestAcc1 ?? double.NaN)} | — |");
        md.AppendLine($"| VIB | 1.13% | {Fmt.Err(vib?.TestAcc1 ?? double.NaN)} | {Fmt.Err(vib?.TestAcc12 ?? double.NaN)} |");
        md.AppendLine($"| VIM | 1.10% | {Fmt.Err(vim?.TestAcc1 ?? double.NaN)} | {Fmt.Err(vim?.TestAcc12 ?? double.NaN)} |");
        md.AppendLine();
        md.AppendLine(Claim("VIM has a lower test error than VIB at β = 1e-3, σ = 1", vib is null || vim is null ? null : vim.TestAcc12 > vib.TestAcc12,
            $"{Fmt.Err(vim?.TestAcc12 ?? double.NaN)} vs {Fmt.Err(vib?.TestAcc12 ?? double.NaN)}, 12 samples"));
        md.AppendLine();
        var series = new List<Series>();
        int color = 0;
        foreach (var (kind, sigma) in new[] { (ModelKind.Vib, 1.0), (ModelKind.Vim, 1.0), (ModelKind.Vim, 2.0) })
        {
            var pts = Settings.Betas.Select(b => (b, e: Last(Model(kind, b, sigma)))).Where(p => p.e is not null).ToList();
            series.Add(new($"{kind.ToString().ToUpperInvariant()} σ={sigma.ToString(inv)} test (12)", pts.Select(p => (p.b, 100 * (1 - p.e!.TestAcc12))).ToList(), color));
            series.Add(new($"{kind.ToString().ToUpperInvariant()} σ={sigma.ToString(inv)} train (12)", pts.Select(p => (p.b, 100 * (1 - p.e!.TrainAcc12))).ToList(), color++, Dashed: true));
        }
        var (fp, fl) = Settings.Figure("fig1_error_vs_beta");
        ReproductionFigures.Lines(fp, "Error vs β, K = 256", "β", "error (%)", series, logX: true, det is null ? null : [("baseline test", 100 * (1 - det.TestAcc1))], yMin: 0);
        md.AppendLine($"![error vs β]({fl})").AppendLine();

        md.AppendLine("## Table 2: targeted C&W L2, mean distance of the successful adversaries").AppendLine();
        md.AppendLine($"First ten test images of class {Settings.ClassName(Settings.Source)} toward {Settings.ClassName(Settings.Target)}, σ = 1, [0, 1] pixel units; attack: {ReproductionSettings.Describe(Settings.TargetedAttack)}.").AppendLine();
        md.AppendLine("| model | successes / 10 | L2 | L1 | L∞ |").AppendLine("|---|---|---|---|---|");
        foreach (var (name, run) in new[] { ("baseline", Baseline()), ("VIB β=1e-3", Model(ModelKind.Vib, 1e-3, 1)), ("VIB β=1e-4", Model(ModelKind.Vib, 1e-4, 1)), ("VIM β=1e-3", Model(ModelKind.Vim, 1e-3, 1)) })
        {
            var t = Result<TargetedAttack>(run, TargetedAttack.File);
            if (t is null) { md.AppendLine($"| {name} | not run yet | | | |"); continue; }
            var n = t.MeanSuccessful();
            md.AppendLine($"| {name} | {t.Images.Count(i => i.Success)} | {Fmt.Num(n.L2)} | {Fmt.Num(n.L1, "F2")} | {Fmt.Num(n.LInf)} |");
        }
        md.AppendLine().AppendLine("(Larger distances mean a more robust model; the paper reports VIM's as the largest.)").AppendLine();

        md.AppendLine("## Table 3: representation quality on the test set").AppendLine();
        md.AppendLine("k-means (k-means++, 10 restarts, seed 1) with 10 clusters on μ(x); the clustering index as we read the paper is the purity (each cluster named by its majority label); the adjusted Rand index beside it. Hoyer sparsity of μ/σ per image, averaged (the index is scale-free, so σ does not change it).").AppendLine();
        md.AppendLine("| model (K = 256, σ = 1) | purity | ARI | Hoyer |").AppendLine("|---|---|---|---|");
        foreach (var (name, run) in new[] { ("baseline", Baseline()), ("VIB β=1e-3", Model(ModelKind.Vib, 1e-3, 1)), ("VIM β=1e-3", Model(ModelKind.Vim, 1e-3, 1)) })
        {
            var r = Result<Representation>(run, Representation.File);
            md.AppendLine(r is null ? $"| {name} | not run yet | | |" : $"| {name} | {Fmt.Num(r.Purity)} | {Fmt.Num(r.AdjustedRand)} | {Fmt.Num(r.Hoyer)} |");
        }
        md.AppendLine();

        md.AppendLine("## Figure 2: K = 2 representations at each model's best σ").AppendLine();
        var candidates = new List<(string Name, PlannedRun Run)> { ("baseline", Baseline(2)) };
        foreach (var kind in new[] { ModelKind.Vib, ModelKind.Vim })
        {
            var best = Sigmas.Select(s => Model(kind, 1e-3, s, 2)).Select(r => (r, e: Last(r))).Where(p => p.e is not null).OrderBy(p => 1 - p.e!.TestAcc12).FirstOrDefault();
            if (best.r is not null) candidates.Add(($"{kind.ToString().ToUpperInvariant()} β=1e-3 σ={best.r.Config.PriorSigma.ToString(inv)}", best.r));
        }
        foreach (var (name, run) in candidates)
        {
            var emb = Result<Embedding2D>(run, Embedding2D.File); var rep = Result<Representation>(run, Representation.File); var e = Last(run);
            if (emb is null || rep is null || e is null) { md.AppendLine($"- {name}: not run yet"); continue; }
            var (p, l) = Settings.Figure("fig2_" + run.Name);
            string caption = $"{name}: test err {Fmt.Err(e.TestAcc12)}, purity {Fmt.Num(rep.Purity)}, ARI {Fmt.Num(rep.AdjustedRand)}, Hoyer {Fmt.Num(rep.Hoyer)}";
            ReproductionFigures.Embedding(emb, caption, p);
            md.AppendLine($"**{caption}**").AppendLine().AppendLine($"![{run.Name}]({l})").AppendLine();
        }

        ConvStudy(md);

        TrainingCurves(md, [("baseline", Baseline()), ("VIB β=1e-3 σ=1", Model(ModelKind.Vib, 1e-3, 1)), ("VIB β=1e-4 σ=1", Model(ModelKind.Vib, 1e-4, 1)),
            ("VIM β=1e-3 σ=1", Model(ModelKind.Vim, 1e-3, 1)), ("VIM β=1e-3 σ=2", Model(ModelKind.Vim, 1e-3, 2)), ("VIM K=2 β=1e-3 σ=1", Model(ModelKind.Vim, 1e-3, 1, 2))],
            string.Create(inv, $"the MLP runs train {Settings.Epochs} epochs here (Alemi et al.'s protocol, which the MLP follows, trains 200)"));

        md.AppendLine("## Differences from the paper's protocol").AppendLine();
        md.AppendLine($"- Data: {Settings.DatasetName}{(Settings.IsMnist ? "" : " instead of MNIST")}; the targeted pair is {Settings.ClassName(Settings.Source)} → {Settings.ClassName(Settings.Target)}.");
        md.AppendLine(string.Create(inv, $"- Epochs: {Settings.Epochs}; the VIB paper's MLP and schedule with Adam lr 1e-4 (the paper's learning rate)."));
        md.AppendLine("- VIM's MMD uses the inverse multiquadric kernel with C = 2Kσ² (single scale); VIB's KL is to the same prior N(0, σ²I).");
        md.AppendLine("- The clustering index is our reading of the paper (k-means purity); the ARI is the standard index.");
        md.AppendLine(string.Create(inv, $"- The σ × β study: {Settings.DatasetName} instead of CIFAR-10, {Settings.ConvEpochs} epochs. The paper's Table 4 layer list could not be consulted here, so the encoder is the library's convolutional one (the Guess-First trunk: conv 4×4/32 and 4×4/64, stride 2, batch-norm, ReLU; then FC 512, ReLU, → μ and σ of K = 256), with the paper's schedule (Adam 1e-3, halved every 30 epochs; β1 0.9 and Polyak 0.999 are ours){(Settings.ConvEpochs <= 30 ? "; at this length the rate was never halved" : "")}."));
        Save(md);
    }

    // The σ × β study: test error (12 samples) vs β, one line per model and σ, and whether VIM prefers a wider prior than VIB.
    private void ConvStudy(StringBuilder md)
    {
        var inv = CultureInfo.InvariantCulture;
        md.AppendLine("## The σ × β study with a convolutional encoder (the paper's CIFAR-10 experiment)").AppendLine();
        if (Settings.ConvEpochs == 0) { md.AppendLine("Not run (`--conv-epochs 0`).").AppendLine(); return; }
        var kinds = new[] { ModelKind.Vib, ModelKind.Vim };
        md.AppendLine("Test error (12 samples), K = 256:").AppendLine();
        md.AppendLine("| β | " + string.Join(" | ", kinds.SelectMany(k => ConvSigmas.Select(s => $"{k.ToString().ToUpperInvariant()} σ={s.ToString(inv)}"))) + " |");
        md.AppendLine("|---|" + string.Concat(Enumerable.Repeat("---|", kinds.Length * ConvSigmas.Length)));
        foreach (double b in ConvBetas)
            md.AppendLine($"| {Fmt.Beta(b)} | " + string.Join(" | ", kinds.SelectMany(k => ConvSigmas.Select(s => Fmt.Err(Last(Conv(k, b, s))?.TestAcc12 ?? double.NaN)))) + " |");
        md.AppendLine();
        var series = new List<Series>();
        for (int i = 0; i < ConvSigmas.Length; i++)
            foreach (var kind in kinds)
            {
                var pts = ConvBetas.Select(b => (b, e: Last(Conv(kind, b, ConvSigmas[i])))).Where(p => p.e is not null).Select(p => (p.b, 100 * (1 - p.e!.TestAcc12))).ToList();
                series.Add(new($"{kind.ToString().ToUpperInvariant()} σ={ConvSigmas[i].ToString(inv)}", pts, i, Dashed: kind == ModelKind.Vib));
            }
        var (fp, fl) = Settings.Figure("fig_conv_sigma_beta");
        ReproductionFigures.Lines(fp, "Convolutional encoder: test error vs β and σ", "β", "test error (%, 12 samples)", series, logX: true, yMin: 0);
        md.AppendLine($"![conv σ × β]({fl})").AppendLine();
        (double Sigma, double Beta, double Error)? Best(ModelKind kind) =>
            ConvSigmas.SelectMany(s => ConvBetas.Select(b => (s, b, e: Last(Conv(kind, b, s))))).Where(p => p.e is not null)
                .Select(p => ((double Sigma, double Beta, double Error)?)(p.s, p.b, 1 - p.e!.TestAcc12)).MinBy(p => p!.Value.Error);
        var bestVib = Best(ModelKind.Vib); var bestVim = Best(ModelKind.Vim);
        string Describe((double Sigma, double Beta, double Error)? p) => p is null ? "—" : string.Create(inv, $"σ = {p.Value.Sigma}, β = {Fmt.Beta(p.Value.Beta)}: {100 * p.Value.Error:F2}%");
        md.AppendLine(Claim("VIM's best prior is wider than VIB's (the paper: VIM σ = 2.5, VIB σ = 0.5)", bestVib is null || bestVim is null ? null : bestVim.Value.Sigma > bestVib.Value.Sigma,
            $"best VIM {Describe(bestVim)}; best VIB {Describe(bestVib)}"));
        md.AppendLine(Claim("VIM's best test error is below VIB's", bestVib is null || bestVim is null ? null : bestVim.Value.Error < bestVib.Value.Error,
            $"{Describe(bestVim)} vs {Describe(bestVib)}"));
        md.AppendLine();
    }
}
