using MiBounds.Tensors;
using MiBounds.Tensors.Nn;

namespace MiBounds.Vib.Hypothesis;

/// <summary>
/// The convolutional trunk shared by the label-hypothesis classifier and its CNN baseline: conv 4×4/32 stride 2
/// (batch-norm, ReLU) → conv 4×4/64 stride 2 (batch-norm, ReLU), padding 1, so 28×28 images give [N, 64, 7, 7].
/// </summary>
public sealed class HypothesisTrunk : Module
{
    private readonly Conv2d _conv1, _conv2;
    private readonly BatchNorm _bn1, _bn2;

    /// <summary>Image side.</summary>
    public int Side { get; }
    /// <summary>Size of the flattened output (3136 for 28×28).</summary>
    public int Features { get; }

    /// <summary>Builds the trunk for <paramref name="side"/>×<paramref name="side"/> images.</summary>
    public HypothesisTrunk(Rng rng, int side = 28)
    {
        if (side < 8) throw new ArgumentOutOfRangeException(nameof(side), side, "images must be at least 8×8");
        Side = side;
        _conv1 = RegisterModule("conv1", new Conv2d(1, 32, 4, rng, stride: 2, padding: 1));
        _bn1 = RegisterModule("bn1", new BatchNorm(32));
        _conv2 = RegisterModule("conv2", new Conv2d(32, 64, 4, rng, stride: 2, padding: 1));
        _bn2 = RegisterModule("bn2", new BatchNorm(64));
        int s1 = (side + 2 - 4) / 2 + 1, s2 = (s1 + 2 - 4) / 2 + 1;
        Features = 64 * s2 * s2;
    }

    /// <summary>Flattened trunk output [N, <see cref="Features"/>] of [N, side²] images.</summary>
    public Tensor Forward(Tensor images)
    {
        if (images.Rank != 2 || images.Dim(1) != Side * Side)
            throw new ArgumentException($"the trunk expects images [N, {Side * Side}], got {Tensor.ShapeString(images.Shape)}");
        var x = images.Reshape(images.Dim(0), 1, Side, Side);
        var h = _bn1.Forward(_conv1.Forward(x)).Relu();
        h = _bn2.Forward(_conv2.Forward(h)).Relu();
        return h.Reshape(images.Dim(0), Features);
    }
}

/// <summary>An image classifier whose prediction rule is differentiable: class log-probabilities [N, C] for images [N, D].</summary>
public interface IImageClassifier
{
    /// <summary>Number of classes.</summary>
    int Classes { get; }

    /// <summary>Log-probabilities whose arg-max is the prediction (the input of the attacks).</summary>
    Tensor LogProbabilities(Tensor images);
}

/// <summary>
/// The label-hypothesis ("guess first") classifier: the trunk runs once per image; the one-hot hypothesis k is
/// concatenated to its output and FC 512 → 256 → 128 → 1 (ReLU) gives the score T(x, k). Prediction is
/// argmax_k T(x, k). The first FC layer is computed factored, W[h; e_k] + b = W_h h + W[:, k] + b, so its cost is one
/// row per image rather than one per (image, hypothesis) pair (same parameters and values as the concatenation).
/// </summary>
public sealed class HypothesisNetwork : Module, IImageClassifier
{
    private readonly Linear _fc1, _fc2, _fc3, _fc4;

    /// <summary>The convolutional trunk.</summary>
    public HypothesisTrunk Trunk { get; }
    /// <inheritdoc />
    public int Classes { get; }
    /// <summary>The first FC layer, input [trunk features, one-hot hypothesis] → 512.</summary>
    public Linear FirstLayer => _fc1;
    /// <summary>FC 512 → 256; its ReLU output is the representation.</summary>
    public Linear RepresentationLayer => _fc2;
    /// <summary>FC 256 → 128.</summary>
    public Linear ThirdLayer => _fc3;
    /// <summary>FC 128 → 1, the score.</summary>
    public Linear ScoreLayer => _fc4;
    /// <summary>Width of the representation the information-elimination regularizer acts on (256).</summary>
    public int RepresentationSize => _fc2.OutFeatures;

