using System.Globalization;
using System.Text;
using MiBounds.Vib.Attacks;
using MiBounds.Vib.Models;
using MiBounds.Vib.Training;

namespace MiBounds.Vib.Reproductions;

/// <summary>
/// Alemi et al. 2017, "Deep Variational Information Bottleneck": Table 1, Figures 1(a)–(d), 2, 3 and 4(a)–(b), as runs of
/// the vib/baseline training (784-1024-1024-2K encoder, Adam 1e-4 β1 0.5, ×0.97 every 2 epochs, Polyak 0.999, batch 100).
/// </summary>
public sealed class AlemiReproduction(ReproductionSettings settings, RunScheduler scheduler, Action<string> log) : Reproduction(settings, scheduler, log)
{
    /// <summary>The paper's β grid: decades from 1e-9 to 1.</summary>
    public static readonly double[] DefaultBetas = Enumerable.Range(-9, 10).Select(e => Math.Pow(10, e)).ToArray();
    /// <summary>The β values of Figure 2's embeddings.</summary>
    public static readonly double[] EmbeddingBetas = [1e-3, 1e-1, 1];
    /// <summary>Label-smoothing ε of the Table 1 baseline (our choice; the paper does not give it).</summary>
    public const double Smoothing = 0.1;
    /// <summary>Confidence-penalty weight of the Table 1 baseline (our choice; the paper does not give it).</summary>
    public const double Penalty = 0.1;

    /// <inheritdoc/>
    public override string Command => "vib";

    private TrainConfig Base => new() { Epochs = Settings.Epochs, Seed = Settings.Seed, Bottleneck = 256 };
    private PlannedRun Vib(double beta, int k) => PlannedRun.Of(Base with { Kind = ModelKind.Vib, Beta = beta, Bottleneck = k, FullCovariance = k == 2 });
    private PlannedRun Deterministic => PlannedRun.Of(Base with { Kind = ModelKind.Deterministic, Beta = 0 });
    private PlannedRun Dropout => PlannedRun.Of(Base with { Kind = ModelKind.Dropout, Beta = 0 });
    private PlannedRun Smoothed => PlannedRun.Of(Base with { Kind = ModelKind.LabelSmoothing, Beta = 0, LabelSmoothing = Smoothing });
    private PlannedRun Penalized => PlannedRun.Of(Base with { Kind = ModelKind.ConfidencePenalty, Beta = 0, ConfidencePenalty = Penalty });

    /// <inheritdoc/>
    public override IReadOnlyList<PlannedRun> Plan()
    {
        var list = new List<PlannedRun> { Deterministic, Vib(1e-3, 256), Dropout, Smoothed, Penalized };
        list.AddRange(Settings.Betas.Select(b => Vib(b, 256)));
        list.AddRange(Settings.Betas.Select(b => Vib(b, 2)));
        return list.DistinctBy(r => r.Name).ToList();
    }

    private bool Attacked(PlannedRun r) => r.Config.Bottleneck == 256 && r.Config.Kind is ModelKind.Vib or ModelKind.Deterministic or ModelKind.Dropout;

    /// <inheritdoc/>
    protected override void Analyse(PlannedRun run, Lazy<VibTrainer> trainer)
    {
        if (Attacked(run))
            Cached<TargetedAttack>(run, TargetedAttack.File, t => t.Options == Settings.TargetedAttack && t.Source == Settings.Source && t.Target == Settings.Target,
                () => ReproductionAnalyses.Targeted(trainer.Value, Settings.Source, Settings.Target, 10, Settings.TargetedAttack), "targeted C&W on ten images");
        if (Attacked(run) && run.Config.Kind != ModelKind.Dropout && !Settings.SkipAttackSweep)
            Cached<AttackAccuracy>(run, AttackAccuracy.File, a => a.Options == Settings.SweepAttack && a.Count == Math.Min(Settings.AttackCount, Scheduler.Data.Test.Count),
                () => ReproductionAnalyses.Accuracy(trainer.Value, Settings.AttackCount, Settings.SweepAttack), $"C&W accuracy on {Settings.AttackCount} images");
        if (run.Config.Bottleneck == 2)
            Cached<Embedding2D>(run, Embedding2D.File, _ => true, () => ReproductionAnalyses.Embedding(trainer.Value), "K = 2 embedding");
    }

