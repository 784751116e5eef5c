using System.Text.Json;
using MiBounds.Data;

namespace MiBounds.Vib.Data;

/// <summary>Reads the JSON files that runs and reproductions write, with errors that name the file.</summary>
public static class JsonFiles
{
    /// <summary>
    /// <paramref name="json"/>, read from <paramref name="source"/>, as a <typeparamref name="T"/> (<paramref name="what"/>
    /// names it in errors, e.g. "a run configuration"), with <paramref name="options"/> or else <see cref="JsonOutput.Options"/>.
    /// </summary>
    /// <exception cref="DataException">The text is not JSON of that shape, or is null.</exception>
    public static T Read<T>(string json, string source, string what, JsonSerializerOptions? options = null)
    {
        try { return JsonSerializer.Deserialize<T>(json, options ?? JsonOutput.Options) ?? throw new DataException($"{source}: null where {what} was expected"); }
        catch (JsonException e) { throw new DataException($"{source}: not {what} ({e.Message})", e); }
    }
}
