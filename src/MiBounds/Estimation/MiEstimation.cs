using System.Globalization;
using MiBounds.Bounds;
using MiBounds.Tensors;
using MiBounds.Tensors.Nn;
using MiBounds.Tensors.Optim;
using MiBounds.Training;

namespace MiBounds.Estimation;

/// <summary>
/// Estimates I(X; Y) from paired samples the way a user needs it: columns standardized, the critic trained on one
/// part of the rows, the estimate taken on rows it never saw (early stopping on that held-out value, reporting the
/// best checkpoint's held-out value, never a training-batch value), with a standard error and warnings about the
/// usual failure modes (still rising, log K ceiling, overfitting, tiny data).
/// </summary>
public static class MiEstimation
{
    /// <summary>Estimates I(X; Y) from rows of <paramref name="x"/> [N, dx] and <paramref name="y"/> [N, dy].</summary>
    public static EstimationResult Estimate(float[,] x, float[,] y, EstimationOptions? options = null) =>
        Estimate(ToDouble(x ?? throw new ArgumentNullException(nameof(x))), ToDouble(y ?? throw new ArgumentNullException(nameof(y))), options);

    /// <summary>Estimates I(X; Y) from tensors X [N, dx] and Y [N, dy].</summary>
    public static EstimationResult Estimate(Tensor x, Tensor y, EstimationOptions? options = null) =>
        Estimate(ToDouble(x ?? throw new ArgumentNullException(nameof(x)), "X"), ToDouble(y ?? throw new ArgumentNullException(nameof(y)), "Y"), options);

    /// <summary>Estimates I(X; Y) from rows of <paramref name="x"/> [N, dx] and <paramref name="y"/> [N, dy].</summary>
    public static EstimationResult Estimate(double[,] x, double[,] y, EstimationOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(y);
        var o = options ?? new EstimationOptions();
        CheckOptions(o);
        string name = EstimatorCatalog.Validate(o.Estimator);
        if (o.CriticFactory is not null && (EstimatorCatalog.IsKsg(name) || EstimatorCatalog.IsUpperBound(name) || EstimatorCatalog.IsGaussian(name) || EstimatorCatalog.IsBmiProtocol(name)))
            throw new ArgumentException($"{name} takes no critic: a critic factory works with the critic-based bounds ({BoundSpec.Accepted}) and auto");
        int n = x.GetLength(0);
        if (y.GetLength(0) != n) throw new ArgumentException($"X has {n} rows but Y has {y.GetLength(0)}: rows must be paired");
        if (n < MinimumRows) throw new ArgumentException($"need at least {MinimumRows} rows (2 to train on, 2 to hold out), got {n}");
        var xs = Standardize(x, "X"); // also rejects non-finite cells and constant columns, naming them
        var ys = Standardize(y, "Y");
        var rng = new Rng(o.Seed);
        string transform = ResolveTransform(name, o.Transform);
        var outliers = OutlierWarnings(x, "X").Concat(OutlierWarnings(y, "Y")).ToList();
        EstimationResult result;
        if (EstimatorCatalog.IsGaussian(name)) result = RunGaussian(name, x, y, xs, ys, o, rng);
        else if (EstimatorCatalog.IsAuto(name)) result = RunAuto(x, y, xs, ys, o, rng);
        else if (EstimatorCatalog.IsBmiProtocol(name)) result = RunNeural(name, xs, ys, BmiProtocol(o), rng);
        else
        {
            var (tx, ty) = (Apply(transform, x, xs, "X"), Apply(transform, y, ys, "Y"));
            result = EstimatorCatalog.IsKsg(name) ? RunKsg(name, tx, ty, o, rng) : RunNeural(name, tx, ty, o, rng);
        }
        if (outliers.Count == 0) return result;
        string handled = EstimatorCatalog.IsBmiProtocol(name) || transform == "standardize"
            ? "standardization squashes the rest of such a column toward 0 and can cut the estimate: use --transform normal-scores (or robust)"
            : name == "cca" ? "CCA's correlations are not robust to them: gcmi (normal scores) or auto is"
            : transform == "robust" ? "median/IQR scaling keeps the rest of the column on its scale, but the far values still sit far out"
            : "normal scores (ranks) bound their influence";
        return result with { Warnings = [.. result.Warnings, .. outliers.Select(w => $"{w}; {handled}")] };
    }

    // "auto" picks per estimator: normal scores for the critics, median/IQR for KSG (keeps its distances meaningful),
    // standardization for CCA (invariant to any affine map anyway).
    private static string ResolveTransform(string name, string transform)
    {
        string t = transform.Trim().ToLowerInvariant();
        if (!EstimationOptions.Transforms.Contains(t)) throw new FormatException($"unknown transform '{transform}'; accepted: {string.Join(", ", EstimationOptions.Transforms)}");
        if (t != "auto") return t;
        return EstimatorCatalog.IsKsg(name) ? "robust" : name == "cca" ? "standardize" : "normal-scores";
    }

    private static double[,] Apply(string transform, double[,] raw, double[,] standardized, string name) => transform switch
    {
        "standardize" => standardized,
        "robust" => RobustScale(raw),
        _ => Standardize(GaussianMi.NormalScores(raw), name),
    };