    /// <summary>Builds the network.</summary>
    public HypothesisNetwork(Rng rng, int side = 28, int classes = 10)
    {
        if (classes < 2) throw new ArgumentOutOfRangeException(nameof(classes), classes, "need at least 2 classes");
        Classes = classes;
        Trunk = RegisterModule("trunk", new HypothesisTrunk(rng, side));
        _fc1 = RegisterModule("fc1", new Linear(Trunk.Features + classes, 512, rng));
        // The one-hot columns act as a per-hypothesis embedding. With the default fan-in scale (±1/√3146) they are ~20×
        // smaller than the image part, so T(x, k) barely depends on k at first and the bound objectives learn very slowly;
        // an embedding-like scale (uniform ±1) makes the hypothesis matter from the first step.
        var w = _fc1.Weight.Data;
        int inputs = Trunk.Features + classes;
        for (int o = 0; o < 512; o++)
            for (int k = 0; k < classes; k++) w[o * inputs + Trunk.Features + k] = 2f * rng.NextFloat() - 1f;
        _fc2 = RegisterModule("fc2", new Linear(512, 256, rng));
        _fc3 = RegisterModule("fc3", new Linear(256, 128, rng));
        _fc4 = RegisterModule("fc4", new Linear(128, 1, rng));
    }

    /// <summary>
    /// Scores T(x_i, k) as [N, C] (row i, column k: positives of a labelled batch at (i, y_i)) and the FC-256
    /// representations [N·C, 256] with row i·C + k for image i under hypothesis k.
    /// </summary>
    public (Tensor Scores, Tensor Representations) Forward(Tensor images)
    {
        var h = Trunk.Forward(images);
        int n = h.Dim(0), f = Trunk.Features, width = _fc1.OutFeatures;
        var u = Tensor.LinearOverColumns(h, _fc1.Weight, 0, null);                         // [N, 512]
        var v = _fc1.Weight.Slice(1, f, Classes).Transpose() + _fc1.Bias!.Reshape(1, width); // [C, 512]: W e_k + b
        var first = (u.Reshape(n, 1, width) + v.Reshape(1, Classes, width)).Reshape(n * Classes, width).Relu();
        var representation = _fc2.Forward(first).Relu();
        var scores = _fc4.Forward(_fc3.Forward(representation).Relu()).Reshape(n, Classes);
        return (scores, representation);
    }

    /// <summary>The scores T(x, k), [N, C].</summary>
    public Tensor Scores(Tensor images) => Forward(images).Scores;

    /// <summary>log softmax over hypotheses of T(x, ·): its arg-max is the prediction, and attacks differentiate it.</summary>
    public Tensor LogProbabilities(Tensor images) => Scores(images).LogSoftmax(1);
}

/// <summary>The CNN baseline: the same trunk, then FC 512 → 256 → 128 (ReLU) → a 10-way softmax.</summary>
public sealed class CnnClassifier : Module, IImageClassifier
{
    private readonly Linear[] _head;

    /// <summary>The convolutional trunk.</summary>
    public HypothesisTrunk Trunk { get; }
    /// <inheritdoc />
    public int Classes { get; }

    /// <summary>Builds the network.</summary>
    public CnnClassifier(Rng rng, int side = 28, int classes = 10)
    {
        if (classes < 2) throw new ArgumentOutOfRangeException(nameof(classes), classes, "need at least 2 classes");
        Classes = classes;
        Trunk = RegisterModule("trunk", new HypothesisTrunk(rng, side));
        _head =
        [
            RegisterModule("fc1", new Linear(Trunk.Features, 512, rng)),
            RegisterModule("fc2", new Linear(512, 256, rng)),
            RegisterModule("fc3", new Linear(256, 128, rng)),
            RegisterModule("out", new Linear(128, classes, rng)),
        ];
    }

    /// <summary>Class logits [N, C].</summary>
    public Tensor Logits(Tensor images)
    {
        var h = Trunk.Forward(images);
        for (int i = 0; i < _head.Length - 1; i++) h = _head[i].Forward(h).Relu();
        return _head[^1].Forward(h);
    }

    /// <inheritdoc />
    public Tensor LogProbabilities(Tensor images) => Logits(images).LogSoftmax(1);
}
