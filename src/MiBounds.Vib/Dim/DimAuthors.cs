using MiBounds.Bounds;
using MiBounds.Tensors;
using MiBounds.Tensors.Nn;

namespace MiBounds.Vib.Dim;

/// <summary>What DIM's trainer needs of a model: the encoder and the global and local critics' score matrices.</summary>
public abstract class DimModel : Module
{
    /// <summary>The encoder.</summary>
    public abstract DimEncoder Encoder { get; }

    /// <summary>The global critic's K×K scores S[i, j] = f(code_i, map_j) for local maps [K, C, s, s] and codes [K, d].</summary>
    public abstract Tensor GlobalScores(Tensor local, Tensor code);

    /// <summary>The local critic's scores [K, L·K]: column l·K + j scores code i against image j's features at location l.</summary>
    public abstract Tensor LocalScores(Tensor local, Tensor code);
}

/// <summary>Layer normalization over the last axis of [M, d] rows with a learned gain and shift (PyTorch's nn.LayerNorm).</summary>
public sealed class RowLayerNorm : Module
{
    private readonly Tensor _weight, _bias;

    /// <summary>Builds the layer for rows of <paramref name="features"/> values (gain 1, shift 0).</summary>
    public RowLayerNorm(int features)
    {
        _weight = RegisterParameter("weight", Tensor.Full(1f, features));
        _bias = RegisterParameter("bias", Tensor.Zeros(features));
    }

    /// <summary>(x − mean) / √(var + 1e-5) · γ + β per row, the variance biased as PyTorch's.</summary>
    public Tensor Forward(Tensor x)
    {
        int d = x.Dim(1);
        var centred = x - x.Mean(1, keepDim: true);
        var std = (centred.Square().Mean(1, keepDim: true) + 1e-5f).Sqrt();
        return centred / std * _weight.Reshape(1, d) + _bias.Reshape(1, d);
    }
}

/// <summary>
/// rdevon/DIM's MI networks on feature vectors: Linear (no bias) → batch-norm → ReLU → Linear, plus a linear shortcut
/// initialized near the identity (uniform ±0.01, ones on the diagonal); optionally layer-normalized (their 1×1-conv net,
/// applied here to each location's channel vector: a 1×1 convolution is a linear map per location, and batch-norm over
/// N, H, W equals batch-norm over the flattened vectors).
/// </summary>
public sealed class ResidualProjection : Module
{
    private readonly Linear _first, _second, _shortcut;
    private readonly BatchNorm _bn;
    private readonly RowLayerNorm? _norm;

    /// <summary>Output width.</summary>
    public int Units => _second.OutFeatures;

    /// <summary>Builds the network from <paramref name="inputs"/> to <paramref name="units"/> values.</summary>
    public ResidualProjection(int inputs, int units, Rng rng, bool layerNorm)
    {
        _first = RegisterModule("block.0", new Linear(inputs, units, rng, bias: false));
        _bn = RegisterModule("block.1", new BatchNorm(units));
        _second = RegisterModule("block.3", new Linear(units, units, rng));
        _shortcut = RegisterModule("shortcut", new Linear(inputs, units, rng, bias: false));
        var w = _shortcut.Weight.Data;
        for (int o = 0; o < units; o++)
            for (int i = 0; i < inputs; i++) w[o * inputs + i] = o == i ? 1f : 0.02f * rng.NextFloat() - 0.01f;
        if (layerNorm) _norm = RegisterModule("ln", new RowLayerNorm(units));
    }

    /// <summary>The projection of rows [M, inputs] to [M, units].</summary>
    public Tensor Forward(Tensor x)
    {
        var h = _second.Forward(_bn.Forward(_first.Forward(x)).Relu()) + _shortcut.Forward(x);
        return _norm is null ? h : _norm.Forward(h);
    }
}

/// <summary>
/// DIM as in the authors' code (rdevon/DIM, basic28x28): the encoder with batch-norm after both convolutions; plain dot
/// products of <c>units</c>-wide projections (no temperature). Global: the flattened map through FC 1024 (batch-norm,
/// ReLU) → Linear(units), the code through Linear(units) (their copy of the encoder's layers from the local map on).
/// Local: each location's 128 channels and the code through <see cref="ResidualProjection"/>s with layer-norm.
/// </summary>
public sealed class DimAuthorsNetwork : DimModel
{
    private readonly Linear _globalFc, _globalOut, _globalCode;
    private readonly BatchNorm _globalBn;