    /// <summary>
    /// Columns shifted by their median and divided by IQR / 1.349 (the standard deviation for normal data), so a few
    /// extreme values do not shrink the rest of the column; a column whose IQR is 0 is standardized instead.
    /// </summary>
    public static double[,] RobustScale(double[,] m)
    {
        ArgumentNullException.ThrowIfNull(m);
        int n = m.GetLength(0), d = m.GetLength(1);
        var result = new double[n, d];
        var column = new double[n];
        for (int c = 0; c < d; c++)
        {
            for (int r = 0; r < n; r++) column[r] = m[r, c];
            var (median, iqr) = MedianIqr(column);
            double scale = iqr > 0 ? iqr / 1.349 : StdDevPopulation(column);
            if (!(scale > 0)) scale = 1;
            for (int r = 0; r < n; r++) result[r, c] = (m[r, c] - median) / scale;
        }
        return result;
    }

    private static (double Median, double Iqr) MedianIqr(double[] values)
    {
        var sorted = (double[])values.Clone();
        Array.Sort(sorted);
        double Quantile(double q)
        {
            double pos = q * (sorted.Length - 1);
            int lo = (int)Math.Floor(pos), hi = Math.Min(lo + 1, sorted.Length - 1);
            return sorted[lo] + (pos - lo) * (sorted[hi] - sorted[lo]);
        }
        return (Quantile(0.5), Quantile(0.75) - Quantile(0.25));
    }

    private static double StdDevPopulation(double[] v)
    {
        double mean = v.Average(), ss = 0;
        foreach (double a in v) ss += (a - mean) * (a - mean);
        return Math.Sqrt(ss / v.Length);
    }

    /// <summary>Robust z beyond which a value is called an outlier in the warning.</summary>
    public const double OutlierZ = 20;

    // One warning per column with values more than OutlierZ robust standard deviations (IQR / 1.349) from its median.
    private static IEnumerable<string> OutlierWarnings(double[,] m, string name)
    {
        int n = m.GetLength(0), d = m.GetLength(1);
        var column = new double[n];
        for (int c = 0; c < d; c++)
        {
            for (int r = 0; r < n; r++) column[r] = m[r, c];
            var (median, iqr) = MedianIqr(column);
            if (!(iqr > 0)) continue;
            double scale = iqr / 1.349;
            int count = 0, worst = 0;
            for (int r = 0; r < n; r++)
            {
                double z = Math.Abs(column[r] - median) / scale;
                if (z > OutlierZ) { count++; if (z > Math.Abs(column[worst] - median) / scale) worst = r; }
            }
            if (count > 0)
                yield return $"{name} column {c + 1} has {count} value{(count == 1 ? "" : "s")} more than {OutlierZ:G} robust standard deviations from its median (e.g. {Fmt(column[worst])} in row {worst + 1}, median {Fmt(median)})";
        }
    }

    // ---- GCMI and CCA ----------------------------------------------------------------------------------------

    private const int GaussianBootstrap = 50;

    private static EstimationResult RunGaussian(string name, double[,] raw, double[,] rawY, double[,] xs, double[,] ys, EstimationOptions o, Rng rng)
    {
        bool gcmi = name == "gcmi";
        // GCMI works on normal scores whatever --transform says (that is the estimator); CCA is affine-invariant.
        var (a, b) = gcmi ? (GaussianMi.NormalScores(raw), GaussianMi.NormalScores(rawY)) : (xs, ys);
        Func<double[,], double[,], double> value = gcmi ? (p, q) => GaussianMi.Estimate(p, q, biasCorrect: true) : GaussianMi.Cca;
        var r = GaussianEstimate(name, a, b, value, o, rng);
        int dx = raw.GetLength(1), dy = rawY.GetLength(1);
        var warnings = r.Warnings.ToList();
        warnings.Add(gcmi
            ? (dx == 1 && dy == 1
                ? "GCMI is exact when the copula is Gaussian (normal data under any increasing map of each column) and a lower bound on the MI otherwise"
                : "GCMI is exact when the copula is Gaussian (normal data under any increasing map of each column); otherwise it usually underestimates (it sees only rank correlations), though for vectors that is not guaranteed")
            : "CCA is exact for jointly normal data only; under nonlinear maps of the columns or non-normal dependence it can be far off (gcmi or auto is safer)");
        return r with { Warnings = warnings };
    }

    private static EstimationResult GaussianEstimate(string name, double[,] x, double[,] y, Func<double[,], double[,], double> value, EstimationOptions o, Rng rng)
    {
        int n = x.GetLength(0);
        double estimate = value(x, y);
        // Row bootstrap: the estimators are smooth functions of the covariance, so resampled rows give their spread.
        var reps = new double[GaussianBootstrap];
        var idx = new int[n];
        for (int rep = 0; rep < reps.Length; rep++)
        {
            for (int i = 0; i < n; i++) idx[i] = rng.NextInt(n);
            try { reps[rep] = value(Rows(x, idx), Rows(y, idx)); }
            catch (ArgumentException) { reps[rep] = double.NaN; } // a resample can be singular when columns are nearly constant
        }
        double stderr = StdDev(reps.Where(double.IsFinite).ToArray());
        double pValue = double.NaN;
        if (o.Permutations > 0)
        {
            int atLeast = 0;
            for (int p = 0; p < o.Permutations; p++)
            {
                var perm = Permutation(n, rng);
                if (value(x, Rows(y, perm)) >= estimate) atLeast++;
            }
            pValue = (1.0 + atLeast) / (1.0 + o.Permutations);
        }
        var warnings = new List<string>();
        AddSignificanceWarning(warnings, estimate, stderr);
        return new EstimationResult
        {
            Estimator = name, Kind = EstimatorCatalog.KindOf(name), EstimateNats = estimate, StderrNats = stderr, TrainNats = double.NaN,
            Uncertainty = $"bootstrap over rows ({GaussianBootstrap} resamples)", Samples = n, BatchSize = null, Warnings = warnings,
            Folds = [new FoldResult(n, n, estimate, double.NaN, null, null, "none", [], double.NaN, estimate)],
            PValue = pValue, Permutations = o.Permutations,
        };
    }

