using System.Globalization;
using MiBounds.Estimation;

namespace MiBounds.Data;

/// <summary>
/// Paired samples of X and Y, validated for <c>MiEstimation.Estimate</c>: equal row counts, at least
/// <see cref="MiEstimation.MinimumRows"/> rows, no constant column, X and Y sharing no column.
/// </summary>
/// <param name="X">The X samples, one row per sample.</param>
/// <param name="Y">The Y samples, row i paired with row i of X.</param>
public sealed record PairedData(DataMatrix X, DataMatrix Y)
{
    /// <summary>
    /// Reads X and Y from two files (<paramref name="xPath"/>, <paramref name="yPath"/>, each optionally narrowed by
    /// its column selection), or from one file (<paramref name="dataPath"/>, or <paramref name="xPath"/> alone with
    /// <paramref name="yCols"/>) split by the selections, the missing one defaulting to the remaining columns.
    /// Selections use the syntax of <see cref="ColumnSelection.Parse"/>; error messages call them --x-cols and --y-cols.
    /// </summary>
    /// <exception cref="InvalidDataException">The files or selections do not give usable paired samples.</exception>
    /// <exception cref="FileNotFoundException">A file does not exist.</exception>
    public static PairedData Load(string? xPath, string? yPath, string? dataPath, string? xCols, string? yCols)
    {
        DataMatrix x, y;
        var xSel = xCols is null ? null : ColumnSelection.Parse(xCols, "--x-cols");
        var ySel = yCols is null ? null : ColumnSelection.Parse(yCols, "--y-cols");
        string? single = dataPath ?? (yPath is null && xPath is not null && yCols is not null ? xPath : null);
        if (single is not null)
        {
            if (dataPath is not null && (xPath is not null || yPath is not null)) throw DataErrors.Fail("give either --data FILE or --x/--y files, not both");
            if (xSel is null && ySel is null) throw DataErrors.Fail($"with one file ({single}) say which columns are X and which Y: --x-cols and/or --y-cols (the other defaults to the remaining columns)", single);
            var all = DataFile.Read(single);
            int[]? xs = xSel?.Resolve(all);
            int[]? ys = ySel?.Resolve(all);
            xs ??= Enumerable.Range(0, all.Columns).Except(ys!).ToArray();
            ys ??= Enumerable.Range(0, all.Columns).Except(xs).ToArray();
            var overlap = xs.Intersect(ys).ToArray();
            if (overlap.Length > 0) throw DataErrors.Fail($"{single}: {all.DescribeColumn(overlap[0])} is in both --x-cols and --y-cols (a variable shares infinite MI with itself)", single);
            if (xs.Length == 0 || ys.Length == 0) throw DataErrors.Fail($"{single}: no columns left for {(xs.Length == 0 ? "X" : "Y")}", single);
            x = all.Select(xs);
            y = all.Select(ys);
        }
        else
        {
            if (xPath is null || yPath is null) throw DataErrors.Fail("give --x FILE and --y FILE (CSV, TSV or .npy), or one file with --data FILE --x-cols ... --y-cols ...");
            x = DataFile.Read(xPath);
            y = DataFile.Read(yPath);
            if (xSel is not null) x = x.Select(xSel);
            if (ySel is not null) y = y.Select(ySel);
            if (x.Rows != y.Rows) throw DataErrors.Fail($"{x.Path} has {x.Rows} rows but {y.Path} has {y.Rows}: rows must be paired samples", y.Path);
        }
        var data = new PairedData(x, y);
        data.Validate();
        return data;
    }

    /// <summary>Checks row counts and constant columns; <see cref="Load"/> calls it, callers building matrices themselves may too.</summary>
    /// <exception cref="InvalidDataException">Too few rows, unequal row counts or a constant column.</exception>
    public void Validate()
    {
        if (X.Rows != Y.Rows) throw DataErrors.Fail($"{X.Path} has {X.Rows} rows but {Y.Path} has {Y.Rows}: rows must be paired samples", Y.Path);
        foreach (var m in new[] { X, Y })
        {
            if (m.Rows < MiEstimation.MinimumRows) throw DataErrors.Fail($"{m.Path}: {m.Rows} row{(m.Rows == 1 ? "" : "s")}; need at least {MiEstimation.MinimumRows} (2 to train on, 2 to hold out)", m.Path);
            for (int c = 0; c < m.Columns; c++)
            {
                double first = m.Values[0, c];
                bool constant = true;
                for (int r = 1; r < m.Rows && constant; r++) constant = m.Values[r, c] == first;
                if (constant) throw DataErrors.Fail($"{m.Path}: {m.DescribeColumn(c)} is constant (every row is {first.ToString("G6", CultureInfo.InvariantCulture)}); it carries no information, drop it", m.Path, column: c + 1);
            }
        }
    }
}
