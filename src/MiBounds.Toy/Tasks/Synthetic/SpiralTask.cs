using MiBounds.Tensors;

namespace MiBounds.Toy.Tasks.Synthetic;

/// <summary>
/// BMI's spiral diffeomorphism on another task: x ↦ R₀₁(s_x·‖x‖²) x and y ↦ R₁₂(s_y·‖y‖²) y, where R_ij(θ) rotates the
/// (i, j) coordinate plane by θ (the exponential of the so(n) generator of that plane). A rotation keeps ‖x‖, so the
/// inverse rotates back by −s·‖x‖²: each map is invertible and the MI is the inner task's.
/// </summary>
public sealed class SpiralTask : IMiTask
{
    /// <summary>The task transformed.</summary>
    public IMiTask Inner { get; }

    /// <summary>Rotation speeds s_x, s_y (radians per unit of ‖·‖²).</summary>
    public (double X, double Y) Speed { get; }

    /// <summary>
    /// Wraps <paramref name="inner"/> (dx ≥ 2, dy ≥ 3). The default speed is BMI's normalized one, 1/dx and 1/dy, so
    /// a typical point (‖x‖² ≈ dx) turns by about one radian whatever the dimension.
    /// </summary>
    public SpiralTask(IMiTask inner, double? speedX = null, double? speedY = null, string? name = null)
    {
        Inner = inner ?? throw new ArgumentNullException(nameof(inner));
        if (inner.DimX < 2 || inner.DimY < 3) throw new ArgumentException($"the spiral needs dx ≥ 2 and dy ≥ 3, got {inner.DimX} and {inner.DimY}");
        Speed = (speedX ?? 1.0 / inner.DimX, speedY ?? 1.0 / inner.DimY);
        Name = name ?? $"spiral-{inner.Name}";
    }

    /// <inheritdoc />
    public string Name { get; }

    /// <inheritdoc />
    public string Description => $"{Inner.Description}, spiral x ↦ R01({Speed.X:G3}‖x‖²)x, y ↦ R12({Speed.Y:G3}‖y‖²)y";

    /// <inheritdoc />
    public int DimX => Inner.DimX;

    /// <inheritdoc />
    public int DimY => Inner.DimY;

    /// <inheritdoc />
    public double TrueMi => Inner.TrueMi;

    /// <inheritdoc />
    public Batch Sample(int count, Rng rng)
    {
        var b = Inner.Sample(count, rng);
        var x = b.X.Clone(); var y = b.Y.Clone();
        for (int r = 0; r < count; r++)
        {
            Rotate(x.Data.Slice(r * DimX, DimX), 0, 1, Speed.X);
            Rotate(y.Data.Slice(r * DimY, DimY), 1, 2, Speed.Y);
        }
        return new Batch(x, y);
    }

    /// <summary>Rotates the (i, j) plane of <paramref name="v"/> by speed·‖v‖² (a negative speed undoes it).</summary>
    public static void Rotate(Span<float> v, int i, int j, double speed)
    {
        double norm2 = 0;
        foreach (float a in v) norm2 += (double)a * a;
        double theta = speed * norm2, c = Math.Cos(theta), s = Math.Sin(theta);
        double vi = v[i], vj = v[j];
        v[i] = (float)(c * vi - s * vj);
        v[j] = (float)(s * vi + c * vj);
    }
}
