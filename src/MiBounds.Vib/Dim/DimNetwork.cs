using MiBounds.Tensors;
using MiBounds.Tensors.Nn;

namespace MiBounds.Vib.Dim;

/// <summary>Which DIM objectives are trained: the global one, the local one, or their sum.</summary>
public enum DimMode
{
    /// <summary>Global code vs the whole image's feature map.</summary>
    Global,
    /// <summary>Global code vs each local feature vector (one score matrix per location, averaged).</summary>
    Local,
    /// <summary>The sum of both objectives.</summary>
    Both,
}

/// <summary>
/// The Deep InfoMax encoder for 28×28 images: conv 5×5/64 stride 2 (ReLU) → conv 5×5/128 stride 2 (batch-norm, ReLU)
/// giving the local feature map [N, 128, 7, 7], then FC 1024 (batch-norm, ReLU) → a linear global code of 64 units.
/// </summary>
public sealed class DimEncoder : Module
{
    private readonly Conv2d _conv1, _conv2;
    private readonly BatchNorm _bn2, _bnFc;
    private readonly BatchNorm? _bn1; // the authors' variant: batch-norm after the first convolution too
    private readonly Linear _fc, _code;

    /// <summary>Image side (28).</summary>
    public int Side { get; }
    /// <summary>Channels of the local feature map (128).</summary>
    public int LocalChannels => _conv2.OutChannels;
    /// <summary>Side of the local feature map (7 for 28×28 input).</summary>
    public int LocalSide { get; }
    /// <summary>Local feature vectors per image (49).</summary>
    public int Locations => LocalSide * LocalSide;
    /// <summary>Size of the flattened local map (6272).</summary>
    public int LocalFeatures => LocalChannels * Locations;
    /// <summary>Size of the global code (64).</summary>
    public int CodeSize => _code.OutFeatures;

    /// <summary>Size of the FC layer (1024).</summary>
    public int Hidden => _fc.OutFeatures;

    /// <summary>
    /// Builds the encoder with PyTorch-style initialization from <paramref name="rng"/>; <paramref name="batchNormFirst"/>
    /// adds batch-norm after the first convolution (rdevon/DIM's basic28x28 encoder).
    /// </summary>
    public DimEncoder(Rng rng, int side = 28, int codeSize = 64, int hidden = 1024, bool batchNormFirst = false)
    {
        if (side < 8) throw new ArgumentOutOfRangeException(nameof(side), side, "images must be at least 8×8");
        Side = side;
        _conv1 = RegisterModule("conv1", new Conv2d(1, 64, 5, rng, stride: 2, padding: 2));
        if (batchNormFirst) _bn1 = RegisterModule("bn1", new BatchNorm(64));
        _conv2 = RegisterModule("conv2", new Conv2d(64, 128, 5, rng, stride: 2, padding: 2));
        _bn2 = RegisterModule("bn2", new BatchNorm(128));
        int s1 = (side + 4 - 5) / 2 + 1;
        LocalSide = (s1 + 4 - 5) / 2 + 1;
        _fc = RegisterModule("fc", new Linear(128 * LocalSide * LocalSide, hidden, rng));
        _bnFc = RegisterModule("bn_fc", new BatchNorm(hidden));
        _code = RegisterModule("code", new Linear(hidden, codeSize, rng));
    }

    /// <summary>The local feature map [N, 128, 7, 7] and the global code [N, 64] of [N, side²] images.</summary>
    public (Tensor Local, Tensor Code) Forward(Tensor images)
    {
        var (local, _, code) = ForwardAll(images);
        return (local, code);
    }

    /// <summary>The local feature map, the FC layer's output [N, 1024] (after batch-norm and ReLU) and the code.</summary>
    public (Tensor Local, Tensor Fc, Tensor Code) ForwardAll(Tensor images)
    {
        if (images.Rank != 2 || images.Dim(1) != Side * Side)
            throw new ArgumentException($"DimEncoder expects images [N, {Side * Side}], got {Tensor.ShapeString(images.Shape)}");
        var x = images.Reshape(images.Dim(0), 1, Side, Side);
        var h = _conv1.Forward(x);
        h = (_bn1 is null ? h : _bn1.Forward(h)).Relu();
        var local = _bn2.Forward(_conv2.Forward(h)).Relu();
        var flat = local.Reshape(local.Dim(0), LocalFeatures);
        var fc = _bnFc.Forward(_fc.Forward(flat)).Relu();
        return (local, fc, _code.Forward(fc));
    }
}