    /// <inheritdoc />
    public override DimEncoder Encoder { get; }
    /// <summary>The local critic's feature projection.</summary>
    public ResidualProjection LocalFeatures { get; }
    /// <summary>The local critic's code projection.</summary>
    public ResidualProjection LocalCode { get; }
    /// <summary>The projection width (the authors' mi_units: 2048).</summary>
    public int Units { get; }

    /// <summary>Builds encoder and critics.</summary>
    public DimAuthorsNetwork(Rng rng, int side = 28, int units = 2048)
    {
        Units = units;
        Encoder = RegisterModule("encoder", new DimEncoder(rng, side, batchNormFirst: true));
        _globalFc = RegisterModule("global_features.fc", new Linear(Encoder.LocalFeatures, Encoder.Hidden, rng));
        _globalBn = RegisterModule("global_features.bn", new BatchNorm(Encoder.Hidden));
        _globalOut = RegisterModule("global_features.out", new Linear(Encoder.Hidden, units, rng));
        _globalCode = RegisterModule("global_code", new Linear(Encoder.CodeSize, units, rng));
        LocalFeatures = RegisterModule("local_features", new ResidualProjection(Encoder.LocalChannels, units, rng, layerNorm: true));
        LocalCode = RegisterModule("local_code", new ResidualProjection(Encoder.CodeSize, units, rng, layerNorm: true));
    }

    /// <inheritdoc />
    public override Tensor GlobalScores(Tensor local, Tensor code)
    {
        var f = _globalOut.Forward(_globalBn.Forward(_globalFc.Forward(local.Reshape(local.Dim(0), Encoder.LocalFeatures))).Relu());
        return Tensor.MatMul(_globalCode.Forward(code), f, transB: true);
    }

    /// <inheritdoc />
    public override Tensor LocalScores(Tensor local, Tensor code)
    {
        int k = local.Dim(0), c = local.Dim(1), locations = local.Dim(2) * local.Dim(3);
        var vectors = local.Permute(2, 3, 0, 1).Reshape(locations * k, c);
        return Tensor.MatMul(LocalCode.Forward(code), LocalFeatures.Forward(vectors), transB: true);
    }
}

/// <summary>
/// The local objective with negatives pooled across all locations, as the authors' losses do: for the score matrix
/// [K, L·K] (column l·K + j: image j at location l), the positives are (i, l·K + i) and every (i, l·K + j), j ≠ i, is a
/// negative of row i whatever its location. JS and DV then are the library's bounds on that mask (JS: mean softplus terms
/// over all positives and negatives; DV: mean positive − log mean exp over all negatives); InfoNCE scores each positive
/// against row i's (K − 1)·L negatives: log(1 + (K − 1)L) − mean_{i,l} softplus(LSE_neg(i) − S[i, l·K + i]).
/// </summary>
public static class PooledLocalBound
{
    /// <summary>The positive mask of a [K, L·K] local score matrix.</summary>
    public static PositiveMask Mask(int k, int locations)
    {
        var flags = new bool[k * locations * k];
        for (int i = 0; i < k; i++)
            for (int l = 0; l < locations; l++) flags[i * locations * k + l * k + i] = true;
        return PositiveMask.FromFlags(flags, k, locations * k);
    }

    /// <summary>The objective (to maximize) and its value (nats) for <paramref name="estimator"/> (js, infonce, dv).</summary>
    public static (Tensor Objective, double Value) Compute(string estimator, MiBound bound, Tensor scores, int locations, bool training)
    {
        int k = scores.Dim(0);
        if (scores.Rank != 2 || scores.Dim(1) != k * locations) throw new ArgumentException($"local scores must be [K, L·K], got {Tensor.ShapeString(scores.Shape)} for L = {locations}");
        if (estimator != "infonce")
        {
            var o = bound.FromScores(scores, null, Mask(k, locations), training);
            return (o.Objective, o.Value.Item());
        }
        // Rows i·L + l of the [K·L, K] view hold image i's scores at location l; the positive is column i.
        var pick = new int[k * locations];
        for (int i = 0; i < k; i++)
            for (int l = 0; l < locations; l++) pick[i * locations + l] = i;
        var positives = scores.Reshape(k * locations, k).PickPerRow(pick).Reshape(k, locations);
        var bias = new float[k * locations * k];
        for (int i = 0; i < k; i++)
            for (int l = 0; l < locations; l++) bias[i * locations * k + l * k + i] = -1e30f; // drop the positives from the row's sum
        var negatives = (scores + Tensor.FromArray(bias, k, locations * k)).LogSumExp(1).Reshape(k, 1);
        var objective = (negatives - positives).Softplus().Mean().Neg() + (float)Math.Log(1 + (k - 1.0) * locations);
        return (objective, objective.Item());
    }
}
