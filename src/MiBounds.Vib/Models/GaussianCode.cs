using MiBounds.Tensors;

namespace MiBounds.Vib.Models;

/// <summary>
/// An encoder's Gaussian p(z|x) = N(μ, L Lᵀ) per row, with L lower triangular: its diagonal (positive) and, for a full
/// covariance, the strictly lower entries in row-major order (L₂₁, L₃₁, L₃₂, …). Without them the covariance is diag(L_ii²).
/// </summary>
/// <param name="Mu">Means, [N, K].</param>
/// <param name="Diagonal">Diagonal of the Cholesky factor (the standard deviations when diagonal), [N, K].</param>
/// <param name="Lower">Strictly lower entries of L, [N, K(K−1)/2], or null for a diagonal covariance.</param>
public readonly record struct GaussianCode(Tensor Mu, Tensor Diagonal, Tensor? Lower) // a struct: one per training step, no allocation
{
    /// <summary>Dimension K.</summary>
    public int Dimensions => Mu.Dim(1);

    /// <summary>Number of strictly lower entries of a K×K Cholesky factor, K(K−1)/2.</summary>
    public static int LowerCount(int k) => k * (k - 1) / 2;

    /// <summary>The (row, column) of each strictly lower entry, in the order of <see cref="Lower"/>.</summary>
    public static (int Row, int Column)[] LowerIndices(int k)
    {
        var list = new List<(int, int)>(LowerCount(k));
        for (int i = 1; i < k; i++) for (int j = 0; j < i; j++) list.Add((i, j));
        return list.ToArray();
    }

    // Constant 0/1 matrices: ε·Select picks ε_j for each lower entry, (·)·Scatter sums each entry into its row i.
    private static (Tensor Select, Tensor Scatter) Routing(int k)
    {
        var idx = LowerIndices(k);
        var select = new float[k * idx.Length];
        var scatter = new float[idx.Length * k];
        for (int p = 0; p < idx.Length; p++) { select[idx[p].Column * idx.Length + p] = 1; scatter[p * k + idx[p].Row] = 1; }
        return (Tensor.FromArray(select, k, idx.Length), Tensor.FromArray(scatter, idx.Length, k));
    }

    /// <summary>L ε for standard normal noise ε [N, K] (differentiable in the code).</summary>
    public Tensor Transform(Tensor epsilon)
    {
        var scaled = Diagonal * epsilon;
        if (Lower is null || Dimensions < 2) return scaled;
        var (select, scatter) = Routing(Dimensions);
        return scaled + Tensor.MatMul(Lower * Tensor.MatMul(epsilon, select), scatter);
    }

    /// <summary>One reparameterized sample per row, z = μ + L ε.</summary>
    public Tensor Sample(Rng rng) => Mu + Transform(Tensor.RandomNormal(rng, Mu.Shape));

    /// <summary>
    /// Per row, KL(N(μ, LLᵀ) ‖ N(0, s²I)) = ½[(‖L‖_F² + ‖μ‖²)/s² − K] + K ln s − Σ_k ln L_kk in nats, [N].
    /// With s = 1 and a diagonal L this is the VIB's ½Σ(μ² + σ² − 1) − Σ ln σ.
    /// </summary>
    public Tensor KlToNormal(double priorSigma = 1)
    {
        if (!(priorSigma > 0)) throw new ArgumentOutOfRangeException(nameof(priorSigma), priorSigma, "the prior's σ must be > 0");
        // The diagonal standard-normal case keeps the original formula, so existing runs reproduce bit for bit.
        if (Lower is null && priorSigma == 1) return GaussianKl.ToStandardNormal(Mu, Diagonal);
        int k = Dimensions;
        var frobenius = Diagonal.Square().Sum(1);
        if (Lower is not null && k > 1) frobenius = frobenius + Lower.Square().Sum(1);
        float inv = (float)(1 / (priorSigma * priorSigma));
        var quadratic = ((frobenius + Mu.Square().Sum(1)) * inv - k) * 0.5f;
        return quadratic + (float)(k * Math.Log(priorSigma)) - Diagonal.Log().Sum(1);
    }

    /// <summary>The marginal standard deviations √Σ_kk = √(Σ_j L_kj²), [N, K].</summary>
    public Tensor MarginalSigma()
    {
        if (Lower is null || Dimensions < 2) return Diagonal;
        var (_, scatter) = Routing(Dimensions);
        return (Diagonal.Square() + Tensor.MatMul(Lower.Square(), scatter)).Sqrt();
    }

    /// <summary>The code stacked <paramref name="times"/> times along the rows (for several samples per image).</summary>
    public GaussianCode Repeat(int times) => times == 1 ? this : new GaussianCode(
        Tensor.Concat(0, Enumerable.Repeat(Mu, times).ToArray()),
        Tensor.Concat(0, Enumerable.Repeat(Diagonal, times).ToArray()),
        Lower is null ? null : Tensor.Concat(0, Enumerable.Repeat(Lower, times).ToArray()));

    /// <summary>Per row, the full covariance L Lᵀ as a K×K array (for plots and tests; not differentiable).</summary>
    public double[][,] Covariances()
    {
        int n = Mu.Dim(0), k = Dimensions;
        var d = Diagonal.Values.ToArray(); var lower = Lower?.Values.ToArray();
        var idx = LowerIndices(k);
        var result = new double[n][,];
        for (int r = 0; r < n; r++)
        {
            var l = new double[k, k];
            for (int i = 0; i < k; i++) l[i, i] = d[r * k + i];
            if (lower is not null) for (int p = 0; p < idx.Length; p++) l[idx[p].Row, idx[p].Column] = lower[r * idx.Length + p];
            var s = new double[k, k];
            for (int i = 0; i < k; i++) for (int j = 0; j < k; j++) { double v = 0; for (int m = 0; m < k; m++) v += l[i, m] * l[j, m]; s[i, j] = v; }
            result[r] = s;
        }
        return result;
    }
}
