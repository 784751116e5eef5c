using MiBounds.Tensors;

namespace MiBounds.Vib.Hypothesis;

/// <summary>
/// The information-elimination regularizer: a Gaussian-kernel MMD between the representations of a batch under
/// different label hypotheses, so that the representation's distribution carries no information about the hypothesis
/// (which can then be discarded at inference). With R_k = {r(x_i, k)}_i and the pooled set R = ∪_k R_k, it is
/// Σ_k MMD²(R_k, R) with the biased (V-statistic) estimator and k(a, b) = exp(−‖a − b‖² / (2σ²)); this equals
/// (1/C)·Σ_{k&lt;k'} MMD²(R_k, R_k'). From the Gram matrix G of all N·C representations it is
/// C·(mean of G over same-hypothesis pairs − mean of G).
/// </summary>
public static class InformationElimination
{
    /// <summary>
    /// The regularizer for representations [N·C, d] with row i·C + k holding image i under hypothesis k.
    /// <paramref name="sigma"/> is the kernel bandwidth; null uses the median heuristic on the batch
    /// (σ² = median of the squared distances between distinct rows / 2, held constant in the step).
    /// </summary>
    public static Tensor Regularizer(Tensor representations, int classes, double? sigma = null)
    {
        if (representations.Rank != 2 || classes < 2 || representations.Dim(0) % classes != 0 || representations.Dim(0) < 2 * classes)
            throw new ArgumentException($"representations {Tensor.ShapeString(representations.Shape)} must be [N·{classes}, d] with N ≥ 2");
        if (sigma is { } s && !(s > 0)) throw new ArgumentOutOfRangeException(nameof(sigma), s, "kernel bandwidth must be positive");
        return Tensor.GroupedGaussianMmd(representations, classes, sigma is { } bandwidth ? 2 * bandwidth * bandwidth : null).Value;
    }
}
