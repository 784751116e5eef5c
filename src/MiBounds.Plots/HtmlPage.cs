using System.Net;
using System.Text;
using MiBounds.Tensors;

namespace MiBounds.Plots;

/// <summary>A column of an <see cref="HtmlPage"/> table: its header and whether it holds numbers (right-aligned).</summary>
/// <param name="Header">The header text (escaped when written).</param>
/// <param name="Numeric">Right-align the column.</param>
public readonly record struct HtmlColumn(string Header, bool Numeric = false);

/// <summary>
/// A small self-contained HTML5 report page: headings, paragraphs, figures (a PNG by relative path, linking its SVG)
/// and tables with a thead and a tbody. Every text is escaped, so run names and error messages cannot break the page.
/// </summary>
public sealed class HtmlPage
{
    private readonly StringBuilder _body = new();
    private readonly string _title;

    /// <summary>A page titled <paramref name="title"/> (also its h1).</summary>
    public HtmlPage(string title)
    {
        _title = title ?? throw new ArgumentNullException(nameof(title));
        Heading(title, 1);
    }

    /// <summary>Escapes text for an element's content or a quoted attribute.</summary>
    public static string Escape(string text) => WebUtility.HtmlEncode(text ?? "");

    // A relative file name as a URL: each path segment percent-encoded, then escaped for the attribute.
    private static string Href(string relativePath) =>
        Escape(string.Join("/", relativePath.Replace('\\', '/').Split('/').Select(Uri.EscapeDataString)));

    /// <summary>Adds a heading (h1 to h6).</summary>
    public HtmlPage Heading(string text, int level = 2)
    {
        if (level is < 1 or > 6) throw new ArgumentOutOfRangeException(nameof(level), level, "HTML headings are h1 to h6");
        _body.Append("<h").Append(level).Append('>').Append(Escape(text)).Append("</h").Append(level).Append(">\n");
        return this;
    }

    /// <summary>Adds a paragraph of plain text.</summary>
    public HtmlPage Paragraph(string text)
    {
        _body.Append("<p>").Append(Escape(text)).Append("</p>\n");
        return this;
    }

    /// <summary>Adds a bulleted list of plain-text items.</summary>
    public HtmlPage List(IEnumerable<string> items)
    {
        _body.Append("<ul>\n");
        foreach (var item in items) _body.Append("<li>").Append(Escape(item)).Append("</li>\n");
        _body.Append("</ul>\n");
        return this;
    }

    /// <summary>Adds a figure: the PNG <paramref name="png"/> (relative to the page), linking to <paramref name="svg"/> when given.</summary>
    public HtmlPage Figure(string png, string? svg, string alt, string? caption = null)
    {
        _body.Append("<figure>");
        if (svg is not null) _body.Append("<a href=\"").Append(Href(svg)).Append("\">");
        _body.Append("<img src=\"").Append(Href(png)).Append("\" alt=\"").Append(Escape(alt)).Append("\">");
        if (svg is not null) _body.Append("</a>");
        if (caption is not null) _body.Append("<figcaption>").Append(Escape(caption)).Append("</figcaption>");
        _body.Append("</figure>\n");
        return this;
    }

    /// <summary>Adds a table with id <paramref name="id"/>: one header row, then one body row per entry of <paramref name="rows"/>.</summary>
    public HtmlPage Table(string id, IReadOnlyList<HtmlColumn> columns, IEnumerable<IReadOnlyList<string>> rows)
    {
        ArgumentNullException.ThrowIfNull(columns);
        _body.Append("<table id=\"").Append(Escape(id)).Append("\">\n<thead><tr>");
        foreach (var c in columns) _body.Append(c.Numeric ? "<th>" : "<th class=\"l\">").Append(Escape(c.Header)).Append("</th>");
        _body.Append("</tr></thead>\n<tbody>\n");
        foreach (var row in rows)
        {
            if (row.Count != columns.Count) throw new ArgumentException($"a row of table {id} has {row.Count} cells, the table {columns.Count} columns");
            _body.Append("<tr>");
            for (int i = 0; i < row.Count; i++) _body.Append(columns[i].Numeric ? "<td>" : "<td class=\"l\">").Append(Escape(row[i])).Append("</td>");
            _body.Append("</tr>\n");
        }
        _body.Append("</tbody>\n</table>\n");
        return this;
    }

    /// <summary>The whole document.</summary>
    public string ToHtml() =>
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n" +
        $"<title>{Escape(_title)}</title>\n<style>{Style}</style>\n</head>\n<body>\n{_body}</body>\n</html>\n";

    /// <summary>Writes the document to <paramref name="path"/> atomically.</summary>
    public void Save(string path) => AtomicFile.WriteAllText(path, ToHtml());

    private const string Style =
        "body{font-family:sans-serif;margin:1.5em;max-width:1600px}table{border-collapse:collapse;font-size:13px;margin-bottom:1.5em}" +
        "td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}td.l,th.l{text-align:left}thead th{background:#f4f4f4}" +
        "figure{margin:0 0 1.5em 0}img{max-width:100%;border:1px solid #eee}figcaption{color:#555;font-size:13px}";
}
