using System.Numerics.Tensors;

namespace MiBounds.Tensors;

/// <summary>The score-matrix bounds <see cref="Tensor.BlockDiagonalBound"/> evaluates, positives on each block's diagonal.</summary>
public enum BlockBound
{
    /// <summary>Objective −mean softplus(−S[i,i]) − mean_{i≠j} softplus(S[i,j]); value NWJ(S + 1) = 1 + mean S[i,i] − mean_{i≠j} e^S[i,j].</summary>
    JensenShannon,
    /// <summary>log K + mean_i (S[i,i] − logsumexp_j S[i,j]); value = objective.</summary>
    InfoNce,
    /// <summary>Donsker–Varadhan: mean S[i,i] − log mean_{i≠j} e^S[i,j]; value = objective.</summary>
    DonskerVaradhan,
}

public sealed partial class Tensor
{
    /// <summary>
    /// One bound on each of B square K×K score blocks side by side, averaged: <paramref name="scores"/> is [K, B·K],
    /// block l is columns l·K … l·K + K − 1 with its positives on the diagonal (as DIM's per-location matrices). Returns
    /// the mean over blocks of the training objective (a differentiable scalar) and the mean of the reported values.
    /// Same values as calling the bound on each block and averaging, in one pass with no per-block tensors
    /// (sums in double, so the last digits may differ).
    /// </summary>
    public static (Tensor Objective, double Value) BlockDiagonalBound(Tensor scores, BlockBound kind)
    {
        if (scores.Rank != 2 || scores._shape[0] < 2 || scores._shape[1] % scores._shape[0] != 0)
            throw new ArgumentException($"BlockDiagonalBound: scores must be [K, B·K] with K ≥ 2, got {ShapeString(scores._shape)}");
        if (kind is not (BlockBound.JensenShannon or BlockBound.InfoNce or BlockBound.DonskerVaradhan))
            throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown bound");
        int k = scores._shape[0], blocks = scores._shape[1] / k, ld = scores._shape[1];
        var s = scores.Values;
        Span<float> t = k <= 512 ? stackalloc float[k] : new float[k];
        Span<float> u = k <= 512 ? stackalloc float[k] : new float[k];
        double negatives = (double)k * (k - 1);
        double objective = 0, value = 0;
        for (int l = 0; l < blocks; l++)
        {
            double obj = 0, val = 0;
            switch (kind)
            {
                case BlockBound.JensenShannon:
                {
                    double posSoft = 0, negSoft = 0, diag = 0;
                    float m = NegativeMax(s, ld, k, l);
                    double negExp = 0;
                    for (int i = 0; i < k; i++)
                    {
                        var row = s.Slice(i * ld + l * k, k);
                        float sii = row[i];
                        diag += sii;
                        // softplus(x) = max(x, 0) + log(1 + e^−|x|) over the row's negatives (the positive zeroed).
                        row.CopyTo(t);
                        ExpMath.LogOnePlusExpNegAbs(t);
                        TensorPrimitives.Max(row, 0f, u);
                        TensorPrimitives.Add(t, u, t);
                        t[i] = 0;
                        negSoft += ExpMath.SumWide(t);
                        posSoft += SoftplusScalar(-sii);
                        negExp += NegativeExp(row, i, m, t);
                    }
                    obj = -(posSoft / k + negSoft / negatives);
                    val = 1 + diag / k - Math.Exp(m) * (negExp / negatives);
                    break;
                }
                case BlockBound.InfoNce:
                {
                    for (int i = 0; i < k; i++)
                    {
                        var row = s.Slice(i * ld + l * k, k);
                        float m = TensorPrimitives.Max(row);
                        double lse = m + Math.Log(ExpMath.ExpShifted(row, m, t));
                        obj += row[i] - lse;
                    }
                    obj = obj / k + Math.Log(k);
                    val = obj;
                    break;
                }
                case BlockBound.DonskerVaradhan:
                {
                    float m = NegativeMax(s, ld, k, l);
                    double diag = 0, negExp = 0;
                    for (int i = 0; i < k; i++)
                    {
                        var row = s.Slice(i * ld + l * k, k);
                        diag += row[i];
                        negExp += NegativeExp(row, i, m, t);
                    }
                    obj = diag / k - (m + Math.Log(negExp / negatives));
                    val = obj;
                    break;
                }
            }
            objective += obj;
            value += val;
        }
        var output = NewScalar((float)(objective / blocks));
        if (RecordOp(output, static (node, g) => BlockDiagonalBoundBackward(node[0], (BlockBound)node.I0, g._data[0]), scores) is { } n)
            n.I0 = (int)kind;
        return (output, value / blocks);
    }


