using MiBounds.Bounds;
using MiBounds.Critics;
using MiBounds.Tensors;

namespace MiBounds.Estimation;

/// <summary>
/// Shared part of the variational upper bounds CLUB and L1Out: a Gaussian q(y | x) = N(μ(x), diag e^{logvar(x)})
/// (a <see cref="GaussianDecoder"/> conditioned on x, predicting y), trained by maximum likelihood on the positive
/// pairs (the objective), and the score matrix S[i, j] = log q(y_i | x_j) (rows y, columns x, positives on the
/// diagonal, as for critics). The bound's value is computed from S; both are upper bounds when q is close to p(y | x).
/// </summary>
public abstract class GaussianUpperBound : IMiEstimator
{
    /// <summary>q(y | x): the decoder's condition is x, its target is y.</summary>
    public GaussianDecoder Decoder { get; }

    /// <summary>Wraps a decoder from x (width dx) to y (width dy).</summary>
    protected GaussianUpperBound(GaussianDecoder decoder) => Decoder = decoder ?? throw new ArgumentNullException(nameof(decoder));

    /// <inheritdoc />
    public abstract string Name { get; }

    /// <inheritdoc />
    public double? Ceiling(int batchSize) => null;

    /// <inheritdoc />
    public IEnumerable<Tensor> Parameters() => Decoder.Parameters();

    /// <inheritdoc />
    public IEnumerable<(string Name, Tensors.Nn.Module Module)> Modules() => [("decoder", Decoder)];

    /// <inheritdoc />
    public CheckpointSelection Selection => CheckpointSelection.MinimizeLoss;

    /// <inheritdoc />
    public double Estimate(Batch batch) => EstimatorEvaluation.Value(this, batch);

    /// <summary>The K×K matrix log q(y_i | x_j).</summary>
    public Tensor Scores(Tensor x, Tensor y)
    {
        var (mean, logVariance) = Decoder.MeanAndLogVariance(x); // computed once, shared by all K² pairs
        return PairwiseLogDensity(y, mean, logVariance);
    }

    /// <summary>Value: the bound on the batch; objective: the mean log-likelihood of the positive pairs.</summary>
    public BoundOutput Forward(Batch batch, bool training)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var s = Scores(batch.X, batch.Y);
        var logLikelihood = s.Diagonal().Mean();
        return new BoundOutput(Value(s, logLikelihood), logLikelihood);
    }

    /// <summary>The bound from the score matrix and its diagonal mean.</summary>
    protected abstract Tensor Value(Tensor scores, Tensor positiveMean);

    /// <summary>
    /// S[i, j] = log N(y_i; μ_j, diag e^{logvar_j}) for rows y [K, d] and per-column μ, logvar [K, d], as three
    /// matrix products: −½ [Σ_d (log 2π + logvar_jd + μ_jd² w_jd) + (y²) wᵀ − 2 y (μ∘w)ᵀ], w = e^{−logvar}.
    /// </summary>
    public static Tensor PairwiseLogDensity(Tensor y, Tensor mean, Tensor logVar)
    {
        ArgumentNullException.ThrowIfNull(y);
        ArgumentNullException.ThrowIfNull(mean);
        ArgumentNullException.ThrowIfNull(logVar);
        if (y.Rank != 2 || mean.Rank != 2 || logVar.Rank != 2 || mean.Dim(1) != y.Dim(1) || logVar.Dim(0) != mean.Dim(0) || logVar.Dim(1) != mean.Dim(1))
            throw new ArgumentException($"pairwise Gaussian log-density: y {Tensor.ShapeString(y.Shape)}, mean {Tensor.ShapeString(mean.Shape)} and log-variance {Tensor.ShapeString(logVar.Shape)} do not fit");
        var w = logVar.Neg().Exp();
        var columnTerm = (logVar + mean.Square() * w + (float)Math.Log(2 * Math.PI)).Sum(1).Reshape(1, mean.Dim(0));
        var quad = Tensor.MatMul(y.Square(), w, transB: true) - Tensor.MatMul(y, mean * w, transB: true) * 2f;
        return (quad + columnTerm) * -0.5f;
    }
}

/// <summary>
/// CLUB (Cheng et al. 2020): mean_i log q(y_i | x_i) − mean_{i≠j} log q(y_i | x_j). An upper bound on I(X; Y) when q
/// is p(y | x) (and whenever q is closer to p in the sense of their Theorem 3.2); exceeds MI by
/// E[KL-type slack], e.g. dρ²/(1−ρ²) vs −(d/2)log(1−ρ²) on the correlated Gaussian.
/// </summary>
public sealed class Club(GaussianDecoder decoder) : GaussianUpperBound(decoder)
{
    /// <inheritdoc />
    public override string Name => "Club";

    /// <inheritdoc />
    protected override Tensor Value(Tensor scores, Tensor positiveMean) =>
        positiveMean - scores.MaskedMean(Tensor.OffDiagonalMask(scores.Dim(0), scores.Dim(1)));
}

/// <summary>
/// Leave-one-out upper bound (Poole et al. 2019, eq. 13) with a variational q in place of p(y | x):
/// mean_i [log q(y_i | x_i) − log (1/(K−1)) Σ_{j≠i} q(y_i | x_j)]. An upper bound when q = p(y | x) (its expectation
/// decreases to I as K grows); with a learned q it is not guaranteed (Cheng et al. call it vL1Out). Not capped at log K.
/// </summary>
public sealed class L1Out(GaussianDecoder decoder) : GaussianUpperBound(decoder)
{
    /// <inheritdoc />
    public override string Name => "L1Out";

    /// <inheritdoc />
    protected override Tensor Value(Tensor scores, Tensor positiveMean) =>
        positiveMean - ScoreMath.LeaveOneOutLogMeanExp(scores).Diagonal().Mean();
}
