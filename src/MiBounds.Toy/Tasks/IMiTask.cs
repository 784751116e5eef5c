using MiBounds.Tensors;

namespace MiBounds.Toy.Tasks;

/// <summary>A sampling problem with known mutual information.</summary>
public interface IMiTask
{
    /// <summary>Short identifier (e.g. "gaussian", "cubic").</summary>
    string Name { get; }

    /// <summary>One-line description with the parameters.</summary>
    string Description { get; }

    /// <summary>Width of x.</summary>
    int DimX { get; }

    /// <summary>Width of y.</summary>
    int DimY { get; }

    /// <summary>The true I(X; Y) in nats.</summary>
    double TrueMi { get; }

    /// <summary>Draws <paramref name="count"/> independent pairs.</summary>
    Batch Sample(int count, Rng rng);
}
