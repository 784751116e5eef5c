namespace MiBounds.Tensors;

public sealed partial class Tensor
{
    /// <summary>
    /// Defines an operation outside the engine: <paramref name="output"/> was computed from <paramref name="inputs"/>
    /// by the caller; <paramref name="backward"/> receives d(loss)/d(output) and must add each input's gradient with
    /// <see cref="AddToGrad"/>. Records nothing when gradients are off or no input requires them.
    /// </summary>
    public static Tensor CustomOp(Tensor output, Action<Tensor> backward, params Tensor[] inputs)
    {
        if (!output.IsLeaf || output.RequiresGrad) throw new ArgumentException("CustomOp needs a fresh output tensor");
        return Record(output, backward, inputs);
    }

    /// <summary>Adds <paramref name="gradient"/> (same size) to this tensor's gradient, if it requires one.</summary>
    public void AddToGrad(ReadOnlySpan<float> gradient) => AccumulateGrad(this, gradient);
}

public sealed partial class Tensor
{
    /// <summary>Within the returned scope (on this thread) operations record history even inside an outer <see cref="NoGrad"/>.</summary>
    public static IDisposable EnableGrad()
    {
        int saved = _noGradDepth;
        _noGradDepth = 0;
        return new RestoreDepth(saved);
    }

    private sealed class RestoreDepth(int saved) : IDisposable
    {
        private bool _done;
        public void Dispose()
        {
            if (_done) return;
            _done = true;
            _noGradDepth = saved;
        }
    }
}
