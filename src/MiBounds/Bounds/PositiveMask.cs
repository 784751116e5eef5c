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
    public int[]? PositivePerRow { get; private set; }
    /// <summary>Whether this is the diagonal of a square matrix.</summary>
    public bool IsDiagonal { get; private set; }

    private readonly int[] _perRow;
    private readonly bool _fromLabels; // made by FromLabels, so owned by its caller and refillable

    private PositiveMask(int rows, int cols, bool[] positives, bool fromLabels = false)
    {
        if (rows < 1 || cols < 1) throw new ArgumentException($"a score matrix needs at least one row and column, got {rows}×{cols}");
        if (positives.Length != rows * cols) throw new ArgumentException($"mask has {positives.Length} flags for a {rows}×{cols} matrix");
        Rows = rows; Columns = cols; Positives = positives;
        Negatives = new bool[positives.Length];
        _perRow = new int[rows];
        _fromLabels = fromLabels;
        Analyse();
    }

    // Fills Negatives, PositivePerRow and IsDiagonal from Positives, and checks both kinds of entry are present.
    private void Analyse()
    {
        var positives = Positives;
        int nPos = 0;
        for (int i = 0; i < positives.Length; i++) { Negatives[i] = !positives[i]; if (positives[i]) nPos++; }
        if (nPos == 0) throw new ArgumentException("the positive mask selects no entry");
        if (nPos == positives.Length) throw new ArgumentException("the positive mask leaves no negative entry");
        bool single = true, diagonal = Rows == Columns;
        for (int r = 0; r < Rows && single; r++)
        {
            int count = 0;
            for (int c = 0; c < Columns; c++)
                if (positives[r * Columns + c]) { count++; _perRow[r] = c; }
            single = count == 1;
            diagonal &= single && _perRow[r] == r;
        }
        PositivePerRow = single ? _perRow : null;
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
    public static PositiveMask FromLabels(int[] labels, int classes) => FromLabels(labels, classes, reuse: null);

    /// <summary>
    /// As <see cref="FromLabels(int[], int)"/>, refilling <paramref name="reuse"/> in place when it is a mask of the same
    /// shape that this method made (a training loop's steady state then allocates nothing); otherwise a new mask. The
    /// refilled mask changes under anyone still holding it: pass only a mask no live computation reads.
    /// </summary>
    public static PositiveMask FromLabels(int[] labels, int classes, PositiveMask? reuse)
    {
        ArgumentNullException.ThrowIfNull(labels);
        for (int i = 0; i < labels.Length; i++)
            if (labels[i] < 0 || labels[i] >= classes) throw new ArgumentOutOfRangeException(nameof(labels), $"label {labels[i]} at row {i} is outside [0, {classes})");
        if (reuse is { _fromLabels: true } && reuse.Rows == labels.Length && reuse.Columns == classes)
        {
            Array.Clear(reuse.Positives);
            for (int i = 0; i < labels.Length; i++) reuse.Positives[i * classes + labels[i]] = true;
            reuse.Analyse();
            return reuse;
        }
        var m = new bool[labels.Length * classes];
        for (int i = 0; i < labels.Length; i++) m[i * classes + labels[i]] = true;
        return new PositiveMask(labels.Length, classes, m, fromLabels: true);
    }

    /// <summary>Any pattern of positives, one flag per entry (row-major).</summary>
    public static PositiveMask FromFlags(bool[] positives, int rows, int cols) => new(rows, cols, (bool[])positives.Clone());
}
