using MiBounds.Bounds;
using MiBounds.Tensors;
using MiBounds.Tensors.Optim;

namespace MiBounds.Training;

/// <summary>Thrown when a training objective is NaN or infinite; names the step so the run can be diagnosed.</summary>
public sealed class NonFiniteObjectiveException : Exception
{
    /// <summary>The 0-based training step at which it happened.</summary>
    public long Step { get; }

    /// <summary>The estimator's name.</summary>
    public string Estimator { get; }

    /// <summary>Creates the exception.</summary>
    public NonFiniteObjectiveException(string estimator, long step, double objective, double value)
        : base($"{estimator}: the training objective became {objective} (value {value}) at step {step}; lower the learning rate, clip the critic, or pick a more stable bound")
    {
        Step = step;
        Estimator = estimator;
    }
}

/// <summary>
/// Fits an estimator's critic and baseline (or decoder) with Adam: each step draws a batch, records the estimate on it
/// (before the update), and takes one step on loss = −objective. Stops with <see cref="NonFiniteObjectiveException"/>
/// on a non-finite objective.
/// </summary>
public sealed class MiTrainer
{
    /// <summary>The estimator being trained.</summary>
    public IMiEstimator Estimator { get; }

    /// <summary>The optimizer over the estimator's parameters.</summary>
    public Adam Optimizer { get; }

    /// <summary>Steps taken so far.</summary>
    public long StepCount { get; set; }

    /// <summary>Creates the trainer; <paramref name="learningRate"/> defaults to the toy protocol's 5e-4.</summary>
    public MiTrainer(IMiEstimator estimator, float learningRate = 5e-4f)
    {
        Estimator = estimator ?? throw new ArgumentNullException(nameof(estimator));
        var parameters = estimator.Parameters().ToArray();
        if (parameters.Length == 0) throw new ArgumentException($"{estimator.Name} has no trainable parameters (an analytic critic?): use Estimate instead");
        Optimizer = new Adam(parameters, learningRate);
    }

    /// <summary>One training step on <paramref name="batch"/>; returns the bound's value on it before the update (nats).</summary>
    public double Step(Batch batch)
    {
        // The step's intermediate tensors come from pooled buffers returned when the scope ends, so long runs do not churn the GC.
        using var scope = _workspace.Enter();
        Optimizer.ZeroGrad();
        var output = Estimator.Forward(batch, training: true);
        double value = output.Value.Item(), objective = output.Objective.Item();
        if (!double.IsFinite(objective) || !double.IsFinite(value))
            throw new NonFiniteObjectiveException(Estimator.Name, StepCount, objective, value);
        output.Objective.Neg().Backward();
        Optimizer.Step();
        StepCount++;
        return value;
    }

    private readonly TensorWorkspace _workspace = new();

    /// <summary>
    /// Runs <paramref name="steps"/> steps on batches from <paramref name="sampler"/>; returns the per-step estimates.
    /// <paramref name="progress"/> (optional) is called after each step with (step index, estimate).
    /// </summary>
    public double[] Fit(Func<Batch> sampler, int steps, Action<int, double>? progress = null, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(sampler);
        if (steps < 0) throw new ArgumentOutOfRangeException(nameof(steps), steps, "must be ≥ 0");
        var estimates = new double[steps];
        for (int s = 0; s < steps; s++)
        {
            cancellation.ThrowIfCancellationRequested();
            estimates[s] = Step(sampler());
            progress?.Invoke(s, estimates[s]);
        }
        return estimates;
    }

    /// <summary>
    /// Runs <paramref name="epochs"/> passes over a dataset of paired rows (X [N, dx], Y [N, dy]) in shuffled minibatches
    /// of <paramref name="batchSize"/> (a last partial batch with fewer than 2 rows is dropped); returns the per-step estimates.
    /// </summary>
    public List<double> FitDataset(Tensor x, Tensor y, int batchSize, int epochs, Rng rng, Action<int, double>? progress = null, CancellationToken cancellation = default)
    {
        var data = new Batch(x, y); // validates shapes and values once
        int n = data.Size;
        if (batchSize < 2) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "must be at least 2");
        var estimates = new List<double>();
        var order = Enumerable.Range(0, n).ToArray();
        for (int e = 0; e < epochs; e++)
        {
            rng.Shuffle(order.AsSpan());
            for (int start = 0; start + 2 <= n; start += batchSize)
            {
                cancellation.ThrowIfCancellationRequested();
                var idx = order.AsSpan(start, Math.Min(batchSize, n - start)).ToArray();
                double v = Step(new Batch(x.GatherRows(idx), y.GatherRows(idx)));
                estimates.Add(v);
                progress?.Invoke(estimates.Count - 1, v);
            }
        }
        return estimates;
    }
}
