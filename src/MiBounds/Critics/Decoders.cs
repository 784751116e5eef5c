using MiBounds.Tensors;
using MiBounds.Tensors.Nn;

namespace MiBounds.Critics;

/// <summary>A tractable conditional density q(target | condition), the decoder of the Barber–Agakov bound.</summary>
public interface IConditionalLogDensity
{
    /// <summary>log q(target_i | condition_i) for each row, as a [K] tensor (rows of both inputs are paired).</summary>
    Tensor LogDensity(Tensor target, Tensor condition);

    /// <summary>Trainable parameters (empty for analytic densities).</summary>
    IEnumerable<Tensor> Parameters();
}

/// <summary>
/// Gaussian decoder q(x | y) = N(μ(y), diag(exp(logvar(y)))): an MLP trunk on y with a mean head and a log-variance head.
/// </summary>
public sealed class GaussianDecoder : Module, IConditionalLogDensity
{
    private readonly int _dimTarget;

    /// <summary>The shared trunk; its output width is the hidden size.</summary>
    public Mlp Trunk { get; }
    /// <summary>Mean head.</summary>
    public Linear MeanHead { get; }
    /// <summary>Log-variance head.</summary>
    public Linear LogVarianceHead { get; }

    /// <summary>Creates a decoder for targets of width <paramref name="dimTarget"/> given conditions of width <paramref name="dimCondition"/>.</summary>
    public GaussianDecoder(int dimCondition, int dimTarget, Rng rng, int hidden = 256, int layers = 2)
    {
        if (layers < 1) throw new ArgumentOutOfRangeException(nameof(layers), layers, "needs at least one hidden layer");
        _dimTarget = dimTarget;
        Trunk = RegisterModule("trunk", new Mlp(dimCondition, hidden, hidden, layers - 1, rng));
        MeanHead = RegisterModule("mean", new Linear(hidden, dimTarget, rng));
        LogVarianceHead = RegisterModule("logvar", new Linear(hidden, dimTarget, rng));
    }

    /// <summary>The decoder's mean μ(y) and log-variance, each [K, target width], for conditions [K, condition width].</summary>
    public (Tensor Mean, Tensor LogVariance) MeanAndLogVariance(Tensor condition)
    {
        var h = Trunk.Forward(condition).Relu();
        return (MeanHead.Forward(h), LogVarianceHead.Forward(h));
    }

    /// <inheritdoc />
    public Tensor LogDensity(Tensor target, Tensor condition)
    {
        if (target.Rank != 2 || target.Dim(1) != _dimTarget || condition.Rank != 2 || condition.Dim(0) != target.Dim(0))
            throw new ArgumentException($"GaussianDecoder: target {Tensor.ShapeString(target.Shape)} and condition {Tensor.ShapeString(condition.Shape)} do not fit (target width {_dimTarget})");
        var (mean, logVar) = MeanAndLogVariance(condition);
        // −½ Σ_d [log 2π + logvar + (x−μ)² e^{−logvar}]
        var quad = (target - mean).Square() * logVar.Neg().Exp();
        var perDim = (quad + logVar) + (float)Math.Log(2 * Math.PI);
        return perDim.Sum(1) * -0.5f;
    }
}

/// <summary>
/// Categorical decoder q(label | z) = softmax(W z + b): a linear classifier head whose log-likelihood feeds the
/// Barber–Agakov bound (I(Z; Y) ≥ H(Y) − cross-entropy). Targets are one-hot rows [K, classes].
/// </summary>
public sealed class CategoricalDecoder : Module, IConditionalLogDensity
{
    /// <summary>The linear head.</summary>
    public Linear Head { get; }

    /// <summary>Number of classes.</summary>
    public int Classes => Head.OutFeatures;

    /// <summary>Creates a head from <paramref name="inFeatures"/> to <paramref name="classes"/> logits.</summary>
    public CategoricalDecoder(int inFeatures, int classes, Rng rng)
    {
        Head = RegisterModule("head", new Linear(inFeatures, classes, rng));
    }

    /// <summary>Unnormalized class scores for z [K, in].</summary>
    public Tensor Logits(Tensor z) => Head.Forward(z);

    /// <summary>Log-probabilities log q(c | z), [K, classes].</summary>
    public Tensor LogProbabilities(Tensor z)
    {
        var logits = Logits(z);
        return logits - logits.LogSumExp(1, keepDim: true);
    }

    /// <inheritdoc />
    public Tensor LogDensity(Tensor target, Tensor condition)
    {
        if (target.Rank != 2 || target.Dim(1) != Classes || target.Dim(0) != condition.Dim(0))
            throw new ArgumentException($"CategoricalDecoder: target must be one-hot [K, {Classes}] paired with condition rows; got {Tensor.ShapeString(target.Shape)} and {Tensor.ShapeString(condition.Shape)}");
        return (LogProbabilities(condition) * target).Sum(1);
    }

    /// <summary>log q(labels_i | z_i) for integer labels, [K].</summary>
    public Tensor LogLikelihood(Tensor z, int[] labels) => LogProbabilities(z).PickPerRow(labels);
}
