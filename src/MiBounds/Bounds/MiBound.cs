using MiBounds.Critics;
using MiBounds.Tensors;
using MiBounds.Tensors.Nn;

namespace MiBounds.Bounds;

/// <summary>A bound's reported value and the differentiable objective a trainer maximizes (they differ for MINE, JS and SMILE).</summary>
/// <param name="Value">The bound's value in nats (a scalar tensor; differentiable when computed with gradients).</param>
/// <param name="Objective">The scalar to maximize in training.</param>
public readonly record struct BoundOutput(Tensor Value, Tensor Objective);

/// <summary>The result of evaluating a bound directly on a score matrix.</summary>
/// <param name="Value">The bound's value in nats.</param>
/// <param name="Objective">The training objective's value.</param>
/// <param name="ScoreGradient">d Objective / d S, row-major like the scores (equals d Value / d S except for MINE, JS and SMILE).</param>
/// <param name="BaselineGradient">d Objective / d b, or null when the bound takes no baseline.</param>
public sealed record ScoreEvaluation(double Value, double Objective, float[] ScoreGradient, float[]? BaselineGradient);

/// <summary>Anything that estimates MI from a batch and can be trained: the critic-based bounds and Barber–Agakov.</summary>
public interface IMiEstimator
{
    /// <summary>A short name (the type name, plus parameters such as α or τ).</summary>
    string Name { get; }

    /// <summary>The estimate in nats on a batch, without recording gradients.</summary>
    double Estimate(Batch batch);

    /// <summary>Value and training objective on a batch. <paramref name="training"/> lets stateful bounds (MINE) update their state.</summary>
    BoundOutput Forward(Batch batch, bool training);

    /// <summary>Every trainable parameter (critic, baseline, decoder).</summary>
    IEnumerable<Tensor> Parameters();

    /// <summary>The largest value the bound can reach with batch size K (log K for InfoNCE), or null if unbounded.</summary>
    double? Ceiling(int batchSize);

    /// <summary>
    /// The modules (critic, baseline, decoder) by name: trainers switch them between training and evaluation mode
    /// (dropout, batch-norm) and save them in checkpoints. Parameters outside modules are still trained and saved.
    /// </summary>
    IEnumerable<(string Name, Module Module)> Modules() => [];

    /// <summary>State beyond the parameters that a checkpoint must carry (MINE's moving average), by name.</summary>
    IEnumerable<(string Name, Tensor Tensor)> NamedState() => [];

    /// <summary>How held-out evaluations rank checkpoints: lower bounds keep their largest value, upper bounds the smallest fitting loss.</summary>
    CheckpointSelection Selection => CheckpointSelection.MaximizeValue;
}

/// <summary>Scoring a batch the same way for every estimator: no gradients, its modules in evaluation mode.</summary>
internal static class EstimatorEvaluation
{
    /// <summary>The estimator's value on <paramref name="batch"/> with dropout off and batch-norm on its running statistics; the modules' modes are restored afterwards.</summary>
    public static double Value(IMiEstimator estimator, Batch batch)
    {
        using var _ = Tensor.NoGrad();
        using var __ = Module.Evaluating(estimator.Modules().Select(m => m.Module));
        return estimator.Forward(batch, training: false).Value.Item();
    }
}

/// <summary>How held-out evaluations of an estimator rank its checkpoints.</summary>
public enum CheckpointSelection
{
    /// <summary>The largest held-out value (lower bounds: a larger value is a tighter bound).</summary>
    MaximizeValue,
    /// <summary>
    /// The smallest held-out loss (−objective): upper bounds, whose value is only an upper bound when q fits, so the
    /// checkpoint whose q fits held-out data best is kept (the smallest value would favour an untrained q).
    /// </summary>
    MinimizeLoss,
}

/// <summary>
/// A variational MI bound computed from a critic's score matrix S[i, j] = f(x_j, y_i) (rows y, positives on the
/// diagonal) and, for some bounds, a baseline b(y). The score-level entry points (<see cref="FromScores"/>,
/// <see cref="EvaluateScores"/>) accept any score matrix with any positive mask, so critics written elsewhere can be
/// trained with the same code.
/// </summary>
public abstract class MiBound : IMiEstimator
{
    /// <summary>The critic producing the scores, or null for a score-only bound (fed through <see cref="FromScores"/> or <see cref="EvaluateScores"/>).</summary>
    public ICritic? Critic { get; }

    /// <summary>The baseline, for bounds that use one.</summary>
    public IBaseline? Baseline { get; }

    /// <summary>
    /// Stores the critic and (for TUBA and Iα) the baseline. With no critic the bound is score-only: it evaluates
    /// score matrices computed elsewhere, and the baseline vector comes with the scores.
    /// </summary>
    protected MiBound(ICritic? critic, IBaseline? baseline = null)
    {
        Critic = critic;
        Baseline = baseline;
        if (critic is not null && RequiresBaseline && baseline is null)
            throw new ArgumentNullException(nameof(baseline), $"{GetType().Name} needs a baseline (LearnedBaseline, ConstantBaseline or GaussianMarginalBaseline)");
    }

