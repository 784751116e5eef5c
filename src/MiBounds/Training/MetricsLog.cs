using System.Globalization;
using MiBounds.Tensors;

namespace MiBounds.Training;

/// <summary>What one row of a <see cref="MetricsLog"/> stands for; a resumed run keeps as many rows as its checkpoint has units.</summary>
public enum LogUnit
{
    /// <summary>One row per training step.</summary>
    Step,
    /// <summary>One row per finished epoch.</summary>
    Epoch,
    /// <summary>One row per evaluation.</summary>
    Evaluation,
}

/// <summary>
/// A CSV file of training records (one header line, one row per step, epoch or evaluation), appended as training goes.
/// The <see cref="Trainer"/> opens it, flushes it before every checkpoint, and on resume keeps exactly the rows the
/// checkpoint covers (rows written after the last checkpoint, by a run that was killed, are dropped), so an interrupted
/// and resumed run leaves the same file as an uninterrupted one. Numbers are written in invariant culture, doubles in
/// round-trip form ("R"), NaN as "nan".
/// </summary>
public sealed class MetricsLog : IDisposable
{
    private StreamWriter? _writer;
    private long _rows;

    /// <summary>The file.</summary>
    public string Path { get; }

    /// <summary>The column names.</summary>
    public IReadOnlyList<string> Columns { get; }

    /// <summary>What a row stands for.</summary>
    public LogUnit Unit { get; }

    /// <summary>Data rows in the file (after <see cref="Open"/>).</summary>
    public long Rows => _rows;

    /// <summary>Describes the log; nothing is written until <see cref="Open"/>.</summary>
    public MetricsLog(string path, LogUnit unit, params string[] columns)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (columns is not { Length: > 0 }) throw new ArgumentException("a metrics log needs at least one column");
        foreach (var c in columns)
            if (c.Contains(',') || c.Contains('\n')) throw new ArgumentException($"column name '{c}' may not contain a comma or a line break");
        Path = path; Unit = unit; Columns = columns;
    }

    /// <summary>
    /// Opens the file for appending, keeping the first <paramref name="keepRows"/> data rows of an existing file (0: a new
    /// file). Throws <see cref="InvalidDataException"/> when an existing file has another header or fewer rows than asked.
    /// </summary>
    public void Open(long keepRows)
    {
        if (_writer is not null) throw new InvalidOperationException($"{Path} is already open");
        ArgumentOutOfRangeException.ThrowIfNegative(keepRows);
        string header = string.Join(",", Columns);
        var kept = new List<string>();
        if (keepRows > 0)
        {
            if (!File.Exists(Path)) throw new InvalidDataException($"{Path} is missing: the checkpoint covers {keepRows} rows of it");
            using var reader = new StreamReader(Path);
            string? first = reader.ReadLine();
            if (first != header) throw new InvalidDataException($"{Path} has the header '{first}', expected '{header}'");
            while (kept.Count < keepRows && reader.ReadLine() is string line) kept.Add(line);
            if (kept.Count < keepRows) throw new InvalidDataException($"{Path} holds {kept.Count} rows, fewer than the {keepRows} its checkpoint covers");
        }
        // Rewritten whole (atomically) so rows past the checkpoint disappear, then appended to.
        AtomicFile.Write(Path, s =>
        {
            using var w = new StreamWriter(s);
            w.WriteLine(header);
            foreach (var l in kept) w.WriteLine(l);
        });
        _rows = kept.Count;
        _writer = new StreamWriter(new FileStream(Path, FileMode.Append, FileAccess.Write, FileShare.Read));
    }

    /// <summary>Every data row of a log file as text fields (for reports that read a finished or interrupted run back).</summary>
    public static List<string[]> ReadRows(string path, out string[] columns)
    {
        using var reader = new StreamReader(path);
        columns = (reader.ReadLine() ?? throw new InvalidDataException($"{path} is empty")).Split(',');
        var rows = new List<string[]>();
        while (reader.ReadLine() is string line)
            if (line.Length > 0) rows.Add(line.Split(','));
        return rows;
    }

    /// <summary>Appends a row of numbers (one per column).</summary>
    public void Append(params ReadOnlySpan<double> values)
    {
        var w = Writer(values.Length);
        for (int i = 0; i < values.Length; i++)
        {
            if (i > 0) w.Write(',');
            WriteNumber(w, values[i]);
        }
        w.WriteLine();
        _rows++;
    }

    /// <summary>Appends a row of fields already formatted (text columns, or a mix), one per column.</summary>
    public void AppendFields(params ReadOnlySpan<string> fields)
    {
        var w = Writer(fields.Length);
        for (int i = 0; i < fields.Length; i++)
        {
            if (fields[i].Contains(',') || fields[i].Contains('\n')) throw new ArgumentException($"{Path}: field '{fields[i]}' may not contain a comma or a line break");
            if (i > 0) w.Write(',');
            w.Write(fields[i]);
        }
        w.WriteLine();
        _rows++;
    }

    /// <summary>A number as the log writes it: round-trip form, NaN as "nan", infinities as "inf"/"-inf".</summary>
    public static string Format(double v) => v switch
    {
        double.NaN => "nan",
        double.PositiveInfinity => "inf",
        double.NegativeInfinity => "-inf",
        _ => v.ToString("R", CultureInfo.InvariantCulture),
    };

    /// <summary>Parses a field written by <see cref="Format"/>.</summary>
    public static double Parse(string field) => field switch
    {
        "nan" => double.NaN,
        "inf" => double.PositiveInfinity,
        "-inf" => double.NegativeInfinity,
        _ => double.Parse(field, NumberStyles.Float, CultureInfo.InvariantCulture),
    };

    // Formatted into a stack buffer: a per-step log then costs no allocation.
    private static void WriteNumber(StreamWriter w, double v)
    {
        if (!double.IsFinite(v)) { w.Write(Format(v)); return; }
        Span<char> buffer = stackalloc char[32];
        if (!v.TryFormat(buffer, out int written, "R", CultureInfo.InvariantCulture)) { w.Write(Format(v)); return; }
        w.Write(buffer[..written]);
    }

    private StreamWriter Writer(int count)
    {
        var w = _writer ?? throw new InvalidOperationException($"{Path} is not open");
        if (count != Columns.Count) throw new ArgumentException($"{Path}: a row of {count} values for {Columns.Count} columns ({string.Join(",", Columns)})");
        return w;
    }

    /// <summary>Pushes buffered rows to the file (the trainer calls it before each checkpoint).</summary>
    public void Flush() => _writer?.Flush();

    /// <summary>Flushes and closes the file.</summary>
    public void Dispose()
    {
        _writer?.Dispose();
        _writer = null;
    }
}
