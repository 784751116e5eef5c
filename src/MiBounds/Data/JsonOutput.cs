using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using MiBounds.Tensors;

namespace MiBounds.Data;

/// <summary>
/// The one way result files are written: System.Text.Json with snake_case property names, indented, and NaN or
/// ±infinity (double or float, also inside nullables and collections) written as null — JSON has no such numbers.
/// <see cref="Deserialize{T}"/> reads null back as NaN where the type is a non-nullable double or float.
/// </summary>
public static class JsonOutput
{
    private static readonly JsonSerializerOptions s_indented = Create(indented: true);
    private static readonly JsonSerializerOptions s_compact = Create(indented: false);

    /// <summary>The serializer options (indented) used by every method here, for callers composing their own calls.</summary>
    public static JsonSerializerOptions Options => s_indented;

    /// <summary>The JSON text of <paramref name="value"/> (no trailing newline).</summary>
    /// <param name="value">A record whose property names, in snake_case, are the JSON field names.</param>
    /// <param name="indented">False gives one line (e.g. a line of standard output).</param>
    public static string Serialize<T>(T value, bool indented = true) => JsonSerializer.Serialize(value, indented ? s_indented : s_compact);

    /// <summary>Writes <paramref name="value"/> and a newline to <paramref name="path"/> atomically (see <see cref="AtomicFile"/>).</summary>
    public static void Write<T>(string path, T value) => AtomicFile.WriteAllText(path, Serialize(value) + "\n");

    /// <summary>Reads JSON written by <see cref="Serialize{T}"/>; null numbers become NaN where the type is double or float.</summary>
    /// <exception cref="JsonException">The text does not match <typeparamref name="T"/>.</exception>
    public static T Deserialize<T>(string json) =>
        JsonSerializer.Deserialize<T>(json, s_indented) ?? throw new JsonException($"the JSON is null, expected {typeof(T).Name}");

    private static JsonSerializerOptions Create(bool indented)
    {
        var o = new JsonSerializerOptions
        {
            WriteIndented = indented,
            PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
            // Warnings hold '+', '<', '≥': write them as they are, not as \u escapes.
            Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
            Converters = { new NonFiniteAsNullDouble(), new NonFiniteAsNullSingle() },
        };
        o.MakeReadOnly(populateMissingResolver: true);
        return o;
    }

    // Nullable<double> and collections reuse these element converters, so the rule lives only here.
    private sealed class NonFiniteAsNullDouble : JsonConverter<double>
    {
        public override bool HandleNull => true;

        public override double Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            reader.TokenType == JsonTokenType.Null ? double.NaN : reader.GetDouble();

        public override void Write(Utf8JsonWriter writer, double value, JsonSerializerOptions options)
        {
            if (double.IsFinite(value)) writer.WriteNumberValue(value);
            else writer.WriteNullValue();
        }
    }

    private sealed class NonFiniteAsNullSingle : JsonConverter<float>
    {
        public override bool HandleNull => true;

        public override float Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            reader.TokenType == JsonTokenType.Null ? float.NaN : reader.GetSingle();

        public override void Write(Utf8JsonWriter writer, float value, JsonSerializerOptions options)
        {
            if (float.IsFinite(value)) writer.WriteNumberValue(value);
            else writer.WriteNullValue();
        }
    }
}