    /// <summary>Whether the bound uses a baseline b(y).</summary>
    protected virtual bool RequiresBaseline => false;

    /// <inheritdoc />
    public virtual string Name => GetType().Name;

    /// <inheritdoc />
    public virtual double? Ceiling(int batchSize) => null;

    /// <inheritdoc />
    public IEnumerable<Tensor> Parameters()
    {
        var all = Critic?.Parameters() ?? [];
        return Baseline is null ? all : all.Concat(Baseline.Parameters());
    }

    /// <inheritdoc />
    public IEnumerable<(string Name, Module Module)> Modules()
    {
        if (Critic is Module critic) yield return ("critic", critic);
        if (Baseline is Module baseline) yield return ("baseline", baseline);
    }

    /// <inheritdoc />
    public virtual IEnumerable<(string Name, Tensor Tensor)> NamedState() => [];

    /// <inheritdoc />
    public double Estimate(Batch batch) => EstimatorEvaluation.Value(this, batch);

    /// <summary>The differentiable training objective (to maximize) on a batch.</summary>
    public Tensor Objective(Batch batch) => Forward(batch, training: true).Objective;

    /// <inheritdoc />
    public BoundOutput Forward(Batch batch, bool training)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (Critic is null) throw new InvalidOperationException($"{Name} was created without a critic: feed it score matrices with FromScores or EvaluateScores");
        var scores = Critic.Scores(batch.X, batch.Y);
        int k = batch.Size;
        if (scores.Rank != 2 || scores.Dim(0) != k || scores.Dim(1) != k)
            throw new InvalidOperationException($"{Critic.GetType().Name} returned scores of shape {Tensor.ShapeString(scores.Shape)}, expected [{k}, {k}]");
        var logBaseline = RequiresBaseline ? Baseline!.LogBaseline(batch.Y) : null;
        return FromScores(scores, logBaseline, PositiveMask.Diagonal(k), training);
    }

    /// <summary>
    /// The bound on a score matrix with gradients recorded through it: rows index the conditioning variable,
    /// <paramref name="mask"/> marks the positives, <paramref name="logBaseline"/> has one entry per row.
    /// </summary>
    public BoundOutput FromScores(Tensor scores, Tensor? logBaseline, PositiveMask mask, bool training)
    {
        ArgumentNullException.ThrowIfNull(scores);
        ArgumentNullException.ThrowIfNull(mask);
        if (scores.Rank != 2 || scores.Dim(0) != mask.Rows || scores.Dim(1) != mask.Columns)
            throw new ArgumentException($"scores of shape {Tensor.ShapeString(scores.Shape)} do not match a {mask.Rows}×{mask.Columns} positive mask");
        if (RequiresBaseline)
        {
            if (logBaseline is null) throw new ArgumentNullException(nameof(logBaseline), $"{Name} needs a baseline vector");
            if (logBaseline.Rank != 1 || logBaseline.Dim(0) != mask.Rows)
                throw new ArgumentException($"baseline of shape {Tensor.ShapeString(logBaseline.Shape)} must have one entry per score row ({mask.Rows})");
        }
        return Compute(scores, logBaseline, mask, training);
    }

    /// <summary>The bound's formula. Inputs are already validated.</summary>
    protected abstract BoundOutput Compute(Tensor scores, Tensor? logBaseline, PositiveMask mask, bool training);

    /// <summary>
    /// Framework-independent entry point: the value, the training objective and d objective / d scores (and / d baseline)
    /// for a row-major <paramref name="rows"/>×<paramref name="cols"/> score matrix. Positives default to the diagonal.
    /// With <paramref name="training"/> true, stateful bounds (MINE) update their state as in a training step.
    /// </summary>
    public ScoreEvaluation EvaluateScores(float[] scores, int rows, int cols, float[]? logBaseline = null, PositiveMask? positives = null, bool training = false)
    {
        ArgumentNullException.ThrowIfNull(scores);
        if (scores.Length != rows * cols) throw new ArgumentException($"{scores.Length} scores do not fill a {rows}×{cols} matrix");
        var s = Tensor.FromArray(scores, rows, cols).EnsureFinite("scores");
        s.RequiresGrad = true;
        Tensor? b = null;
        if (logBaseline is not null)
        {
            b = Tensor.FromArray(logBaseline).EnsureFinite("baseline");
            b.RequiresGrad = true;
        }
        var mask = positives ?? (rows == cols ? PositiveMask.Diagonal(rows) : throw new ArgumentException($"a {rows}×{cols} score matrix is not square: pass a positive mask"));
        using var _ = Tensor.EnableGrad(); // the gradient is the point, even inside a caller's NoGrad scope
        var output = FromScores(s, b, mask, training);
        double value = output.Value.Item(), objective = output.Objective.Item();
        if (output.Objective.RequiresGrad) output.Objective.Backward();
        return new ScoreEvaluation(value, objective, s.Grad?.ToArray() ?? new float[scores.Length], b is null ? null : b.Grad?.ToArray() ?? new float[b.Size]);
    }
}
