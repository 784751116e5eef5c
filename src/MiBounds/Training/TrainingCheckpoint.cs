using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using MiBounds.Tensors;
using MiBounds.Tensors.Nn;
using MiBounds.Tensors.Optim;

namespace MiBounds.Training;

/// <summary>
/// The named tensors and text entries of one training checkpoint, with typed helpers for the parts every run has
/// (modules, optimizers, parameter averages, the RNG). Tensor names are prefixed by their owner ("module.critic.…",
/// "optimizer.m.0", "average.0", "bound.moving_average"); text entries hold scalars exactly (round-trip formatting).
/// </summary>
public sealed class CheckpointState
{
    /// <summary>The tensors by name (the live tensors when saving; fresh copies after loading).</summary>
    public Dictionary<string, Tensor> Tensors { get; } = new(StringComparer.Ordinal);

    /// <summary>Text entries by key (the safetensors "__metadata__" map).</summary>
    public Dictionary<string, string> Text { get; } = new(StringComparer.Ordinal);

    /// <summary>Where the state was read from (for error messages), or null.</summary>
    public string? Source { get; init; }

    private string From => Source ?? "the checkpoint";

    /// <summary>Adds a tensor under <paramref name="name"/> (no copy: it is written when the checkpoint is saved).</summary>
    public void SetTensor(string name, Tensor tensor)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(tensor);
        if (!Tensors.TryAdd(name, tensor)) throw new ArgumentException($"checkpoint tensor {name} is set twice");
    }

    /// <summary>Copies the tensor named <paramref name="name"/> into <paramref name="target"/>; throws naming both shapes when they differ.</summary>
    public void CopyTensor(string name, Tensor target)
    {
        ArgumentNullException.ThrowIfNull(target);
        if (!Tensors.TryGetValue(name, out var t)) throw new InvalidDataException($"{From} lacks tensor {name}");
        if (!t.Shape.AsSpan().SequenceEqual(target.Shape))
            throw new InvalidDataException($"{From}: tensor {name} has shape {Tensor.ShapeString(t.Shape)}, this run expects {Tensor.ShapeString(target.Shape)}");
        t.Values.CopyTo(target.Data);
    }

    /// <summary>Whether a tensor of that name is present.</summary>
    public bool HasTensor(string name) => Tensors.ContainsKey(name);

    /// <summary>Sets a text entry.</summary>
    public void SetText(string key, string value) => Text[key] = value ?? throw new ArgumentNullException(nameof(value));

    /// <summary>A text entry that must be present.</summary>
    public string GetText(string key) => Text.TryGetValue(key, out var v) ? v : throw new InvalidDataException($"{From} lacks the entry {key}");

    /// <summary>Sets an integer entry.</summary>
    public void SetLong(string key, long value) => Text[key] = value.ToString(CultureInfo.InvariantCulture);

    /// <summary>An integer entry that must be present.</summary>
    public long GetLong(string key) => long.TryParse(GetText(key), NumberStyles.Integer, CultureInfo.InvariantCulture, out long v)
        ? v : throw new InvalidDataException($"{From}: entry {key} is not an integer");

    /// <summary>Sets a list of doubles, each written so it reads back bit for bit (NaN and infinities included).</summary>
    public void SetDoubles(string key, ReadOnlySpan<double> values)
    {
        var parts = new string[values.Length];
        for (int i = 0; i < values.Length; i++) parts[i] = values[i].ToString("R", CultureInfo.InvariantCulture);
        Text[key] = string.Join(",", parts);
    }

    /// <summary>A list of doubles written by <see cref="SetDoubles"/>.</summary>
    public double[] GetDoubles(string key)
    {
        string text = GetText(key);
        if (text.Length == 0) return [];
        return text.Split(',').Select(p => double.TryParse(p, NumberStyles.Float, CultureInfo.InvariantCulture, out double v)
            ? v : throw new InvalidDataException($"{From}: entry {key} holds '{p}', not a number")).ToArray();
    }

    /// <summary>Saves a module's parameters and buffers under "<paramref name="prefix"/>.&lt;dotted name&gt;".</summary>
    public void SetModule(string prefix, Module module)
    {
        ArgumentNullException.ThrowIfNull(module);
        foreach (var (name, t) in module.NamedState()) SetTensor($"{prefix}.{name}", t);
    }

    /// <summary>Loads a module saved by <see cref="SetModule"/>; a missing, extra or mis-shaped tensor throws, listing them all.</summary>
    public void LoadModule(string prefix, Module module)
    {
        ArgumentNullException.ThrowIfNull(module);
        module.LoadStateDict(Prefixed(prefix), strict: true, source: Source is null ? $"{prefix}" : $"{Source} ({prefix})");
    }

    /// <summary>Saves an optimizer's tensors under "<paramref name="prefix"/>.…" and its scalars in one JSON entry.</summary>
    public void SetOptimizer(string prefix, Optimizer optimizer)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        foreach (var (name, t) in optimizer.NamedStateTensors()) SetTensor($"{prefix}.{name}", t);
        Text[prefix] = JsonSerializer.Serialize(optimizer.StateScalars());
    }

    /// <summary>Loads an optimizer saved by <see cref="SetOptimizer"/> (same type, same parameter shapes).</summary>
    public void LoadOptimizer(string prefix, Optimizer optimizer)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        var scalars = JsonSerializer.Deserialize<Dictionary<string, string>>(GetText(prefix)) ?? [];
        optimizer.LoadState(Prefixed(prefix), scalars, Source is null ? prefix : $"{Source} ({prefix})");
    }

    /// <summary>Saves a parameter average's tensors and update count.</summary>
    public void SetAverage(string prefix, ParameterAverage average)
    {
        ArgumentNullException.ThrowIfNull(average);
        foreach (var (name, t) in average.NamedStateTensors()) SetTensor($"{prefix}.{name}", t);
        SetLong(prefix + ".updates", average.UpdateCount);
    }

    /// <summary>Loads a parameter average saved by <see cref="SetAverage"/>.</summary>
    public void LoadAverage(string prefix, ParameterAverage average)
    {
        ArgumentNullException.ThrowIfNull(average);
        foreach (var (name, t) in average.NamedStateTensors()) CopyTensor($"{prefix}.{name}", t);
        average.UpdateCount = GetLong(prefix + ".updates");
    }

    /// <summary>Saves a generator's full state.</summary>
    public void SetRng(string key, Rng rng) => Text[key] = string.Join(",", rng.GetState().Select(w => w.ToString(CultureInfo.InvariantCulture)));

    /// <summary>Restores a generator saved by <see cref="SetRng"/>.</summary>
    public void LoadRng(string key, Rng rng)
    {
        var words = GetText(key).Split(',');
        var state = new ulong[words.Length];
        for (int i = 0; i < words.Length; i++)
            if (!ulong.TryParse(words[i], NumberStyles.Integer, CultureInfo.InvariantCulture, out state[i])) throw new InvalidDataException($"{From}: the RNG state {key} is damaged");
        try { rng.SetState(state); }
        catch (ArgumentException e) { throw new InvalidDataException($"{From}: {e.Message}", e); }
    }

    /// <summary>The tensors whose names start with "<paramref name="prefix"/>.", with the prefix removed.</summary>
    public Dictionary<string, Tensor> Prefixed(string prefix)
    {
        string p = prefix + ".";
        return Tensors.Where(kv => kv.Key.StartsWith(p, StringComparison.Ordinal)).ToDictionary(kv => kv.Key[p.Length..], kv => kv.Value, StringComparer.Ordinal);
    }
}

