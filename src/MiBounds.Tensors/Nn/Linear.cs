namespace MiBounds.Tensors.Nn;

/// <summary>Affine layer y = x·Wᵀ + b with W of shape [out, in] (PyTorch's layout).</summary>
public sealed class Linear : Module, IForward
{
    /// <summary>Weight, [out, in].</summary>
    public Tensor Weight { get; }
    /// <summary>Bias, [out], or null.</summary>
    public Tensor? Bias { get; }
    /// <summary>Input width.</summary>
    public int InFeatures { get; }
    /// <summary>Output width.</summary>
    public int OutFeatures { get; }

    /// <summary>Glorot-uniform weights and zero bias.</summary>
    public Linear(int inFeatures, int outFeatures, Rng rng, bool bias = true)
    {
        if (inFeatures <= 0 || outFeatures <= 0) throw new ArgumentException($"Linear needs positive sizes, got {inFeatures}→{outFeatures}");
        InFeatures = inFeatures; OutFeatures = outFeatures;
        float limit = MathF.Sqrt(6f / (inFeatures + outFeatures));
        Weight = RegisterParameter("weight", Tensor.RandomUniform(rng, [outFeatures, inFeatures], -limit, limit));
        if (bias) Bias = RegisterParameter("bias", Tensor.Zeros(outFeatures));
    }

    /// <summary>When true (or when <see cref="Engine.CheckFinite"/> is), a non-finite input or output throws, naming this layer.</summary>
    public bool CheckFinite { get; set; }

    /// <summary>Applies the layer to [N, in] input.</summary>
    public Tensor Forward(Tensor input)
    {
        if (!CheckFinite && !Engine.CheckFinite) return Tensor.Linear(input, Weight, Bias);
        input.EnsureFinite($"Linear({InFeatures}→{OutFeatures}) input");
        return Tensor.Linear(input, Weight, Bias).EnsureFinite($"Linear({InFeatures}→{OutFeatures}) output");
    }
}

/// <summary>
/// Multi-layer perceptron: [Linear(hidden) + activation] × layers, then a linear output layer.
/// Glorot-uniform weights, zero biases (the toy setup of Poole et al.).
/// </summary>
public sealed class Mlp : Module, IForward
{
    private readonly Linear[] _layers;

    /// <summary>The hidden activation.</summary>
    public Activation Activation { get; }

    /// <summary>The layers, hidden ones first, output last.</summary>
    public IReadOnlyList<Linear> Layers => _layers;

    /// <summary>Every layer's weight, in order (the same tensors as <see cref="Layers"/>' weights).</summary>
    public IReadOnlyList<Tensor> Weights => _weights ??= Array.ConvertAll(_layers, l => l.Weight);

    /// <summary>Every layer's bias (null for a layer without one), in order.</summary>
    public IReadOnlyList<Tensor?> Biases => _biases ??= Array.ConvertAll(_layers, l => l.Bias);

    private Tensor[]? _weights;
    private Tensor?[]? _biases;

    /// <summary>Whether any layer checks its values for NaN/∞ (<see cref="Linear.CheckFinite"/>).</summary>
    public bool AnyLayerChecksFinite
    {
        get
        {
            foreach (var l in _layers) if (l.CheckFinite) return true;
            return false;
        }
    }

    /// <summary>Input width.</summary>
    public int InFeatures => _layers[0].InFeatures;

    /// <summary>Output width.</summary>
    public int OutFeatures => _layers[^1].OutFeatures;

    /// <summary>Builds in→hidden→…→hidden→out with <paramref name="hiddenLayers"/> hidden layers.</summary>
    public Mlp(int inFeatures, int hidden, int outFeatures, int hiddenLayers, Rng rng, Activation activation = Activation.Relu)
    {
        if (hiddenLayers < 0) throw new ArgumentOutOfRangeException(nameof(hiddenLayers), hiddenLayers, "must be ≥ 0");
        Activation = activation;
        _layers = new Linear[hiddenLayers + 1];
        int d = inFeatures;
        for (int i = 0; i < hiddenLayers; i++)
        {
            _layers[i] = RegisterModule($"layers.{i}", new Linear(d, hidden, rng));
            d = hidden;
        }
        _layers[hiddenLayers] = RegisterModule($"layers.{hiddenLayers}", new Linear(d, outFeatures, rng));
    }

    /// <summary>Applies the network to [N, in] input.</summary>
    public Tensor Forward(Tensor input)
    {
        var h = input;
        for (int i = 0; i < _layers.Length - 1; i++) h = Activation.Apply(_layers[i].Forward(h));
        return _layers[^1].Forward(h);
    }
}

/// <summary>Applies modules one after another.</summary>
public sealed class Sequential : Module, IForward
{
    private readonly List<Func<Tensor, Tensor>> _steps = [];

    /// <summary>Builds an empty chain; add steps with <see cref="Add(Module)"/> and <see cref="Add(Func{Tensor, Tensor})"/>.</summary>
    public Sequential() { }

    /// <summary>Appends a module (registered as a child named by its position).</summary>
    public Sequential Add(Module module)
    {
        if (module is not IForward f) throw new ArgumentException($"{module.GetType().Name} has no single-input Forward");
        RegisterModule(_steps.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), module);
        _steps.Add(f.Forward);
        return this;
    }

    /// <summary>Appends a parameter-free function (an activation, a reshape).</summary>
    public Sequential Add(Func<Tensor, Tensor> function)
    {
        _steps.Add(function);
        return this;
    }

    /// <summary>Applies every step in order.</summary>
    public Tensor Forward(Tensor input)
    {
        var h = input;
        foreach (var s in _steps) h = s(h);
        return h;
    }
}
