namespace MiBounds.Toy.Tasks.Synthetic;

/// <summary>
/// The hard families of the BMI benchmark (Czyż et al. 2023, "Beyond normal"), rebuilt from their definitions:
/// dense and sparse multinormals up to 25 + 25 dimensions, high MI, Student-t with ν ≤ 2, additive uniform noise, and
/// invertible maps of the margins (normal CDF, asinh, half-cube) or of whole vectors (spiral). Every MI is computed in
/// code: log-determinants for the normals, the closed form for Student-t and additive noise, and the untransformed
/// task's value for the transformed ones (MI is invariant under invertible maps of X and of Y).
/// </summary>
public static class BmiTasks
{
    /// <summary>
    /// BMI's dense multinormal: unit variances and correlation <paramref name="offDiagonal"/> between every two of
    /// the dx + dy coordinates.
    /// </summary>
    public static DenseGaussianTask Dense(int dimX, int dimY, double offDiagonal = 0.5)
    {
        int d = dimX + dimY;
        var c = new double[d, d];
        for (int i = 0; i < d; i++)
            for (int j = 0; j < d; j++) c[i, j] = i == j ? 1 : offDiagonal;
        return new DenseGaussianTask(c, dimX, $"bmi-dense-{dimX}-{dimY}") { Structure = $"every correlation {offDiagonal:G3}" };
    }

    /// <summary>
    /// BMI's sparse ("2-pair") multinormal, the correlation matrix of their latent-variable model with K interacting
    /// pairs: x_i = λ z_i + ε e_i and y_i = λ z_i + ε f_i for i &lt; K, x_i = η v_i + ε e_i (likewise y) otherwise, with
    /// λ = η = <paramref name="strength"/>, ε = 1 and independent standard normal latents. So corr(x_i, y_i) = λ²/(λ² + 1)
    /// (0.8 for λ = 2) for the K pairs and every other pair is uncorrelated: I = −(K/2)·log(1 − ρ²).
    /// </summary>
    public static DenseGaussianTask Sparse(int dimX, int dimY, int interacting = 2, double strength = 2)
    {
        if (interacting > Math.Min(dimX, dimY)) throw new ArgumentOutOfRangeException(nameof(interacting), interacting, "more interacting pairs than dimensions");
        double rho = strength * strength / (strength * strength + 1);
        int d = dimX + dimY;
        var c = new double[d, d];
        for (int i = 0; i < d; i++) c[i, i] = 1;
        for (int i = 0; i < interacting; i++) c[i, dimX + i] = c[dimX + i, i] = rho;
        return new DenseGaussianTask(c, dimX, $"bmi-sparse-{dimX}-{dimY}") { Structure = $"{interacting} pairs at correlation {rho:G3}, the rest independent" };
    }

    private static readonly (string Name, Func<IMiTask> Create)[] Factories =
    [
        ("bmi-1v1-normal-0.75", () => new DenseGaussianTask(DenseAlgebra.PairedCorrelation(1, 0.75), 1, "bmi-1v1-normal-0.75") { Structure = "correlation 0.75" }),
        // BMI's additive noise N ~ U(−ε, ε) is this task's U(0, 2ε) shifted by −ε, which leaves the MI unchanged.
        ("bmi-1v1-additive-0.1", () => new AdditiveUniformNoiseTask(1, 0.2, "bmi-1v1-additive-0.1")),
        ("bmi-3v3-additive-0.25", () => new AdditiveUniformNoiseTask(3, 0.5, "bmi-3v3-additive-0.25")),
        ("bmi-dense-2-2", () => Dense(2, 2)),
        ("bmi-dense-5-5", () => Dense(5, 5)),
        ("bmi-dense-25-25", () => Dense(25, 25)),
        ("bmi-sparse-3-3", () => Sparse(3, 3)),
        ("bmi-sparse-5-5", () => Sparse(5, 5)),
        ("bmi-sparse-25-25", () => Sparse(25, 25)),
        // High MI: ρ per pair with −(5/2)·log(1 − ρ²) = 5, i.e. ρ² = 1 − e⁻²; and a random dense covariance at 6 nats.
        ("highmi-paired-5-5", () => new DenseGaussianTask(DenseAlgebra.PairedCorrelation(5, Math.Sqrt(1 - Math.Exp(-2))), 5, "highmi-paired-5-5") { Structure = "5 pairs at correlation 0.93" }),
        ("highmi-dense-10-10", () => DenseGaussianTask.WithMi(10, 10, 6.0, seed: 13, name: "highmi-dense-10-10")),
        ("bmi-student-1-1-df1", () => new StudentTTask(1, 1, 0, "bmi-student-1-1-df1")),
        ("bmi-student-2-2-df1", () => new StudentTTask(2, 1, 0, "bmi-student-2-2-df1")),
        ("bmi-student-3-3-df2", () => new StudentTTask(3, 2, 0, "bmi-student-3-3-df2")),
        ("bmi-student-5-5-df2", () => new StudentTTask(5, 2, 0, "bmi-student-5-5-df2")),
        ("bmi-normalcdf-sparse-5-5", () => new TransformedTask(Sparse(5, 5), CoordinateMap.NormalCdf, "bmi-normalcdf-sparse-5-5")),
        ("bmi-normalcdf-sparse-25-25", () => new TransformedTask(Sparse(25, 25), CoordinateMap.NormalCdf, "bmi-normalcdf-sparse-25-25")),
        ("bmi-halfcube-sparse-25-25", () => new TransformedTask(Sparse(25, 25), CoordinateMap.HalfCube, "bmi-halfcube-sparse-25-25")),
        ("bmi-asinh-student-3-3-df2", () => new TransformedTask(new StudentTTask(3, 2, 0), CoordinateMap.Asinh, "bmi-asinh-student-3-3-df2")),
        ("bmi-spiral-sparse-5-5", () => new SpiralTask(Sparse(5, 5), name: "bmi-spiral-sparse-5-5")),
        ("bmi-spiral-normalcdf-sparse-25-25", () => new SpiralTask(new TransformedTask(Sparse(25, 25), CoordinateMap.NormalCdf), name: "bmi-spiral-normalcdf-sparse-25-25")),
    ];

    /// <summary>Every task's name, in benchmark order.</summary>
    public static IReadOnlyList<string> Names { get; } = Factories.Select(f => f.Name).ToArray();

    /// <summary>Every task of the suite.</summary>
    public static IReadOnlyList<IMiTask> All() => Factories.Select(f => f.Create()).ToArray();

    /// <summary>The task named <paramref name="name"/>, or null.</summary>
    public static IMiTask? Find(string name)
    {
        foreach (var (n, create) in Factories)
            if (string.Equals(n, name.Trim(), StringComparison.OrdinalIgnoreCase)) return create();
        return null;
    }
}
