using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using MiBounds.Tensors;

namespace MiBounds.Vib;

/// <summary>
/// Polyak averaging: an exponential moving average of parameters, avg ← d·avg + (1 − d)·θ after each step,
/// swapped in for evaluation. (The engine had no parameter EMA when this was written.)
/// </summary>
internal sealed class ParameterAverage
{
    private readonly Tensor[] _parameters;
    private readonly Tensor[] _average;
    private Tensor[]? _saved;

    public float Decay { get; }

    /// <summary>The averaged copies, in parameter order (checkpoint state).</summary>
    public IReadOnlyList<Tensor> Averages => _average;

    public ParameterAverage(IEnumerable<Tensor> parameters, float decay)
    {
        if (decay is < 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(decay), decay, "must be in [0, 1)");
        _parameters = parameters.ToArray();
        _average = _parameters.Select(p => p.Clone()).ToArray();
        Decay = decay;
    }

    public void Update()
    {
        for (int i = 0; i < _parameters.Length; i++)
        {
            var a = _average[i].Data;
            // avg = d·avg + (1−d)·θ
            TensorPrimitives.Multiply(a, Decay, a);
            TensorPrimitives.MultiplyAdd(_parameters[i].Values, 1f - Decay, a, a);
        }
    }

    /// <summary>Puts the averages into the parameters until the returned scope is disposed.</summary>
    public IDisposable Apply()
    {
        if (_saved is not null) throw new InvalidOperationException("averaged weights are already applied");
        _saved = _parameters.Select(p => p.Clone()).ToArray();
        for (int i = 0; i < _parameters.Length; i++) _parameters[i].CopyFrom(_average[i]);
        return new Scope(this);
    }

    private void Restore()
    {
        for (int i = 0; i < _parameters.Length; i++) _parameters[i].CopyFrom(_saved![i]);
        _saved = null;
    }

    private sealed class Scope(ParameterAverage owner) : IDisposable
    {
        private bool _done;
        public void Dispose() { if (!_done) { _done = true; owner.Restore(); } }
    }
}
