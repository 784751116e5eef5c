using System.Globalization;
using MiBounds.Tensors;
using MiBounds.Tensors.Nn;
using MiBounds.Tensors.Optim;
using MiBounds.Vib.Data;

namespace MiBounds.Vib.Dim;

/// <summary>
/// One safetensors file holding everything a run needs to continue exactly: a module's parameters and buffers
/// ("model.*"), each optimizer's state ("&lt;optimizer&gt;.*", scalars in the metadata), the RNG state and the number of
/// finished epochs. Written atomically (temporary file, then rename), so an interruption leaves the previous checkpoint.
/// </summary>
public static class TrainingCheckpoint
{
    /// <summary>The checkpoint's file name inside a run directory.</summary>
    public const string FileName = "checkpoint.safetensors";

    /// <summary>Saves the state after <paramref name="epochsDone"/> epochs.</summary>
    public static void Save(string path, int epochsDone, Rng rng, Module model, IReadOnlyList<(string Name, Optimizer Optimizer)> optimizers)
    {
        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (name, t) in model.NamedState()) tensors["model." + name] = t;
        var meta = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["epochs"] = epochsDone.ToString(CultureInfo.InvariantCulture),
            ["rng"] = string.Join(",", rng.GetState().Select(w => w.ToString(CultureInfo.InvariantCulture))),
        };
        foreach (var (opt, o) in optimizers)
        {
            foreach (var (name, t) in o.NamedStateTensors()) tensors[opt + "." + name] = t;
            foreach (var (k, v) in o.StateScalars()) meta[opt + "." + k] = v;
        }
        SafeTensors.Save(path, tensors, meta);
    }

    /// <summary>Restores a checkpoint into freshly built objects of the same shapes; returns the finished epochs.</summary>
    public static int Load(string path, Rng rng, Module model, IReadOnlyList<(string Name, Optimizer Optimizer)> optimizers)
    {
        if (!File.Exists(path)) throw new DataException($"{path}: no checkpoint to resume from");
        Dictionary<string, Tensor> tensors;
        Dictionary<string, string> meta;
        try { (tensors, meta) = SafeTensors.LoadWithMetadata(path); }
        catch (Exception e) when (e is InvalidDataException or IOException or FormatException)
        {
            throw new DataException($"{path}: not a readable checkpoint ({e.Message})", e);
        }
        if (!meta.TryGetValue("epochs", out var epochsText) || !int.TryParse(epochsText, NumberStyles.Integer, CultureInfo.InvariantCulture, out int epochs))
            throw new DataException($"{path}: checkpoint lacks its epoch count");
        if (!meta.TryGetValue("rng", out var rngText)) throw new DataException($"{path}: checkpoint lacks the RNG state");
        var words = rngText.Split(',').Select(w => ulong.Parse(w, CultureInfo.InvariantCulture)).ToArray();
        try
        {
            model.LoadStateDict(Prefixed(tensors, "model."), strict: true, source: path);
            foreach (var (opt, o) in optimizers)
            {
                var scalars = meta.Where(kv => kv.Key.StartsWith(opt + ".", StringComparison.Ordinal)).ToDictionary(kv => kv.Key[(opt.Length + 1)..], kv => kv.Value, StringComparer.Ordinal);
                o.LoadState(Prefixed(tensors, opt + "."), scalars, path);
            }
        }
        catch (InvalidDataException e)
        {
            throw new DataException($"{path}: does not fit this model (were other options used?): {e.Message}", e);
        }
        rng.SetState(words);
        return epochs;
    }

    private static Dictionary<string, Tensor> Prefixed(Dictionary<string, Tensor> all, string prefix) =>
        all.Where(kv => kv.Key.StartsWith(prefix, StringComparison.Ordinal)).ToDictionary(kv => kv.Key[prefix.Length..], kv => kv.Value, StringComparer.Ordinal);
}
