using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace MiBounds.Data;

/// <summary>
/// Reads a NumPy .npy file (format versions 1–3) holding a 1-D (one column) or 2-D array of floats, integers or
/// booleans in either byte order and either memory order. Problems are <see cref="InvalidDataException"/>s naming the
/// file (and the row and column of a non-finite value).
/// </summary>
internal static partial class NpyReader
{
    private static readonly byte[] Magic = [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];

    public static DataMatrix Read(string path)
    {
        var bytes = File.ReadAllBytes(path);
        if (bytes.Length < 10 || !bytes.AsSpan(0, 6).SequenceEqual(Magic))
            throw Fail(path, $"not a .npy file (no \\x93NUMPY magic); save arrays with numpy.save");
        int major = bytes[6];
        long headerLength;
        int offset;
        if (major == 1) { headerLength = BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(8)); offset = 10; }
        else if (major is 2 or 3)
        {
            if (bytes.Length < 12) throw Fail(path, "truncated .npy header");
            headerLength = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(8)); offset = 12;
        }
        else throw Fail(path, $"unsupported .npy format version {major}.{bytes[7]}");
        if (offset + headerLength > bytes.Length) throw Fail(path, "truncated .npy header");
        // Versions 1-2 are latin-1, 3 is UTF-8; either way only ASCII is meaningful here.
        string header = (major == 3 ? Encoding.UTF8 : Encoding.Latin1).GetString(bytes, offset, (int)headerLength).Trim(' ', '\n', '\0');
        string shown = DataErrors.Excerpt(header, 120);
        // A Python dict literal: refuse a header cut short rather than guess what the missing part said.
        if (!header.StartsWith('{') || !header.EndsWith('}')) throw Fail(path, $"malformed .npy header (not a complete {{...}} dictionary): '{shown}'");
        var descr = DescrPattern().Match(header);
        var order = FortranPattern().Match(header);
        var shape = ShapePattern().Match(header);
        if (!descr.Success || !order.Success || !shape.Success) throw Fail(path, $"cannot parse the .npy header '{shown}' (needs 'descr', 'fortran_order' and 'shape')");
        string shapeText = DataErrors.Excerpt(shape.Groups[1].Value);
        var dims = new List<long>();
        foreach (var s in shape.Groups[1].Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!long.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out long d) || d < 0 || d > int.MaxValue)
                throw Fail(path, $"the .npy header has an invalid shape ({shapeText}); dimensions must be non-negative integers");
            dims.Add(d);
        }
        if (dims.Count is 0 or > 2) throw Fail(path, $"the array has shape ({shapeText}); expected 1-D (one column) or 2-D [rows, columns]");
        long rows = dims[0], cols = dims.Count == 2 ? dims[1] : 1;
        if (rows * cols > int.MaxValue / 8) throw Fail(path, $"the array is too large ({rows}×{cols})");
        if (rows == 0 || cols == 0) throw Fail(path, $"the array is empty (shape ({shapeText}))");
        bool fortran = order.Groups[1].Value == "True";
        var (reader, size) = ElementReader(descr.Groups[1].Value, path);
        int dataStart = (int)(offset + headerLength);
        long needed = rows * cols * size;
        if (bytes.Length - dataStart < needed)
            throw Fail(path, $"holds {bytes.Length - dataStart} bytes of data but shape ({shapeText}) of '{DataErrors.Excerpt(descr.Groups[1].Value)}' needs {needed}");
        var values = new double[rows, cols];
        for (long r = 0; r < rows; r++)
            for (long c = 0; c < cols; c++)
            {
                long index = fortran ? c * rows + r : r * cols + c;
                double v = reader(bytes.AsSpan(dataStart + (int)(index * size), size));
                if (!double.IsFinite(v))
                    throw Fail(path, $"row {r + 1}, column {c + 1} is {(double.IsNaN(v) ? "NaN" : "infinite")}; every value must be finite");
                values[r, c] = v;
            }
        var names = Enumerable.Range(1, (int)cols).Select(i => i.ToString(CultureInfo.InvariantCulture)).ToArray();
        return new DataMatrix(path, values, names);
    }

    private static InvalidDataException Fail(string path, string what) => DataErrors.Fail($"{path}: {what}", path);

    private delegate double Element(ReadOnlySpan<byte> b);

    private static (Element Read, int Size) ElementReader(string descr, string path)
    {
        char endian = descr[0];
        string kind = descr[1..];
        bool big = endian == '>';
        if (endian is not ('<' or '>' or '|' or '=')) throw Fail(path, $"unsupported dtype '{DataErrors.Excerpt(descr)}'");
        return kind switch
        {
            "f8" => (b => big ? BinaryPrimitives.ReadDoubleBigEndian(b) : BinaryPrimitives.ReadDoubleLittleEndian(b), 8),
            "f4" => (b => big ? BinaryPrimitives.ReadSingleBigEndian(b) : BinaryPrimitives.ReadSingleLittleEndian(b), 4),
            "f2" => (b => (double)(big ? BinaryPrimitives.ReadHalfBigEndian(b) : BinaryPrimitives.ReadHalfLittleEndian(b)), 2),
            "i8" => (b => big ? BinaryPrimitives.ReadInt64BigEndian(b) : BinaryPrimitives.ReadInt64LittleEndian(b), 8),
            "i4" => (b => big ? BinaryPrimitives.ReadInt32BigEndian(b) : BinaryPrimitives.ReadInt32LittleEndian(b), 4),
            "i2" => (b => big ? BinaryPrimitives.ReadInt16BigEndian(b) : BinaryPrimitives.ReadInt16LittleEndian(b), 2),
            "i1" => (b => (sbyte)b[0], 1),
            "u8" => (b => big ? BinaryPrimitives.ReadUInt64BigEndian(b) : BinaryPrimitives.ReadUInt64LittleEndian(b), 8),
            "u4" => (b => big ? BinaryPrimitives.ReadUInt32BigEndian(b) : BinaryPrimitives.ReadUInt32LittleEndian(b), 4),
            "u2" => (b => big ? BinaryPrimitives.ReadUInt16BigEndian(b) : BinaryPrimitives.ReadUInt16LittleEndian(b), 2),
            "u1" or "b1" => (b => b[0], 1),
            _ => throw Fail(path, $"unsupported dtype '{DataErrors.Excerpt(descr)}' (use float32/float64 or integers)"),
        };
    }

    [GeneratedRegex(@"'descr'\s*:\s*'([^']+)'")]
    private static partial Regex DescrPattern();

    [GeneratedRegex(@"'fortran_order'\s*:\s*(True|False)")]
    private static partial Regex FortranPattern();

    [GeneratedRegex(@"'shape'\s*:\s*\(([^)]*)\)")]
    private static partial Regex ShapePattern();
}