/// <summary>
/// The Deep InfoMax model: encoder plus separable critics that score (code, features) pairs as dot products of
/// projections to a shared width. Score matrices follow the library's convention S[i, j] = f(x_j, y_i) with
/// y = the global code (rows) and x = image features (columns), positives on the diagonal.
/// Global: S[i, j] = ψ_g(code_i)·φ_g(map_j) / √width, φ_g on the flattened local map.
/// Local: for each location l, S_l[i, j] = ψ_l(code_i)·φ_l(map_j[:, l]) / √width, φ_l a 1×1-convolution MLP.
/// The 1/√width temperature keeps initial scores of order one, so exp-based bounds (DV, the NWJ value JS reports) do not overflow.
/// </summary>
public sealed class DimNetwork : DimModel
{
    /// <summary>The encoder.</summary>
    public override DimEncoder Encoder { get; }
    /// <summary>Code projection of the global critic.</summary>
    public Mlp GlobalCode { get; }
    /// <summary>Feature projection of the global critic (flattened map → width).</summary>
    public Mlp GlobalFeatures { get; }
    /// <summary>Code projection of the local critic.</summary>
    public Mlp LocalCode { get; }
    /// <summary>Per-location feature projection of the local critic (a 1×1 convolution as an MLP on channel vectors).</summary>
    public Mlp LocalFeatures { get; }
    /// <summary>The shared projection width.</summary>
    public int Width { get; }

    /// <summary>The factor 1/√width applied to every dot product.</summary>
    public float Temperature => 1f / MathF.Sqrt(Width);

    /// <summary>Builds encoder and critics; <paramref name="width"/> is the shared projection width.</summary>
    public DimNetwork(Rng rng, int side = 28, int width = 256)
    {
        if (width < 1) throw new ArgumentOutOfRangeException(nameof(width), width, "projection width must be ≥ 1");
        Width = width;
        Encoder = RegisterModule("encoder", new DimEncoder(rng, side));
        GlobalCode = RegisterModule("global_code", new Mlp(Encoder.CodeSize, width, width, 1, rng));
        GlobalFeatures = RegisterModule("global_features", new Mlp(Encoder.LocalFeatures, width, width, 1, rng));
        LocalCode = RegisterModule("local_code", new Mlp(Encoder.CodeSize, width, width, 1, rng));
        LocalFeatures = RegisterModule("local_features", new Mlp(Encoder.LocalChannels, width, width, 1, rng));
    }

    /// <summary>The global critic's K×K score matrix for a batch's local maps [K, C, s, s] and codes [K, d].</summary>
    public override Tensor GlobalScores(Tensor local, Tensor code)
    {
        var features = GlobalFeatures.Forward(local.Reshape(local.Dim(0), Encoder.LocalFeatures));
        return Tensor.MatMul(GlobalCode.Forward(code), features, transB: true) * Temperature;
    }

    /// <summary>
    /// The local critic's scores for every location at once, [K, L·K]: column block l (columns l·K … l·K + K − 1)
    /// is location l's K×K matrix S_l[i, j] = ψ_l(code_i)·φ_l(map_j at l). Locations are numbered row-major.
    /// </summary>
    public override Tensor LocalScores(Tensor local, Tensor code)
    {
        int k = local.Dim(0), c = local.Dim(1), locations = local.Dim(2) * local.Dim(3);
        // [K, C, h, w] → [h, w, K, C] → rows l·K + j hold image j's channel vector at location l.
        var vectors = local.Permute(2, 3, 0, 1).Reshape(locations * k, c);
        return Tensor.MatMul(LocalCode.Forward(code), LocalFeatures.Forward(vectors), transB: true) * Temperature;
    }

    /// <summary>
    /// The local objective in one op: the bound named <paramref name="estimator"/> (js, infonce or dv) on every location's
    /// K×K matrix of <paramref name="localScores"/> (from <see cref="LocalScores"/>), averaged over locations, with the mean
    /// of the reported values. The same objective, gradient and value as the bound from <see cref="ScoreBounds.Create"/>
    /// called on each <see cref="LocationScores"/> slice and averaged, without the 49 slices and per-location graphs.
    /// </summary>
    public static (Tensor Objective, double Value) LocalBound(Tensor localScores, string estimator) =>
        Tensor.BlockDiagonalBound(localScores, estimator switch
        {
            "js" => BlockBound.JensenShannon,
            "infonce" => BlockBound.InfoNce,
            "dv" => BlockBound.DonskerVaradhan,
            _ => throw new ArgumentException($"the batched local bound covers js, infonce and dv, not '{estimator}'", nameof(estimator)),
        });

    /// <summary>Location <paramref name="l"/>'s K×K matrix from <see cref="LocalScores"/>.</summary>
    public static Tensor LocationScores(Tensor localScores, int l)
    {
        int k = localScores.Dim(0);
        return localScores.Slice(1, l * k, k);
    }
}

/// <summary>
/// The adversarial prior-matching discriminator of DIM: an MLP 64→512→512→1 (ReLU) telling samples of the uniform
/// prior on [0, 1]^64 (label 1) from the squashed codes sigmoid(code) (label 0).
/// </summary>
public sealed class PriorDiscriminator : Module
{
    /// <summary>The discriminator network.</summary>
    public Mlp Network { get; }

    /// <summary>Builds the discriminator.</summary>
    public PriorDiscriminator(int codeSize, Rng rng)
    {
        Network = RegisterModule("net", new Mlp(codeSize, 512, 1, 2, rng));
    }

    /// <summary>Logits [N] of "drawn from the prior".</summary>
    public Tensor Logits(Tensor samples) => Network.Forward(samples).Reshape(samples.Dim(0));
}
