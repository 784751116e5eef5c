using System.Numerics.Tensors;

namespace MiBounds.Tensors.Optim;

/// <summary>
/// Stochastic gradient descent with optional (Nesterov) momentum and L2 weight decay, following PyTorch:
/// g ← g + λ·w; v ← μ·v + g; w ← w − lr·(nesterov ? g + μ·v : v).
/// </summary>
public sealed class Sgd : Optimizer
{
    private readonly Tensor[] _velocity;

    /// <summary>Momentum μ (0 for plain SGD).</summary>
    public float Momentum { get; }
    /// <summary>L2 weight decay λ added to the gradient (0 for none).</summary>
    public float WeightDecay { get; }
    /// <summary>Nesterov momentum.</summary>
    public bool Nesterov { get; }
    /// <summary>Number of steps taken.</summary>
    public long StepCount { get; set; }

    /// <summary>Velocity buffers, one per parameter (checkpoint state).</summary>
    public IReadOnlyList<Tensor> Velocities => _velocity;

    /// <summary>Creates the optimizer.</summary>
    public Sgd(IEnumerable<Tensor> parameters, float learningRate, float momentum = 0f, float weightDecay = 0f, bool nesterov = false)
        : base(parameters, learningRate)
    {
        if (momentum is < 0 or >= 1 || float.IsNaN(momentum)) throw new ArgumentOutOfRangeException(nameof(momentum), momentum, "must be in [0, 1)");
        if (weightDecay < 0 || !float.IsFinite(weightDecay)) throw new ArgumentOutOfRangeException(nameof(weightDecay), weightDecay, "must be ≥ 0");
        if (nesterov && momentum == 0) throw new ArgumentException("Nesterov momentum needs momentum > 0");
        Momentum = momentum; WeightDecay = weightDecay; Nesterov = nesterov;
        _velocity = Parameters.Select(p => Tensor.ZerosLike(p)).ToArray();
    }

    /// <inheritdoc />
    public override void Step()
    {
        StepCount++;
        for (int i = 0; i < Parameters.Count; i++)
        {
            var p = Parameters[i];
            if (p.Grad is null) continue;
            var w = p.Data; var g = p.Grad.Values; var v = _velocity[i].Data;
            for (int j = 0; j < w.Length; j++)
            {
                float gj = g[j] + WeightDecay * w[j];
                if (Momentum == 0) { w[j] -= LearningRate * gj; continue; }
                float vj = v[j] = Momentum * v[j] + gj;
                w[j] -= LearningRate * (Nesterov ? gj + Momentum * vj : vj);
            }
        }
    }

    /// <inheritdoc />
    public override IEnumerable<(string Name, Tensor Tensor)> NamedStateTensors()
    {
        for (int i = 0; i < _velocity.Length; i++) yield return ($"velocity.{i}", _velocity[i]);
    }

    /// <inheritdoc />
    public override IReadOnlyDictionary<string, string> StateScalars() => new Dictionary<string, string>(base.StateScalars())
    {
        ["step"] = StepCount.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    /// <inheritdoc />
    protected override void LoadScalars(IReadOnlyDictionary<string, string> scalars)
    {
        base.LoadScalars(scalars);
        if (scalars.TryGetValue("step", out var s)) StepCount = long.Parse(s, System.Globalization.CultureInfo.InvariantCulture);
    }
}
