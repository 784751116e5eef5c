using MiBounds.Tensors;

namespace MiBounds.Toy.Tasks.Synthetic;

/// <summary>A strictly increasing map of the real line, applied to every coordinate; invertible, so MI is unchanged.</summary>
/// <param name="Name">Short name used in task names ("halfcube", "wiggly").</param>
/// <param name="Formula">The formula, for descriptions.</param>
/// <param name="Apply">The map.</param>
public sealed record CoordinateMap(string Name, string Formula, Func<double, double> Apply)
{
    /// <summary>t ↦ sign(t)·|t|^{3/2}: strictly increasing, flattens near 0 and stretches the tails.</summary>
    public static readonly CoordinateMap HalfCube = new("halfcube", "sign(t)·|t|^1.5", t => Math.Sign(t) * Math.Pow(Math.Abs(t), 1.5));

    /// <summary>t ↦ Φ(t), the standard normal CDF: normal margins become uniform on (0, 1) (BMI's "normal CDF" transform).</summary>
    public static readonly CoordinateMap NormalCdf = new("normalcdf", "Φ(t)", t => MathNet.Numerics.Distributions.Normal.CDF(0, 1, t));

    /// <summary>t ↦ asinh t: compresses heavy tails logarithmically (BMI's transform of Student-t tasks).</summary>
    public static readonly CoordinateMap Asinh = new("asinh", "asinh(t)", Math.Asinh);

    /// <summary>t ↦ t + 0.4 sin t + 0.2 sin(2t + 1): derivative ≥ 1 − 0.4 − 0.4 = 0.2 &gt; 0, so strictly increasing.</summary>
    public static readonly CoordinateMap Wiggly = new("wiggly", "t + 0.4·sin(t) + 0.2·sin(2t + 1)", t => t + 0.4 * Math.Sin(t) + 0.2 * Math.Sin(2 * t + 1));
}

/// <summary>Another task with <see cref="CoordinateMap"/> applied to every coordinate of x and y: same MI, harder geometry.</summary>
public sealed class TransformedTask : IMiTask
{
    /// <summary>The task transformed.</summary>
    public IMiTask Inner { get; }

    /// <summary>The map.</summary>
    public CoordinateMap Map { get; }

    /// <summary>Wraps <paramref name="inner"/>.</summary>
    public TransformedTask(IMiTask inner, CoordinateMap map, string? name = null)
    {
        Inner = inner ?? throw new ArgumentNullException(nameof(inner));
        Map = map ?? throw new ArgumentNullException(nameof(map));
        Name = name ?? $"{map.Name}-{inner.Name}";
    }

    /// <inheritdoc />
    public string Name { get; }

    /// <inheritdoc />
    public string Description => $"{Inner.Description}, each coordinate mapped by {Map.Formula}";

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
        return new Batch(Mapped(b.X), Mapped(b.Y));
    }

    private Tensor Mapped(Tensor t)
    {
        var r = t.Clone();
        var d = r.Data;
        for (int i = 0; i < d.Length; i++) d[i] = (float)Map.Apply(d[i]);
        return r;
    }
}
