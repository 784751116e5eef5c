using System.Buffers.Binary;
using System.IO.Compression;

namespace MiBounds.Vib.Data;

/// <summary>A data file that is missing or malformed; the message names the file.</summary>
public sealed class DataException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>An unsigned-byte IDX array (the MNIST file format): its dimensions and its values, row-major.</summary>
public sealed record IdxArray(int[] Dims, byte[] Data)
{
    /// <summary>Number of items (the first dimension).</summary>
    public int Count => Dims[0];

    /// <summary>Values per item (product of the other dimensions).</summary>
    public int ItemSize => Dims.Skip(1).Aggregate(1, (a, b) => a * b);
}

/// <summary>
/// Reads and writes IDX files: big-endian magic 0x00 0x00 type rank, then rank big-endian int32 dimensions,
/// then the values. Only type 0x08 (unsigned byte) is supported, which is what image/label files use.
/// Files ending in ".gz" are gunzipped (and gzip content is detected by its magic bytes whatever the name).
/// </summary>
public static class Idx
{
    private const byte UnsignedByte = 0x08;

    /// <summary>Reads an IDX file; throws <see cref="DataException"/> naming <paramref name="path"/> if it is missing or corrupt.</summary>
    public static IdxArray Read(string path)
    {
        if (!File.Exists(path)) throw new DataException($"{path}: file not found");
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
            if (bytes.Length >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b)
            {
                using var gz = new GZipStream(new MemoryStream(bytes), CompressionMode.Decompress);
                using var ms = new MemoryStream();
                gz.CopyTo(ms);
                bytes = ms.ToArray();
            }
        }
        catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException)
        {
            throw new DataException($"{path}: cannot read ({e.Message})", e);
        }
        return Parse(bytes, path);
    }

    /// <summary>Parses IDX content; <paramref name="source"/> names it in errors.</summary>
    public static IdxArray Parse(ReadOnlySpan<byte> bytes, string source)
    {
        if (bytes.Length < 4) throw new DataException($"{source}: corrupt IDX file: {bytes.Length} bytes, too short for the 4-byte magic number");
        if (bytes[0] != 0 || bytes[1] != 0) throw new DataException($"{source}: corrupt IDX file: bad magic number 0x{bytes[0]:x2}{bytes[1]:x2}{bytes[2]:x2}{bytes[3]:x2} (expected 0x0000TTRR)");
        if (bytes[2] != UnsignedByte) throw new DataException($"{source}: unsupported IDX value type 0x{bytes[2]:x2} (only unsigned byte, 0x08)");
        int rank = bytes[3];
        if (rank is < 1 or > 4) throw new DataException($"{source}: corrupt IDX file: rank {rank} (expected 1 to 4)");
        int header = 4 + 4 * rank;
        if (bytes.Length < header) throw new DataException($"{source}: corrupt IDX file: truncated header ({bytes.Length} bytes, need {header})");
        var dims = new int[rank];
        long size = 1;
        for (int i = 0; i < rank; i++)
        {
            dims[i] = BinaryPrimitives.ReadInt32BigEndian(bytes.Slice(4 + 4 * i, 4));
            if (dims[i] < 0) throw new DataException($"{source}: corrupt IDX file: negative dimension {dims[i]}");
            size *= dims[i];
        }
        if (size > int.MaxValue) throw new DataException($"{source}: IDX array of {size} values is too large");
        if (bytes.Length - header != size)
            throw new DataException($"{source}: corrupt IDX file: dimensions [{string.Join(", ", dims)}] need {size} bytes of data, found {bytes.Length - header}");
        return new IdxArray(dims, bytes[header..].ToArray());
    }

    /// <summary>Writes an unsigned-byte IDX file, gzipped when <paramref name="path"/> ends in ".gz".</summary>
    public static void Write(string path, int[] dims, ReadOnlySpan<byte> data)
    {
        if (dims.Length is < 1 or > 4) throw new ArgumentException($"IDX rank must be 1 to 4, got {dims.Length}");
        long size = dims.Aggregate(1L, (a, d) => a * d);
        if (size != data.Length) throw new ArgumentException($"dimensions [{string.Join(", ", dims)}] need {size} values, got {data.Length}");
        var buf = new byte[4 + 4 * dims.Length + data.Length];
        buf[2] = UnsignedByte; buf[3] = (byte)dims.Length;
        for (int i = 0; i < dims.Length; i++) BinaryPrimitives.WriteInt32BigEndian(buf.AsSpan(4 + 4 * i), dims[i]);
        data.CopyTo(buf.AsSpan(4 + 4 * dims.Length));
        using var file = File.Create(path);
        if (path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase))
        {
            using var gz = new GZipStream(file, CompressionLevel.Fastest);
            gz.Write(buf);
        }
        else file.Write(buf);
    }
}
