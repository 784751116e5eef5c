using MiBounds.Tensors;

namespace MiBounds.Toy.Tasks.Synthetic;

/// <summary>
/// X ~ U(0, 1)^d, Y = X + N with N ~ U(0, ε)^d independent: per coordinate h(Y | X) = log ε and Y has a trapezoid
/// density, so I = d·(ε/2 − log ε) for ε ≤ 1 and d/(2ε) for ε ≥ 1.
/// </summary>
public sealed class AdditiveUniformNoiseTask : IPointwiseMiTask
{
    /// <summary>Dimension d of x and of y.</summary>
    public int Dim { get; }

    /// <summary>Noise width ε.</summary>
    public double Epsilon { get; }

    /// <inheritdoc />
    public string Name { get; }

    /// <inheritdoc />
    public string Description => $"additive uniform noise, d={Dim}, ε={Epsilon:G4}, I={TrueMi:G4} nats";

    /// <inheritdoc />
    public int DimX => Dim;

    /// <inheritdoc />
    public int DimY => Dim;

    /// <inheritdoc />
    public double TrueMi => Dim * (Epsilon <= 1 ? Epsilon / 2 - Math.Log(Epsilon) : 1 / (2 * Epsilon));

    /// <summary>Creates the task.</summary>
    public AdditiveUniformNoiseTask(int dim, double epsilon, string? name = null)
    {
        if (dim < 1) throw new ArgumentOutOfRangeException(nameof(dim), dim, "must be positive");
        if (!(epsilon > 0) || double.IsInfinity(epsilon)) throw new ArgumentOutOfRangeException(nameof(epsilon), epsilon, "must be positive and finite");
        Dim = dim; Epsilon = epsilon;
        Name = name ?? $"uniform-{dim}-eps{epsilon:G4}";
    }

    /// <inheritdoc />
    public Batch Sample(int count, Rng rng)
    {
        if (count < 2) throw new ArgumentOutOfRangeException(nameof(count), count, "need at least 2 samples");
        var x = Tensor.Zeros(count, Dim);
        var y = Tensor.Zeros(count, Dim);
        var xs = x.Data; var ys = y.Data;
        for (int i = 0; i < count * Dim; i++)
        {
            double a = rng.NextDouble();
            xs[i] = (float)a;
            ys[i] = (float)(a + Epsilon * rng.NextDouble());
        }
        return new Batch(x, y);
    }

    /// <inheritdoc />
    public double PointwiseMi(ReadOnlySpan<float> x, ReadOnlySpan<float> y)
    {
        double s = 0;
        for (int k = 0; k < Dim; k++)
        {
            double noise = y[k] - (double)x[k];
            if (noise < -1e-6 || noise > Epsilon + 1e-6) return double.NegativeInfinity; // outside p(y | x)'s support
            // p(y) = |[0, 1] ∩ [y − ε, y]| / ε
            double py = (Math.Min(1, y[k]) - Math.Max(0, y[k] - Epsilon)) / Epsilon;
            s += -Math.Log(Epsilon) - Math.Log(py);
        }
        return s;
    }
}
