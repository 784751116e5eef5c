using System.Globalization;

namespace MiBounds.Data;

/// <summary>
/// A list of columns: 1-based numbers, ranges "2-5" and header names, comma-separated ("1,3-4,age"). A part that is
/// a header name is taken as the name even when it looks like a range; a name two columns share is refused.
/// </summary>
public sealed class ColumnSelection
{
    private readonly string[] _parts;

    private ColumnSelection(string spec, string label, string[] parts) { Spec = spec; Label = label; _parts = parts; }

    /// <summary>The text as given.</summary>
    public string Spec { get; }

    /// <summary>What error messages call the selection (e.g. "--x-cols").</summary>
    public string Label { get; }

    /// <summary>Checks the syntax of <paramref name="spec"/>; columns are matched against a file by <see cref="Resolve"/>.</summary>
    /// <param name="spec">"1-3,5,name".</param>
    /// <param name="label">What error messages call it.</param>
    /// <exception cref="InvalidDataException">The list is empty.</exception>
    public static ColumnSelection Parse(string spec, string label = "column selection")
    {
        ArgumentNullException.ThrowIfNull(spec);
        var parts = spec.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (parts.Length == 0) throw DataErrors.Fail($"{label}: no columns given");
        return new ColumnSelection(spec, label, parts);
    }

    /// <summary>The selected 0-based column indices of <paramref name="m"/>, in the order given.</summary>
    /// <exception cref="InvalidDataException">A column does not exist, a name is unknown or ambiguous, or a column is listed twice.</exception>
    public int[] Resolve(DataMatrix m)
    {
        ArgumentNullException.ThrowIfNull(m);
        var result = new List<int>();
        foreach (var part in _parts)
        {
            bool isNumber = int.TryParse(part, NumberStyles.Integer, CultureInfo.InvariantCulture, out int number);
            var byName = Enumerable.Range(0, m.Columns).Where(i => string.Equals(m.ColumnNames[i], part, StringComparison.Ordinal)).ToArray();
            if (byName.Length > 0 && !isNumber)
            {
                if (byName.Length > 1)
                    throw Fail(m, $"name '{DataErrors.Excerpt(part)}' matches columns {string.Join(", ", byName.Select(i => i + 1))} of {m.Path}; select them by number");
                result.Add(byName[0]);
                continue;
            }
            var range = part.Split('-', 2);
            if (range.Length == 2 && int.TryParse(range[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out int a) && int.TryParse(range[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out int b))
            {
                if (a > b) throw Fail(m, $"range '{part}' runs backwards");
                for (int c = a; c <= b; c++) result.Add(Check(c, m));
            }
            else if (isNumber) result.Add(Check(number, m));
            else throw Fail(m, $"'{DataErrors.Excerpt(part)}' is neither a column number (1-based) nor a column name of {m.Path} ({Names(m)})");
        }
        var duplicate = result.GroupBy(c => c).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null) throw Fail(m, $"{m.DescribeColumn(duplicate.Key)} is listed twice");
        return result.ToArray();
    }

    /// <inheritdoc/>
    public override string ToString() => Spec;

    private InvalidDataException Fail(DataMatrix m, string what) => DataErrors.Fail($"{Label}: {what}", m.Path);

    private int Check(int oneBased, DataMatrix m) =>
        oneBased >= 1 && oneBased <= m.Columns ? oneBased - 1
        : throw Fail(m, $"column {oneBased} does not exist; {m.Path} has {m.Columns} column{(m.Columns == 1 ? "" : "s")} (numbered from 1)");

    private static string Names(DataMatrix m) =>
        string.Join(", ", m.ColumnNames.Take(12).Select(n => DataErrors.Excerpt(n, 20))) + (m.ColumnNames.Length > 12 ? ", …" : "");
}