    // ---- auto: InfoNCE on normal scores, evaluated on the whole held-out half, with GCMI as a floor ----------

    /// <summary>Step budget of "auto" (an upper limit: it stops early on a flat smoothed held-out curve).</summary>
    public const int AutoSteps = 4000;

    /// <summary>Minimum steps of "auto" before early stopping may end training.</summary>
    public const int AutoMinSteps = 1000;

    /// <summary>Training time limit of "auto" per fold, seconds.</summary>
    public const double AutoTimeLimitSeconds = 45;

    /// <summary>Hidden widths of the joint critic of "auto" (BMI's; measured better than a separable 256-wide critic, which overfit).</summary>
    public static readonly IReadOnlyList<int> AutoWidths = [16, 8];

    /// <summary>Adam learning rate of "auto" (BMI's 0.1; 0.01 stalled on Student-t data).</summary>
    public const float AutoLearningRate = 0.1f;

    /// <summary>Training batch of "auto".</summary>
    public const int AutoBatchSize = 256;

    // The neural part of auto. Settings the caller cannot express as "unset" (batch, learning rate, patience) are
    // auto's own; the nullable ones (evaluation batch, budget, minimum steps, smoothing, time limit) keep the caller's value.
    private static EstimationOptions AutoNeural(EstimationOptions o) => o with
    {
        Estimator = "infonce",
        CriticFactory = o.CriticFactory ?? ((dx, dy, rng) => new BmiCritic(dx, dy, rng, AutoWidths)),
        BatchSize = AutoBatchSize,
        LearningRate = AutoLearningRate,
        EvalEvery = o.EvalEvery ?? 100,
        Patience = 5,
        EvalBatchSize = o.EvalBatchSize ?? 0,
        Steps = o.Steps ?? (o.Epochs is null ? AutoSteps : null),
        MinSteps = o.MinSteps ?? AutoMinSteps,
        Smoothing = o.Smoothing ?? 3,
        TimeLimitSeconds = o.TimeLimitSeconds ?? AutoTimeLimitSeconds,
    };

    private static EstimationResult RunAuto(double[,] x, double[,] y, double[,] xs, double[,] ys, EstimationOptions o, Rng rng)
    {
        // The critic sees median/IQR-scaled columns (the setting measured best, with lr 0.1, on Student-t data; normal
        // scores were only tried at lower rates); a far outlier is then caught by GCMI's ranks and warned about.
        string transform = o.Transform.Trim().ToLowerInvariant() == "auto" ? "robust" : ResolveTransform("auto", o.Transform);
        var neural = RunNeural("infonce", Apply(transform, x, xs, "X"), Apply(transform, y, ys, "Y"), AutoNeural(o), rng);
        var gcmi = GaussianEstimate("gcmi", GaussianMi.NormalScores(x), GaussianMi.NormalScores(y), (p, q) => GaussianMi.Estimate(p, q, biasCorrect: true), o with { Permutations = 0 }, rng);
        var ksg = RunKsg("ksg", RobustScale(x), RobustScale(y), o with { KsgNeighbors = Ksg.DefaultK, Folds = 1 }, rng);
        double cca;
        try { cca = GaussianMi.Cca(xs, ys); }
        catch (ArgumentException) { cca = double.NaN; }
        var components = new Dictionary<string, double> { ["infonce"] = neural.EstimateNats, ["gcmi"] = gcmi.EstimateNats, ["ksg"] = ksg.EstimateNats, ["cca"] = cca };
        // All three are, in practice, biased low: InfoNCE's held-out value is a lower bound for any critic, GCMI is one
        // for 1-D margins and exact for Gaussian copulas, KSG's bias is downward at high MI and in many dimensions. The
        // largest is the least biased; which one it is says what kind of dependence the data have.
        var candidates = new (string Name, EstimationResult R)[] { ("infonce", neural), ("gcmi", gcmi), ("ksg", ksg) };
        var (source, chosen) = candidates.MaxBy(c => c.R.EstimateNats);
        string others = string.Join(", ", candidates.Where(c => c.Name != source).Select(c => $"{c.Name} {Fmt(c.R.EstimateNats)}"));
        string reason = source switch
        {
            "gcmi" => $"GCMI ({Fmt(gcmi.EstimateNats)} nats) is the largest ({others}): the dependence looks Gaussian after ranking each column, where GCMI is exact and the others fall short (high MI or many dimensions)",
            "ksg" => $"KSG ({Fmt(ksg.EstimateNats)} nats) is the largest ({others}): a non-Gaussian dependence in few dimensions, where nearest neighbours resolve it better than the small critic",
            _ => $"the held-out InfoNCE value ({Fmt(neural.EstimateNats)} nats) is the largest ({others}): the critic found dependence that rank correlations and neighbour counts miss",
        };
        var warnings = new List<string>();
        foreach (var w in neural.Warnings)
            if (source == "infonce" || !w.StartsWith("the estimate", StringComparison.Ordinal)) warnings.Add(source == "infonce" ? w : $"InfoNCE part: {w}");
        if (source != "infonce") AddSignificanceWarning(warnings, chosen.EstimateNats, chosen.StderrNats);
        if (double.IsFinite(cca) && cca > 1.5 * Math.Max(chosen.EstimateNats, 0.05) + 0.1)
            warnings.Add($"CCA gives {Fmt(cca)} nats, well above this estimate: a few extreme rows or near-collinear columns can inflate linear correlations; check the data");
        return neural with
        {
            Estimator = "auto", Kind = EstimatorCatalog.KindOf("auto"), EstimateNats = chosen.EstimateNats, StderrNats = chosen.StderrNats,
            Uncertainty = chosen.Uncertainty, Warnings = warnings, Source = source, SourceReason = reason, Components = components,
        };
    }

