using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using MiBounds.Vib.Models;
using MiBounds.Vib.Data;

namespace MiBounds.Vib.Training;

/// <summary>Everything that defines a training run (saved as run.json in the output directory).</summary>
public sealed record TrainConfig
{
    /// <summary>Model kind.</summary>
    public ModelKind Kind { get; init; } = ModelKind.Vib;
    /// <summary>Weight of the KL (VIB) or MMD (VIM) term.</summary>
    public double Beta { get; init; } = 1e-3;
    /// <summary>Bottleneck size K.</summary>
    public int Bottleneck { get; init; } = 256;
    /// <summary>Width of the encoder's two hidden layers.</summary>
    public int Hidden { get; init; } = 1024;
    /// <summary>Standard deviation of the VIM prior N(0, σ²I).</summary>
    public double PriorSigma { get; init; } = 1.0;
    /// <summary>Whether the VIM kernel sums over the scales 0.1…10.</summary>
    public bool MultiScale { get; init; }
    /// <summary>Dropout probability of the dropout baseline.</summary>
    public double DropoutRate { get; init; } = 0.5;
    /// <summary>Number of epochs.</summary>
    public int Epochs { get; init; } = 20;
    /// <summary>Batch size.</summary>
    public int BatchSize { get; init; } = 100;
    /// <summary>Seed of every random draw.</summary>
    public ulong Seed { get; init; } = 1;
    /// <summary>Adam learning rate.</summary>
    public double LearningRate { get; init; } = 1e-4;
    /// <summary>Adam β1.</summary>
    public double AdamBeta1 { get; init; } = 0.5;
    /// <summary>Learning-rate factor applied every <see cref="DecayEvery"/> epochs.</summary>
    public double Decay { get; init; } = 0.97;
    /// <summary>Epochs between learning-rate decays.</summary>
    public int DecayEvery { get; init; } = 2;
    /// <summary>
    /// Polyak (exponential moving average) factor of the evaluation weights, in [0, 1); 0 turns the averaging off, so the
    /// current weights are evaluated (what a decay of 0 would average to) and no average is kept or checkpointed.
    /// </summary>
    public double Polyak { get; init; } = 0.999;
    /// <summary>Posterior samples averaged by the prediction rule.</summary>
    public int EvalSamples { get; init; } = 12;
    /// <summary>How many training images are evaluated after each epoch (0 = all).</summary>
    public int TrainEvalCount { get; init; } = 10000;

    /// <summary>Whether the stochastic encoder predicts a full covariance (mean and Cholesky factor), as the paper's K = 2 model.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] // absent from older runs' JSON, so they still resume
    public bool FullCovariance { get; init; }
    /// <summary>Label-smoothing weight ε of <see cref="ModelKind.LabelSmoothing"/>: targets (1 − ε)·one-hot + ε/classes.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public double LabelSmoothing { get; init; }
    /// <summary>Weight β of the entropy bonus of <see cref="ModelKind.ConfidencePenalty"/>: loss CE − β·H(q(y|z)), in bits.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public double ConfidencePenalty { get; init; }

    /// <summary>The encoder's architecture (the MLP unless a study asks for the convolutional one).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public EncoderKind Encoder { get; init; }

    /// <summary>Short model name used in result records ("vib", "vim", "deterministic", "dropout", "labelsmoothing", "confidencepenalty").</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public string ModelName => Kind.ToString().ToLowerInvariant();

    /// <summary>A label for plots, e.g. "vib K=256 β=0.001".</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public string Label => (Encoder == EncoderKind.Conv ? "conv " : "") + Kind switch
    {
        ModelKind.Vib or ModelKind.Vim => string.Create(CultureInfo.InvariantCulture, $"{ModelName} K={Bottleneck} β={Beta:G3}"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{ModelName} K={Bottleneck}"),
    };

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter() } };

    /// <summary>Serializes to JSON.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>Reads a config written by <see cref="ToJson"/>; <paramref name="source"/> names it in errors.</summary>
    public static TrainConfig FromJson(string json, string source) => JsonFiles.Read<TrainConfig>(json, source, "a run configuration", Json);
}
