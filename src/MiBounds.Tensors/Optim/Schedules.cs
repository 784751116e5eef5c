namespace MiBounds.Tensors.Optim;

/// <summary>
/// A learning-rate schedule: call <see cref="Step"/> once per step or per epoch (your choice of unit) and it sets
/// <see cref="Optimizer.LearningRate"/> to <see cref="RateAt"/>(count). <see cref="Count"/> can be set to resume.
/// </summary>
public abstract class LearningRateSchedule
{
    private long _count;

    /// <summary>The optimizer whose rate is set.</summary>
    public Optimizer Optimizer { get; }

    /// <summary>The rate at count 0 (the optimizer's rate when the schedule was made, unless given).</summary>
    public float BaseLearningRate { get; }

    /// <summary>Creates the schedule; sets the optimizer's rate to the base rate.</summary>
    protected LearningRateSchedule(Optimizer optimizer, float? baseLearningRate)
    {
        Optimizer = optimizer ?? throw new ArgumentNullException(nameof(optimizer));
        BaseLearningRate = baseLearningRate ?? optimizer.LearningRate;
        if (!(BaseLearningRate > 0) || !float.IsFinite(BaseLearningRate)) throw new ArgumentOutOfRangeException(nameof(baseLearningRate), BaseLearningRate, "must be positive");
        optimizer.LearningRate = BaseLearningRate;
    }

    /// <summary>Number of <see cref="Step"/> calls so far; setting it applies the matching rate.</summary>
    public long Count
    {
        get => _count;
        set
        {
            if (value < 0) throw new ArgumentOutOfRangeException(nameof(value), value, "must be ≥ 0");
            _count = value;
            Optimizer.LearningRate = RateAt(value);
        }
    }

    /// <summary>The rate after <paramref name="count"/> calls of <see cref="Step"/>.</summary>
    public abstract float RateAt(long count);

    /// <summary>Advances one unit (a step or an epoch) and sets the optimizer's rate.</summary>
    public void Step() => Count = _count + 1;
}

/// <summary>lr = base · γ^count.</summary>
public sealed class ExponentialDecay : LearningRateSchedule
{
    /// <summary>Factor per unit.</summary>
    public float Gamma { get; }

    /// <summary>Creates the schedule.</summary>
    public ExponentialDecay(Optimizer optimizer, float gamma, float? baseLearningRate = null) : base(optimizer, baseLearningRate)
    {
        if (!(gamma > 0) || gamma > 1) throw new ArgumentOutOfRangeException(nameof(gamma), gamma, "must be in (0, 1]");
        Gamma = gamma;
    }

    /// <inheritdoc />
    public override float RateAt(long count) => (float)(BaseLearningRate * Math.Pow(Gamma, count));
}

/// <summary>lr = base · γ^⌊count / stepSize⌋ (PyTorch's StepLR).</summary>
public sealed class StepDecay : LearningRateSchedule
{
    /// <summary>Units between decays.</summary>
    public int StepSize { get; }
    /// <summary>Factor per decay.</summary>
    public float Gamma { get; }

    /// <summary>Creates the schedule.</summary>
    public StepDecay(Optimizer optimizer, int stepSize, float gamma = 0.1f, float? baseLearningRate = null) : base(optimizer, baseLearningRate)
    {
        if (stepSize <= 0) throw new ArgumentOutOfRangeException(nameof(stepSize), stepSize, "must be positive");
        if (!(gamma > 0) || gamma > 1) throw new ArgumentOutOfRangeException(nameof(gamma), gamma, "must be in (0, 1]");
        StepSize = stepSize; Gamma = gamma;
    }

    /// <inheritdoc />
    public override float RateAt(long count) => (float)(BaseLearningRate * Math.Pow(Gamma, count / StepSize));
}