    // BMI's published neural protocol: joint MLP 16-8, batch 256, Adam 0.1, a 50/50 split, InfoNCE on the whole
    // held-out half every 250 steps, stop after two evaluations without a new best (at most 10 000 steps), best kept.
    private static EstimationOptions BmiProtocol(EstimationOptions o) => o with
    {
        BatchSize = 256, LearningRate = 0.1f, ValFraction = 0.5, Folds = 1, Steps = o.Steps ?? 10_000, Epochs = null,
        EvalEvery = 250, Patience = 2, EvalBatchSize = 0, EvaluationRepeats = 1, MinSteps = 0, Smoothing = 1, TimeLimitSeconds = null,
    };

    /// <summary>The fewest rows accepted.</summary>
    public const int MinimumRows = 4;

    /// <summary>
    /// Columns shifted to mean 0 and scaled to standard deviation 1 (MI is invariant to that, and the critics train
    /// better on it). Throws naming the first non-finite cell or constant column.
    /// </summary>
    public static double[,] Standardize(double[,] m, string name)
    {
        ArgumentNullException.ThrowIfNull(m);
        int n = m.GetLength(0), d = m.GetLength(1);
        if (d == 0) throw new ArgumentException($"{name} has no columns");
        var result = new double[n, d];
        for (int c = 0; c < d; c++)
        {
            double sum = 0, min = double.PositiveInfinity, max = double.NegativeInfinity;
            for (int r = 0; r < n; r++)
            {
                double v = m[r, c];
                if (!double.IsFinite(v)) throw new ArgumentException($"{name} row {r + 1}, column {c + 1} is {Fmt(v)}: every value must be finite");
                sum += v; min = Math.Min(min, v); max = Math.Max(max, v);
            }
            if (n > 0 && min == max) throw new ArgumentException($"{name} column {c + 1} is constant (every row is {Fmt(min)}): it carries no information; drop it");
            double mean = sum / n, ss = 0;
            for (int r = 0; r < n; r++) { double e = m[r, c] - mean; ss += e * e; }
            double sd = Math.Sqrt(ss / n);
            for (int r = 0; r < n; r++) result[r, c] = (m[r, c] - mean) / sd;
        }
        return result;
    }

    private static void CheckOptions(EstimationOptions o)
    {
        if (o.BatchSize < 2) throw new ArgumentOutOfRangeException(nameof(o.BatchSize), o.BatchSize, "batch size must be at least 2");
        if (o.Steps is < 1) throw new ArgumentOutOfRangeException(nameof(o.Steps), o.Steps, "steps must be at least 1");
        if (o.Epochs is < 1) throw new ArgumentOutOfRangeException(nameof(o.Epochs), o.Epochs, "epochs must be at least 1");
        if (!(o.ValFraction > 0 && o.ValFraction < 1)) throw new ArgumentOutOfRangeException(nameof(o.ValFraction), o.ValFraction, "the held-out fraction must lie strictly between 0 and 1");
        if (o.Folds < 1) throw new ArgumentOutOfRangeException(nameof(o.Folds), o.Folds, "folds must be at least 1");
        if (o.EvalEvery is < 1) throw new ArgumentOutOfRangeException(nameof(o.EvalEvery), o.EvalEvery, "must be at least 1");
        if (o.Patience < 1) throw new ArgumentOutOfRangeException(nameof(o.Patience), o.Patience, "patience must be at least 1");
        if (o.EvaluationRepeats < 1) throw new ArgumentOutOfRangeException(nameof(o.EvaluationRepeats), o.EvaluationRepeats, "must be at least 1");
        if (o.BootstrapReplicates < 2) throw new ArgumentOutOfRangeException(nameof(o.BootstrapReplicates), o.BootstrapReplicates, "must be at least 2");
        if (!(o.LearningRate > 0) || !float.IsFinite(o.LearningRate)) throw new ArgumentOutOfRangeException(nameof(o.LearningRate), o.LearningRate, "must be positive");
        if (o.Hidden < 1 || o.Layers < 1 || o.Embed < 1) throw new ArgumentOutOfRangeException(nameof(o.Hidden), "hidden width, layers and embedding width must be at least 1");
    }

    // ---- KSG -------------------------------------------------------------------------------------------------

