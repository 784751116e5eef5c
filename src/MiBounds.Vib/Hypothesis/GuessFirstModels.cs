using MiBounds.Tensors;
using MiBounds.Tensors.Nn;
using MiBounds.Vib.Models;

namespace MiBounds.Vib.Hypothesis;

/// <summary>
/// "Alemi et al." as the Guess-First paper uses it: the CNN baseline (<see cref="HypothesisTrunk"/>, FC 512 → 256 → 128 → 10)
/// with its middle FC layer made a Gaussian bottleneck: FC 512 → (μ, σ = softplus) of 256 units, z = μ + σ·ε, then
/// FC 128 → 10. Trained with cross-entropy + β·KL(q(z|x) ‖ N(0, I)); predictions (and the attacks' gradients) use z = μ,
/// so the prediction rule is deterministic.
/// </summary>
public sealed class CnnVibClassifier : Module, IImageClassifier
{
    private readonly Linear _fc1, _mu, _sigma, _fc3, _out;

    /// <summary>The convolutional trunk.</summary>
    public HypothesisTrunk Trunk { get; }
    /// <inheritdoc />
    public int Classes { get; }
    /// <summary>Bottleneck width (256: the CNN's middle layer).</summary>
    public int Bottleneck => _mu.OutFeatures;

    /// <summary>Builds the network.</summary>
    public CnnVibClassifier(Rng rng, int side = 28, int classes = 10, int bottleneck = 256)
    {
        if (classes < 2) throw new ArgumentOutOfRangeException(nameof(classes), classes, "need at least 2 classes");
        Classes = classes;
        Trunk = RegisterModule("trunk", new HypothesisTrunk(rng, side));
        _fc1 = RegisterModule("fc1", new Linear(Trunk.Features, 512, rng));
        _mu = RegisterModule("mu", new Linear(512, bottleneck, rng));
        _sigma = RegisterModule("sigma", new Linear(512, bottleneck, rng));
        _fc3 = RegisterModule("fc3", new Linear(bottleneck, 128, rng));
        _out = RegisterModule("out", new Linear(128, classes, rng));
    }

    /// <summary>μ and σ of q(z|x), [N, 256] each.</summary>
    public (Tensor Mu, Tensor Sigma) Encode(Tensor images)
    {
        var h = _fc1.Forward(Trunk.Forward(images)).Relu();
        // softplus(· − 5) starts σ near 0.007, as Alemi et al. do, so early training is nearly deterministic.
        return (_mu.Forward(h), (_sigma.Forward(h) - 5f).Softplus() + 1e-4f);
    }

    /// <summary>Class logits [N, C] of bottleneck codes z [N, 256].</summary>
    public Tensor Decode(Tensor z) => _out.Forward(_fc3.Forward(z).Relu());

    /// <summary>Cross-entropy with one sampled z per image plus β·KL (nats), and the mean KL.</summary>
    public (Tensor Loss, double Kl) Loss(Tensor images, int[] labels, double beta, Rng rng)
    {
        var (mu, sigma) = Encode(images);
        var z = mu + sigma * Tensor.RandomNormal(rng, mu.Shape);
        var kl = GaussianKl.ToStandardNormal(mu, sigma).Mean();
        return (Tensor.CrossEntropy(Decode(z), labels) + kl * (float)beta, kl.Item());
    }

    /// <inheritdoc />
    public Tensor LogProbabilities(Tensor images) => Decode(Encode(images).Mu).LogSoftmax(1);
}

/// <summary>
/// The black-box substitute: a LeNet-5-like CNN, conv 5×5/6 (padding 2, ReLU, 2×2 max-pool) → conv 5×5/16 (ReLU, 2×2
/// max-pool) → FC 120 → 84 (ReLU) → 10, for 28×28 images (ReLU and max-pooling in place of LeNet-5's tanh and subsampling).
/// </summary>
public sealed class LeNet5 : Module, IImageClassifier
{
    private readonly Conv2d _conv1, _conv2;
    private readonly Linear _fc1, _fc2, _out;
    private readonly int _side, _flat;

    /// <inheritdoc />
    public int Classes { get; }

    /// <summary>Builds the network for side×side images (side ≥ 12, even sizes pool cleanly).</summary>
    public LeNet5(Rng rng, int side = 28, int classes = 10)
    {
        if (side < 12) throw new ArgumentOutOfRangeException(nameof(side), side, "LeNet-5 needs images of at least 12×12");
        _side = side; Classes = classes;
        _conv1 = RegisterModule("conv1", new Conv2d(1, 6, 5, rng, padding: 2));
        _conv2 = RegisterModule("conv2", new Conv2d(6, 16, 5, rng));
        int s = ((side / 2) - 4) / 2;
        _flat = 16 * s * s;
        _fc1 = RegisterModule("fc1", new Linear(_flat, 120, rng));
        _fc2 = RegisterModule("fc2", new Linear(120, 84, rng));
        _out = RegisterModule("out", new Linear(84, classes, rng));
    }

    /// <summary>Class logits [N, C].</summary>
    public Tensor Logits(Tensor images)
    {
        var x = images.Reshape(images.Dim(0), 1, _side, _side);
        var h = _conv1.Forward(x).Relu().MaxPool2x2();
        h = _conv2.Forward(h).Relu().MaxPool2x2();
        h = _fc2.Forward(_fc1.Forward(h.Reshape(images.Dim(0), _flat)).Relu()).Relu();
        return _out.Forward(h);
    }

    /// <inheritdoc />
    public Tensor LogProbabilities(Tensor images) => Logits(images).LogSoftmax(1);
}
