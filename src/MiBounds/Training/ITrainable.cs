using MiBounds.Tensors;
using MiBounds.Tensors.Nn;

namespace MiBounds.Training;

/// <summary>Whether a larger or a smaller evaluation score is better.</summary>
public enum Goal
{
    /// <summary>Larger is better (lower bounds, accuracies).</summary>
    Maximize,
    /// <summary>Smaller is better (losses, upper bounds' fitting losses).</summary>
    Minimize,
}

/// <summary>
/// The batch of one training step: its 0-based global step and epoch, and, when the trainer iterates over a dataset,
/// the dataset rows of the batch. <see cref="Rows"/> is a buffer the trainer reuses: read it during the step only.
/// </summary>
/// <param name="Step">0-based step over the whole run.</param>
/// <param name="Epoch">0-based epoch (0 for sampled batches).</param>
/// <param name="StepInEpoch">0-based step within the epoch (the step itself for sampled batches).</param>
/// <param name="Rows">Dataset row indices of the batch; empty when each step draws a fresh sample.</param>
public readonly record struct TrainingBatch(long Step, int Epoch, int StepInEpoch, int[] Rows);

/// <summary>The result of one evaluation: the score that early stopping ranks, and named metrics for logs and reports.</summary>
/// <param name="Score">The number early stopping compares (its direction is <see cref="ITrainable.Goal"/>).</param>
/// <param name="Metrics">Other values worth recording (may be empty).</param>
public sealed record Evaluation(double Score, IReadOnlyDictionary<string, double> Metrics)
{
    /// <summary>An evaluation with a score only.</summary>
    public Evaluation(double score) : this(score, new Dictionary<string, double>()) { }

    /// <summary>A metric by name, or NaN when absent.</summary>
    public double this[string name] => Metrics.TryGetValue(name, out double v) ? v : double.NaN;
}

/// <summary>
/// What <see cref="Trainer"/> trains: a model supplies its modules, the loss of one step and (optionally) its
/// evaluation and extra checkpoint state; the trainer owns everything else (batching, modes, optimizer steps, the
/// evaluation schedule, early stopping, the non-finite guard, progress, interruption and checkpoints).
/// </summary>
public interface ITrainable
{
    /// <summary>
    /// The model's modules by name: switched to training mode for steps and to evaluation mode for every evaluation,
    /// saved in checkpoints (parameters and buffers, under "module.&lt;name&gt;."). Names must be unique.
    /// </summary>
    IReadOnlyList<(string Name, Module Module)> Modules { get; }

    /// <summary>
    /// The loss to minimize on one batch, a differentiable scalar. Called with the modules in training mode, inside the
    /// step's tensor workspace: do not keep tensors made here past <see cref="AfterStep"/>.
    /// </summary>
    Tensor Loss(in TrainingBatch batch);

    /// <summary>Called after the optimizer step, still inside the step's workspace (e.g. an adversary's own update).</summary>
    void AfterStep(in TrainingBatch batch) { }

    /// <summary>Evaluates the current parameters; called with the modules in evaluation mode and gradients off.</summary>
    Evaluation Evaluate() => throw new NotSupportedException($"{GetType().Name} has no evaluation: leave the trainer's evaluation schedule empty");

    /// <summary>Whether a larger or a smaller <see cref="Evaluation.Score"/> is better.</summary>
    Goal Goal => Goal.Maximize;

    /// <summary>Adds state beyond the modules (a bound's moving average, a second optimizer) to a checkpoint.</summary>
    void SaveState(CheckpointState state) { }

    /// <summary>Restores what <see cref="SaveState"/> added.</summary>
    void LoadState(CheckpointState state) { }
}
