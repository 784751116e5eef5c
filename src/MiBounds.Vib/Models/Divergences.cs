using MiBounds.Bounds;
using MiBounds.Tensors;

namespace MiBounds.Vib.Models;

/// <summary>KL divergence of a diagonal Gaussian encoder from the standard normal prior, the VIB's I(Z;X) upper bound.</summary>
public static class GaussianKl
{
    /// <summary>
    /// Per row, KL(N(μ, diag σ²) ‖ N(0, I)) = ½ Σ_k (μ_k² + σ_k² − 1) − Σ_k log σ_k, in nats; [N, K] inputs give [N].
    /// </summary>
    public static Tensor ToStandardNormal(Tensor mu, Tensor sigma)
    {
        ShapeCheck.Same(mu, sigma, "GaussianKl.ToStandardNormal(mu, sigma)");
        if (mu.Rank != 2) throw new ArgumentException($"GaussianKl: expected [N, K] inputs, got {Tensor.ShapeString(mu.Shape)}");
        var quadratic = ((mu.Square() + sigma.Square()) - 1f).Sum(1) * 0.5f;
        return quadratic - sigma.Log().Sum(1);
    }
}

/// <summary>
/// Maximum mean discrepancy with the inverse multiquadric kernel k(a, b) = C / (C + ‖a − b‖²),
/// the VIM's replacement of the KL term (Crescimanna and Graham).
/// </summary>
public static class Mmd
{
    /// <summary>The scales summed over by the multi-scale kernel (multiplying C).</summary>
    public static readonly double[] MultiScales = [0.1, 0.2, 0.5, 1, 2, 5, 10];

    /// <summary>The kernel constant C = 2·K·σ² for a K-dimensional prior N(0, σ²I).</summary>
    public static double KernelConstant(int dimensions, double priorSigma) => 2.0 * dimensions * priorSigma * priorSigma;

    /// <summary>Kernel matrix k(a_i, b_j) = Σ_s C_s / (C_s + ‖a_i − b_j‖²) for [n, K] and [m, K] inputs, [n, m].</summary>
    public static Tensor KernelMatrix(Tensor a, Tensor b, IReadOnlyList<double> constants)
    {
        if (a.Rank != 2 || b.Rank != 2 || a.Dim(1) != b.Dim(1))
            throw new ArgumentException($"Mmd: samples must be [n, K] and [m, K], got {Tensor.ShapeString(a.Shape)} and {Tensor.ShapeString(b.Shape)}");
        if (constants.Count == 0) throw new ArgumentException("Mmd: no kernel constants");
        var aa = a.Square().Sum(1, keepDim: true);                       // [n, 1]
        var bb = b.Square().Sum(1, keepDim: true).Reshape(1, b.Dim(0));  // [1, m]
        // Rounding can make ‖a−b‖² slightly negative for near-equal rows; clamp at 0.
        var sq = (aa + bb - 2f * Tensor.MatMul(a, b, transB: true)).Relu();
        Tensor? k = null;
        for (int i = 0; i < constants.Count; i++) // indexed: a foreach over the interface would allocate an enumerator per step
        {
            float c = (float)constants[i];
            var term = c / (sq + c);
            k = k is null ? term : k + term;
        }
        return k!;
    }

    /// <summary>
    /// Unbiased MMD² estimate between samples <paramref name="q"/> [n, K] and <paramref name="p"/> [m, K]:
    /// mean_{i≠j} k(q_i, q_j) + mean_{i≠j} k(p_i, p_j) − 2·mean_{i,j} k(q_i, p_j). Needs n, m ≥ 2.
    /// </summary>
    public static Tensor Unbiased(Tensor q, Tensor p, IReadOnlyList<double> constants)
    {
        if (q.Dim(0) < 2 || p.Dim(0) < 2) throw new ArgumentException($"Mmd.Unbiased needs at least 2 samples per set, got {q.Dim(0)} and {p.Dim(0)}");
        // The off-diagonal flags are the cached diagonal mask's negatives (no per-step array).
        var kqq = KernelMatrix(q, q, constants).MaskedMean(PositiveMask.Diagonal(q.Dim(0)).Negatives);
        var kpp = KernelMatrix(p, p, constants).MaskedMean(PositiveMask.Diagonal(p.Dim(0)).Negatives);
        var kqp = KernelMatrix(q, p, constants).Mean();
        return kqq + kpp - 2f * kqp;
    }

    /// <summary>The constants C (one, or one per scale of <see cref="MultiScales"/>) for a K-dimensional N(0, σ²I) prior.</summary>
    public static double[] Constants(int dimensions, double priorSigma, bool multiScale)
    {
        double c = KernelConstant(dimensions, priorSigma);
        return multiScale ? MultiScales.Select(s => s * c).ToArray() : [c];
    }
}
