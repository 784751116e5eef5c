namespace MiBounds.Tensors.Nn;

/// <summary>
/// 2-D convolution over NCHW input: weight [out, in, k, k] and bias [out], PyTorch's layout and default
/// initialization (both uniform in ±1/√(in·k·k)).
/// </summary>
public sealed class Conv2d : Module, IForward
{
    /// <summary>Weight, [out, in, kh, kw].</summary>
    public Tensor Weight { get; }
    /// <summary>Bias, [out], or null.</summary>
    public Tensor? Bias { get; }
    /// <summary>Input channels.</summary>
    public int InChannels { get; }
    /// <summary>Output channels.</summary>
    public int OutChannels { get; }
    /// <summary>Kernel height.</summary>
    public int KernelHeight { get; }
    /// <summary>Kernel width.</summary>
    public int KernelWidth { get; }
    /// <summary>Stride in both directions.</summary>
    public int Stride { get; }
    /// <summary>Zero padding on every side.</summary>
    public int Padding { get; }
    /// <summary>When true (or when <see cref="Engine.CheckFinite"/> is), a non-finite input or output throws, naming this layer.</summary>
    public bool CheckFinite { get; set; }

    /// <summary>A square kernel of size <paramref name="kernelSize"/>.</summary>
    public Conv2d(int inChannels, int outChannels, int kernelSize, Rng rng, int stride = 1, int padding = 0, bool bias = true)
        : this(inChannels, outChannels, kernelSize, kernelSize, rng, stride, padding, bias) { }

    /// <summary>A kernel of <paramref name="kernelHeight"/>×<paramref name="kernelWidth"/>.</summary>
    public Conv2d(int inChannels, int outChannels, int kernelHeight, int kernelWidth, Rng rng, int stride = 1, int padding = 0, bool bias = true)
    {
        if (inChannels <= 0 || outChannels <= 0 || kernelHeight <= 0 || kernelWidth <= 0)
            throw new ArgumentException($"Conv2d needs positive sizes, got {inChannels}→{outChannels} with kernel {kernelHeight}×{kernelWidth}");
        if (stride < 1) throw new ArgumentOutOfRangeException(nameof(stride), stride, "must be at least 1");
        if (padding < 0) throw new ArgumentOutOfRangeException(nameof(padding), padding, "must be ≥ 0");
        InChannels = inChannels; OutChannels = outChannels; KernelHeight = kernelHeight; KernelWidth = kernelWidth;
        Stride = stride; Padding = padding;
        float bound = 1f / MathF.Sqrt(inChannels * kernelHeight * kernelWidth);
        Weight = RegisterParameter("weight", Tensor.RandomUniform(rng, [outChannels, inChannels, kernelHeight, kernelWidth], -bound, bound));
        if (bias) Bias = RegisterParameter("bias", Tensor.RandomUniform(rng, [outChannels], -bound, bound));
    }

    /// <summary>Applies the convolution to [N, in, H, W] input.</summary>
    public Tensor Forward(Tensor input)
    {
        bool check = CheckFinite || Engine.CheckFinite;
        if (check) input.EnsureFinite($"Conv2d({InChannels}→{OutChannels}) input");
        var y = Tensor.Conv2d(input, Weight, Bias, Stride, Padding);
        if (check) y.EnsureFinite($"Conv2d({InChannels}→{OutChannels}) output");
        return y;
    }
}

/// <summary>
/// Batch normalization for [N, C] (BatchNorm1d) or [N, C, H, W] (BatchNorm2d) input, with learnable γ (weight, ones)
/// and β (bias, zeros) and running statistics exposed as buffers "running_mean" and "running_var" (PyTorch's names),
/// so they are saved with the parameters. Training mode normalizes with batch statistics and updates the running ones.
/// </summary>
public sealed class BatchNorm : Module, IForward
{
    /// <summary>γ, [C] (null when not affine).</summary>
    public Tensor? Weight { get; }
    /// <summary>β, [C] (null when not affine).</summary>
    public Tensor? Bias { get; }
    /// <summary>Running mean, [C].</summary>
    public Tensor RunningMean { get; }
    /// <summary>Running (unbiased) variance, [C].</summary>
    public Tensor RunningVar { get; }
    /// <summary>Number of channels C.</summary>
    public int NumFeatures { get; }
    /// <summary>Weight of each new batch in the running statistics.</summary>
    public float Momentum { get; set; }
    /// <summary>Added to the variance.</summary>
    public float Epsilon { get; }

