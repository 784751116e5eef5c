using System.Globalization;
using MiBounds.Tensors;
using MiBounds.Tensors.Nn;
using MiBounds.Tensors.Optim;
using MiBounds.Vib.Models;
using MiBounds.Vib.Data;

namespace MiBounds.Vib.Training;

/// <summary>
/// Per-epoch training state in one safetensors file (written atomically by the engine): the network's state dict
/// under "model.", the Polyak averages under "polyak.", Adam's moments under "adam."; the finished epochs, the
/// RNG state, Adam's scalars and the averaging count go in the metadata.
/// </summary>
internal static class Checkpoint
{
    public const string FileName = "checkpoint.safetensors";

    public static void Save(string path, int epochsDone, VibNetwork net, ParameterAverage average, Adam adam, Rng rng)
    {
        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (name, t) in net.StateDict()) tensors["model." + name] = t;
        foreach (var (name, t) in average.NamedStateTensors()) tensors["polyak." + name] = t;
        foreach (var (name, t) in adam.NamedStateTensors()) tensors["adam." + name] = t;
        var meta = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["epochs"] = epochsDone.ToString(CultureInfo.InvariantCulture),
            ["rng"] = string.Join(",", rng.GetState().Select(w => w.ToString(CultureInfo.InvariantCulture))),
            ["polyak_updates"] = average.UpdateCount.ToString(CultureInfo.InvariantCulture),
        };
        foreach (var (k, v) in adam.StateScalars()) meta["adam." + k] = v;
        SafeTensors.Save(path, tensors, meta);
    }

    /// <summary>Restores a checkpoint into freshly built objects; returns the number of finished epochs.</summary>
    public static int Load(string path, VibNetwork net, ParameterAverage average, Adam adam, Rng rng)
    {
        if (!File.Exists(path)) throw new DataException($"{path}: no checkpoint to resume from");
        try
        {
            var (tensors, meta) = SafeTensors.LoadWithMetadata(path);
            Dictionary<string, Tensor> Part(string prefix) => tensors.Where(kv => kv.Key.StartsWith(prefix, StringComparison.Ordinal))
                .ToDictionary(kv => kv.Key[prefix.Length..], kv => kv.Value, StringComparer.Ordinal);
            net.LoadStateDict(Part("model."), strict: true, path);
            adam.LoadState(Part("adam."), meta.Where(kv => kv.Key.StartsWith("adam.", StringComparison.Ordinal)).ToDictionary(kv => kv.Key[5..], kv => kv.Value), path);
            var polyak = Part("polyak.");
            foreach (var (name, t) in average.NamedStateTensors())
            {
                if (!polyak.TryGetValue(name, out var s) || s.Size != t.Size) throw new DataException($"{path}: Polyak average {name} is missing or has the wrong size");
                t.CopyFrom(s.Reshape(t.Shape));
            }
            average.UpdateCount = long.Parse(Meta(meta, "polyak_updates", path), CultureInfo.InvariantCulture);
            rng.SetState(Meta(meta, "rng", path).Split(',').Select(w => ulong.Parse(w, CultureInfo.InvariantCulture)).ToArray());
            return int.Parse(Meta(meta, "epochs", path), CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is InvalidDataException or FormatException or IOException)
        {
            throw new DataException($"{path}: cannot resume: {e.Message}", e);
        }
    }

    private static string Meta(Dictionary<string, string> meta, string key, string path)
        => meta.TryGetValue(key, out var v) ? v : throw new DataException($"{path}: checkpoint metadata lacks '{key}'");
}
