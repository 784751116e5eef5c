using System.Globalization;

namespace MiBounds.Toy.Estimation;

/// <summary>
/// Turns the <c>estimate</c> command's file options into validated X and Y matrices: two files (--x, --y) or one
/// file (--data, or --x with --y-cols) split by --x-cols/--y-cols. Checks the things the estimator cannot name well:
/// matching row counts, overlapping columns, constant columns, too few rows, each with the file and column.
/// </summary>
internal static class EstimationInput
{
    /// <summary>The fewest rows accepted (2 to train on, 2 to hold out).</summary>
    public const int MinimumRows = MiBounds.Estimation.MiEstimation.MinimumRows;

    public static (DataMatrix X, DataMatrix Y) Load(string? xPath, string? yPath, string? dataPath, string? xCols, string? yCols)
    {
        DataMatrix x, y;
        string? single = dataPath ?? (yPath is null && xPath is not null && yCols is not null ? xPath : null);
        if (single is not null)
        {
            if (dataPath is not null && (xPath is not null || yPath is not null)) throw new InvalidDataException("give either --data FILE or --x/--y files, not both");
            if (xCols is null && yCols is null) throw new InvalidDataException($"with one file ({single}) say which columns are X and which Y: --x-cols and/or --y-cols (the other defaults to the remaining columns)");
            var all = DataMatrix.Load(single);
            int[]? xs = xCols is null ? null : ColumnSelection.Parse(xCols, all, "--x-cols");
            int[]? ys = yCols is null ? null : ColumnSelection.Parse(yCols, all, "--y-cols");
            xs ??= Enumerable.Range(0, all.Columns).Except(ys!).ToArray();
            ys ??= Enumerable.Range(0, all.Columns).Except(xs).ToArray();
            var overlap = xs.Intersect(ys).ToArray();
            if (overlap.Length > 0) throw new InvalidDataException($"{single}: {all.DescribeColumn(overlap[0])} is in both --x-cols and --y-cols (a variable shares infinite MI with itself)");
            if (xs.Length == 0 || ys.Length == 0) throw new InvalidDataException($"{single}: no columns left for {(xs.Length == 0 ? "X" : "Y")}");
            x = all.Select(xs);
            y = all.Select(ys);
        }
        else
        {
            if (xPath is null || yPath is null) throw new InvalidDataException("give --x FILE and --y FILE (CSV, TSV or .npy), or one file with --data FILE --x-cols ... --y-cols ...");
            x = DataMatrix.Load(xPath);
            y = DataMatrix.Load(yPath);
            if (xCols is not null) x = x.Select(ColumnSelection.Parse(xCols, x, "--x-cols"));
            if (yCols is not null) y = y.Select(ColumnSelection.Parse(yCols, y, "--y-cols"));
            if (x.Rows != y.Rows) throw new InvalidDataException($"{x.Path} has {x.Rows} rows but {y.Path} has {y.Rows}: rows must be paired samples");
        }
        foreach (var m in new[] { x, y })
        {
            if (m.Rows < MinimumRows) throw new InvalidDataException($"{m.Path}: {m.Rows} row{(m.Rows == 1 ? "" : "s")}; need at least {MinimumRows} (2 to train on, 2 to hold out)");
            for (int c = 0; c < m.Columns; c++)
            {
                double first = m.Values[0, c];
                bool constant = true;
                for (int r = 1; r < m.Rows && constant; r++) constant = m.Values[r, c] == first;
                if (constant) throw new InvalidDataException($"{m.Path}: {m.DescribeColumn(c)} is constant (every row is {first.ToString("G6", CultureInfo.InvariantCulture)}); it carries no information, drop it");
            }
        }
        return (x, y);
    }
}

/// <summary>Column lists: 1-based numbers, ranges "2-5", or header names, comma-separated ("1,3-4,age").</summary>
internal static class ColumnSelection
{
    public static int[] Parse(string spec, DataMatrix m, string option)
    {
        var result = new List<int>();
        foreach (var part in spec.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            int byName = Array.FindIndex(m.ColumnNames, n => string.Equals(n, part, StringComparison.Ordinal));
            if (byName >= 0 && !int.TryParse(part, out _)) { result.Add(byName); continue; }
            var range = part.Split('-', 2);
            if (range.Length == 2 && int.TryParse(range[0], out int a) && int.TryParse(range[1], out int b))
            {
                if (a > b) throw new InvalidDataException($"{option}: range '{part}' runs backwards");
                for (int c = a; c <= b; c++) result.Add(Check(c, m, option));
            }
            else if (int.TryParse(part, NumberStyles.Integer, CultureInfo.InvariantCulture, out int c)) result.Add(Check(c, m, option));
            else throw new InvalidDataException($"{option}: '{part}' is neither a column number (1-based) nor a column name of {m.Path} ({Names(m)})");
        }
        if (result.Count == 0) throw new InvalidDataException($"{option}: no columns given");
        var duplicate = result.GroupBy(c => c).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null) throw new InvalidDataException($"{option}: {m.DescribeColumn(duplicate.Key)} is listed twice");
        return result.ToArray();
    }

    private static int Check(int oneBased, DataMatrix m, string option) =>
        oneBased >= 1 && oneBased <= m.Columns ? oneBased - 1
        : throw new InvalidDataException($"{option}: column {oneBased} does not exist; {m.Path} has {m.Columns} column{(m.Columns == 1 ? "" : "s")} (numbered from 1)");

    private static string Names(DataMatrix m) =>
        m.ColumnNames.Length <= 12 ? string.Join(", ", m.ColumnNames) : string.Join(", ", m.ColumnNames.Take(12)) + ", …";
}
