using System.CommandLine;
using System.Globalization;
using MiBounds.Commands;
using MiBounds.Data;
using MiBounds.Estimation;
using MiBounds.Toy.Estimation;
using static MiBounds.Commands.CommandOptions;

namespace MiBounds.Toy.Commands;

/// <summary>`estimate`: I(X;Y) from the user's own samples.</summary>
internal static class EstimateCommand
{
    internal static Command Create()
    {
        var x = OptionalString("--x", "X samples: a .csv (header optional) or .npy file, one row per sample");
        var y = OptionalString("--y", "Y samples, the same rows as --x");
        var data = OptionalString("--data", "one .csv or .npy file holding both X and Y (with --x-cols and --y-cols)");
        var xCols = OptionalString("--x-cols", "columns of --data that form X: names or 1-based numbers and ranges (1,3-5)");
        var yCols = OptionalString("--y-cols", "columns of --data that form Y (default: the columns not in --x-cols)");
        var estimator = String("--estimator", "estimator name (auto, infonce, nwj, smile5, ksg, gcmi, cca, bmi-infonce, ...)", EstimationOptions.DefaultEstimator);
        var critic = Choice("--critic", "critic architecture", "separable", EstimatorCatalog.Critics);
        var hidden = Int("--hidden", "hidden width of the critic", 256, min: 1, max: 65_536);
        var layers = Int("--layers", "hidden layers of the critic", 2, min: 1, max: 16);
        var batch = Int("--batch", "batch size", 128, min: 2, max: 100_000);
        var steps = OptionalInt("--steps", $"training steps (default {EstimationOptions.DefaultSteps}; not with --epochs)", min: 1);
        var epochs = OptionalInt("--epochs", "training epochs over the training rows (not with --steps)", min: 1, max: 1_000_000);
        var lr = Double("--lr", "Adam learning rate", 5e-4, min: 1e-8, max: 1);
        var valFraction = Double("--val-fraction", "share of rows held out for the estimate", 0.5, min: 0.01, max: 0.99);
        var folds = Int("--folds", "cross-fitting folds", 1, min: 1, max: 100);
        var patience = Int("--patience", "evaluations without a better held-out value before stopping", 10, min: 1);
        var k = Int("--k", "neighbours of the KSG estimator", Ksg.DefaultK, min: 1, max: 1000);
        var seed = Int("--seed", "seed", 1, min: 0);
        var evalBatch = OptionalInt("--eval-batch", "held-out batch size for the bound (0: the whole held-out split; default --batch, auto 0)", min: 0);
        var transform = Choice("--transform", "column scaling: auto, standardize, robust (median/IQR) or normal-scores (ranks)", "auto", EstimationOptions.Transforms);
        var permutations = Int("--permutations", "permutations for a p-value of independence (0: none)", 0, min: 0, max: 1_000_000);
        var timeLimit = OptionalDouble("--time-limit", $"seconds of training per fold before stopping (auto: {MiEstimation.AutoTimeLimitSeconds:G})", min: 0.001);
        var json = Flag("--json", "print one JSON object instead of the report");
        var quiet = Flag("--quiet", "no progress lines");
        var bmi = new Option<string[]>("--bmi")
        {
            Description = "BMI's external-estimator call: --bmi SAMPLE.csv DIM_X DIM_Y reads BMI's sample CSV (header X0..,Y0..) and prints only the estimate in nats",
            Arity = new ArgumentArity(3, 3),
            AllowMultipleArgumentsPerToken = true,
        };
        return new Command("estimate", "estimate I(X;Y) from your own samples: --x X.csv --y Y.csv (or .npy; or --data F --x-cols .. --y-cols ..; or --bmi SAMPLE.csv DIM_X DIM_Y)")
            { x, y, data, xCols, yCols, estimator, critic, hidden, layers, batch, steps, epochs, lr, valFraction, folds, patience, k, seed, evalBatch, transform, permutations, timeLimit, json, quiet, bmi }
            .WithAction(run =>
            {
                string name = EstimatorCatalog.Validate(run.Get(estimator));
                if (run.Has(steps) && run.Has(epochs)) throw new UsageException("give --steps or --epochs, not both");
                var options = new EstimationOptions
                {
                    Estimator = name,
                    Critic = run.Get(critic),
                    Hidden = run.Get(hidden),
                    Layers = run.Get(layers),
                    BatchSize = run.Get(batch),
                    Steps = run.Get(steps),
                    Epochs = run.Get(epochs),
                    LearningRate = (float)run.Get(lr),
                    ValFraction = run.Get(valFraction),
                    Folds = run.Get(folds),
                    Patience = run.Get(patience),
                    KsgNeighbors = run.Get(k),
                    Seed = (ulong)run.Get(seed),
                    EvalBatchSize = run.Get(evalBatch),
                    Transform = run.Get(transform),
                    Permutations = run.Get(permutations),
                    TimeLimitSeconds = run.Get(timeLimit),
                };
                if (run.Has(bmi))
                {
                    if (run.Has(x) || run.Has(y) || run.Has(data)) throw new UsageException("--bmi SAMPLE.csv DIM_X DIM_Y replaces --x, --y and --data");
                    return RunBmi(run, run.Get(bmi), options);
                }
                return Run(run, run.Get(x), run.Get(y), run.Get(data), run.Get(xCols), run.Get(yCols), options, run.Get(json), run.Get(quiet));
            });
    }

