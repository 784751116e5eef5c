using System.Globalization;
using System.Text;

namespace MiBounds.Data;

// InvalidDataException is sealed, so the file, line and column live in the one-line message (and in Exception.Data
// under "path", "line", "column" for callers that want them without parsing).
internal static class DataErrors
{
    public static InvalidDataException Fail(string message, string? path = null, int? line = null, int? column = null)
    {
        var e = new InvalidDataException(message);
        if (path is not null) e.Data["path"] = path;
        if (line is not null) e.Data["line"] = line.Value;
        if (column is not null) e.Data["column"] = column.Value;
        return e;
    }

    // User text echoed in a message: short, one line, printable (a stray binary cell must not reach a terminal).
    public static string Excerpt(string text, int max = 40)
    {
        var sb = new StringBuilder(Math.Min(text.Length, max + 1));
        int shown = 0;
        foreach (var rune in text.EnumerateRunes())
        {
            if (shown++ >= max) { sb.Append('…'); break; }
            bool printable = !Rune.IsControl(rune) && Rune.GetUnicodeCategory(rune) is not (UnicodeCategory.Format or UnicodeCategory.Surrogate or UnicodeCategory.PrivateUse or UnicodeCategory.OtherNotAssigned);
            if (printable) sb.Append(rune.ToString());
            else sb.Append(CultureInfo.InvariantCulture, $"\\u{rune.Value:X4}");
        }
        return sb.ToString();
    }
}
