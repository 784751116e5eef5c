using System.Buffers.Binary;
using System.Text;
using System.Text.Json;

namespace MiBounds.Tensors;

/// <summary>
/// Reads and writes the safetensors format (https://github.com/huggingface/safetensors): an 8-byte little-endian header
/// length, a JSON header mapping each name to {"dtype", "shape", "data_offsets"} (plus an optional string-to-string
/// "__metadata__"), then the raw little-endian data. Files written here hold F32 tensors and load in PyTorch with
/// <c>safetensors.torch.load_file</c>; files read here may hold F32, F64, F16 or BF16 (converted to float32).
/// </summary>
public static class SafeTensors
{
    private const string MetadataKey = "__metadata__";
    private const long MaxHeader = 100_000_000;

    /// <summary>
    /// Writes <paramref name="tensors"/> (and optional <paramref name="metadata"/>) to <paramref name="path"/> atomically:
    /// the bytes go to a temporary file in the same folder, which is flushed and then renamed over the target, so an
    /// interrupted save never leaves a partial checkpoint.
    /// </summary>
    public static void Save(string path, IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        AtomicFile.WriteAllBytes(path, Serialize(tensors, metadata));
    }

    /// <summary>The safetensors bytes for <paramref name="tensors"/> (names sorted ordinally, data 8-byte aligned).</summary>
    public static byte[] Serialize(IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        var names = tensors.Keys.ToList();
        names.Sort(StringComparer.Ordinal);
        using var header = new MemoryStream();
        using (var w = new Utf8JsonWriter(header))
        {
            w.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                w.WriteStartObject(MetadataKey);
                foreach (var (k, v) in metadata.OrderBy(p => p.Key, StringComparer.Ordinal)) w.WriteString(k, v);
                w.WriteEndObject();
            }
            long offset = 0;
            foreach (var name in names)
            {
                if (name == MetadataKey) throw new ArgumentException($"a tensor cannot be named {MetadataKey}");
                var t = tensors[name] ?? throw new ArgumentException($"tensor {name} is null");
                w.WriteStartObject(name);
                w.WriteString("dtype", "F32");
                w.WriteStartArray("shape");
                foreach (int d in t._shape) w.WriteNumberValue(d);
                w.WriteEndArray();
                w.WriteStartArray("data_offsets");
                w.WriteNumberValue(offset);
                w.WriteNumberValue(offset + 4L * t.Size);
                w.WriteEndArray();
                w.WriteEndObject();
                offset += 4L * t.Size;
            }
            w.WriteEndObject();
        }
        int headerLen = (int)header.Length;
        int padded = (headerLen + 7) & ~7; // the reference implementation pads the header with spaces to 8 bytes
        long dataLen = names.Sum(n => 4L * tensors[n].Size);
        var bytes = new byte[checked(8 + padded + dataLen)];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)padded);
        header.GetBuffer().AsSpan(0, headerLen).CopyTo(bytes.AsSpan(8));
        bytes.AsSpan(8 + headerLen, padded - headerLen).Fill((byte)' ');
        int pos = 8 + padded;
        foreach (var name in names)
        {
            var v = tensors[name].Values;
            if (BitConverter.IsLittleEndian) System.Runtime.InteropServices.MemoryMarshal.AsBytes(v).CopyTo(bytes.AsSpan(pos));
            else for (int i = 0; i < v.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(pos + 4 * i), v[i]);
            pos += 4 * v.Length;
        }
        return bytes;
    }

    /// <summary>Reads every tensor of a safetensors file (new tensors, not requiring gradients).</summary>
    public static Dictionary<string, Tensor> Load(string path) => LoadWithMetadata(path).Tensors;

    /// <summary>Reads every tensor and the "__metadata__" map (empty when absent).</summary>
    public static (Dictionary<string, Tensor> Tensors, Dictionary<string, string> Metadata) LoadWithMetadata(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"safetensors file {path} does not exist", path);
        try { return Deserialize(File.ReadAllBytes(path)); }
        catch (InvalidDataException e) { throw new InvalidDataException($"{path}: {e.Message}", e); }
    }

    /// <summary>Parses safetensors bytes.</summary>
    public static (Dictionary<string, Tensor> Tensors, Dictionary<string, string> Metadata) Deserialize(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length < 8) throw new InvalidDataException($"not a safetensors file: {bytes.Length} bytes, shorter than the 8-byte header length");
        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        if (n > MaxHeader || (long)n > bytes.Length - 8) throw new InvalidDataException($"not a safetensors file (or truncated): header length {n} with {bytes.Length} bytes in all");
        var data = bytes[(8 + (int)n)..];
        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        JsonDocument doc;
        try { doc = JsonDocument.Parse(bytes.Slice(8, (int)n).ToArray()); }
        catch (JsonException e) { throw new InvalidDataException($"safetensors header is not valid JSON: {e.Message}", e); }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new InvalidDataException("safetensors header is not a JSON object");
            foreach (var entry in doc.RootElement.EnumerateObject())
            {
                if (entry.Name == MetadataKey)
                {
                    if (entry.Value.ValueKind != JsonValueKind.Object) throw new InvalidDataException("__metadata__ is not an object");
                    foreach (var m in entry.Value.EnumerateObject())
                        metadata[m.Name] = m.Value.ValueKind == JsonValueKind.String ? m.Value.GetString()! : m.Value.GetRawText();
                    continue;
                }
                tensors[entry.Name] = ReadTensor(entry.Name, entry.Value, data);
            }
        }
        return (tensors, metadata);
    }

    private static Tensor ReadTensor(string name, JsonElement e, ReadOnlySpan<byte> data)
    {
        try
        {
            string dtype = e.GetProperty("dtype").GetString() ?? "";
            int[] shape = e.GetProperty("shape").EnumerateArray().Select(x => x.GetInt32()).ToArray();
            long[] off = e.GetProperty("data_offsets").EnumerateArray().Select(x => x.GetInt64()).ToArray();
            if (off.Length != 2 || off[0] < 0 || off[1] < off[0] || off[1] > data.Length)
                throw new InvalidDataException($"tensor {name}: data_offsets [{string.Join(", ", off)}] fall outside the {data.Length} data bytes");
            if (shape.Length > Tensor.MaxRank) throw new InvalidDataException($"tensor {name}: rank {shape.Length} (shape {Tensor.ShapeString(shape)}) exceeds the engine's {Tensor.MaxRank}");
            int count = Tensor.ShapeSize(shape);
            int width = dtype switch { "F32" => 4, "F64" => 8, "F16" or "BF16" => 2, _ => throw new InvalidDataException($"tensor {name}: dtype {dtype} is not supported (F32, F64, F16, BF16 are)") };
            if (off[1] - off[0] != (long)count * width)
                throw new InvalidDataException($"tensor {name}: {off[1] - off[0]} bytes for shape {Tensor.ShapeString(shape)} of {dtype} (expected {(long)count * width})");
            var src = data.Slice((int)off[0], (int)(off[1] - off[0]));
            var values = new float[count];
            for (int i = 0; i < count; i++)
            {
                values[i] = dtype switch
                {
                    "F32" => BinaryPrimitives.ReadSingleLittleEndian(src[(4 * i)..]),
                    "F64" => (float)BinaryPrimitives.ReadDoubleLittleEndian(src[(8 * i)..]),
                    "F16" => (float)BinaryPrimitives.ReadHalfLittleEndian(src[(2 * i)..]),
                    _ => BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(src[(2 * i)..]) << 16),
                };
            }
            var t = Tensor.CopyOf(values, shape);
            t.Name = name;
            return t;
        }
        catch (KeyNotFoundException) { throw new InvalidDataException($"tensor {name}: header entry lacks dtype, shape or data_offsets"); }
        catch (InvalidOperationException ex) { throw new InvalidDataException($"tensor {name}: malformed header entry ({ex.Message})", ex); }
        catch (FormatException ex) { throw new InvalidDataException($"tensor {name}: malformed header entry ({ex.Message})", ex); }
    }
}