    /// <summary>t = e^(row − m) with the positive (column i) zeroed; returns Σ t in double.</summary>
    private static double NegativeExp(ReadOnlySpan<float> row, int i, float m, Span<float> t)
    {
        TensorPrimitives.Subtract(row, m, t);
        TensorPrimitives.Exp(t, t);
        t[i] = 0;
        return ExpMath.SumWide(t);
    }

    /// <summary>Largest off-diagonal score of block <paramref name="l"/> (the shift of its log-mean-exp).</summary>
    private static float NegativeMax(ReadOnlySpan<float> s, int ld, int k, int l)
    {
        float m = float.NegativeInfinity;
        for (int i = 0; i < k; i++)
        {
            var row = s.Slice(i * ld + l * k, k);
            for (int j = 0; j < k; j++) if (j != i && row[j] > m) m = row[j];
        }
        return m;
    }

    /// <summary>d(mean objective)/dS, recomputed from the scores (nothing kept between the passes).</summary>
    private static void BlockDiagonalBoundBackward(Tensor scores, BlockBound kind, float upstream)
    {
        if (!scores.RequiresGrad) return;
        int k = scores._shape[0], blocks = scores._shape[1] / k, ld = scores._shape[1];
        var s = scores.Values;
        var d = GradBuffer(scores);
        Span<float> t = k <= 512 ? stackalloc float[k] : new float[k];
        float perBlock = upstream / blocks;
        double negatives = (double)k * (k - 1);
        for (int l = 0; l < blocks; l++)
        {
            switch (kind)
            {
                case BlockBound.JensenShannon:
                {
                    // d/dS[i,i] = σ(−S[i,i])/K; d/dS[i,j] = −σ(S[i,j])/(K(K−1)).
                    float neg = (float)(-perBlock / negatives), pos = perBlock / k;
                    for (int i = 0; i < k; i++)
                    {
                        var row = s.Slice(i * ld + l * k, k);
                        var dr = d.Slice(i * ld + l * k, k);
                        TensorPrimitives.Sigmoid(row, t);
                        t[i] = 0;
                        TensorPrimitives.MultiplyAdd(t, neg, dr, dr);
                        dr[i] += pos / (1 + MathF.Exp(row[i]));
                    }
                    break;
                }
                case BlockBound.InfoNce:
                {
                    // d/dS[i,j] = (δij − softmax_j S[i,·])/K.
                    float scale = perBlock / k;
                    for (int i = 0; i < k; i++)
                    {
                        var row = s.Slice(i * ld + l * k, k);
                        var dr = d.Slice(i * ld + l * k, k);
                        float m = TensorPrimitives.Max(row);
                        double sum = ExpMath.ExpShifted(row, m, t);
                        TensorPrimitives.MultiplyAdd(t, (float)(-scale / sum), dr, dr);
                        dr[i] += scale;
                    }
                    break;
                }
                case BlockBound.DonskerVaradhan:
                {
                    // d/dS[i,i] = 1/K; d/dS[i,j] = −e^S[i,j] / Σ_neg e^S.
                    float m = NegativeMax(s, ld, k, l);
                    double negExp = 0;
                    for (int i = 0; i < k; i++) negExp += NegativeExp(s.Slice(i * ld + l * k, k), i, m, t);
                    float w = (float)(-perBlock / negExp), pos = perBlock / k;
                    for (int i = 0; i < k; i++)
                    {
                        var dr = d.Slice(i * ld + l * k, k);
                        NegativeExp(s.Slice(i * ld + l * k, k), i, m, t);
                        TensorPrimitives.MultiplyAdd(t, w, dr, dr);
                        dr[i] += pos;
                    }
                    break;
                }
            }
        }
    }
}
