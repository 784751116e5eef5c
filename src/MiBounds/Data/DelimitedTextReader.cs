using System.Globalization;
using System.Text;

namespace MiBounds.Data;

/// <summary>Delimited text (see <see cref="DataFile.ReadText"/>); problems name the file, the data row, its line and the column.</summary>
internal static class DelimitedTextReader
{
    public static DataMatrix Read(string path)
    {
        var lines = Decode(File.ReadAllBytes(path), path).Split('\n');
        var rows = new List<double[]>();
        string[]? names = null;
        char? delimiter = null;
        int columns = -1, headerLine = 0;
        for (int lineIndex = 0; lineIndex < lines.Length; lineIndex++)
        {
            string line = lines[lineIndex].TrimEnd('\r');
            if (string.IsNullOrWhiteSpace(line) || line.TrimStart().StartsWith('#')) continue;
            delimiter ??= DetectDelimiter(line);
            var cells = Split(line, delimiter.Value);
            if (columns < 0)
            {
                columns = cells.Length;
                if (cells.All(c => !double.TryParse(c, NumberStyles.Float, CultureInfo.InvariantCulture, out _)))
                {
                    names = cells.Select((c, i) => c.Length > 0 ? c : (i + 1).ToString(CultureInfo.InvariantCulture)).ToArray();
                    headerLine = lineIndex + 1;
                    continue;
                }
            }
            int row = rows.Count + 1, lineNumber = lineIndex + 1;
            string where = $"{path}: row {row} (line {lineNumber})";
            if (cells.Length != columns)
                throw DataErrors.Fail($"{where} has {cells.Length} column{(cells.Length == 1 ? "" : "s")}, expected {columns} like the {(names is null ? "first row" : "header")} (ragged rows)", path, lineNumber);
            var values = new double[columns];
            for (int c = 0; c < columns; c++)
                values[c] = ParseCell(cells[c], $"{where}, column {c + 1}{(names is null ? "" : $" ('{DataErrors.Excerpt(names[c])}')")}", path, lineNumber, c + 1);
            rows.Add(values);
        }
        if (columns < 0) throw DataErrors.Fail($"{path}: the file holds no data rows (it is empty or only comments)", path);
        if (rows.Count == 0) throw DataErrors.Fail($"{path}: the file has a header (line {headerLine}) but no data rows", path, headerLine);
        names ??= Enumerable.Range(1, columns).Select(i => i.ToString(CultureInfo.InvariantCulture)).ToArray();
        var matrix = new double[rows.Count, columns];
        for (int r = 0; r < rows.Count; r++)
            for (int c = 0; c < columns; c++) matrix[r, c] = rows[r][c];
        return new DataMatrix(path, matrix, names);
    }

    // Text is UTF-8 (or UTF-16 with a BOM); anything else, or control bytes other than whitespace, means the user
    // passed a binary file: say so instead of failing on (and echoing) its first "cell".
    private static string Decode(byte[] bytes, string path)
    {
        string text;
        if (bytes.Length >= 2 && (bytes[0], bytes[1]) is (0xFF, 0xFE) or (0xFE, 0xFF))
            text = (bytes[0] == 0xFF ? Encoding.Unicode : Encoding.BigEndianUnicode).GetString(bytes, 2, bytes.Length - 2);
        else
        {
            try { text = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes); }
            catch (DecoderFallbackException) { throw Binary(path); }
        }
        text = text.TrimStart('\uFEFF');
        foreach (char ch in text)
            if ((ch < ' ' && ch is not ('\t' or '\n' or '\r' or '\f' or '\v')) || ch == '\u007F') throw Binary(path);
        return text;
    }

    private static InvalidDataException Binary(string path) =>
        DataErrors.Fail($"{path} looks like a binary file, not text (CSV/TSV/whitespace); .npy files need the .npy extension", path);

    private static double ParseCell(string cell, string where, string path, int line, int column)
    {
        InvalidDataException Fail(string what) => DataErrors.Fail($"{where} {what}", path, line, column);
        string shown = DataErrors.Excerpt(cell);
        if (cell.Length == 0) throw Fail("is empty (a missing value); remove or impute the row");
        if (double.TryParse(cell, NumberStyles.Float, CultureInfo.InvariantCulture, out double v))
        {
            if (double.IsNaN(v)) throw Fail("is NaN; remove or impute the row");
            if (double.IsInfinity(v)) throw Fail($"is infinite ('{shown}'); every value must be finite");
            return v;
        }
        string lower = cell.ToLowerInvariant();
        if (lower is "na" or "n/a" or "null" or "none" or "nan" or "-nan")
            throw Fail($"is a missing value ('{shown}'); remove or impute the row");
        if (lower.TrimStart('+', '-') is "inf" or "infinity")
            throw Fail($"is infinite ('{shown}'); every value must be finite");
        throw DataErrors.Fail($"{where}: '{shown}' is not a number", path, line, column);
    }

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
