using System.Collections.Concurrent;
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
        int rows = representations.Dim(0);
        var norms = representations.Square().Sum(1, keepDim: true);                         // [M, 1]
        var squared = (norms + norms.Reshape(1, rows) - 2f * Tensor.MatMul(representations, representations, transB: true)).Relu();
        double twoSigmaSq = sigma is { } bandwidth ? 2 * bandwidth * bandwidth : Math.Max(MedianOffDiagonal(squared.Values, rows), 1e-12);
        var gram = (squared * (float)(-1 / twoSigmaSq)).Exp();
        return (gram.MaskedMean(CachedMask(rows, classes)) - gram.Mean()) * classes;
    }

    private static readonly ConcurrentDictionary<(int Rows, int Classes), bool[]> Masks = new();

    // Cached per shape: the mask is rows² flags (6.25 MB at batch 250 × 10 hypotheses) and the same every step.
    private static bool[] CachedMask(int rows, int classes) => Masks.GetOrAdd((rows, classes), key => SameHypothesisMask(key.Rows, key.Classes));

    /// <summary>Flags of the Gram entries (a, b) whose rows share a hypothesis (a mod C == b mod C).</summary>
    public static bool[] SameHypothesisMask(int rows, int classes)
    {
        var mask = new bool[rows * rows];
        for (int a = 0; a < rows; a++)
            for (int b = a % classes; b < rows; b += classes) mask[a * rows + b] = true;
        return mask;
    }

    [ThreadStatic] private static float[]? _offDiagonal;

    // The median of the off-diagonal entries: the value Array.Sort would put at index len/2, found by quickselect in
    // O(len) instead of sorting rows² values every step.
    private static double MedianOffDiagonal(ReadOnlySpan<float> squared, int rows)
    {
        int len = rows * (rows - 1);
        if (_offDiagonal is null || _offDiagonal.Length < len) _offDiagonal = new float[len];
        var values = _offDiagonal.AsSpan(0, len);
        int n = 0;
        for (int a = 0; a < rows; a++)
        {
            squared.Slice(a * rows, a).CopyTo(values.Slice(n)); n += a;
            squared.Slice(a * rows + a + 1, rows - a - 1).CopyTo(values.Slice(n)); n += rows - a - 1;
        }
        return NthSmallest(values, len / 2);
    }

    /// <summary>The k-th smallest (0-based) of <paramref name="values"/>, which it reorders (quickselect, median-of-three pivot).</summary>
    internal static float NthSmallest(Span<float> values, int k)
    {
        if ((uint)k >= (uint)values.Length) throw new ArgumentOutOfRangeException(nameof(k), k, $"k must be in [0, {values.Length})");
        int lo = 0, hi = values.Length - 1;
        while (lo < hi)
        {
            int mid = lo + (hi - lo) / 2;
            if (values[mid] < values[lo]) (values[mid], values[lo]) = (values[lo], values[mid]);
            if (values[hi] < values[lo]) (values[hi], values[lo]) = (values[lo], values[hi]);
            if (values[hi] < values[mid]) (values[hi], values[mid]) = (values[mid], values[hi]);
            float pivot = values[mid];
            int i = lo, j = hi;
            while (i <= j)
            {
                while (values[i] < pivot) i++;
                while (values[j] > pivot) j--;
                if (i <= j) { (values[i], values[j]) = (values[j], values[i]); i++; j--; }
            }
            // Now values[lo..j] ≤ pivot ≤ values[i..hi], and every entry strictly between j and i equals the pivot.
            if (k <= j) hi = j;
            else if (k >= i) lo = i;
            else return values[k];
        }
        return values[k];
    }
}