    private static EstimationResult RunKsg(string name, double[,] x, double[,] y, EstimationOptions o, Rng rng)
    {
        int n = x.GetLength(0), k = o.KsgNeighbors;
        var warnings = new List<string>();
        var full = Ksg.Estimate(x, y, k, TieBreakNoise, rng);
        // Standard error from disjoint subsets: Var(N points) ≈ Var(N/F points)/F.
        int subsets = o.Folds >= 2 ? o.Folds : Math.Clamp(n / 100, 2, 10);
        double stderr = double.NaN;
        string uncertainty = "none (too few rows for subsets)";
        if (n / subsets > k + 1)
        {
            var order = Permutation(n, rng);
            var values = new double[subsets];
            for (int s = 0; s < subsets; s++)
            {
                var idx = order.Where((_, i) => i % subsets == s).ToArray();
                values[s] = Ksg.Estimate(Rows(x, idx), Rows(y, idx), k, TieBreakNoise, rng).EstimateNats;
            }
            stderr = StdDev(values) / Math.Sqrt(subsets);
            uncertainty = $"spread of KSG over {subsets} disjoint subsets / √{subsets}";
        }
        double pValue = double.NaN;
        if (o.Permutations > 0)
        {
            int atLeast = 0;
            for (int p = 0; p < o.Permutations; p++)
                if (Ksg.Estimate(x, Rows(y, Permutation(n, rng)), k, TieBreakNoise, rng).EstimateNats >= full.EstimateNats) atLeast++;
            pValue = (1.0 + atLeast) / (1.0 + o.Permutations);
        }
        int dims = x.GetLength(1) + y.GetLength(1);
        if (dims > 10) warnings.Add($"KSG in {dims} joint dimensions underestimates MI substantially (its bias grows with dimension and with MI); compare with a neural estimator");
        AddSignificanceWarning(warnings, full.EstimateNats, stderr);
        return new EstimationResult
        {
            Estimator = name, Kind = EstimatorCatalog.KindOf(name), EstimateNats = full.EstimateNats, StderrNats = stderr,
            TrainNats = double.NaN, Uncertainty = uncertainty, Samples = n, BatchSize = null, Warnings = warnings,
            Folds = [new FoldResult(n, n, full.EstimateNats, double.NaN, null, null, "none", [], double.NaN, full.EstimateNats)],
            PValue = pValue, Permutations = o.Permutations,
        };
    }

    private const double TieBreakNoise = 1e-10;

    // ---- neural estimators -----------------------------------------------------------------------------------

    private static EstimationResult RunNeural(string name, double[,] xs, double[,] ys, EstimationOptions o, Rng rng)
    {
        int n = xs.GetLength(0);
        var x = ToTensor(xs);
        var y = ToTensor(ys);
        var order = Permutation(n, rng);
        var warnings = new List<string>();
        var folds = new List<FoldOutcome>();
        if (o.Folds == 1)
        {
            int held = Math.Clamp((int)Math.Round(n * o.ValFraction), 2, n - 2);
            folds.Add(RunFold(0, 1, x, y, order[held..], order[..held], o, rng));
        }
        else
        {
            if (n / o.Folds < 2) throw new ArgumentException($"{o.Folds} folds of {n} rows leave fewer than 2 held-out rows per fold; use fewer folds");
            for (int f = 0; f < o.Folds; f++)
            {
                var heldIdx = order.Where((_, i) => i % o.Folds == f).ToArray();
                var trainIdx = order.Where((_, i) => i % o.Folds != f).ToArray();
                folds.Add(RunFold(f, o.Folds, x, y, trainIdx, heldIdx, o, rng));
            }
        }

        double estimate, stderr;
        string uncertainty;
        if (folds.Count == 1)
        {
            var f = folds[0];
            estimate = f.Result.HeldOutNats;
            if (f.BatchesPerPartition >= 2)
            {
                stderr = Bootstrap(f.HeldOutBatchValues, f.BatchesPerPartition, o.BootstrapReplicates, rng);
                uncertainty = $"bootstrap over {f.BatchesPerPartition} held-out batches of {f.EvalBatch}";
            }
            else if (double.IsFinite(f.RowStderr))
            {
                stderr = f.RowStderr;
                uncertainty = $"spread of the {f.EvalBatch} per-row InfoNCE terms of the one held-out batch / √{f.EvalBatch}";
            }
            else
            {
                stderr = double.NaN;
                uncertainty = "none (the held-out rows fill only one batch)";
                warnings.Add($"the held-out rows fill only one batch of {f.EvalBatch}: no standard error; use more data or a smaller --batch");
            }
        }
        else
        {
            var values = folds.Select(f => f.Result.HeldOutNats).ToArray();
            estimate = values.Average();
            stderr = StdDev(values) / Math.Sqrt(values.Length);
            uncertainty = $"{folds.Count}-fold cross-fitting: standard deviation over folds / √{folds.Count}";
        }
        double train = folds.Average(f => f.Result.TrainNats);

        int trainRows = folds.Min(f => f.Result.TrainRows), heldRows = folds.Min(f => f.Result.HeldOutRows);
        if (trainRows < o.BatchSize || heldRows < o.BatchSize)
            warnings.Add($"fewer samples than the batch size: {trainRows} training and {heldRows} held-out rows for --batch {o.BatchSize}, so batches shrink to {folds[0].EvalBatch} and bound values (and InfoNCE's log K ceiling) change with it; use more data or a smaller --batch");
        foreach (var f in folds)
        {
            string where = folds.Count > 1 ? $" (fold {f.Fold + 1})" : "";
            if (f.Rising is double rise)
                warnings.Add(f.Result.StopReason == "time-limit"
                    ? $"the held-out estimate was still rising when the time limit stopped training after {f.Result.StepsRun} steps{where} (+{Fmt(rise)} over the last evaluations): raise --time-limit"
                    : $"the held-out estimate was still rising when the {f.Result.StepsRun}-step budget ran out{where} (+{Fmt(rise)} over the last evaluations): raise --steps/--epochs");
            if (f.Result.StopReason == "diverged")
                warnings.Add($"training diverged (non-finite objective) after step {f.Result.StepsRun}{where}; the best checkpoint before it is reported: lower the learning rate or pick a more stable estimator");
            if (f.Result.StopReason == "cancelled")
                warnings.Add($"interrupted after {f.Result.StepsRun} steps{where}; the best checkpoint so far is reported");
        }
        double? ceiling = folds[0].Ceiling;
        if (ceiling is double c && estimate >= 0.95 * c)
            warnings.Add($"the estimate {Fmt(estimate)} nats is within 5% of {name}'s ceiling log K = {Fmt(c)} (K = {folds[0].EvalBatch}): the true MI may be much larger; use a larger --batch or --eval-batch, or another estimator (smile5, nwj, gcmi)");
        else if (ceiling is double c2 && estimate >= 0.75 * c2)
            warnings.Add($"the estimate {Fmt(estimate)} nats is {Fmt(100 * estimate / c2)}% of {name}'s ceiling log K = {Fmt(c2)}: in this range it is biased low; a larger --batch, or bracketing with smile5 and club, tells how much");
        double gap = train - estimate;
        double lastTrain = folds.Average(f => f.Result.FinalTrainNats), lastHeldOut = folds.Average(f => f.Result.FinalHeldOutNats);
        if (IsLargeGap(gap, estimate))
            warnings.Add($"large gap between training ({Fmt(train)} nats) and held-out ({Fmt(estimate)} nats) values of the best checkpoint: the critic overfits the training rows; use more data, fewer steps or a smaller critic (--hidden)");
        else if (IsLargeGap(lastTrain - lastHeldOut, lastHeldOut))
            warnings.Add($"the critic overfits: by the end of training it scored {Fmt(lastTrain)} nats on the training rows but {Fmt(lastHeldOut)} on held-out rows (the best checkpoint, reported, is earlier); with this little data the estimate is fragile: use more data or a smaller critic (--hidden)");
        if (EstimatorCatalog.KindOf(name) != "upper bound") AddSignificanceWarning(warnings, estimate, stderr);

        return new EstimationResult
        {
            Estimator = name, Kind = EstimatorCatalog.KindOf(name), EstimateNats = estimate, StderrNats = stderr, TrainNats = train,
            Uncertainty = uncertainty, Samples = n, BatchSize = folds[0].EvalBatch, Folds = folds.Select(f => f.Result).ToArray(), Warnings = warnings,
            // With k folds the largest fold p-value is reported: the maximum of valid p-values is itself valid.
            PValue = o.Permutations > 0 ? folds.Max(f => f.PValue) : double.NaN, Permutations = o.Permutations,
        };
    }

