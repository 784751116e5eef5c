using System.Globalization;

namespace MiBounds.Toy.Estimation;

/// <summary>
/// Reads a numeric table from delimited text: the delimiter is the first of ',', tab, ';' found in the first line
/// (else runs of whitespace); a first line without any number is a header; blank lines and lines starting with '#' are
/// skipped. Every problem is an <see cref="InvalidDataException"/> naming the file, the data row, its line and the column.
/// </summary>
internal static class CsvMatrixReader
{
    public static DataMatrix Read(string path)
    {
        var lines = File.ReadAllLines(path);
        var rows = new List<double[]>();
        string[]? names = null;
        char? delimiter = null;
        int columns = -1;
        for (int lineIndex = 0; lineIndex < lines.Length; lineIndex++)
        {
            string line = lineIndex == 0 ? lines[0].TrimStart('\uFEFF') : lines[lineIndex];
            if (string.IsNullOrWhiteSpace(line) || line.TrimStart().StartsWith('#')) continue;
            delimiter ??= DetectDelimiter(line);
            var cells = Split(line, delimiter.Value);
            if (columns < 0)
            {
                columns = cells.Length;
                if (cells.All(c => !double.TryParse(c, NumberStyles.Float, CultureInfo.InvariantCulture, out _)))
                {
                    names = cells.Select((c, i) => c.Length > 0 ? c : (i + 1).ToString(CultureInfo.InvariantCulture)).ToArray();
                    continue;
                }
            }
            int row = rows.Count + 1;
            string where = $"{path}: row {row} (line {lineIndex + 1})";
            if (cells.Length != columns)
                throw new InvalidDataException($"{where} has {cells.Length} column{(cells.Length == 1 ? "" : "s")}, expected {columns} like the {(names is null ? "first row" : "header")} (ragged rows)");
            var values = new double[columns];
            for (int c = 0; c < columns; c++)
                values[c] = ParseCell(cells[c], () => $"{where}, column {c + 1}{(names is null ? "" : $" ('{names[c]}')")}");
            rows.Add(values);
        }
        if (columns < 0) throw new InvalidDataException($"{path}: the file holds no data rows");
        names ??= Enumerable.Range(1, columns).Select(i => i.ToString(CultureInfo.InvariantCulture)).ToArray();
        var matrix = new double[rows.Count, columns];
        for (int r = 0; r < rows.Count; r++)
            for (int c = 0; c < columns; c++) matrix[r, c] = rows[r][c];
        return new DataMatrix(path, matrix, names);
    }

    private static double ParseCell(string cell, Func<string> where)
    {
        if (cell.Length == 0) throw new InvalidDataException($"{where()} is empty (a missing value); remove or impute the row");
        if (double.TryParse(cell, NumberStyles.Float, CultureInfo.InvariantCulture, out double v))
        {
            if (double.IsNaN(v)) throw new InvalidDataException($"{where()} is NaN; remove or impute the row");
            if (double.IsInfinity(v)) throw new InvalidDataException($"{where()} is infinite ('{cell}'); every value must be finite");
            return v;
        }
        string lower = cell.ToLowerInvariant();
        if (lower is "na" or "n/a" or "null" or "none" or "nan" or "-nan")
            throw new InvalidDataException($"{where()} is a missing value ('{cell}'); remove or impute the row");
        if (lower.TrimStart('+', '-') is "inf" or "infinity")
            throw new InvalidDataException($"{where()} is infinite ('{cell}'); every value must be finite");
        throw new InvalidDataException($"{where()}: '{Truncate(cell)}' is not a number");
    }

    private static string Truncate(string s) => s.Length <= 40 ? s : s[..40] + "…";

    private static char DetectDelimiter(string line) =>
        line.Contains(',') ? ',' : line.Contains('\t') ? '\t' : line.Contains(';') ? ';' : ' ';

    private static string[] Split(string line, char delimiter)
    {
        var parts = delimiter == ' '
            ? line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)
            : line.Split(delimiter);
        for (int i = 0; i < parts.Length; i++)
        {
            string p = parts[i].Trim();
            if (p.Length >= 2 && p[0] == '"' && p[^1] == '"') p = p[1..^1].Trim();
            parts[i] = p;
        }
        return parts;
    }
}