    private static int Run(CommandRun run, string? xPath, string? yPath, string? dataPath, string? xCols, string? yCols, EstimationOptions options, bool json, bool quiet)
    {
        var output = run.Out;
        var progress = run.Error;
        var (x, y) = PairedData.Load(xPath, yPath, dataPath, xCols, yCols);
        int lastDecile = -1;
        options = options with
        {
            Cancellation = run.Cancellation, // an interruption finishes with the best checkpoint so far
            Progress = quiet ? null : p =>
            {
                int decile = p.Steps == 0 ? 10 : 10 * p.Step / p.Steps;
                if (decile == lastDecile && p.Step < p.Steps) return;
                lastDecile = decile;
                string fold = p.Folds > 1 ? $"fold {p.Fold + 1}/{p.Folds} " : "";
                progress.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{fold}step {p.Step}/{p.Steps}: training {(double.IsNaN(p.TrainNats) ? "-" : p.TrainNats.ToString("F3", CultureInfo.InvariantCulture))}, held-out {p.HeldOutNats:F3} (best {p.BestHeldOutNats:F3}) nats"));
            },
        };
        if (!quiet) progress.WriteLine($"{x.Rows} rows: X {x.Columns} column{(x.Columns == 1 ? "" : "s")} from {x.Path}, Y {y.Columns} from {y.Path}; estimator {options.Estimator}");
        var result = MiEstimation.Estimate(x.Values, y.Values, options);
        if (json) output.WriteLine(EstimationJson.Serialize(result));
        else WriteReport(output, result, options);
        return run.Cancellation.IsCancellationRequested ? CommandHost.Interrupted : 0;
    }

    /// <summary>
    /// BMI's external-estimator protocol: the sample CSV its runner writes (pandas, no index: a header X0..X{dx−1},
    /// Y0..Y{dy−1}, then one row per sample), the two dimensions as arguments, and the estimate alone on standard output
    /// (BMI parses stdout and stderr together as one float, so nothing else is written unless it fails).
    /// </summary>
    private static int RunBmi(CommandRun run, string[] args, EstimationOptions options)
    {
        string path = args[0];
        if (!int.TryParse(args[1], NumberStyles.None, CultureInfo.InvariantCulture, out int dimX) || dimX < 1
            || !int.TryParse(args[2], NumberStyles.None, CultureInfo.InvariantCulture, out int dimY) || dimY < 1)
            throw new UsageException($"--bmi SAMPLE.csv DIM_X DIM_Y: the dimensions must be positive integers, got '{args[1]}' and '{args[2]}'");
        var all = DataFile.Read(path);
        if (all.Columns != dimX + dimY) throw new InvalidDataException($"{path} has {all.Columns} columns but DIM_X + DIM_Y = {dimX + dimY}");
        // BMI reads columns whose names contain X as X and those with Y as Y; without such a header, X comes first.
        int[] xs = Enumerable.Range(0, all.Columns).Where(c => all.ColumnNames[c].Contains('X', StringComparison.Ordinal)).ToArray();
        int[] ys = Enumerable.Range(0, all.Columns).Where(c => all.ColumnNames[c].Contains('Y', StringComparison.Ordinal)).ToArray();
        if (xs.Length + ys.Length != all.Columns || xs.Intersect(ys).Any())
        {
            xs = Enumerable.Range(0, dimX).ToArray();
            ys = Enumerable.Range(dimX, dimY).ToArray();
        }
        else if (xs.Length != dimX || ys.Length != dimY)
            throw new InvalidDataException($"{path} has {xs.Length} X columns and {ys.Length} Y columns but the call says DIM_X = {dimX}, DIM_Y = {dimY}");
        var data = new PairedData(all.Select(xs), all.Select(ys));
        data.Validate();
        var result = MiEstimation.Estimate(data.X.Values, data.Y.Values, options with { Cancellation = run.Cancellation });
        run.Out.WriteLine(result.EstimateNats.ToString("R", CultureInfo.InvariantCulture));
        return run.Cancellation.IsCancellationRequested ? CommandHost.Interrupted : 0;
    }