    private static bool IsLargeGap(double gap, double heldOut) => gap > Math.Max(0.1, 0.15 * Math.Abs(heldOut));

    private sealed record FoldOutcome(int Fold, FoldResult Result, double[] HeldOutBatchValues, int BatchesPerPartition, int EvalBatch, double? Ceiling,
        double? Rising, double RowStderr, double PValue);

    private static FoldOutcome RunFold(int fold, int folds, Tensor x, Tensor y, int[] trainIdx, int[] heldIdx, EstimationOptions o, Rng rng)
    {
        var estimator = o.CriticFactory is { } factory
            ? EstimatorCatalog.Create(o.Estimator, factory(x.Dim(1), y.Dim(1), rng), y.Dim(1), o, rng)
            : EstimatorCatalog.Create(o.Estimator, x.Dim(1), y.Dim(1), o, rng);
        var parameters = estimator.Parameters().ToArray();
        if (parameters.Length == 0) throw new ArgumentException($"{estimator.Name} has no trainable parameters: nothing to fit");
        int kTrain = Math.Min(o.BatchSize, trainIdx.Length);
        int kEval = o.EvalBatchSize is 0 ? heldIdx.Length : Math.Min(o.EvalBatchSize ?? o.BatchSize, heldIdx.Length);
        int steps = o.Steps ?? (o.Epochs is int e ? e * (trainIdx.Length / kTrain) : EstimationOptions.DefaultSteps);
        int evalEvery = o.EvalEvery ?? Math.Clamp(steps / 20, 1, 50);
        int minSteps = o.MinSteps ?? 0, smoothing = Math.Max(1, o.Smoothing ?? 1);

        var heldBatches = Partition(x, y, heldIdx, kEval, rng);
        var history = new List<(int, double)>();
        var selections = new List<double>();
        var raw = new List<double>();
        double trainAverage = double.NaN, bestHeldOut = double.NaN;
        // Batches gather their rows from the training split; the loop hands out positions in trainIdx.
        var rows = new int[kTrain];
        Batch TrainingRows(TrainingBatch b)
        {
            for (int i = 0; i < rows.Length; i++) rows[i] = trainIdx[b.Rows[i]];
            return new Batch(x.GatherRows(rows), y.GatherRows(rows));
        }
        var model = new EstimatorModel(estimator, TrainingRows, () =>
        {
            var (value, selection, _) = Evaluate(estimator, heldBatches);
            // Early stopping and the kept state follow the mean of the last `smoothing` evaluations: one lucky
            // evaluation neither ends training nor is picked for its noise.
            raw.Add(selection);
            int from = Math.Max(0, raw.Count - smoothing);
            double smoothed = 0;
            for (int i = from; i < raw.Count; i++) smoothed += raw[i];
            return new Evaluation(smoothed / (raw.Count - from), new Dictionary<string, double> { ["held_out"] = value });
        });
        // Our own stopping rule (patience after a minimum budget, a time limit) cancels this token; the trainer's own
        // patience is then out of the way, and it still snapshots the best state for RestoreBest.
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(o.Cancellation);
        string? ownStop = null;
        int sinceBest = 0;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var trainer = new Trainer(model, new Adam(parameters, o.LearningRate), rng, new TrainerOptions
        {
            Steps = steps,
            DatasetRows = trainIdx.Length,
            BatchSize = kTrain,
            EvaluateAtStart = true, // the untrained critic is the fallback checkpoint
            EvaluateEverySteps = evalEvery,
            EvaluateAtEnd = true,
            EarlyStopping = new EarlyStopping(int.MaxValue, RestoreBest: false), // the last parameters are scored before restoring
            CheckpointEveryEpoch = false,
            Cancellation = stop.Token,
            OnStep = s => trainAverage = double.IsNaN(trainAverage) ? model.LastValue : 0.95 * trainAverage + 0.05 * model.LastValue,
            OnEvaluation = r =>
            {
                double value = r.Evaluation["held_out"];
                history.Add(((int)r.Step, value));
                selections.Add(model.Goal == Goal.Maximize ? r.Evaluation.Score : -r.Evaluation.Score);
                if (r.IsBest) { bestHeldOut = value; sinceBest = 0; } else sinceBest++;
                o.Progress?.Invoke(new EstimationProgress(fold, folds, (int)r.Step, steps, trainAverage, value, bestHeldOut));
                if (ownStop is null && r.Step >= minSteps && sinceBest >= o.Patience) { ownStop = "early-stop"; stop.Cancel(); }
                else if (ownStop is null && o.TimeLimitSeconds is double limit && clock.Elapsed.TotalSeconds >= limit) { ownStop = "time-limit"; stop.Cancel(); }
            },
        });
        var fit = trainer.Fit(); // leaves the modules in evaluation mode for the scoring below
        string stopReason = fit.Reason switch
        {
            StopReason.Interrupted when ownStop is not null && !o.Cancellation.IsCancellationRequested => ownStop,
            StopReason.EarlyStopped => "early-stop",
            StopReason.Diverged => "diverged",
            StopReason.Interrupted => "cancelled",
            _ => "budget",
        };
        int bestStep = (int)(fit.BestStep ?? 0), step = (int)fit.Steps;

        var trainBatches = Partition(x, y, trainIdx, kEval, rng);
        double lastTrain = Evaluate(estimator, trainBatches).Value, lastHeldOut = Evaluate(estimator, heldBatches).Value;
        trainer.RestoreBest();
        var finalValues = new List<double>();
        int perPartition = 0;
        bool single = kEval == heldIdx.Length; // one batch: every partition is the same, evaluate once
        for (int r = 0; r < (single ? 1 : o.EvaluationRepeats); r++)
        {
            var batches = r == 0 ? heldBatches : Partition(x, y, heldIdx, kEval, rng);
            perPartition = batches.Count;
            finalValues.AddRange(Evaluate(estimator, batches).Values);
        }
        double heldOut = finalValues.Average();
        double trainValue = Evaluate(estimator, trainBatches).Value;
        double rowStderr = single ? InfoNceRowStderr(estimator, heldBatches[0]) : double.NaN;
        double pValue = o.Permutations > 0 ? PermutationPValue(estimator, x, y, heldIdx, kEval, heldOut, o.Permutations, rng) : double.NaN;
        o.Progress?.Invoke(new EstimationProgress(fold, folds, step, steps, trainAverage, heldOut, heldOut));

        var result = new FoldResult(trainIdx.Length, heldIdx.Length, heldOut, trainValue, bestStep, step, stopReason, history, lastTrain, lastHeldOut);
        return new FoldOutcome(fold, result, finalValues.ToArray(), perPartition, kEval, estimator.Ceiling(kEval),
            stopReason is "budget" or "time-limit" ? StillRising(selections) : null, rowStderr, pValue);
    }

