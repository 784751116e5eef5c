using System.Globalization;
using MiBounds.Cli;
using MiBounds.Data;
using MiBounds.Estimation;
using MiBounds.Toy.Estimation;

namespace MiBounds.Toy;

internal static partial class Program
{
    internal static void RegisterEstimate(CommandSet c) => c.Add("estimate",
        "estimate I(X;Y) from your own samples: --x X.csv --y Y.csv (or .npy; or --data F --x-cols .. --y-cols ..), --estimator infonce, --json",
        o => Estimate(o, Console.Out, Console.Error));

    internal static int Estimate(ParsedOptions o, TextWriter output, TextWriter progress)
    {
        string? xPath = o.OptionalString("x"), yPath = o.OptionalString("y"), dataPath = o.OptionalString("data");
        string? xCols = o.OptionalString("x-cols"), yCols = o.OptionalString("y-cols");
        string estimator = EstimatorCatalog.Validate(o.String("estimator", EstimationOptions.DefaultEstimator));
        if (o.Has("steps") && o.Has("epochs")) throw new UsageException("give --steps or --epochs, not both");
        var options = new EstimationOptions
        {
            Estimator = estimator,
            Critic = o.Choice("critic", "separable", EstimatorCatalog.Critics),
            Hidden = o.Int("hidden", 256, min: 1, max: 65_536),
            Layers = o.Int("layers", 2, min: 1, max: 16),
            BatchSize = o.Int("batch", 128, min: 2, max: 100_000),
            Steps = o.Has("steps") ? o.Int("steps", EstimationOptions.DefaultSteps, min: 1) : null,
            Epochs = o.Has("epochs") ? o.Int("epochs", 1, min: 1, max: 1_000_000) : null,
            LearningRate = (float)o.Double("lr", 5e-4, min: 1e-8, max: 1),
            ValFraction = o.Double("val-fraction", 0.5, min: 0.01, max: 0.99),
            Folds = o.Int("folds", 1, min: 1, max: 100),
            Patience = o.Int("patience", 10, min: 1),
            KsgNeighbors = o.Int("k", Ksg.DefaultK, min: 1, max: 1000),
            Seed = (ulong)o.Int("seed", 1, min: 0),
        };
        bool json = o.Flag("json");
        bool quiet = o.Flag("quiet");
        o.EnsureAllUsed();

        var (x, y) = PairedData.Load(xPath, yPath, dataPath, xCols, yCols);
        using var cancel = new CancellationTokenSource();
        ConsoleCancelEventHandler onCancel = (_, e) => { e.Cancel = true; cancel.Cancel(); }; // finish with the best checkpoint so far
        Console.CancelKeyPress += onCancel;
        try
        {
            int lastDecile = -1;
            options = options with
            {
                Cancellation = cancel.Token,
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
            if (!quiet) progress.WriteLine($"{x.Rows} rows: X {x.Columns} column{(x.Columns == 1 ? "" : "s")} from {x.Path}, Y {y.Columns} from {y.Path}; estimator {estimator}");
            var result = MiEstimation.Estimate(x.Values, y.Values, options);
            if (json) output.WriteLine(EstimationJson.Serialize(result));
            else WriteReport(output, result, options);
            return 0;
        }
        finally { Console.CancelKeyPress -= onCancel; }
    }

    private static void WriteReport(TextWriter w, EstimationResult r, EstimationOptions o)
    {
        static string F(double v) => double.IsFinite(v) ? v.ToString("F3", CultureInfo.InvariantCulture) : "n/a";
        bool ksg = EstimatorCatalog.IsKsg(r.Estimator);
        string model = ksg ? $"k = {o.KsgNeighbors}"
            : EstimatorCatalog.IsUpperBound(r.Estimator) ? $"Gaussian q(y|x), hidden {o.Hidden}, batch {r.BatchSize?.ToString(CultureInfo.InvariantCulture) ?? "n/a"}"
            : $"{o.Critic} critic, hidden {o.Hidden}, batch {r.BatchSize?.ToString(CultureInfo.InvariantCulture) ?? "n/a"}";
        w.WriteLine($"estimator    {r.Estimator} ({r.Kind}, {model})");
        if (ksg) w.WriteLine($"rows         {r.Samples} (all used; KSG needs no training)");
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
        foreach (var warning in r.Warnings) w.WriteLine($"warning: {warning}");
    }
}
