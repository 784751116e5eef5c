namespace MiBounds.Tensors.Nn;

/// <summary>
/// A trainable component: owns named parameters and child modules, whose parameters are reported
/// with dotted names ("layers.0.weight"), as PyTorch does.
/// </summary>
public abstract class Module
{
    private readonly List<(string name, Tensor tensor)> _parameters = [];
    private readonly List<(string name, Module module)> _children = [];
    private readonly List<(string name, Tensor tensor)> _buffers = [];

    /// <summary>Whether the module is in training mode (affects dropout and batch-norm).</summary>
    public bool Training { get; private set; } = true;

    /// <summary>Registers a parameter under <paramref name="name"/> and marks it as requiring gradients.</summary>
    protected Tensor RegisterParameter(string name, Tensor tensor)
    {
        Tensor.Parameter(tensor, name);
        _parameters.Add((name, tensor));
        return tensor;
    }

    /// <summary>Registers non-trainable state (e.g. running statistics) under <paramref name="name"/>; it is saved with the parameters.</summary>
    protected Tensor RegisterBuffer(string name, Tensor tensor)
    {
        if (!tensor.IsLeaf || tensor.RequiresGrad) throw new ArgumentException($"buffer {name} must be a leaf that does not require gradients");
        tensor.Name = name;
        _buffers.Add((name, tensor));
        return tensor;
    }

    /// <summary>Registers a child module under <paramref name="name"/>.</summary>
    protected T RegisterModule<T>(string name, T module) where T : Module
    {
        _children.Add((name, module));
        return module;
    }

    /// <summary>Every parameter with its dotted name, this module's first, then each child's.</summary>
    public IEnumerable<(string Name, Tensor Tensor)> NamedParameters()
    {
        foreach (var (n, t) in _parameters) yield return (n, t);
        foreach (var (cn, child) in _children)
            foreach (var (n, t) in child.NamedParameters()) yield return ($"{cn}.{n}", t);
    }

    /// <summary>The direct children with their names.</summary>
    public IEnumerable<(string Name, Module Module)> NamedChildren() => _children.Select(c => (c.name, c.module));

    /// <summary>Parameters then buffers, each with its dotted name: everything a checkpoint of this module holds.</summary>
    public IEnumerable<(string Name, Tensor Tensor)> NamedState() => NamedParameters().Concat(NamedBuffers());

    /// <summary>Every parameter, in <see cref="NamedParameters"/> order.</summary>
    public IEnumerable<Tensor> Parameters() => NamedParameters().Select(p => p.Tensor);

    /// <summary>Named non-trainable state (e.g. batch-norm running statistics), saved with the parameters.</summary>
    public virtual IEnumerable<(string Name, Tensor Tensor)> NamedBuffers()
    {
        foreach (var (n, t) in _buffers) yield return (n, t);
        foreach (var (cn, child) in _children)
            foreach (var (n, t) in child.NamedBuffers()) yield return ($"{cn}.{n}", t);
    }

    /// <summary>Number of trainable scalars.</summary>
    public long ParameterCount() => Parameters().Sum(p => (long)p.Size);

    /// <summary>Clears the gradients of every parameter.</summary>
    public void ZeroGrad()
    {
        foreach (var p in Parameters()) p.ZeroGrad();
    }

    /// <summary>Switches this module and its children to training (true) or evaluation (false) mode.</summary>
    public void Train(bool training = true)
    {
        Training = training;
        foreach (var (_, child) in _children) child.Train(training);
    }

    /// <summary>Switches to evaluation mode.</summary>
    public void Eval() => Train(false);

    /// <summary>
    /// Evaluation mode for <paramref name="modules"/> until the returned scope is disposed, which puts each back in the
    /// mode it was in (so scoring a batch never runs dropout or updates batch-norm statistics, whatever the caller's mode).
    /// </summary>
    public static IDisposable Evaluating(IEnumerable<Module> modules)
    {
        ArgumentNullException.ThrowIfNull(modules);
        var previous = modules.Select(m => (m, m.Training)).ToArray();
        foreach (var (m, _) in previous) m.Eval();
        return new ModeScope(previous);
    }

    /// <summary>
    /// Holds this module's parameters constant (<see cref="Tensor.RequiresGrad"/> false) until the returned scope is
    /// disposed, which gives each back its flag. Inside it a backward pass reaches the module's input but computes no
    /// parameter gradient (an attack's gradient with respect to the images skips the weight products), and the
    /// parameters' accumulated gradients stay untouched. Optimizers cannot be built over frozen parameters.
    /// </summary>
    public IDisposable FreezeParameters()
    {
        var frozen = Parameters().Where(p => p.RequiresGrad).ToArray();
        foreach (var p in frozen) p.RequiresGrad = false;
        return new FreezeScope(frozen);
    }

    private sealed class FreezeScope(Tensor[] frozen) : IDisposable
    {
        private Tensor[]? _frozen = frozen;

        public void Dispose()
        {
            if (_frozen is null) return;
            foreach (var p in _frozen) p.RequiresGrad = true;
            _frozen = null;
        }
    }

    private sealed class ModeScope((Module Module, bool Training)[] previous) : IDisposable
    {
        private (Module Module, bool Training)[]? _previous = previous;

        public void Dispose()
        {
            if (_previous is null) return;
            foreach (var (m, training) in _previous) m.Train(training);
            _previous = null;
        }
    }
}

/// <summary>A module with a single input and output.</summary>
public interface IForward
{
    /// <summary>Applies the module.</summary>
    Tensor Forward(Tensor input);
}

/// <summary>Element-wise activation functions for <see cref="Mlp"/>.</summary>
public enum Activation
{
    /// <summary>max(x, 0).</summary>
    Relu,
    /// <summary>Hyperbolic tangent.</summary>
    Tanh,
    /// <summary>Logistic sigmoid.</summary>
    Sigmoid,
    /// <summary>log(1 + eˣ).</summary>
    Softplus,
    /// <summary>No activation.</summary>
    Identity,
}

/// <summary>Applies an <see cref="Activation"/>.</summary>
public static class Activations
{
    /// <summary>Applies <paramref name="activation"/> to <paramref name="x"/>.</summary>
    public static Tensor Apply(this Activation activation, Tensor x) => activation switch
    {
        Activation.Relu => x.Relu(),
        Activation.Tanh => x.Tanh(),
        Activation.Sigmoid => x.Sigmoid(),
        Activation.Softplus => x.Softplus(),
        _ => x,
    };
}