    /// <summary>
    /// The standard error of an InfoNCE value on one batch from its per-row terms t_i = S_ii − log mean_j e^{S_ij}
    /// (sd(t) / √K; it ignores the weak dependence of the rows through shared columns). NaN for other bounds.
    /// </summary>
    private static double InfoNceRowStderr(IMiEstimator estimator, Batch batch)
    {
        if (estimator is not InfoNce { Critic: { } critic }) return double.NaN;
        using var _ = Tensor.NoGrad();
        var s = critic.Scores(batch.X, batch.Y).Values;
        int k = batch.X.Dim(0);
        var terms = new double[k];
        for (int i = 0; i < k; i++)
        {
            var row = s.Slice(i * k, k);
            double max = double.NegativeInfinity;
            foreach (float v in row) max = Math.Max(max, v);
            double sum = 0;
            foreach (float v in row) sum += Math.Exp(v - max);
            terms[i] = row[i] - (max + Math.Log(sum / k));
        }
        return StdDev(terms) / Math.Sqrt(k);
    }

    /// <summary>
    /// p = (1 + #{value with the held-out Y rows shuffled ≥ observed}) / (1 + permutations), the trained estimator fixed:
    /// under independence every pairing is equally likely, so the observed pairing is one exchangeable draw among them.
    /// </summary>
    private static double PermutationPValue(IMiEstimator estimator, Tensor x, Tensor y, int[] heldIdx, int k, double observed, int permutations, Rng rng)
    {
        int atLeast = 0;
        for (int p = 0; p < permutations; p++)
        {
            var xs = (int[])heldIdx.Clone();
            rng.Shuffle(xs.AsSpan());
            var ys = (int[])xs.Clone();
            rng.Shuffle(ys.AsSpan());
            var batches = new List<Batch>();
            for (int start = 0; start + k <= xs.Length; start += k)
                batches.Add(new Batch(x.GatherRows(xs.AsSpan(start, k).ToArray()), y.GatherRows(ys.AsSpan(start, k).ToArray())));
            if (Evaluate(estimator, batches).Value >= observed) atLeast++;
        }
        return (1.0 + atLeast) / (1.0 + permutations);
    }

