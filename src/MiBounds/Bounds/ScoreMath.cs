using MiBounds.Tensors;

namespace MiBounds.Bounds;

/// <summary>The building blocks the bounds share, on a score matrix with a positive mask.</summary>
public static class ScoreMath
{
    /// <summary>Mean of the positive scores.</summary>
    public static Tensor PositiveMean(Tensor scores, PositiveMask mask) => scores.MaskedMean(mask.Positives);

    /// <summary>LMEoff: log of the mean of exp over the negative entries (max-shifted, negatives skipped explicitly).</summary>
    public static Tensor LogMeanExpNegatives(Tensor scores, PositiveMask mask) => scores.MaskedLogMeanExp(mask.Negatives);

    /// <summary>Scores minus the baseline of each row: A = S − b[:, None].</summary>
    public static Tensor SubtractBaseline(Tensor scores, Tensor? logBaseline) =>
        logBaseline is null ? scores : scores - logBaseline.Reshape(logBaseline.Dim(0), 1);

    /// <summary>TUBA: 1 + mean A[pos] − exp(LMEoff(A)) with A = S − b.</summary>
    public static Tensor Tuba(Tensor scores, Tensor? logBaseline, PositiveMask mask)
    {
        var a = SubtractBaseline(scores, logBaseline);
        return PositiveMean(a, mask) - LogMeanExpNegatives(a, mask).Exp() + 1f;
    }

    /// <summary>NWJ: TUBA with b ≡ 1, i.e. mean S[pos] − e⁻¹·mean_neg e^S.</summary>
    public static Tensor Nwj(Tensor scores, PositiveMask mask) => Tuba(scores - 1f, null, mask);

    /// <summary>DV: mean S[pos] − LMEoff(S).</summary>
    public static Tensor DonskerVaradhan(Tensor scores, PositiveMask mask) => PositiveMean(scores, mask) - LogMeanExpNegatives(scores, mask);

    /// <summary>The Jensen–Shannon training objective: −mean softplus(−S[pos]) − mean_neg softplus(S).</summary>
    public static Tensor JensenShannonObjective(Tensor scores, PositiveMask mask)
    {
        var pos = scores.Neg().Softplus().MaskedMean(mask.Positives);
        var neg = scores.Softplus().MaskedMean(mask.Negatives);
        return (pos + neg).Neg();
    }

    /// <summary>InfoNCE: log C + mean_i (S[i, p_i] − logsumexp_j S[i, j]) for one positive per row; C = columns (K for a K×K batch).</summary>
    public static Tensor InfoNce(Tensor scores, PositiveMask mask)
    {
        var perRow = mask.PositivePerRow ?? throw new ArgumentException("InfoNCE needs exactly one positive per row");
        return (scores.PickPerRow(perRow) - scores.LogSumExp(1)).Mean() + (float)Math.Log(mask.Columns);
    }

    /// <summary>
    /// Exact leave-one-out log-mean-exp of each row: loo[i, j] = log mean_{k≠j} e^{S[i,k]}, in O(K²) without cancellation
    /// (<see cref="Tensor.LeaveOneOutLogMeanExp"/>: pooled work arrays, float exp of max-shifted scores, sums in double).
    /// </summary>
    public static Tensor LeaveOneOutLogMeanExp(Tensor scores) => scores.LeaveOneOutLogMeanExp();
}
