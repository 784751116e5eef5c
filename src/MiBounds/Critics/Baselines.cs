using MiBounds.Tensors;
using MiBounds.Tensors.Nn;

namespace MiBounds.Critics;

/// <summary>A baseline b(y) = log a(y), a function of y only, used by TUBA and the interpolated bound.</summary>
public interface IBaseline
{
    /// <summary>log a(y_i) for each row of Y [K, dy], as a [K] tensor.</summary>
    Tensor LogBaseline(Tensor y);

    /// <summary>Trainable parameters (empty for analytic baselines).</summary>
    IEnumerable<Tensor> Parameters();
}

/// <summary>A learned baseline: an MLP on y with one output (toy default dy→512→512→1).</summary>
public sealed class LearnedBaseline : Module, IBaseline
{
    /// <summary>The network.</summary>
    public Mlp Network { get; }

    /// <summary>Creates the MLP.</summary>
    public LearnedBaseline(int dimY, Rng rng, int hidden = 512, int layers = 2, Activation activation = Activation.Relu)
    {
        Network = RegisterModule("net", new Mlp(dimY, hidden, 1, layers, rng, activation));
    }

    /// <inheritdoc />
    public Tensor LogBaseline(Tensor y) => FusedMlp.Forward(Network, y).Reshape(y.Dim(0)); // one fused op, same values as Network.Forward
}

/// <summary>A constant baseline: one learned scalar log a.</summary>
public sealed class ConstantBaseline : Module, IBaseline
{
    /// <summary>The learned value, shape [1].</summary>
    public Tensor Value { get; }

    /// <summary>Creates the baseline with an initial value.</summary>
    public ConstantBaseline(float initial = 0f)
    {
        Value = RegisterParameter("value", Tensor.Full(initial, 1));
    }

    /// <inheritdoc />
    public Tensor LogBaseline(Tensor y) => Tensor.Zeros(y.Dim(0)) + Value;
}

/// <summary>The analytic standard-normal marginal: log p(y) = −(d/2)·log 2π − ‖y‖²/2 (optimal for the correlated Gaussian).</summary>
public sealed class GaussianMarginalBaseline : IBaseline
{
    /// <inheritdoc />
    public IEnumerable<Tensor> Parameters() => [];

    /// <inheritdoc />
    public Tensor LogBaseline(Tensor y)
    {
        int k = y.Dim(0), d = y.Dim(1);
        var result = Tensor.Zeros(k);
        for (int i = 0; i < k; i++)
        {
            double s = 0;
            for (int c = 0; c < d; c++) s += (double)y[i, c] * y[i, c];
            result[i] = (float)(-0.5 * d * Math.Log(2 * Math.PI) - 0.5 * s);
        }
        return result;
    }
}
