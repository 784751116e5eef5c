using System.Globalization;
using System.Numerics.Tensors;
using System.Text;

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
        Blocks = new ParameterBlocks(Parameters);
        _zero = new ZeroWork(this);
    }

    /// <summary>The parameters cut into blocks for elementwise passes over the engine's threads.</summary>
    private protected ParameterBlocks Blocks { get; }

    private readonly ZeroWork _zero;

    /// <summary>Applies one update from the accumulated gradients (parameters without a gradient are skipped).</summary>
    public abstract void Step();

    /// <summary>Zeroes every parameter's gradient (split over the engine's threads when the parameters are large).</summary>
    public void ZeroGrad() => Blocks.Run(_zero);

    private sealed class ZeroWork(Optimizer owner) : IPartWork
    {
        public void RunPart(int part)
        {
            var (i, start, length) = owner.Blocks[part];
            owner.Parameters[i].Grad?.Data.Slice(start, length).Clear();
        }
    }

    // ---------- checkpoint state ----------

    /// <summary>
    /// The optimizer's tensor state by name (the tensors themselves): per-parameter buffers are named
    /// "&lt;kind&gt;.&lt;parameter index&gt;", e.g. "m.0", "v.0" for Adam and "velocity.0" for Sgd.
    /// </summary>
    public virtual IEnumerable<(string Name, Tensor Tensor)> NamedStateTensors() => [];

    /// <summary>Scalar state as invariant strings (type, learning rate, step counts), exact for any step count.</summary>
    public virtual IReadOnlyDictionary<string, string> StateScalars() => new Dictionary<string, string>
    {
        ["optimizer"] = GetType().Name,
        ["learning_rate"] = LearningRate.ToString("R", CultureInfo.InvariantCulture),
        ["parameters"] = Parameters.Count.ToString(CultureInfo.InvariantCulture),
    };

    /// <summary>Restores scalar state written by <see cref="StateScalars"/> (after the tensors were checked).</summary>
    protected virtual void LoadScalars(IReadOnlyDictionary<string, string> scalars)
    {
        if (scalars.TryGetValue("learning_rate", out var lr)) LearningRate = float.Parse(lr, CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// Restores the state from named tensors and scalars (as saved). Throws an <see cref="InvalidDataException"/> naming
    /// every missing, unexpected or mis-shaped tensor, or a different optimizer type or parameter count; nothing changes then.
    /// </summary>
    public void LoadState(IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string> scalars, string? source = null)
    {
        var problems = new StringBuilder();
        if (scalars.TryGetValue("optimizer", out var type) && type != GetType().Name)
            problems.Append($"\n  the state belongs to {type}, not {GetType().Name}");
        if (scalars.TryGetValue("parameters", out var count) && count != Parameters.Count.ToString(CultureInfo.InvariantCulture))
            problems.Append($"\n  the state covers {count} parameters, this optimizer has {Parameters.Count}");
        var own = NamedStateTensors().ToDictionary(p => p.Name, p => p.Tensor, StringComparer.Ordinal);
        foreach (var (name, t) in own)
        {
            if (!tensors.TryGetValue(name, out var s)) problems.Append($"\n  missing tensor {name} (shape {Tensor.ShapeString(t.Shape)})");
            else if (!s.Shape.AsSpan().SequenceEqual(t.Shape)) problems.Append($"\n  tensor {name}: expected shape {Tensor.ShapeString(t.Shape)}, the state holds {Tensor.ShapeString(s.Shape)}");
        }
        foreach (var name in tensors.Keys.Where(k => !own.ContainsKey(k)).OrderBy(k => k, StringComparer.Ordinal))
            problems.Append($"\n  unexpected tensor {name}");
        if (problems.Length > 0) throw new InvalidDataException($"cannot load {source ?? "the optimizer state"} into {GetType().Name}:{problems}");
        foreach (var (name, t) in own) tensors[name].Values.CopyTo(t.Data);
        LoadScalars(scalars);
    }

    /// <summary>Saves the state to a safetensors file (tensors, with the scalars in "__metadata__"), atomically.</summary>
    public void SaveState(string path) => SafeTensors.Save(path, NamedStateTensors().ToDictionary(p => p.Name, p => p.Tensor, StringComparer.Ordinal), StateScalars());

    /// <summary>Loads a state saved by <see cref="SaveState"/>.</summary>
    public void LoadState(string path)
    {
        var (tensors, meta) = SafeTensors.LoadWithMetadata(path);
        LoadState(tensors, meta, path);
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
        _update = new UpdateWork(this);
    }

    // One Adam update, SIMD over Vector<float> with a scalar tail; each lane does the same IEEE operations as the scalar loop.
    private static void AdamUpdate(Span<float> w, ReadOnlySpan<float> g, Span<float> m, Span<float> v,
        float beta1, float beta2, float eps, float stepSize, float invSqrtBc2)
    {
        if (System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated)
        {
            // 16 lanes; identical per-lane arithmetic.
            FusedAdam.Update(w, g, m, v, beta1, beta2, stepSize, invSqrtBc2, eps);
            return;
        }
        int j = 0;
        if (System.Numerics.Vector.IsHardwareAccelerated)
        {
            int width = System.Numerics.Vector<float>.Count;
            var b1 = new System.Numerics.Vector<float>(beta1); var c1 = new System.Numerics.Vector<float>(1f - beta1);
            var b2 = new System.Numerics.Vector<float>(beta2); var c2 = new System.Numerics.Vector<float>(1f - beta2);
            var ve = new System.Numerics.Vector<float>(eps); var vs = new System.Numerics.Vector<float>(stepSize);
            var vb = new System.Numerics.Vector<float>(invSqrtBc2);
            for (; j <= w.Length - width; j += width)
            {
                var gj = new System.Numerics.Vector<float>(g.Slice(j));
                var mj = b1 * new System.Numerics.Vector<float>(m.Slice(j)) + c1 * gj;
                var vj = b2 * new System.Numerics.Vector<float>(v.Slice(j)) + c2 * gj * gj;
                mj.CopyTo(m.Slice(j)); vj.CopyTo(v.Slice(j));
                var wj = new System.Numerics.Vector<float>(w.Slice(j)) - vs * mj / (System.Numerics.Vector.SquareRoot(vj) * vb + ve);
                wj.CopyTo(w.Slice(j));
            }
        }
        for (; j < w.Length; j++)
        {
            float gj = g[j];
            float mj = m[j] = beta1 * m[j] + (1f - beta1) * gj;
            float vj = v[j] = beta2 * v[j] + (1f - beta2) * gj * gj;
            w[j] -= stepSize * mj / (MathF.Sqrt(vj) * invSqrtBc2 + eps);
        }
    }

    /// <inheritdoc />
    public override IEnumerable<(string Name, Tensor Tensor)> NamedStateTensors()
    {
        for (int i = 0; i < _m.Length; i++) yield return ($"m.{i}", _m[i]);
        for (int i = 0; i < _v.Length; i++) yield return ($"v.{i}", _v[i]);
    }

    /// <inheritdoc />
    public override IReadOnlyDictionary<string, string> StateScalars()
    {
        var d = new Dictionary<string, string>(base.StateScalars())
        {
            ["step"] = StepCount.ToString(CultureInfo.InvariantCulture),
        };
        return d;
    }

    /// <inheritdoc />
    protected override void LoadScalars(IReadOnlyDictionary<string, string> scalars)
    {
        base.LoadScalars(scalars);
        if (scalars.TryGetValue("step", out var s)) StepCount = long.Parse(s, CultureInfo.InvariantCulture);
    }

    /// <inheritdoc />
    public override void Step()
    {
        StepCount++;
        float bc1 = 1f - MathF.Pow(Beta1, StepCount), bc2 = 1f - MathF.Pow(Beta2, StepCount);
        _update.StepSize = LearningRate / bc1;
        _update.InvSqrtBc2 = 1f / MathF.Sqrt(bc2);
        _update.Decay = 1f - LearningRate * WeightDecay;
        Blocks.Run(_update);
    }

    private readonly UpdateWork _update;

    private sealed class UpdateWork(Adam owner) : IPartWork
    {
        public float StepSize, InvSqrtBc2, Decay;

        public void RunPart(int part)
        {
            var o = owner;
            var (i, start, length) = o.Blocks[part];
            var p = o.Parameters[i];
            if (p.Grad is null) return;
            var w = p.Data.Slice(start, length);
            if (o.WeightDecay != 0) TensorPrimitives.Multiply(w, Decay, w);
            AdamUpdate(w, p.Grad.Values.Slice(start, length), o._m[i].Data.Slice(start, length), o._v[i].Data.Slice(start, length),
                o.Beta1, o.Beta2, o.Epsilon, StepSize, InvSqrtBc2);
        }
    }
}
