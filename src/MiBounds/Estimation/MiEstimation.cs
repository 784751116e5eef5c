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
        if (o.CriticFactory is not null && (EstimatorCatalog.IsKsg(name) || EstimatorCatalog.IsUpperBound(name)))
            throw new ArgumentException($"{name} takes no critic: a critic factory works with the critic-based bounds ({BoundSpec.Accepted})");
        int n = x.GetLength(0);
        if (y.GetLength(0) != n) throw new ArgumentException($"X has {n} rows but Y has {y.GetLength(0)}: rows must be paired");
        if (n < MinimumRows) throw new ArgumentException($"need at least {MinimumRows} rows (2 to train on, 2 to hold out), got {n}");
        var xs = Standardize(x, "X");
        var ys = Standardize(y, "Y");
        var rng = new Rng(o.Seed);
        return EstimatorCatalog.IsKsg(name) ? RunKsg(name, xs, ys, o, rng) : RunNeural(name, xs, ys, o, rng);
    }

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
        int dims = x.GetLength(1) + y.GetLength(1);
        if (dims > 10) warnings.Add($"KSG in {dims} joint dimensions underestimates MI substantially (its bias grows with dimension and with MI); compare with a neural estimator");
        AddSignificanceWarning(warnings, full.EstimateNats, stderr);
        return new EstimationResult
        {
            Estimator = name, Kind = EstimatorCatalog.KindOf(name), EstimateNats = full.EstimateNats, StderrNats = stderr,
            TrainNats = double.NaN, Uncertainty = uncertainty, Samples = n, BatchSize = null, Warnings = warnings,
            Folds = [new FoldResult(n, n, full.EstimateNats, double.NaN, null, null, "none", [], double.NaN, full.EstimateNats)],
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
            stderr = f.BatchesPerPartition >= 2 ? Bootstrap(f.HeldOutBatchValues, f.BatchesPerPartition, o.BootstrapReplicates, rng) : double.NaN;
            uncertainty = f.BatchesPerPartition >= 2
                ? $"bootstrap over {f.BatchesPerPartition} held-out batches of {f.EvalBatch}"
                : "none (the held-out rows fill only one batch)";
            if (f.BatchesPerPartition < 2) warnings.Add($"the held-out rows fill only one batch of {f.EvalBatch}: no standard error; use more data or a smaller --batch");
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
                warnings.Add($"the held-out estimate was still rising when the {f.Result.StepsRun}-step budget ran out{where} (+{Fmt(rise)} over the last evaluations): raise --steps/--epochs");
            if (f.Result.StopReason == "diverged")
                warnings.Add($"training diverged (non-finite objective) after step {f.Result.StepsRun}{where}; the best checkpoint before it is reported: lower the learning rate or pick a more stable estimator");
            if (f.Result.StopReason == "cancelled")
                warnings.Add($"interrupted after {f.Result.StepsRun} steps{where}; the best checkpoint so far is reported");
        }
        double? ceiling = folds[0].Ceiling;
        if (ceiling is double c && estimate >= 0.95 * c)
            warnings.Add($"the estimate {Fmt(estimate)} nats is within 5% of {name}'s ceiling log K = {Fmt(c)} (K = {folds[0].EvalBatch}): the true MI may be much larger; use a larger --batch or another estimator (smile5, nwj)");
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
        };
    }

    private static bool IsLargeGap(double gap, double heldOut) => gap > Math.Max(0.1, 0.15 * Math.Abs(heldOut));

    private sealed record FoldOutcome(int Fold, FoldResult Result, double[] HeldOutBatchValues, int BatchesPerPartition, int EvalBatch, double? Ceiling, double? Rising);

    private static FoldOutcome RunFold(int fold, int folds, Tensor x, Tensor y, int[] trainIdx, int[] heldIdx, EstimationOptions o, Rng rng)
    {
        var estimator = o.CriticFactory is { } factory
            ? EstimatorCatalog.Create(o.Estimator, factory(x.Dim(1), y.Dim(1), rng), y.Dim(1), o, rng)
            : EstimatorCatalog.Create(o.Estimator, x.Dim(1), y.Dim(1), o, rng);
        var parameters = estimator.Parameters().ToArray();
        if (parameters.Length == 0) throw new ArgumentException($"{estimator.Name} has no trainable parameters: nothing to fit");
        int kTrain = Math.Min(o.BatchSize, trainIdx.Length);
        int kEval = Math.Min(o.BatchSize, heldIdx.Length);
        int steps = o.Steps ?? (o.Epochs is int e ? e * (trainIdx.Length / kTrain) : EstimationOptions.DefaultSteps);
        int evalEvery = o.EvalEvery ?? Math.Clamp(steps / 20, 1, 50);

        var heldBatches = Partition(x, y, heldIdx, kEval, rng);
        var history = new List<(int, double)>();
        var selections = new List<double>();
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
            return new Evaluation(selection, new Dictionary<string, double> { ["held_out"] = value });
        });
        var trainer = new Trainer(model, new Adam(parameters, o.LearningRate), rng, new TrainerOptions
        {
            Steps = steps,
            DatasetRows = trainIdx.Length,
            BatchSize = kTrain,
            EvaluateAtStart = true, // the untrained critic is the fallback checkpoint
            EvaluateEverySteps = evalEvery,
            EvaluateAtEnd = true,
            EarlyStopping = new EarlyStopping(o.Patience, RestoreBest: false), // the last parameters are scored before restoring
            CheckpointEveryEpoch = false,
            Cancellation = o.Cancellation,
            OnStep = s => trainAverage = double.IsNaN(trainAverage) ? model.LastValue : 0.95 * trainAverage + 0.05 * model.LastValue,
            OnEvaluation = r =>
            {
                double value = r.Evaluation["held_out"];
                history.Add(((int)r.Step, value));
                selections.Add(model.Goal == Goal.Maximize ? r.Evaluation.Score : -r.Evaluation.Score);
                if (r.IsBest) bestHeldOut = value;
                o.Progress?.Invoke(new EstimationProgress(fold, folds, (int)r.Step, steps, trainAverage, value, bestHeldOut));
            },
        });
        var fit = trainer.Fit(); // leaves the modules in evaluation mode for the scoring below
        string stop = fit.Reason switch
        {
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
        for (int r = 0; r < o.EvaluationRepeats; r++)
        {
            var batches = Partition(x, y, heldIdx, kEval, rng);
            perPartition = batches.Count;
            finalValues.AddRange(Evaluate(estimator, batches).Values);
        }
        double heldOut = finalValues.Average();
        double trainValue = Evaluate(estimator, trainBatches).Value;
        o.Progress?.Invoke(new EstimationProgress(fold, folds, step, steps, trainAverage, heldOut, heldOut));

        var result = new FoldResult(trainIdx.Length, heldIdx.Length, heldOut, trainValue, bestStep, step, stop, history, lastTrain, lastHeldOut);
        return new FoldOutcome(fold, result, finalValues.ToArray(), perPartition, kEval, estimator.Ceiling(kEval),
            stop == "budget" ? StillRising(selections) : null);
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
