using System.Numerics.Tensors;

namespace MiBounds.Tensors.Optim;

/// <summary>Base of the optimizers: a fixed list of parameters and a learning rate.</summary>
public abstract class Optimizer
{
    /// <summary>The parameters updated by <see cref="Step"/>.</summary>
    public IReadOnlyList<Tensor> Parameters { get; }

    /// <summary>Current learning rate (schedules change it).</summary>
    public float LearningRate { get; set; }

    /// <summary>Takes the parameters to optimize.</summary>
    protected Optimizer(IEnumerable<Tensor> parameters, float learningRate)
    {
        Parameters = parameters.ToArray();
        if (Parameters.Count == 0) throw new ArgumentException("no parameters to optimize");
        foreach (var p in Parameters)
            if (!p.RequiresGrad) throw new ArgumentException($"parameter {p.Name ?? "(unnamed)"} does not require gradients");
        if (!(learningRate > 0) || !float.IsFinite(learningRate)) throw new ArgumentOutOfRangeException(nameof(learningRate), learningRate, "must be positive and finite");
        LearningRate = learningRate;
    }

    /// <summary>Applies one update from the accumulated gradients (parameters without a gradient are skipped).</summary>
    public abstract void Step();

    /// <summary>Zeroes every parameter's gradient.</summary>
    public void ZeroGrad()
    {
        foreach (var p in Parameters) p.ZeroGrad();
    }
}

/// <summary>Adam (Kingma and Ba) with bias correction and optional decoupled weight decay (AdamW).</summary>
public sealed class Adam : Optimizer
{
    private readonly Tensor[] _m, _v;

    /// <summary>Exponential decay of the first moment.</summary>
    public float Beta1 { get; }
    /// <summary>Exponential decay of the second moment.</summary>
    public float Beta2 { get; }
    /// <summary>Added to the denominator for stability.</summary>
    public float Epsilon { get; }
    /// <summary>Decoupled weight decay per step (0 for none).</summary>
    public float WeightDecay { get; }
    /// <summary>Number of steps taken (for bias correction).</summary>
    public long StepCount { get; set; }

    /// <summary>First-moment estimates, one per parameter (checkpoint state).</summary>
    public IReadOnlyList<Tensor> FirstMoments => _m;
    /// <summary>Second-moment estimates, one per parameter (checkpoint state).</summary>
    public IReadOnlyList<Tensor> SecondMoments => _v;

    /// <summary>Creates the optimizer; defaults follow PyTorch.</summary>
    public Adam(IEnumerable<Tensor> parameters, float learningRate = 1e-3f, float beta1 = 0.9f, float beta2 = 0.999f,
        float epsilon = 1e-8f, float weightDecay = 0f) : base(parameters, learningRate)
    {
        if (beta1 is < 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(beta1), beta1, "must be in [0, 1)");
        if (beta2 is < 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(beta2), beta2, "must be in [0, 1)");
        Beta1 = beta1; Beta2 = beta2; Epsilon = epsilon; WeightDecay = weightDecay;
        _m = Parameters.Select(p => Tensor.ZerosLike(p)).ToArray();
        _v = Parameters.Select(p => Tensor.ZerosLike(p)).ToArray();
    }

    /// <inheritdoc />
    public override void Step()
    {
        StepCount++;
        float bc1 = 1f - MathF.Pow(Beta1, StepCount), bc2 = 1f - MathF.Pow(Beta2, StepCount);
        float stepSize = LearningRate / bc1;
        float invSqrtBc2 = 1f / MathF.Sqrt(bc2);
        for (int i = 0; i < Parameters.Count; i++)
        {
            var p = Parameters[i];
            if (p.Grad is null) continue;
            var g = p.Grad.Values; var m = _m[i].Data; var v = _v[i].Data; var w = p.Data;
            if (WeightDecay != 0) TensorPrimitives.Multiply(w, 1f - LearningRate * WeightDecay, w);
            for (int j = 0; j < w.Length; j++)
            {
                float gj = g[j];
                float mj = m[j] = Beta1 * m[j] + (1f - Beta1) * gj;
                float vj = v[j] = Beta2 * v[j] + (1f - Beta2) * gj * gj;
                w[j] -= stepSize * mj / (MathF.Sqrt(vj) * invSqrtBc2 + Epsilon);
            }
        }
    }
}