    private static readonly (string Name, double Paper)[] Table1Paper = [("Baseline (deterministic)", 1.38), ("Dropout", 1.34), ("Label smoothing", 1.40), ("Confidence penalty", 1.36), ("VIB β = 1e-3", 1.13)];

    /// <inheritdoc/>
    public override void WriteReport()
    {
        var md = new StringBuilder();
        Header(md, "Deep Variational Information Bottleneck (Alemi et al. 2017)", "A. A. Alemi, I. Fischer, J. V. Dillon, K. Murphy, *Deep Variational Information Bottleneck*, ICLR 2017");
        var inv = CultureInfo.InvariantCulture;
        Directory.CreateDirectory(Settings.FigureFolder);

        // Table 1.
        md.AppendLine("## Table 1: test error at K = 256").AppendLine();
        md.AppendLine($"| model | paper (MNIST) | ours, 1 sample | ours, 12 samples | epochs |").AppendLine("|---|---|---|---|---|");
        PlannedRun[] t1 = [Deterministic, Dropout, Smoothed, Penalized, Vib(1e-3, 256)];
        for (int i = 0; i < t1.Length; i++)
        {
            var e = Last(t1[i]);
            md.AppendLine(string.Create(inv, $"| {Table1Paper[i].Name} | {Table1Paper[i].Paper:F2}% | {Fmt.Err(e?.TestAcc1 ?? double.NaN)} | {Fmt.Err(e?.TestAcc12 ?? double.NaN)} | {e?.Epoch.ToString(inv) ?? "—"} |"));
        }
        var det = Last(Deterministic); var vib3 = Last(Vib(1e-3, 256));
        md.AppendLine();
        md.AppendLine(Claim("VIB (β = 1e-3) has a lower test error than the deterministic baseline", det is null || vib3 is null ? null : vib3.TestAcc12 > det.TestAcc1,
            $"{Fmt.Err(vib3?.TestAcc12 ?? double.NaN)} vs {Fmt.Err(det?.TestAcc1 ?? double.NaN)}"));
        md.AppendLine($"- Baseline parameters (the paper does not state them): dropout rate 0.5 on both hidden layers, label smoothing ε = {Smoothing.ToString(inv)}, confidence penalty β = {Penalty.ToString(inv)} (loss CE − β·H(q(y|x))).").AppendLine();

        // Figure 1.
        md.AppendLine("## Figure 1: error and information vs β").AppendLine();
        foreach (int k in new[] { 256, 2 })
        {
            var pts = Settings.Betas.Select(b => (b, e: Last(Vib(b, k)))).Where(p => p.e is not null).ToList();
            var series = new List<Series>
            {
                new("test, 1 sample", pts.Select(p => (p.b, 100 * (1 - p.e!.TestAcc1))).ToList(), 0),
                new("test, 12 samples", pts.Select(p => (p.b, 100 * (1 - p.e!.TestAcc12))).ToList(), 1),
                new("train, 1 sample", pts.Select(p => (p.b, 100 * (1 - p.e!.TrainAcc1))).ToList(), 0, Dashed: true),
                new("train, 12 samples", pts.Select(p => (p.b, 100 * (1 - p.e!.TrainAcc12))).ToList(), 1, Dashed: true),
            };
            var (path, link) = Settings.Figure(k == 256 ? "fig1a_error_vs_beta_k256" : "fig1b_error_vs_beta_k2");
            ReproductionFigures.Lines(path, string.Create(inv, $"VIB error vs β, K = {k}"), "β", "error (%)", series, logX: true,
                k == 256 && det is not null ? [("deterministic test", 100 * (1 - det.TestAcc1))] : null, yMin: 0);
            md.AppendLine(string.Create(inv, $"**({(k == 256 ? "a" : "b")}) K = {k}**{(k == 2 ? " (full-covariance encoder, as in the paper)" : "")}")).AppendLine().AppendLine($"![error vs β, K={k}]({link})").AppendLine();
        }
        {
            var pts = Settings.Betas.Select(b => (b, e: Last(Vib(b, 256)))).Where(p => p.e is not null).ToList();
            var (path, link) = Settings.Figure("fig1c_ib_curve");
            ReproductionFigures.Lines(path, "IB curve, K = 256", "I(Z;X) upper bound (bits)", "I(Z;Y) lower bound (bits)",
            [
                new("test", pts.Select(p => (p.e!.IzxBits, p.e.IzyBits)).ToList(), 0),
                new("train", pts.Select(p => (p.e!.TrainIzxBits, p.e.TrainIzyBits)).ToList(), 1, Dashed: true),
            ], logX: true, [("H(Y) = log₂ 10", Math.Log2(10))]);
            md.AppendLine("**(c) the IB curve, K = 256** (each point one β; I(Z;X) ≤ mean KL, I(Z;Y) ≥ H(Y) − CE)").AppendLine().AppendLine($"![IB curve]({link})").AppendLine();
            var (path2, link2) = Settings.Figure("fig1d_izx_vs_beta");
            var pts2 = Settings.Betas.Select(b => (b, e: Last(Vib(b, 2)))).Where(p => p.e is not null).ToList();
            ReproductionFigures.Lines(path2, "I(Z;X) vs β", "β", "I(Z;X) upper bound (bits)",
            [
                new("K = 256 test", pts.Select(p => (p.b, p.e!.IzxBits)).ToList(), 0),
                new("K = 256 train", pts.Select(p => (p.b, p.e!.TrainIzxBits)).ToList(), 0, Dashed: true),
                new("K = 2 test", pts2.Select(p => (p.b, p.e!.IzxBits)).ToList(), 1),
                new("K = 2 train", pts2.Select(p => (p.b, p.e!.TrainIzxBits)).ToList(), 1, Dashed: true),
            ], logX: true, yMin: 0);
            md.AppendLine("**(d) I(Z;X) vs β**").AppendLine().AppendLine($"![I(Z;X) vs β]({link2})").AppendLine();
        }

        // Figure 2.
        md.AppendLine("## Figure 2: K = 2 embeddings").AppendLine();
        md.AppendLine("95% ellipses of p(z|x) (full covariance) for the first 1000 test images over the entropy of q(y|z).").AppendLine();
        foreach (double b in EmbeddingBetas)
        {
            var run = Vib(b, 2);
            var emb = Result<Embedding2D>(run, Embedding2D.File);
            var e = Last(run);
            if (emb is null || e is null) { md.AppendLine($"- β = {Fmt.Beta(b)}: not run yet{(Settings.Betas.Contains(b) ? "" : " (not in --betas)")}"); continue; }
            var (path, link) = Settings.Figure(string.Create(inv, $"fig2_embedding_beta_{Fmt.Beta(b)}"));
            ReproductionFigures.Embedding(emb, $"β = {Fmt.Beta(b)}: err1 {Fmt.Err(e.TestAcc1)}, err12 {Fmt.Err(e.TestAcc12)}", path);
            md.AppendLine($"**β = {Fmt.Beta(b)}**: err1 {Fmt.Err(e.TestAcc1)}, err12 {Fmt.Err(e.TestAcc12)}").AppendLine().AppendLine($"![embedding β={Fmt.Beta(b)}]({link})").AppendLine();
        }

        // Figures 3 and 4(a).
        md.AppendLine("## Figures 3 and 4(a): targeted C&W L2 on ten images").AppendLine();
        md.AppendLine($"The first ten test images of class {Settings.ClassName(Settings.Source)} attacked toward {Settings.ClassName(Settings.Target)} (the paper: MNIST 0 → 1; we chose a visually dissimilar Fashion-MNIST pair), against the 12-sample predictive distribution. Attack: {ReproductionSettings.Describe(Settings.TargetedAttack)}. Norms in [0, 1] pixel units; L0 counts pixels moved by more than half a grey level.").AppendLine();
        var attacked = new List<(string Model, PlannedRun Run)> { ("deterministic", Deterministic), ("dropout", Dropout) };
        attacked.AddRange(Settings.Betas.Select(b => ($"VIB β={Fmt.Beta(b)}", Vib(b, 256))));
        var targeted = attacked.Select(a => (a.Model, a.Run, T: Result<TargetedAttack>(a.Run, TargetedAttack.File))).Where(a => a.T is not null).ToList();
        var detNorms = targeted.FirstOrDefault(a => a.Run == Deterministic).T?.MeanSuccessful();
        md.AppendLine("| model | successes / 10 | mean L0 | mean L2 | mean L∞ | L0 / det | L2 / det | L∞ / det |").AppendLine("|---|---|---|---|---|---|---|---|");
        foreach (var (model, _, t) in targeted)
        {
            var n = t!.MeanSuccessful();
            var rel = detNorms is null ? null : n.RelativeTo(detNorms);
            md.AppendLine($"| {model} | {t.Images.Count(i => i.Success)} | {Fmt.Num(n.L0, "F1")} | {Fmt.Num(n.L2)} | {Fmt.Num(n.LInf)} | {Fmt.Num(rel?.L0 ?? double.NaN, "F2")} | {Fmt.Num(rel?.L2 ?? double.NaN, "F2")} | {Fmt.Num(rel?.LInf ?? double.NaN, "F2")} |");
        }
        md.AppendLine();
        if (targeted.Count > 0)
        {
            int side = (int)Math.Round(Math.Sqrt(targeted[0].T!.Images[0].Adversarial.Length));
            var (gp, gl) = Settings.Figure("fig3_targeted_examples");
            ReproductionFigures.AdversarialGrid(targeted.Select(a => (a.Model, a.T!)).ToList(), side, gp);
            md.AppendLine($"![targeted examples]({gl})").AppendLine();
            if (detNorms is not null)
            {
                var vibRows = targeted.Where(a => a.Run.Config.Kind == ModelKind.Vib).Select(a => (a.Run.Config.Beta, N: a.T!.MeanSuccessful().RelativeTo(detNorms))).ToList();
                var (rp, rl) = Settings.Figure("fig4a_relative_norms");
                ReproductionFigures.Lines(rp, "Successful perturbations relative to the deterministic model", "β", "norm / deterministic's",
                [
                    new("L0", vibRows.Select(r => (r.Beta, r.N.L0)).ToList(), 0), new("L2", vibRows.Select(r => (r.Beta, r.N.L2)).ToList(), 1), new("L∞", vibRows.Select(r => (r.Beta, r.N.LInf)).ToList(), 2),
                ], logX: true, [("deterministic", 1.0)], yMin: 0);
                md.AppendLine($"![relative norms]({rl})").AppendLine();
            }
            md.AppendLine(Claim("VIB at large β (≥ 1e-2) makes the targeted attack fail on some images where the deterministic model fails on none",
                targeted.Any(a => a.Run == Deterministic) && targeted.Any(a => a.Run.Config.Beta >= 1e-2) ? targeted.Where(a => a.Run.Config.Beta >= 1e-2).Any(a => a.T!.Images.Any(i => !i.Success)) && targeted.First(a => a.Run == Deterministic).T!.Images.All(i => i.Success) : null,
                string.Join(", ", targeted.Select(a => $"{a.Model}: {a.T!.Images.Count(i => i.Success)}/10"))));
            md.AppendLine();
        }

        // Figure 4(b).
        md.AppendLine("## Figure 4(b): accuracy under C&W L2 vs β").AppendLine();
        md.AppendLine(string.Create(inv, $"First {Settings.AttackCount} test images, against the 12-sample predictive distribution; targeted toward a uniformly drawn wrong class, and untargeted. Attack: {ReproductionSettings.Describe(Settings.SweepAttack)} (fewer iterations than the ten-image attack: see the differences below).")).AppendLine();
        var detAcc = Result<AttackAccuracy>(Deterministic, AttackAccuracy.File);
        var sweep = Settings.Betas.Select(b => (b, a: Result<AttackAccuracy>(Vib(b, 256), AttackAccuracy.File))).Where(p => p.a is not null).ToList();
        md.AppendLine("| model | clean | targeted | untargeted |").AppendLine("|---|---|---|---|");
        if (detAcc is not null) md.AppendLine($"| deterministic | {Fmt.Pct(detAcc.Clean)} | {Fmt.Pct(detAcc.Targeted)} | {Fmt.Pct(detAcc.Untargeted)} |");
        foreach (var (b, a) in sweep) md.AppendLine($"| VIB β={Fmt.Beta(b)} | {Fmt.Pct(a!.Clean)} | {Fmt.Pct(a.Targeted)} | {Fmt.Pct(a.Untargeted)} |");
        md.AppendLine();
        if (sweep.Count > 0)
        {
            var (ap, al) = Settings.Figure("fig4b_accuracy_under_attack");
            ReproductionFigures.Lines(ap, "Accuracy under the C&W L2 attack", "β", "accuracy (%)",
            [
                new("VIB targeted", sweep.Select(p => (p.b, 100 * p.a!.Targeted)).ToList(), 0), new("VIB untargeted", sweep.Select(p => (p.b, 100 * p.a!.Untargeted)).ToList(), 1),
            ], logX: true, detAcc is null ? null : [("deterministic targeted", 100 * detAcc.Targeted), ("deterministic untargeted", 100 * detAcc.Untargeted)], yMin: 0);
            md.AppendLine($"![accuracy under attack]({al})").AppendLine();
            var bestT = sweep.MaxBy(p => p.a!.Targeted);
            md.AppendLine(Claim("some VIB β is more robust than the deterministic model under the targeted attack", detAcc is null ? null : bestT.a!.Targeted > detAcc.Targeted,
                $"best VIB β={Fmt.Beta(bestT.b)} {Fmt.Pct(bestT.a!.Targeted)} vs deterministic {Fmt.Pct(detAcc?.Targeted ?? double.NaN)}"));
            md.AppendLine();
        }

        TrainingCurves(md, [("deterministic", Deterministic), ("dropout", Dropout), ("label smoothing", Smoothed), ("confidence penalty", Penalized),
            ("VIB β=1e-3", Vib(1e-3, 256)), ("VIB β=1e-2", Vib(1e-2, 256)), ("VIB K=2 β=1e-3", Vib(1e-3, 2))], "the paper trains 200 epochs");

        md.AppendLine("## Differences from the paper's protocol").AppendLine();
        md.AppendLine($"- Data: {Settings.DatasetName} instead of MNIST{(Settings.IsMnist ? " (none)" : "")}; the targeted pair is {Settings.ClassName(Settings.Source)} → {Settings.ClassName(Settings.Target)} instead of 0 → 1.");
        md.AppendLine(string.Create(inv, $"- Epochs: {Settings.Epochs} (the paper: 200). The per-run table above and \"Where training stands\" show where each run stands."));
        md.AppendLine("- Architecture and optimizer as the paper's (784-1024-1024-2K ReLU encoder, σ = softplus(· − 5), linear softmax decoder, Adam lr 1e-4 β1 0.5, ×0.97 every 2 epochs, Polyak 0.999, batch 100); the K = 2 encoder predicts μ and a Cholesky factor (K = 256 stays diagonal, as in the paper).");
        md.AppendLine($"- Table 1's baselines use our parameters (dropout 0.5, label smoothing {Smoothing.ToString(inv)}, confidence penalty {Penalty.ToString(inv)}); the paper's rows for them come from Pereyra et al. 2017 settings we could not confirm.");
        md.AppendLine($"- Ten-image targeted attack: {ReproductionSettings.Describe(Settings.TargetedAttack)}. The accuracy sweep: {ReproductionSettings.Describe(Settings.SweepAttack)} — fewer iterations than the original attack to fit the CPU budget, so its accuracies are upper bounds on the full attack's.");
        md.AppendLine("- The attack's success is judged on the same stochastic 12-sample pass that gives its gradient; the reported accuracies re-classify the examples with fresh noise.");
        var smallest = Settings.Betas.Length == 0 ? null : Result<AttackAccuracy>(Vib(Settings.Betas.Min(), 256), AttackAccuracy.File);
        string nearDeterministic = smallest is null ? "" : string.Create(inv, $" (even β = {Fmt.Beta(Settings.Betas.Min())}, whose encoder is almost deterministic, keeps {Fmt.Pct(smallest.Targeted)} of the images under the targeted attack and {Fmt.Pct(smallest.Untargeted)} under the untargeted one)");
        md.AppendLine($"- Read Figure 4(b) with that in mind: with confidence κ = 0 a C&W adversary sits on the decision boundary, so fresh noise flips many back to the true class. Part of VIB's accuracy under attack is this effect rather than robustness{nearDeterministic}; a margin (`--cw-confidence`) or an attack on the averaged prediction with its noise fixed would separate the two.");
        md.AppendLine("- Not reproduced: the paper's ImageNet experiments.");
        Save(md);
    }
}
