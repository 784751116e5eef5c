using System.Numerics.Tensors;

namespace MiBounds.Tensors.Optim;

/// <summary>
/// Polyak averaging: an exponential moving average of parameters, avg ← d·avg + (1 − d)·p after each
/// <see cref="Update"/> (the first update copies). With <c>warmup</c> the decay used is min(d, (1 + t)/(10 + t)), so early
/// averages are not dominated by the initial weights. Evaluate with the averaged weights inside <see cref="Apply"/>.
/// </summary>
public sealed class ParameterAverage
{
    private readonly Tensor[] _params, _avg, _backup;
    private bool _swapped;

    /// <summary>The averaged parameters.</summary>
    public IReadOnlyList<Tensor> Parameters => _params;
    /// <summary>Averages, one per parameter.</summary>
    public IReadOnlyList<Tensor> Averages => _avg;
    /// <summary>Decay d.</summary>
    public float Decay { get; }
    /// <summary>Whether the warm-up decay schedule is on.</summary>
    public bool Warmup { get; }
    /// <summary>Number of updates so far.</summary>
    public long UpdateCount { get; set; }

    /// <summary>Tracks <paramref name="parameters"/> with decay <paramref name="decay"/> (e.g. 0.999).</summary>
    public ParameterAverage(IEnumerable<Tensor> parameters, float decay = 0.999f, bool warmup = false)
    {
        if (decay is < 0 or >= 1 || float.IsNaN(decay)) throw new ArgumentOutOfRangeException(nameof(decay), decay, "must be in [0, 1)");
        _params = parameters.ToArray();
        if (_params.Length == 0) throw new ArgumentException("no parameters to average");
        _avg = _params.Select(p => p.Clone()).ToArray();
        _backup = _params.Select(p => Tensor.ZerosLike(p)).ToArray();
        Decay = decay; Warmup = warmup;
        _blocks = new ParameterBlocks(_params);
        _fold = new FoldWork(this);
    }

    /// <summary>Folds the current parameter values into the averages (call after each optimizer step).</summary>
    public void Update()
    {
        if (_swapped) throw new InvalidOperationException("ParameterAverage.Update inside Apply(): the parameters hold the averages");
        _fold.Decay = UpdateCount == 0 ? 0f : Warmup ? MathF.Min(Decay, (1f + UpdateCount) / (10f + UpdateCount)) : Decay;
        UpdateCount++;
        _blocks.Run(_fold);
    }

    private readonly ParameterBlocks _blocks;
    private readonly FoldWork _fold;

    private sealed class FoldWork(ParameterAverage owner) : IPartWork
    {
        public float Decay;

        public void RunPart(int part)
        {
            var (i, start, length) = owner._blocks[part];
            Fold(owner._avg[i].Data.Slice(start, length), owner._params[i].Values.Slice(start, length), Decay);
        }
    }

    // avg = d·avg + (1 − d)·p = p + d·(avg − p), in one pass over both arrays (was a subtract pass and a multiply-add pass,
    // the same two roundings per element).
    private static void Fold(Span<float> a, ReadOnlySpan<float> p, float d)
    {
        int i = 0, n = a.Length;
        if (System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated)
        {
            ref float pa = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(a);
            ref float pp = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(p);
            var vd = System.Runtime.Intrinsics.Vector512.Create(d);
            for (; i <= n - 16; i += 16)
            {
                var pi = System.Runtime.Intrinsics.Vector512.LoadUnsafe(ref pp, (nuint)i);
                var diff = System.Runtime.Intrinsics.Vector512.LoadUnsafe(ref pa, (nuint)i) - pi;
                System.Runtime.Intrinsics.Vector512.StoreUnsafe(diff * vd + pi, ref pa, (nuint)i);
            }
        }
        for (; i < n; i++) a[i] = (a[i] - p[i]) * d + p[i];
    }

    /// <summary>Puts the averages into the parameters until the returned scope is disposed, which restores the trained values.</summary>
    public IDisposable Apply()
    {
        if (_swapped) throw new InvalidOperationException("ParameterAverage.Apply is already active");
        for (int i = 0; i < _params.Length; i++)
        {
            _params[i].Values.CopyTo(_backup[i].Data);
            _avg[i].Values.CopyTo(_params[i].Data);
        }
        _swapped = true;
        return new Scope(this);
    }

    /// <summary>Overwrites the parameters with the averages for good.</summary>
    public void CopyToParameters()
    {
        if (_swapped) throw new InvalidOperationException("inside Apply(): dispose it first");
        for (int i = 0; i < _params.Length; i++) _avg[i].Values.CopyTo(_params[i].Data);
    }

    private void Restore()
    {
        if (!_swapped) return;
        for (int i = 0; i < _params.Length; i++) _backup[i].Values.CopyTo(_params[i].Data);
        _swapped = false;
    }

    /// <summary>The averages by name ("average.&lt;index&gt;") for checkpoints.</summary>
    public IEnumerable<(string Name, Tensor Tensor)> NamedStateTensors()
    {
        for (int i = 0; i < _avg.Length; i++) yield return ($"average.{i}", _avg[i]);
    }

    /// <summary>Saves the averages and the update count (safetensors, atomically).</summary>
    public void SaveState(string path) => SafeTensors.Save(path, NamedStateTensors().ToDictionary(p => p.Name, p => p.Tensor),
        new Dictionary<string, string> { ["updates"] = UpdateCount.ToString(System.Globalization.CultureInfo.InvariantCulture) });

    /// <summary>Loads a state saved by <see cref="SaveState"/>; missing, extra or mis-shaped tensors throw.</summary>
    public void LoadState(string path)
    {
        var (tensors, meta) = SafeTensors.LoadWithMetadata(path);
        var problems = new System.Text.StringBuilder();
        var own = NamedStateTensors().ToDictionary(p => p.Name, p => p.Tensor);
        foreach (var (name, t) in own)
        {
            if (!tensors.TryGetValue(name, out var s)) problems.Append($"\n  missing tensor {name}");
            else if (!s.Shape.AsSpan().SequenceEqual(t.Shape)) problems.Append($"\n  tensor {name}: expected shape {Tensor.ShapeString(t.Shape)}, the file holds {Tensor.ShapeString(s.Shape)}");
        }
        foreach (var k in tensors.Keys.Where(k => !own.ContainsKey(k))) problems.Append($"\n  unexpected tensor {k}");
        if (problems.Length > 0) throw new InvalidDataException($"cannot load {path} into ParameterAverage:{problems}");
        foreach (var (name, t) in own) tensors[name].Values.CopyTo(t.Data);
        if (meta.TryGetValue("updates", out var u)) UpdateCount = long.Parse(u, System.Globalization.CultureInfo.InvariantCulture);
    }

    private sealed class Scope(ParameterAverage owner) : IDisposable
    {
        private ParameterAverage? _owner = owner;
        public void Dispose() { _owner?.Restore(); _owner = null; }
    }
}
