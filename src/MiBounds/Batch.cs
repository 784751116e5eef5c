using MiBounds.Tensors;

namespace MiBounds;

/// <summary>
/// K paired samples (x_k, y_k) drawn jointly: X is [K, dx], Y is [K, dy]. Row k of X goes with row k of Y.
/// </summary>
public sealed class Batch
{
    /// <summary>The x samples, [K, dx].</summary>
    public Tensor X { get; }

    /// <summary>The y samples, [K, dy].</summary>
    public Tensor Y { get; }

    /// <summary>Number of pairs K.</summary>
    public int Size => X.Dim(0);

    /// <summary>Validates shapes (rank 2, same K ≥ 2) and values (finite) and wraps the pair.</summary>
    public Batch(Tensor x, Tensor y)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(y);
        if (x.Rank != 2) throw new ArgumentException($"X must be [K, dx], got shape {Tensor.ShapeString(x.Shape)}", nameof(x));
        if (y.Rank != 2) throw new ArgumentException($"Y must be [K, dy], got shape {Tensor.ShapeString(y.Shape)}", nameof(y));
        if (x.Dim(0) != y.Dim(0))
            throw new ArgumentException($"X and Y hold different numbers of samples: X {Tensor.ShapeString(x.Shape)}, Y {Tensor.ShapeString(y.Shape)}");
        if (x.Dim(0) < 2) throw new ArgumentException($"a batch needs at least 2 pairs (the bounds compare positives with negatives), got {x.Dim(0)}");
        if (x.Dim(1) == 0 || y.Dim(1) == 0) throw new ArgumentException("X and Y need at least one column each");
        x.EnsureFinite("X");
        y.EnsureFinite("Y");
        X = x;
        Y = y;
    }
}

/// <summary>Conversions between nats (the library's unit) and bits.</summary>
public static class Units
{
    /// <summary>ln 2: nats per bit.</summary>
    public const double Ln2 = 0.69314718055994530942;

    /// <summary>Nats to bits.</summary>
    public static double NatsToBits(double nats) => nats / Ln2;

    /// <summary>Bits to nats.</summary>
    public static double BitsToNats(double bits) => bits * Ln2;
}
