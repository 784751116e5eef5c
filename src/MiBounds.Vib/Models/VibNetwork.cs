using MiBounds.Critics;
using MiBounds.Tensors;
using MiBounds.Tensors.Nn;
using MiBounds.Vib.Hypothesis;

namespace MiBounds.Vib.Models;

/// <summary>Which objective and encoder behaviour a <see cref="VibNetwork"/> uses.</summary>
public enum ModelKind
{
    /// <summary>Stochastic encoder, loss CE + β·KL(p(z|x) ‖ N(0, I)) (Alemi et al.).</summary>
    Vib,
    /// <summary>Stochastic encoder, loss CE + β·MMD(q(z), N(0, σ²I)) (variational InfoMax).</summary>
    Vim,
    /// <summary>Same network, z = μ, loss CE.</summary>
    Deterministic,
    /// <summary>Same network, z = μ, dropout on the hidden layers during training, loss CE.</summary>
    Dropout,
    /// <summary>Same network, z = μ, loss CE against labels smoothed toward the uniform distribution (Szegedy et al. 2016).</summary>
    LabelSmoothing,
    /// <summary>Same network, z = μ, loss CE − β·H(q(y|z)): the confidence penalty of Pereyra et al. (2017).</summary>
    ConfidencePenalty,
}

/// <summary>The architecture of a <see cref="VibNetwork"/>'s encoder.</summary>
public enum EncoderKind
{
    /// <summary>The VIB paper's MLP: inputs → hidden → hidden (ReLU) → the code's parameters.</summary>
    Mlp,
    /// <summary>
    /// A convolutional encoder for square images: the Guess-First trunk (<see cref="HypothesisTrunk"/>: conv 4×4/32 and
    /// 4×4/64, stride 2, batch-norm, ReLU), then one hidden layer (ReLU) → the code's parameters.
    /// </summary>
    Conv,
}

/// <summary>
/// The VIB network: an encoder (by default the MLP 784→1024→1024→2K with ReLU; <see cref="EncoderKind.Conv"/> for a
/// convolutional trunk) whose outputs are μ (first K) and σ = softplus(second K − 5), and a linear decoder K→classes
/// giving q(y|z) as a softmax.
/// </summary>
public sealed class VibNetwork : Module
{
    private readonly Linear[] _encoder;
    private readonly HypothesisTrunk? _trunk;

    /// <summary>The encoder's architecture.</summary>
    public EncoderKind Encoder { get; }

    /// <summary>The decoder q(y|z), a linear softmax classifier (the library's Barber–Agakov decoder).</summary>
    public CategoricalDecoder Decoder { get; }

    /// <summary>Model kind.</summary>
    public ModelKind Kind { get; }

    /// <summary>Bottleneck size K.</summary>
    public int Bottleneck { get; }

    /// <summary>Number of classes.</summary>
    public int Classes { get; }

    /// <summary>Dropout probability on the hidden layers (only for <see cref="ModelKind.Dropout"/>).</summary>
    public float DropoutRate { get; }

    /// <summary>Whether p(z|x) has a full covariance (mean and Cholesky factor) rather than a diagonal one.</summary>
    public bool FullCovariance { get; }

    /// <summary>Whether z is sampled from p(z|x) (VIB, VIM) rather than set to μ.</summary>
    public bool IsStochastic => Kind is ModelKind.Vib or ModelKind.Vim;

    /// <summary>
    /// Builds the network; weights are Glorot-uniform from <paramref name="rng"/>. With <paramref name="fullCovariance"/>
    /// the encoder's last layer gives μ, the Cholesky diagonal (softplus(· − 5)) and the K(K−1)/2 lower entries. A
    /// <see cref="EncoderKind.Conv"/> encoder needs square images (<paramref name="inputs"/> a square) and has one hidden
    /// layer of <paramref name="hidden"/> units after its trunk.
    /// </summary>
    public VibNetwork(ModelKind kind, int inputs, int bottleneck, int classes, Rng rng, int hidden = 1024, float dropoutRate = 0.5f, bool fullCovariance = false,
        EncoderKind encoder = EncoderKind.Mlp)
    {
        FullCovariance = fullCovariance;
        if (bottleneck < 1) throw new ArgumentOutOfRangeException(nameof(bottleneck), bottleneck, "bottleneck size K must be ≥ 1");
        if (dropoutRate is < 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(dropoutRate), dropoutRate, "must be in [0, 1)");
        Kind = kind; Bottleneck = bottleneck; Classes = classes; DropoutRate = dropoutRate; Encoder = encoder;
        int outputs = 2 * bottleneck + (fullCovariance ? GaussianCode.LowerCount(bottleneck) : 0);
        if (encoder == EncoderKind.Conv)
        {
            int side = (int)Math.Round(Math.Sqrt(inputs));
            if (side * side != inputs) throw new ArgumentException($"the convolutional encoder needs square images, got {inputs} inputs");
            _trunk = RegisterModule("trunk", new HypothesisTrunk(rng, side));
            _encoder =
            [
                RegisterModule("encoder.0", new Linear(_trunk.Features, hidden, rng)),
                RegisterModule("encoder.1", new Linear(hidden, outputs, rng)),
            ];
        }
        else
            _encoder =
            [
                RegisterModule("encoder.0", new Linear(inputs, hidden, rng)),
                RegisterModule("encoder.1", new Linear(hidden, hidden, rng)),
                RegisterModule("encoder.2", new Linear(hidden, outputs, rng)),
            ];
        Decoder = RegisterModule("decoder", new CategoricalDecoder(bottleneck, classes, rng));
    }

