using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace MiBounds.Toy.Estimation;

/// <summary>
/// Reads a NumPy .npy file (format versions 1–3) holding a 1-D (one column) or 2-D array of floats, integers or
/// booleans in either byte order and either memory order. Problems are <see cref="InvalidDataException"/>s naming the
/// file (and the row and column of a non-finite value).
/// </summary>
internal static partial class NpyMatrixReader
{
    private static readonly byte[] Magic = [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];

    public static DataMatrix Read(string path)
    {
        var bytes = File.ReadAllBytes(path);
        if (bytes.Length < 10 || !bytes.AsSpan(0, 6).SequenceEqual(Magic))
            throw new InvalidDataException($"{path}: not a .npy file (no \\x93NUMPY magic); save arrays with numpy.save");
        int major = bytes[6];
        int headerLength, offset;
        if (major == 1) { headerLength = BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(8)); offset = 10; }
        else if (major is 2 or 3)
        {
            if (bytes.Length < 12) throw new InvalidDataException($"{path}: truncated .npy header");
            headerLength = (int)BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(8)); offset = 12;
        }
        else throw new InvalidDataException($"{path}: unsupported .npy format version {major}.{bytes[7]}");
        if (offset + headerLength > bytes.Length) throw new InvalidDataException($"{path}: truncated .npy header");
        string header = Encoding.UTF8.GetString(bytes, offset, headerLength);
        var descr = DescrPattern().Match(header);
        var order = FortranPattern().Match(header);
        var shape = ShapePattern().Match(header);
        if (!descr.Success || !order.Success || !shape.Success) throw new InvalidDataException($"{path}: cannot parse the .npy header '{header.Trim()}'");
        var dims = shape.Groups[1].Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(s => long.Parse(s, CultureInfo.InvariantCulture)).ToArray();
        if (dims.Length is 0 or > 2) throw new InvalidDataException($"{path}: the array has shape ({shape.Groups[1].Value}); expected 1-D (one column) or 2-D [rows, columns]");
        long rows = dims[0], cols = dims.Length == 2 ? dims[1] : 1;
        if (rows * cols > int.MaxValue / 8) throw new InvalidDataException($"{path}: the array is too large ({rows}×{cols})");
        bool fortran = order.Groups[1].Value == "True";
        var (reader, size) = ElementReader(descr.Groups[1].Value, path);
        int dataStart = offset + headerLength;
        long needed = rows * cols * size;
        if (bytes.Length - dataStart < needed)
            throw new InvalidDataException($"{path}: holds {bytes.Length - dataStart} bytes of data but shape ({rows}, {cols}) of '{descr.Groups[1].Value}' needs {needed}");
        var values = new double[rows, cols];
        for (long r = 0; r < rows; r++)
            for (long c = 0; c < cols; c++)
            {
                long index = fortran ? c * rows + r : r * cols + c;
                double v = reader(bytes.AsSpan(dataStart + (int)(index * size), size));
                if (!double.IsFinite(v))
                    throw new InvalidDataException($"{path}: row {r + 1}, column {c + 1} is {(double.IsNaN(v) ? "NaN" : "infinite")}; every value must be finite");
                values[r, c] = v;
            }
        var names = Enumerable.Range(1, (int)cols).Select(i => i.ToString(CultureInfo.InvariantCulture)).ToArray();
        return new DataMatrix(path, values, names);
    }

    private delegate double Element(ReadOnlySpan<byte> b);

    private static (Element Read, int Size) ElementReader(string descr, string path)
    {
        char endian = descr[0];
        string kind = descr[1..];
        bool big = endian == '>';
        if (endian is not ('<' or '>' or '|' or '=')) throw new InvalidDataException($"{path}: unsupported dtype '{descr}'");
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
            _ => throw new InvalidDataException($"{path}: unsupported dtype '{descr}' (use float32/float64 or integers)"),
        };
    }

    [GeneratedRegex(@"'descr'\s*:\s*'([^']+)'")]
    private static partial Regex DescrPattern();

    [GeneratedRegex(@"'fortran_order'\s*:\s*(True|False)")]
    private static partial Regex FortranPattern();

    [GeneratedRegex(@"'shape'\s*:\s*\(([^)]*)\)")]
    private static partial Regex ShapePattern();
}