    /// <summary>Creates the layer for <paramref name="numFeatures"/> channels; defaults follow PyTorch.</summary>
    public BatchNorm(int numFeatures, float momentum = 0.1f, float epsilon = 1e-5f, bool affine = true)
    {
        if (numFeatures <= 0) throw new ArgumentOutOfRangeException(nameof(numFeatures), numFeatures, "must be positive");
        NumFeatures = numFeatures; Momentum = momentum; Epsilon = epsilon;
        if (affine)
        {
            Weight = RegisterParameter("weight", Tensor.Ones(numFeatures));
            Bias = RegisterParameter("bias", Tensor.Zeros(numFeatures));
        }
        RunningMean = RegisterBuffer("running_mean", Tensor.Zeros(numFeatures));
        RunningVar = RegisterBuffer("running_var", Tensor.Ones(numFeatures));
    }

    /// <summary>Normalizes [N, C] or [N, C, H, W] input.</summary>
    public Tensor Forward(Tensor input) => Tensor.BatchNorm(input, Weight, Bias, RunningMean, RunningVar, Training, Momentum, Epsilon);
}

/// <summary>Inverted dropout with its own generator; the identity in evaluation mode.</summary>
public sealed class Dropout : Module, IForward
{
    private readonly Rng _rng;

    /// <summary>Probability of zeroing an element.</summary>
    public float P { get; }

    /// <summary>Creates the layer; <paramref name="rng"/> draws the masks (keep one per run for reproducibility).</summary>
    public Dropout(float p, Rng rng)
    {
        if (p is < 0 or > 1 || float.IsNaN(p)) throw new ArgumentOutOfRangeException(nameof(p), p, "must be in [0, 1]");
        P = p;
        _rng = rng ?? throw new ArgumentNullException(nameof(rng));
    }

    /// <summary>Applies dropout in training mode, the identity otherwise.</summary>
    public Tensor Forward(Tensor input) => input.Dropout(P, _rng, Training);
}

/// <summary>Flattens [N, …] to [N, prod(…)] (a view).</summary>
public sealed class Flatten : Module, IForward
{
    /// <summary>Flattens every axis after the first.</summary>
    public Tensor Forward(Tensor input) => input.Flatten();
}

/// <summary>Reshapes each batch to a fixed per-sample shape: [N, …] → [N, shape…] (a view).</summary>
public sealed class Reshape : Module, IForward
{
    private readonly int[] _shape;

    /// <summary>The per-sample shape (without the batch axis).</summary>
    public IReadOnlyList<int> SampleShape => _shape;

    /// <summary>Creates the layer for a per-sample shape such as (1, 28, 28).</summary>
    public Reshape(params int[] sampleShape)
    {
        if (sampleShape.Length == 0 || sampleShape.Length > Tensor.MaxRank - 1)
            throw new ArgumentException($"Reshape: a per-sample shape of rank 1–{Tensor.MaxRank - 1} is needed, got {Tensor.ShapeString(sampleShape)}");
        _shape = (int[])sampleShape.Clone();
    }

    /// <summary>Reshapes [N, …] to [N, shape…].</summary>
    public Tensor Forward(Tensor input) => input.Reshape([input.Dim(0), .. _shape]);
}

/// <summary>2×2 max pooling with stride 2.</summary>
public sealed class MaxPool2x2 : Module, IForward
{
    /// <summary>Pools [N, C, H, W] to [N, C, H/2, W/2].</summary>
    public Tensor Forward(Tensor input) => input.MaxPool2x2();
}

/// <summary>2×2 average pooling with stride 2.</summary>
public sealed class AvgPool2x2 : Module, IForward
{
    /// <summary>Pools [N, C, H, W] to [N, C, H/2, W/2].</summary>
    public Tensor Forward(Tensor input) => input.AvgPool2x2();
}

/// <summary>An element-wise activation as a module (for <see cref="Sequential"/>).</summary>
public sealed class ActivationLayer(Activation activation) : Module, IForward
{
    /// <summary>The function applied.</summary>
    public Activation Activation { get; } = activation;

    /// <summary>Applies the activation.</summary>
    public Tensor Forward(Tensor input) => Activation.Apply(input);
}
