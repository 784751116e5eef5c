using MiBounds.Tensors;
using MiBounds.Tensors.Optim;

namespace MiBounds.Vib;

/// <summary>
/// Per-epoch training state: parameters, their Polyak averages, Adam's moments and step count, the RNG state and
/// the number of finished epochs. Written to a temporary file and renamed, so an interruption leaves the previous one.
/// </summary>
internal static class Checkpoint
{
    private const uint Magic = 0x4B434956; // "VICK"
    public const string FileName = "checkpoint.bin";

    public static void Save(string path, int epochsDone, VibNetwork net, ParameterAverage average, Adam adam, Rng rng)
    {
        var tmp = path + ".tmp";
        using (var w = new BinaryWriter(File.Create(tmp)))
        {
            w.Write(Magic);
            w.Write(epochsDone);
            w.Write(adam.StepCount);
            foreach (var word in rng.GetState()) w.Write(word);
            var tensors = Tensors(net, average, adam);
            w.Write(tensors.Count);
            foreach (var (name, t) in tensors)
            {
                w.Write(name);
                w.Write(t.Size);
                foreach (float v in t.Values) w.Write(v);
            }
        }
        File.Move(tmp, path, overwrite: true);
    }

    /// <summary>Restores a checkpoint into freshly built objects; returns the number of finished epochs.</summary>
    public static int Load(string path, VibNetwork net, ParameterAverage average, Adam adam, Rng rng)
    {
        if (!File.Exists(path)) throw new DataException($"{path}: no checkpoint to resume from");
        try
        {
            using var r = new BinaryReader(File.OpenRead(path));
            if (r.ReadUInt32() != Magic) throw new DataException($"{path}: not a checkpoint (bad magic number)");
            int epochs = r.ReadInt32();
            adam.StepCount = r.ReadInt64();
            var state = new ulong[6];
            for (int i = 0; i < state.Length; i++) state[i] = r.ReadUInt64();
            rng.SetState(state);
            var tensors = Tensors(net, average, adam);
            int count = r.ReadInt32();
            if (count != tensors.Count) throw new DataException($"{path}: holds {count} tensors, this model has {tensors.Count} (different --k or model?)");
            foreach (var (name, t) in tensors)
            {
                string stored = r.ReadString();
                int size = r.ReadInt32();
                if (stored != name || size != t.Size) throw new DataException($"{path}: tensor {stored} ({size} values) does not match {name} ({t.Size} values)");
                var d = t.Data;
                for (int i = 0; i < size; i++) d[i] = r.ReadSingle();
            }
            return epochs;
        }
        catch (EndOfStreamException e) { throw new DataException($"{path}: truncated checkpoint", e); }
    }

    private static List<(string, Tensor)> Tensors(VibNetwork net, ParameterAverage average, Adam adam)
    {
        var list = new List<(string, Tensor)>();
        var named = net.NamedParameters().ToArray();
        for (int i = 0; i < named.Length; i++)
        {
            list.Add((named[i].Name, named[i].Tensor));
            list.Add((named[i].Name + ".polyak", average.Averages[i]));
            list.Add((named[i].Name + ".adam_m", adam.FirstMoments[i]));
            list.Add((named[i].Name + ".adam_v", adam.SecondMoments[i]));
        }
        return list;
    }
}