    /// <summary>
    /// The rise of the last fifth of the evaluations over the fifth before it, when the best evaluation lies in the
    /// last fifth and the rise exceeds max(0.01 nats, 2%); otherwise null.
    /// </summary>
    private static double? StillRising(List<double> h)
    {
        int m = h.Count;
        if (m < 3) return null;
        int w = Math.Max(1, m / 5);
        int prevStart = Math.Max(0, m - 2 * w);
        double last = Mean(h, m - w, m), prev = Mean(h, prevStart, m - w);
        int bestIndex = h.IndexOf(h.Max());
        double rise = last - prev;
        return bestIndex >= m - w && rise > Math.Max(0.01, 0.02 * Math.Abs(last)) ? rise : null;
    }

    private static double Mean(List<double> h, int from, int to)
    {
        double s = 0;
        for (int i = from; i < to; i++) s += h[i];
        return s / (to - from);
    }

    // The mean value over batches, and the score the estimator's selection rule ranks (its value, or its loss = −objective).
    private static (double Value, double Selection, double[] Values) Evaluate(IMiEstimator estimator, List<Batch> batches)
    {
        using var _ = Tensor.NoGrad();
        using var __ = Module.Evaluating(estimator.Modules().Select(m => m.Module));
        var values = new double[batches.Count];
        double selection = 0;
        bool byLoss = estimator.Selection == CheckpointSelection.MinimizeLoss;
        for (int b = 0; b < batches.Count; b++)
        {
            var output = estimator.Forward(batches[b], training: false);
            values[b] = output.Value.Item();
            selection += byLoss ? -output.Objective.Item() : values[b];
        }
        return (values.Average(), selection / batches.Count, values);
    }

    // Disjoint batches of exactly k rows from a random order of idx (at least one batch; leftover rows skipped).
    private static List<Batch> Partition(Tensor x, Tensor y, int[] idx, int k, Rng rng)
    {
        var order = (int[])idx.Clone();
        rng.Shuffle(order.AsSpan());
        var batches = new List<Batch>();
        for (int start = 0; start + k <= order.Length; start += k)
        {
            var rows = order.AsSpan(start, k).ToArray();
            batches.Add(new Batch(x.GatherRows(rows), y.GatherRows(rows)));
        }
        return batches;
    }

    // Standard error of the mean of `draw` batch values, resampling them with replacement.
    private static double Bootstrap(double[] values, int draw, int replicates, Rng rng)
    {
        var means = new double[replicates];
        for (int r = 0; r < replicates; r++)
        {
            double s = 0;
            for (int i = 0; i < draw; i++) s += values[rng.NextInt(values.Length)];
            means[r] = s / draw;
        }
        return StdDev(means);
    }

    private static void AddSignificanceWarning(List<string> warnings, double estimate, double stderr)
    {
        if (double.IsFinite(stderr) && estimate < 2 * stderr)
            warnings.Add($"the estimate {Fmt(estimate)} ± {Fmt(stderr)} nats is not significantly above 0: no evidence of dependence at this sample size");
    }

    // ---- small helpers ---------------------------------------------------------------------------------------

    private static double StdDev(IReadOnlyList<double> v)
    {
        if (v.Count < 2) return double.NaN;
        double mean = v.Average(), ss = 0;
        foreach (double a in v) ss += (a - mean) * (a - mean);
        return Math.Sqrt(ss / (v.Count - 1));
    }

    private static int[] Permutation(int n, Rng rng)
    {
        var order = Enumerable.Range(0, n).ToArray();
        rng.Shuffle(order.AsSpan());
        return order;
    }

    private static double[,] Rows(double[,] m, int[] idx)
    {
        int d = m.GetLength(1);
        var r = new double[idx.Length, d];
        for (int i = 0; i < idx.Length; i++)
            for (int c = 0; c < d; c++) r[i, c] = m[idx[i], c];
        return r;
    }

    private static Tensor ToTensor(double[,] m)
    {
        int n = m.GetLength(0), d = m.GetLength(1);
        var t = Tensor.Zeros(n, d);
        var data = t.Data;
        for (int r = 0; r < n; r++)
            for (int c = 0; c < d; c++) data[r * d + c] = (float)m[r, c];
        return t;
    }

    private static double[,] ToDouble(float[,] m)
    {
        var r = new double[m.GetLength(0), m.GetLength(1)];
        for (int i = 0; i < m.GetLength(0); i++)
            for (int j = 0; j < m.GetLength(1); j++) r[i, j] = m[i, j];
        return r;
    }

    private static double[,] ToDouble(Tensor t, string name)
    {
        if (t.Rank != 2) throw new ArgumentException($"{name} must be [N, d], got shape {Tensor.ShapeString(t.Shape)}");
        int n = t.Dim(0), d = t.Dim(1);
        var r = new double[n, d];
        var v = t.Values;
        for (int i = 0; i < n; i++)
            for (int j = 0; j < d; j++) r[i, j] = v[i * d + j];
        return r;
    }

    private static string Fmt(double v) => v.ToString("G4", CultureInfo.InvariantCulture);
}
