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
    /// (the row's argmax is handled around the second largest value).
    /// </summary>
    public static Tensor LeaveOneOutLogMeanExp(Tensor scores)
    {
        if (scores.Rank != 2 || scores.Dim(1) < 2) throw new ArgumentException($"leave-one-out needs a matrix with ≥ 2 columns, got {Tensor.ShapeString(scores.Shape)}");
        int rows = scores.Dim(0), cols = scores.Dim(1);
        var s = scores.Values;
        var lse = new double[rows * cols];   // leave-one-out log-sum-exp L[i, j]
        var argmax = new int[rows];
        var output = Tensor.Zeros(rows, cols);
        double logCount = Math.Log(cols - 1);
        for (int i = 0; i < rows; i++)
        {
            var row = s.Slice(i * cols, cols);
            int a = 0;
            for (int k = 1; k < cols; k++) if (row[k] > row[a]) a = k;
            argmax[i] = a;
            double m = row[a], z = 0;
            for (int k = 0; k < cols; k++) z += Math.Exp(row[k] - m);
            for (int j = 0; j < cols; j++)
            {
                if (j == a) continue;
                lse[i * cols + j] = m + Math.Log(z - Math.Exp(row[j] - m)); // z − e^{…} ≥ 1: the max term stays
            }
            double m2 = double.NegativeInfinity;
            for (int k = 0; k < cols; k++) if (k != a && row[k] > m2) m2 = row[k];
            double z2 = 0;
            for (int k = 0; k < cols; k++) if (k != a) z2 += Math.Exp(row[k] - m2);
            lse[i * cols + a] = m2 + Math.Log(z2);
            for (int j = 0; j < cols; j++) output[i * cols + j] = (float)(lse[i * cols + j] - logCount);
        }
        if (!Tensor.GradEnabled || !scores.RequiresGrad) return output;
        return Tensor.CustomOp(output, g =>
        {
            // dS[i,k] = Σ_{j≠k} g[i,j]·exp(S[i,k] − L[i,j]); split off the argmax column a so every exp is ≤ 1.
            var grad = new float[rows * cols];
            var gv = g.Values;
            var sv = scores.Values;
            for (int i = 0; i < rows; i++)
            {
                int a = argmax[i];
                double m = sv[i * cols + a];
                double t = 0;
                for (int j = 0; j < cols; j++) if (j != a) t += gv[i * cols + j] * Math.Exp(m - lse[i * cols + j]);
                for (int k = 0; k < cols; k++)
                {
                    double sk = sv[i * cols + k];
                    double d;
                    if (k == a) d = t;
                    else d = Math.Exp(sk - m) * (t - gv[i * cols + k] * Math.Exp(m - lse[i * cols + k]))
                             + gv[i * cols + a] * Math.Exp(sk - lse[i * cols + a]);
                    grad[i * cols + k] = (float)d;
                }
            }
            scores.AddToGrad(grad);
        }, scores);
    }
}
