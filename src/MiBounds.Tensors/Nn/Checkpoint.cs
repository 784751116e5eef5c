using System.Text;

namespace MiBounds.Tensors.Nn;

/// <summary>Saving and loading a module's parameters and buffers by name (safetensors files, PyTorch's state-dict names).</summary>
public static class ModuleCheckpoint
{
    /// <summary>Parameters and buffers by dotted name (the tensors themselves, not copies).</summary>
    public static Dictionary<string, Tensor> StateDict(this Module module)
    {
        var d = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (name, t) in module.NamedState())
            if (!d.TryAdd(name, t)) throw new InvalidOperationException($"{module.GetType().Name} has two tensors named {name}");
        return d;
    }

    /// <summary>
    /// Copies <paramref name="state"/> into the module's parameters and buffers, by name. Throws an
    /// <see cref="InvalidDataException"/> listing every missing name, every unexpected name (unless
    /// <paramref name="strict"/> is false) and every shape mismatch (with both shapes); nothing is copied then.
    /// </summary>
    public static void LoadStateDict(this Module module, IReadOnlyDictionary<string, Tensor> state, bool strict = true, string? source = null)
    {
        var own = module.StateDict();
        var problems = new StringBuilder();
        foreach (var (name, t) in own)
        {
            if (!state.TryGetValue(name, out var s)) problems.Append($"\n  missing tensor {name} (shape {Tensor.ShapeString(t._shape)})");
            else if (!t.SameShape(s)) problems.Append($"\n  tensor {name}: the module expects shape {Tensor.ShapeString(t._shape)}, the checkpoint holds {Tensor.ShapeString(s._shape)}");
        }
        if (strict)
            foreach (var name in state.Keys.Where(k => !own.ContainsKey(k)).OrderBy(k => k, StringComparer.Ordinal))
                problems.Append($"\n  unexpected tensor {name} (shape {Tensor.ShapeString(state[name]._shape)}) that the module does not have");
        if (problems.Length > 0)
            throw new InvalidDataException($"cannot load {(source is null ? "the state" : source)} into {module.GetType().Name}:{problems}");
        foreach (var (name, t) in own) state[name].Values.CopyTo(t.Data);
    }

    /// <summary>Saves parameters and buffers to a safetensors file (atomically; see <see cref="SafeTensors.Save"/>).</summary>
    public static void Save(this Module module, string path, IReadOnlyDictionary<string, string>? metadata = null)
        => SafeTensors.Save(path, module.StateDict(), metadata);

    /// <summary>Loads parameters and buffers from a safetensors file written by <see cref="Save"/> (or by PyTorch).</summary>
    public static void Load(this Module module, string path, bool strict = true)
        => module.LoadStateDict(SafeTensors.Load(path), strict, path);
}