    private static void WriteReport(TextWriter w, EstimationResult r, EstimationOptions o)
    {
        static string F(double v) => double.IsFinite(v) ? v.ToString("F3", CultureInfo.InvariantCulture) : "n/a";
        bool ksg = EstimatorCatalog.IsKsg(r.Estimator) || EstimatorCatalog.IsGaussian(r.Estimator);
        string model = EstimatorCatalog.IsKsg(r.Estimator) ? $"k = {o.KsgNeighbors}"
            : EstimatorCatalog.IsGaussian(r.Estimator) ? (r.Estimator == "gcmi" ? "normal scores, bias-corrected Gaussian MI" : "canonical correlations")
            : EstimatorCatalog.IsAuto(r.Estimator) ? $"InfoNCE with a joint 16-8 critic on the whole held-out half, GCMI and KSG; batch {r.BatchSize?.ToString(CultureInfo.InvariantCulture) ?? "n/a"}"
            : EstimatorCatalog.IsUpperBound(r.Estimator) ? $"Gaussian q(y|x), hidden {o.Hidden}, batch {r.BatchSize?.ToString(CultureInfo.InvariantCulture) ?? "n/a"}"
            : $"{o.Critic} critic, hidden {o.Hidden}, batch {r.BatchSize?.ToString(CultureInfo.InvariantCulture) ?? "n/a"}";
        w.WriteLine($"estimator    {r.Estimator} ({r.Kind}, {model})");
        if (ksg) w.WriteLine($"rows         {r.Samples} (all used; {r.Estimator} needs no training)");
        else if (r.Folds.Count == 1) w.WriteLine($"rows         {r.Samples} ({r.Folds[0].TrainRows} to train, {r.Folds[0].HeldOutRows} held out)");
        else w.WriteLine($"rows         {r.Samples} ({r.Folds.Count} folds)");
        w.WriteLine($"I(X;Y)       {F(r.EstimateNats)} ± {F(r.StderrNats)} nats = {F(r.EstimateBits)} ± {F(r.StderrBits)} bits");
        if (!ksg)
        {
            var f = r.Folds[0];
            string when = r.Folds.Count == 1 && f.BestStep is not null ? $", best checkpoint at step {f.BestStep} of {f.StepsRun} run ({f.StopReason})" : "";
            w.WriteLine($"             held-out value{when}");
            w.WriteLine($"training     {F(r.TrainNats)} nats (the same critic on the training rows)");
        }
        w.WriteLine($"uncertainty  {r.Uncertainty}");
        if (r.Source is { } source && source != r.Estimator)
        {
            w.WriteLine($"source       {source}: {r.SourceReason}");
            w.WriteLine($"components   {string.Join(", ", r.Components.Select(c => $"{c.Key} {F(c.Value)}"))} nats");
        }
        if (r.Permutations > 0) w.WriteLine(string.Create(CultureInfo.InvariantCulture, $"p-value      {r.PValue:G3} for independence ({r.Permutations} permutations of {(EstimatorCatalog.IsGaussian(r.Estimator) || EstimatorCatalog.IsKsg(r.Estimator) ? "the pairing, estimate recomputed" : "the held-out pairing, critic fixed")})"));
        foreach (var warning in r.Warnings) w.WriteLine($"warning: {warning}");
    }
}
