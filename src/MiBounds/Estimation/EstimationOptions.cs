namespace MiBounds.Estimation;

/// <summary>Settings of <see cref="MiEstimation.Estimate(double[,], double[,], EstimationOptions?)"/>; every one has a sane default.</summary>
public sealed record EstimationOptions
{
    /// <summary>
    /// The estimator: "auto" (the default, below), a bound name (<see cref="MiBounds.Bounds.BoundSpec.Accepted"/>),
    /// "club" or "l1out" (upper bounds with a Gaussian q(y | x)), "ksg" (k-nearest neighbours), "gcmi" (Gaussian copula),
    /// "cca" (Gaussian MI of the canonical correlations) or "bmi-infonce" (the BMI benchmark's neural protocol, for
    /// comparison). "auto" trains InfoNCE with a separable critic on the normal scores of every column, evaluates it on
    /// the whole held-out half (so its value is not capped by the training batch's log K), and reports the larger of that
    /// value and GCMI, naming which one (<see cref="EstimationResult.Source"/>) and why. In the BMI-style benchmark
    /// (docs/estimation.md) it was within max(0.1 nats, 15%) of the truth on more tasks than KSG, CCA, GCMI or BMI's protocol.
    /// </summary>
    public string Estimator { get; init; } = DefaultEstimator;

    /// <summary>The default estimator's name.</summary>
    public const string DefaultEstimator = "auto";

    /// <summary>Critic architecture: "separable" (g(x)ᵀh(y), cheap) or "concat" (an MLP on [x, y] for all K² pairs).</summary>
    public string Critic { get; init; } = "separable";

    /// <summary>
    /// Your own critic: called once per fold with the widths of X and Y (after standardization) and the run's generator,
    /// it replaces <see cref="Critic"/>. It gets the same held-out split, early stopping, evaluation in evaluation mode
    /// (dropout off, batch-norm on running statistics: make it a <see cref="MiBounds.Tensors.Nn.Module"/> for that) and
    /// uncertainty as the built-in critics. Works with the critic-based bounds, not with KSG or the upper bounds.
    /// </summary>
    public Func<int, int, MiBounds.Tensors.Rng, MiBounds.Critics.ICritic>? CriticFactory { get; init; }

    /// <summary>Hidden width of the critic's (or q's) MLPs.</summary>
    public int Hidden { get; init; } = 256;

    /// <summary>Hidden layers of the MLPs.</summary>
    public int Layers { get; init; } = 2;

    /// <summary>Embedding width of the separable critic.</summary>
    public int Embed { get; init; } = 32;

    /// <summary>Batch size K for training and for evaluating the bound on held-out data (values depend on K).</summary>
    public int BatchSize { get; init; } = 128;

    /// <summary>
    /// Held-out batch size for evaluating the bound: null uses <see cref="BatchSize"/>, 0 the whole held-out split as one
    /// batch (InfoNCE's ceiling is then log of the held-out rows, not of the training batch).
    /// </summary>
    public int? EvalBatchSize { get; init; }

    /// <summary>
    /// How columns are scaled before estimation (MI is invariant to any strictly increasing map of a column):
    /// "auto" (normal scores for the neural estimators, median/IQR scaling for KSG, standardization for CCA; GCMI always
    /// uses normal scores), "standardize" (mean 0, standard deviation 1), "robust" (median 0, IQR / 1.349 = 1) or
    /// "normal-scores" (Φ⁻¹ of the rank / (N + 1): bounded, so one outlier cannot squash a column).
    /// </summary>
    public string Transform { get; init; } = "auto";

    /// <summary>The accepted <see cref="Transform"/> values.</summary>
    public static readonly string[] Transforms = ["auto", "standardize", "robust", "normal-scores"];

    /// <summary>
    /// Permutations for a p-value of independence (0: none): the held-out value is recomputed with the held-out Y rows
    /// shuffled (the trained critic fixed; KSG, GCMI and CCA are recomputed), and p = (1 + #{permuted ≥ observed}) / (1 + N).
    /// </summary>
    public int Permutations { get; init; }

    /// <summary>No early stop before this many steps (null: none; "auto" uses 1000).</summary>
    public int? MinSteps { get; init; }

    /// <summary>Early stopping compares the mean of the last this many held-out evaluations (null: 3 for "auto", 1, the raw values, otherwise).</summary>
    public int? Smoothing { get; init; }

    /// <summary>
    /// Wall-clock limit of one fold's training in seconds (null: none; "auto" uses 45). Reaching it stops training
    /// like early stopping does (the best state so far is evaluated), with stop reason "time-limit"; results then depend
    /// on the machine's speed.
    /// </summary>
    public double? TimeLimitSeconds { get; init; }

    /// <summary>Training steps (an upper limit: early stopping may end sooner). Null: from <see cref="Epochs"/>, else 2000.</summary>
    public int? Steps { get; init; }

    /// <summary>Passes over the training split, when <see cref="Steps"/> is null.</summary>
    public int? Epochs { get; init; }

    /// <summary>The default step budget.</summary>
    public const int DefaultSteps = 2000;

    /// <summary>Adam learning rate.</summary>
    public float LearningRate { get; init; } = 5e-4f;

    /// <summary>Fraction of rows held out for evaluation (with one fold).</summary>
    public double ValFraction { get; init; } = 0.5;

    /// <summary>
    /// 1: one train/held-out split, uncertainty by bootstrap over held-out batches. k ≥ 2: k-fold cross-fitting (each
    /// fold trains on the other k − 1 parts), mean ± standard error over folds.
    /// </summary>
    public int Folds { get; init; } = 1;

    /// <summary>Steps between held-out evaluations; null: steps / 20, between 1 and 50.</summary>
    public int? EvalEvery { get; init; }

    /// <summary>Stop after this many evaluations without a new best held-out value.</summary>
    public int Patience { get; init; } = 10;

    /// <summary>Random partitions of the held-out rows into batches averaged for the final value.</summary>
    public int EvaluationRepeats { get; init; } = 4;

    /// <summary>Bootstrap replicates for the standard error (one fold).</summary>
    public int BootstrapReplicates { get; init; } = 1000;

    /// <summary>Neighbours for KSG.</summary>
    public int KsgNeighbors { get; init; } = Ksg.DefaultK;

    /// <summary>Seed of every random choice (split, initialization, batches): equal seeds give equal results.</summary>
    public ulong Seed { get; init; } = 1;

    /// <summary>Called after each held-out evaluation (and once per fold at the end).</summary>
    public Action<EstimationProgress>? Progress { get; init; }

    /// <summary>Cancelling stops training; the best checkpoint so far is still evaluated and reported (with a warning).</summary>
    public CancellationToken Cancellation { get; init; }
}

/// <summary>A progress report from <see cref="MiEstimation"/>.</summary>
/// <param name="Fold">0-based fold.</param>
/// <param name="Folds">Number of folds.</param>
/// <param name="Step">Steps taken in this fold.</param>
/// <param name="Steps">Step budget.</param>
/// <param name="TrainNats">Moving average of the training-batch values.</param>
/// <param name="HeldOutNats">The latest held-out value.</param>
/// <param name="BestHeldOutNats">The best held-out value so far.</param>
public readonly record struct EstimationProgress(int Fold, int Folds, int Step, int Steps, double TrainNats, double HeldOutNats, double BestHeldOutNats);
