using MiBounds.Tensors;
using MiBounds.Tensors.Nn;

namespace MiBounds.Critics;

/// <summary>
/// A critic scores every (x_j, y_i) pair of a batch: <c>Scores(X, Y)[i, j] = f(x_j, y_i)</c>, rows indexed by y,
/// positives (jointly drawn pairs) on the diagonal. Implement this to plug in your own network.
/// </summary>
public interface ICritic
{
    /// <summary>The K×K score matrix S[i, j] = f(x_j, y_i) for X [K, dx] and Y [K, dy].</summary>
    Tensor Scores(Tensor x, Tensor y);

    /// <summary>Trainable parameters (empty for analytic critics).</summary>
    IEnumerable<Tensor> Parameters();
}

/// <summary>Separable critic f(x, y) = g(x)ᵀh(y) with MLPs g and h, so S = H(Y)·G(X)ᵀ costs 2K forward passes.</summary>
public sealed class SeparableCritic : Module, ICritic
{
    /// <summary>The x embedding g.</summary>
    public Mlp G { get; }

    /// <summary>The y embedding h.</summary>
    public Mlp H { get; }

    /// <summary>Creates g: dx→hidden…→embed and h: dy→hidden…→embed (toy defaults 256, 2 layers, 32).</summary>
    public SeparableCritic(int dimX, int dimY, Rng rng, int hidden = 256, int layers = 2, int embed = 32, Activation activation = Activation.Relu)
    {
        G = RegisterModule("g", new Mlp(dimX, hidden, embed, layers, rng, activation));
        H = RegisterModule("h", new Mlp(dimY, hidden, embed, layers, rng, activation));
    }

    /// <inheritdoc />
    public Tensor Scores(Tensor x, Tensor y)
    {
        CriticInput.Check(x, y, G.InFeatures, H.InFeatures);
        if (FusedMlp.CanFuse(G) && FusedMlp.CanFuse(H)) return FusedMlp.SeparableScores(G, x, H, y); // both MLPs and the product as one op
        return Tensor.MatMul(H.Forward(y), G.Forward(x), transB: true);
    }
}

/// <summary>
/// Concat (joint) critic: an MLP on [x_j, y_i] for all K² pairs. The first layer is computed factored,
/// W[x; y] + b = W_x x + W_y y + b, so its cost is 2K rows rather than K² (same parameters, same values).
/// </summary>
public sealed class ConcatCritic : Module, ICritic
{
    private readonly int _dimX, _dimY;

    /// <summary>The joint network, input [x, y] (x first).</summary>
    public Mlp Network { get; }

    /// <summary>Creates an MLP (dx+dy)→hidden…→1 (toy defaults 256, 2 layers).</summary>
    public ConcatCritic(int dimX, int dimY, Rng rng, int hidden = 256, int layers = 2, Activation activation = Activation.Relu)
    {
        if (layers < 1) throw new ArgumentOutOfRangeException(nameof(layers), layers, "the concat critic needs at least one hidden layer");
        _dimX = dimX; _dimY = dimY;
        Network = RegisterModule("f", new Mlp(dimX + dimY, hidden, 1, layers, rng, activation));
    }

    /// <inheritdoc />
    public Tensor Scores(Tensor x, Tensor y)
    {
        CriticInput.Check(x, y, _dimX, _dimY);
        int k = x.Dim(0);
        var first = Network.Layers[0];
        if (FusedMlp.CanFuse(Network))
        {
            // Fused: U and V from the two column blocks of W (no slices), relu(V[i] + U[j]) and the later layers block by
            // block, without a [K², H] broadcast copy.
            return FusedPairwise.ConcatReluMlpScores(x, y, Network.Weights, Network.Biases);
        }
        var u = Tensor.LinearOverColumns(x, first.Weight, 0, null);            // [K, H]: x_j's part
        var v = Tensor.LinearOverColumns(y, first.Weight, _dimX, first.Bias);  // [K, H]: y_i's part plus bias
        int hidden = first.OutFeatures;
        var h = (v.Reshape(k, 1, hidden) + u.Reshape(1, k, hidden)).Reshape(k * k, hidden); // row i*K + j
        h = Network.Activation.Apply(h);
        for (int l = 1; l < Network.Layers.Count; l++)
        {
            h = Network.Layers[l].Forward(h);
            if (l < Network.Layers.Count - 1) h = Network.Activation.Apply(h);
        }
        return h.Reshape(k, k);
    }

    /// <summary>The same scores by concatenating every pair explicitly (K² rows through the whole MLP); for tests.</summary>
    public Tensor NaiveScores(Tensor x, Tensor y)
    {
        CriticInput.Check(x, y, _dimX, _dimY);
        int k = x.Dim(0);
        var pairs = Tensor.Zeros(k * k, _dimX + _dimY);
        for (int i = 0; i < k; i++)
            for (int j = 0; j < k; j++)
            {
                x.Values.Slice(j * _dimX, _dimX).CopyTo(pairs.Data.Slice((i * k + j) * (_dimX + _dimY), _dimX));
                y.Values.Slice(i * _dimY, _dimY).CopyTo(pairs.Data.Slice((i * k + j) * (_dimX + _dimY) + _dimX, _dimY));
            }
        return Network.Forward(pairs).Reshape(k, k);
    }
}

/// <summary>Input checks shared by the critics.</summary>
internal static class CriticInput
{
    public static void Check(Tensor x, Tensor y, int dimX, int dimY)
    {
        if (x.Rank != 2 || y.Rank != 2) throw new ArgumentException($"critic inputs must be [K, d]: got X {Tensor.ShapeString(x.Shape)}, Y {Tensor.ShapeString(y.Shape)}");
        if (x.Dim(0) != y.Dim(0)) throw new ArgumentException($"X and Y hold different numbers of samples: X {Tensor.ShapeString(x.Shape)}, Y {Tensor.ShapeString(y.Shape)}");
        if (x.Dim(1) != dimX) throw new ArgumentException($"X has {x.Dim(1)} columns but the critic expects {dimX} (shape {Tensor.ShapeString(x.Shape)})");
        if (y.Dim(1) != dimY) throw new ArgumentException($"Y has {y.Dim(1)} columns but the critic expects {dimY} (shape {Tensor.ShapeString(y.Shape)})");
    }
}
