using System.Collections.Concurrent;

namespace MiBounds.Bounds;

/// <summary>
/// Which entries of an R×C score matrix are positive (jointly drawn) pairs; every other entry is a negative
/// (a sample of the product of marginals). The usual case is the diagonal of a K×K matrix; the label-hypothesis
/// classifier puts the positive of row i at column y_i.
/// </summary>
public sealed class PositiveMask
{
    private static readonly ConcurrentDictionary<int, PositiveMask> DiagonalCache = new();

    /// <summary>Rows of the score matrix.</summary>
    public int Rows { get; }
    /// <summary>Columns of the score matrix.</summary>
    public int Columns { get; }
    /// <summary>One flag per entry (row-major): true for positives.</summary>
    public bool[] Positives { get; }
    /// <summary>The complement of <see cref="Positives"/>.</summary>
    public bool[] Negatives { get; }
    /// <summary>Column of the single positive of each row, or null when some row has zero or several positives.</summary>
    public int[]? PositivePerRow { get; }
    /// <summary>Whether this is the diagonal of a square matrix.</summary>
    public bool IsDiagonal { get; }

    private PositiveMask(int rows, int cols, bool[] positives)
    {
        if (rows < 1 || cols < 1) throw new ArgumentException($"a score matrix needs at least one row and column, got {rows}×{cols}");
        if (positives.Length != rows * cols) throw new ArgumentException($"mask has {positives.Length} flags for a {rows}×{cols} matrix");
        Rows = rows; Columns = cols; Positives = positives;
        Negatives = new bool[positives.Length];
        int nPos = 0;
        for (int i = 0; i < positives.Length; i++) { Negatives[i] = !positives[i]; if (positives[i]) nPos++; }
        if (nPos == 0) throw new ArgumentException("the positive mask selects no entry");
        if (nPos == positives.Length) throw new ArgumentException("the positive mask leaves no negative entry");
        var perRow = new int[rows];
        bool single = true, diagonal = rows == cols;
        for (int r = 0; r < rows && single; r++)
        {
            int count = 0;
            for (int c = 0; c < cols; c++)
                if (positives[r * cols + c]) { count++; perRow[r] = c; }
            single = count == 1;
            diagonal &= single && perRow[r] == r;
        }
        PositivePerRow = single ? perRow : null;
        IsDiagonal = diagonal && single;
    }

    /// <summary>The diagonal of a K×K matrix (cached per K).</summary>
    public static PositiveMask Diagonal(int k)
    {
        if (k < 2) throw new ArgumentException($"a score matrix needs K ≥ 2 (positives and negatives), got {k}");
        return DiagonalCache.GetOrAdd(k, n =>
        {
            var m = new bool[n * n];
            for (int i = 0; i < n; i++) m[i * n + i] = true;
            return new PositiveMask(n, n, m);
        });
    }

    /// <summary>Row i's positive at column labels[i] of an N×classes matrix.</summary>
    public static PositiveMask FromLabels(int[] labels, int classes)
    {
        var m = new bool[labels.Length * classes];
        for (int i = 0; i < labels.Length; i++)
        {
            if (labels[i] < 0 || labels[i] >= classes) throw new ArgumentOutOfRangeException(nameof(labels), $"label {labels[i]} at row {i} is outside [0, {classes})");
            m[i * classes + labels[i]] = true;
        }
        return new PositiveMask(labels.Length, classes, m);
    }

    /// <summary>Any pattern of positives, one flag per entry (row-major).</summary>
    public static PositiveMask FromFlags(bool[] positives, int rows, int cols) => new(rows, cols, (bool[])positives.Clone());
}
