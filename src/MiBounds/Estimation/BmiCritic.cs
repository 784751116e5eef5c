using MiBounds.Critics;
using MiBounds.Tensors;
using MiBounds.Tensors.Nn;

namespace MiBounds.Estimation;

/// <summary>
/// The joint critic of the BMI benchmark's neural estimators (Czyż et al. 2023): a ReLU MLP on [x, y] with the given
/// hidden widths (BMI's default 16, 8) and one output. BMI adds one more trainable constant to the output; InfoNCE is
/// unchanged by a constant shift of every score, so it is left out. Scores for all Ky × Kx pairs come from the fused
/// pairwise kernel (first layer factored, no [K², H] copy), so a whole held-out half can be scored at once.
/// </summary>
public sealed class BmiCritic : Module, ICritic
{
    private readonly Linear[] _layers;
    private readonly int _dimX, _dimY;

    /// <summary>Creates the MLP (dx + dy) → widths… → 1 with Glorot-uniform weights.</summary>
    public BmiCritic(int dimX, int dimY, Rng rng, IReadOnlyList<int>? widths = null)
    {
        ArgumentNullException.ThrowIfNull(rng);
        var w = widths ?? DefaultWidths;
        if (w.Count == 0 || w.Any(v => v < 1)) throw new ArgumentException("the BMI critic needs at least one positive hidden width");
        _dimX = dimX; _dimY = dimY;
        _layers = new Linear[w.Count + 1];
        int d = dimX + dimY;
        for (int i = 0; i <= w.Count; i++)
        {
            int o = i < w.Count ? w[i] : 1;
            _layers[i] = RegisterModule($"layers.{i}", new Linear(d, o, rng));
            d = o;
        }
    }

    /// <summary>BMI's default hidden widths.</summary>
    public static readonly IReadOnlyList<int> DefaultWidths = [16, 8];

    /// <inheritdoc />
    public Tensor Scores(Tensor x, Tensor y)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(y);
        if (x.Rank != 2 || y.Rank != 2 || x.Dim(1) != _dimX || y.Dim(1) != _dimY)
            throw new ArgumentException($"the BMI critic expects X [K, {_dimX}] and Y [K, {_dimY}], got {Tensor.ShapeString(x.Shape)} and {Tensor.ShapeString(y.Shape)}");
        return FusedPairwise.ConcatReluMlpScores(x, y, _layers.Select(l => l.Weight).ToArray(), _layers.Select(l => l.Bias).ToArray());
    }
}