/// <summary>
/// The one checkpoint format of every training run (toy sweep runs, estimation, VIB/VIM, DIM, the hypothesis
/// classifier): a safetensors file with the run's named tensors and, in its metadata, the format name and version, the
/// kind of run, its configuration (JSON) and the text entries of <see cref="CheckpointState"/>. Written atomically
/// (temporary file, flush, rename), so an interruption leaves the previous checkpoint. Loading refuses, in one line
/// naming the difference, a file of another format or version, another kind of run or another configuration.
/// </summary>
public static class TrainingCheckpoint
{
    /// <summary>The value of the "format" entry.</summary>
    public const string FormatName = "mibounds-training-checkpoint";

    /// <summary>The version written and the only one read.</summary>
    public const int FormatVersion = 1;

    /// <summary>The usual file name inside a run folder.</summary>
    public const string FileName = "checkpoint.safetensors";

    private const string FormatKey = "format", VersionKey = "format_version", KindKey = "kind", ConfigurationKey = "configuration";

    /// <summary>Writes <paramref name="state"/> for a run of <paramref name="kind"/> with <paramref name="configuration"/> (a JSON object) to <paramref name="path"/>.</summary>
    public static void Save(string path, string kind, string configuration, CheckpointState state)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentException.ThrowIfNullOrEmpty(kind);
        ArgumentNullException.ThrowIfNull(state);
        var meta = new Dictionary<string, string>(state.Text, StringComparer.Ordinal)
        {
            [FormatKey] = FormatName,
            [VersionKey] = FormatVersion.ToString(CultureInfo.InvariantCulture),
            [KindKey] = kind,
            [ConfigurationKey] = Canonical(configuration, "configuration"),
        };
        SafeTensors.Save(path, state.Tensors, meta);
    }

    /// <summary>
    /// Reads a checkpoint of <paramref name="kind"/> written with <paramref name="configuration"/>; throws an
    /// <see cref="InvalidDataException"/> with one line naming the file and the first difference otherwise.
    /// </summary>
    public static CheckpointState Load(string path, string kind, string configuration)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no checkpoint to resume from", path);
        Dictionary<string, Tensor> tensors;
        Dictionary<string, string> meta;
        try { (tensors, meta) = SafeTensors.LoadWithMetadata(path); }
        catch (InvalidDataException e) { throw new InvalidDataException($"{path} is not a MiBounds training checkpoint ({FirstLine(e.Message)})", e); }
        if (!meta.TryGetValue(FormatKey, out var format) || format != FormatName)
            throw new InvalidDataException($"{path} is a checkpoint of an older or foreign format (no \"{FormatKey}\": \"{FormatName}\" entry); it cannot be resumed: start the run again in a new folder");
        if (!meta.TryGetValue(VersionKey, out var version) || version != FormatVersion.ToString(CultureInfo.InvariantCulture))
            throw new InvalidDataException($"{path} has checkpoint format version {version ?? "(none)"}, this build reads version {FormatVersion}: start the run again in a new folder");
        if (!meta.TryGetValue(KindKey, out var savedKind) || savedKind != kind)
            throw new InvalidDataException($"{path} is a checkpoint of a {savedKind ?? "(unknown)"} run, not of a {kind} run");
        string saved = meta.GetValueOrDefault(ConfigurationKey) ?? "{}";
        if (FirstDifference(saved, Canonical(configuration, "configuration")) is string difference)
            throw new InvalidDataException($"{path} was written by another configuration ({difference}): resume with the same options, or choose another output folder");
        var state = new CheckpointState { Source = path };
        foreach (var (k, v) in tensors) state.Tensors[k] = v;
        foreach (var (k, v) in meta)
            if (k is not (FormatKey or VersionKey or KindKey or ConfigurationKey)) state.Text[k] = v;
        return state;
    }

    /// <summary>
    /// The first property in which two JSON configurations differ, as "name: A in the checkpoint, B now", or null when
    /// they agree (nested objects are compared property by property; names are joined with dots).
    /// </summary>
    public static string? FirstDifference(string checkpointJson, string currentJson)
    {
        var a = JsonNode.Parse(checkpointJson);
        var b = JsonNode.Parse(currentJson);
        return Difference("", a, b);
    }

    private static string? Difference(string path, JsonNode? a, JsonNode? b)
    {
        if (a is JsonObject oa && b is JsonObject ob)
        {
            foreach (var (name, va) in oa)
            {
                string p = path.Length == 0 ? name : $"{path}.{name}";
                if (!ob.TryGetPropertyValue(name, out var vb)) return $"{p}: {Show(va)} in the checkpoint, absent now";
                if (Difference(p, va, vb) is string d) return d;
            }
            foreach (var (name, vb) in ob)
                if (!oa.ContainsKey(name)) return $"{(path.Length == 0 ? name : $"{path}.{name}")}: absent in the checkpoint, {Show(vb)} now";
            return null;
        }
        return JsonNode.DeepEquals(a, b) ? null : $"{(path.Length == 0 ? "configuration" : path)}: {Show(a)} in the checkpoint, {Show(b)} now";
    }

    private static string Show(JsonNode? n) => n is null ? "null" : n.ToJsonString();

    private static string Canonical(string json, string what)
    {
        try { return (JsonNode.Parse(json) as JsonObject ?? throw new ArgumentException($"the {what} must be a JSON object")).ToJsonString(); }
        catch (JsonException e) { throw new ArgumentException($"the {what} is not valid JSON: {e.Message}", e); }
    }

    private static string FirstLine(string s) => s.Split('\n')[0];
}
