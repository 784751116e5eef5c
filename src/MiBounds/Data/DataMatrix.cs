using System.Globalization;

namespace MiBounds.Data;

/// <summary>A numeric table read from a file: rows of samples, named columns (1-based numbers when the file has no header).</summary>
/// <param name="Path">The path as the user gave it (used in error messages).</param>
/// <param name="Values">[rows, columns], every value finite; pass it to <c>MiEstimation.Estimate</c>.</param>
/// <param name="ColumnNames">One name per column.</param>
public sealed record DataMatrix(string Path, double[,] Values, string[] ColumnNames)
{
    /// <summary>Number of rows (samples).</summary>
    public int Rows => Values.GetLength(0);

    /// <summary>Number of columns (dimensions).</summary>
    public int Columns => Values.GetLength(1);

    /// <summary>"column 3 ('age')", or "column 3" when the name is just the number.</summary>
    /// <param name="index">0-based column.</param>
    public string DescribeColumn(int index) =>
        ColumnNames[index] == (index + 1).ToString(CultureInfo.InvariantCulture) ? $"column {index + 1}" : $"column {index + 1} ('{DataErrors.Excerpt(ColumnNames[index])}')";

    /// <summary>The chosen columns as a new matrix, in the order given.</summary>
    /// <param name="columns">0-based column indices.</param>
    public DataMatrix Select(IReadOnlyList<int> columns)
    {
        ArgumentNullException.ThrowIfNull(columns);
        foreach (int c in columns)
            if (c < 0 || c >= Columns) throw new ArgumentOutOfRangeException(nameof(columns), c, $"{Path} has {Columns} columns (0-based index)");
        var v = new double[Rows, columns.Count];
        for (int r = 0; r < Rows; r++)
            for (int c = 0; c < columns.Count; c++) v[r, c] = Values[r, columns[c]];
        return new DataMatrix(Path, v, columns.Select(c => ColumnNames[c]).ToArray());
    }

    /// <summary>The columns named by a selection such as "1-3,5,age".</summary>
    /// <param name="selection">Parsed with <see cref="ColumnSelection.Parse"/>.</param>
    public DataMatrix Select(ColumnSelection selection)
    {
        ArgumentNullException.ThrowIfNull(selection);
        return Select(selection.Resolve(this));
    }
}
