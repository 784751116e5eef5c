using MiBounds.Tensors;

namespace MiBounds.Critics;

/// <summary>What <see cref="GaussianConditionalCritic"/> scores.</summary>
public enum AnalyticScore
{
    /// <summary>log p(y | x): the optimal critic for bounds with the analytic baseline log p(y) (TUBA, Iα, InfoNCE).</summary>
    LogConditional,
    /// <summary>log p(y | x) − log p(y) = log r(x, y): the optimal critic for DV, JS, SMILE (and, plus 1, NWJ).</summary>
    LogDensityRatio,
}

/// <summary>
/// Analytic critic for the correlated Gaussian (x ~ N(0, I), y = ρx + √(1−ρ²)ε):
/// log p(y_i | x_j) = −(d/2)·log(2π(1−ρ²)) − ‖y_i − ρx_j‖² / (2(1−ρ²)), optionally minus log p(y_i), plus an offset.
/// It is also the exact decoder p(x | y) (the task is symmetric), so it serves the Barber–Agakov bound.
/// No parameters; used in tests and in the optimal-critic study.
/// </summary>
public sealed class GaussianConditionalCritic : ICritic, IConditionalLogDensity
{
    /// <summary>Dimension d of x and y.</summary>
    public int Dim { get; }

    /// <summary>Correlation ρ per coordinate.</summary>
    public double Rho { get; }

    /// <summary>What the scores are.</summary>
    public AnalyticScore Kind { get; }

    /// <summary>Constant added to every score (NWJ's optimal critic is 1 + log r).</summary>
    public double Offset { get; }

    /// <summary>Creates the critic for dimension <paramref name="dim"/> and correlation <paramref name="rho"/> in (−1, 1).</summary>
    public GaussianConditionalCritic(int dim, double rho, AnalyticScore kind = AnalyticScore.LogConditional, double offset = 0)
    {
        if (dim <= 0) throw new ArgumentOutOfRangeException(nameof(dim), dim, "must be positive");
        if (!(Math.Abs(rho) < 1)) throw new ArgumentOutOfRangeException(nameof(rho), rho, "must lie in (−1, 1)");
        Dim = dim; Rho = rho; Kind = kind; Offset = offset;
    }

    /// <inheritdoc />
    public IEnumerable<Tensor> Parameters() => [];

    /// <inheritdoc />
    public Tensor Scores(Tensor x, Tensor y)
    {
        CriticInput.Check(x, y, Dim, Dim);
        int k = x.Dim(0);
        var s = Tensor.Zeros(k, k);
        double v = 1 - Rho * Rho;
        double logNorm = -0.5 * Dim * Math.Log(2 * Math.PI * v);
        double margNorm = -0.5 * Dim * Math.Log(2 * Math.PI);
        var xs = x.Values; var ys = y.Values;
        for (int i = 0; i < k; i++)
        {
            var yi = ys.Slice(i * Dim, Dim);
            double yy = 0;
            for (int d = 0; d < Dim; d++) yy += (double)yi[d] * yi[d];
            for (int j = 0; j < k; j++)
            {
                var xj = xs.Slice(j * Dim, Dim);
                double sq = 0;
                for (int d = 0; d < Dim; d++) { double e = yi[d] - Rho * xj[d]; sq += e * e; }
                double val = logNorm - sq / (2 * v);
                if (Kind == AnalyticScore.LogDensityRatio) val -= margNorm - 0.5 * yy;
                s[i, j] = (float)(val + Offset);
            }
        }
        return s;
    }

    /// <summary>log p(target_i | condition_i) for each row: the exact Gaussian conditional (ignores <see cref="Kind"/> and <see cref="Offset"/>).</summary>
    public Tensor LogDensity(Tensor target, Tensor condition)
    {
        CriticInput.Check(target, condition, Dim, Dim);
        int k = target.Dim(0);
        var result = Tensor.Zeros(k);
        double v = 1 - Rho * Rho;
        double logNorm = -0.5 * Dim * Math.Log(2 * Math.PI * v);
        for (int i = 0; i < k; i++)
        {
            double sq = 0;
            for (int d = 0; d < Dim; d++) { double e = target[i, d] - Rho * condition[i, d]; sq += e * e; }
            result[i] = (float)(logNorm - sq / (2 * v));
        }
        return result;
    }
}