    /// <summary>
    /// The encoder's Gaussian p(z|x) = N(μ, diag σ²) for [N, inputs] images. <paramref name="rng"/> draws dropout masks
    /// (used only by the dropout model in training mode).
    /// </summary>
    public (Tensor Mu, Tensor Sigma) Encode(Tensor x, Rng? rng = null) => Split(EncoderOutput(x, rng));

    private (Tensor Mu, Tensor Sigma) Split(Tensor output)
    {
        var mu = output.Slice(1, 0, Bottleneck);
        var sigma = (output.Slice(1, Bottleneck, Bottleneck) - 5f).Softplus();
        return (mu, sigma);
    }

    private Tensor EncoderOutput(Tensor x, Rng? rng)
    {
        var h = _trunk is null ? x : _trunk.Forward(x);
        for (int i = 0; i < _encoder.Length - 1; i++)
        {
            h = _encoder[i].Forward(h).Relu();
            if (Kind == ModelKind.Dropout && Training && DropoutRate > 0)
                h = h.Dropout(DropoutRate, rng ?? throw new ArgumentNullException(nameof(rng), "the dropout model needs an Rng in training mode"));
        }
        return _encoder[^1].Forward(h);
    }

    /// <summary>
    /// The encoder's Gaussian p(z|x) with its Cholesky factor (diagonal unless <see cref="FullCovariance"/>).
    /// <see cref="Encode"/> gives the same μ and, for a full covariance, the Cholesky diagonal.
    /// </summary>
    public GaussianCode EncodeGaussian(Tensor x, Rng? rng = null)
    {
        var output = EncoderOutput(x, rng);
        var (mu, diagonal) = Split(output);
        // The lower entries follow μ and the diagonal in the last layer's output.
        return new GaussianCode(mu, diagonal, FullCovariance ? output.Slice(1, 2 * Bottleneck, GaussianCode.LowerCount(Bottleneck)) : null);
    }

    /// <summary>One reparameterized sample z = μ + Lε per row of a code (z = μ for deterministic kinds).</summary>
    public Tensor Sample(GaussianCode code, Rng rng) => !IsStochastic ? code.Mu : code.Lower is null ? Sample(code.Mu, code.Diagonal, rng) : code.Sample(rng);

    /// <summary>One reparameterized sample z = μ + σ·ε per row (z = μ for deterministic kinds).</summary>
    public Tensor Sample(Tensor mu, Tensor sigma, Rng rng)
    {
        if (!IsStochastic) return mu;
        return mu + sigma * Tensor.RandomNormalLike(mu, rng);
    }

    /// <summary>Decoder log-probabilities log q(y|z), [N, classes].</summary>
    public Tensor LogProbabilities(Tensor z) => Decoder.LogProbabilities(z);

    /// <summary>
    /// The prediction rule: log of the softmax averaged over <paramref name="samples"/> posterior samples
    /// (one pass for deterministic kinds), [N, classes]. Differentiable in <paramref name="x"/>, so attacks use it.
    /// </summary>
    public Tensor PredictLogProbabilities(Tensor x, int samples, Rng rng)
    {
        if (samples < 1) throw new ArgumentOutOfRangeException(nameof(samples), samples, "must be ≥ 1");
        if (FullCovariance && IsStochastic) return PredictFromCode(EncodeGaussian(x, rng), samples, rng);
        var (mu, sigma) = Encode(x, rng);
        if (!IsStochastic || samples == 1) return LogProbabilities(Sample(mu, sigma, rng));
        int n = mu.Dim(0);
        var muRep = Tensor.Concat(0, Enumerable.Repeat(mu, samples).ToArray());
        var sigmaRep = Tensor.Concat(0, Enumerable.Repeat(sigma, samples).ToArray());
        var logp = LogProbabilities(Sample(muRep, sigmaRep, rng)).Reshape(samples, n, Classes);
        return logp.LogSumExp(0) - MathF.Log(samples);
    }

    // The prediction rule for any code (the full-covariance path): log of the softmax averaged over the samples.
    private Tensor PredictFromCode(GaussianCode code, int samples, Rng rng)
    {
        int n = code.Mu.Dim(0);
        if (samples == 1) return LogProbabilities(code.Sample(rng));
        var logp = LogProbabilities(code.Repeat(samples).Sample(rng)).Reshape(samples, n, Classes);
        return logp.LogSumExp(0) - MathF.Log(samples);
    }
}
