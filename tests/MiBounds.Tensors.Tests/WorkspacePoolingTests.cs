using MiBounds.Tensors.Nn;
using MiBounds.Tensors.Optim;
using MiBounds.TestSupport;

namespace MiBounds.Tensors.Tests;

/// <summary>
/// A workspace also pools tensor objects and graph nodes: reused across scopes, never while live, and the closure-free
/// ops give the same gradients in a workspace (with reused nodes) as without one.
/// </summary>
[Collection(AllocationMeasurements.Name)]
public class WorkspacePoolingTests
{
    private static readonly ReferenceEqualityComparer ByReference = ReferenceEqualityComparer.Instance;

    // A chain of ops on x; every intermediate result is collected.
    private static List<Tensor> Chain(Tensor x, int length)
    {
        var made = new List<Tensor>();
        var h = x;
        for (int i = 0; i < length; i++)
        {
            h = i % 3 == 0 ? h * 1.5f : i % 3 == 1 ? (h + 0.25f).Reshape(h.Shape) : h.Tanh();
            made.Add(h);
        }
        return made;
    }

    [Fact]
    public void TensorObjectsAreReusedAcrossScopesButNeverHandedOutTwiceWhileLive()
    {
        var x = Tensor.Parameter(Tensor.FromArray([0.1f, -0.4f, 0.7f, 2f], 2, 2));
        var ws = new TensorWorkspace();
        List<Tensor> first;
        Tensor kept;
        float[] keptValues;
        using (ws.Enter())
        {
            first = Chain(x, 30);
            // Every live result is its own object with its own values.
            Assert.Equal(first.Count, new HashSet<object>(first, ByReference).Count);
            Assert.True(ws.TensorsInUse >= first.Count);
            var expected = first.Select(t => t.ToArray()).ToArray();
            first[^1].Sum().Backward(); // gradients borrow pooled objects too, and must not disturb the results
            for (int i = 0; i < first.Count; i++) Assert.Equal(expected[i], first[i].ToArray());
            kept = first[^1].Clone(); // a copy leaves the pool's control
            keptValues = kept.ToArray();
        }
        Assert.Equal(0, ws.TensorsInUse);
        // Held past the scope (against the rule), a result is emptied rather than left pointing at recycled storage.
        Assert.All(first, t => Assert.Equal(0, t.Size));
        Assert.Throws<InvalidOperationException>(() => first[^1].Item());

        using (ws.Enter())
        {
            var second = Chain(x, 90); // more objects than the first scope used, results and gradients together
            var set = new HashSet<object>(second, ByReference);
            Assert.Equal(second.Count, set.Count);
            Assert.Contains(second, t => first.Contains(t, ByReference)); // the pool did hand the old objects out again
            Assert.DoesNotContain(kept, set);
            Assert.DoesNotContain(x, set);
        }
        Assert.Equal(keptValues, kept.ToArray());
        Assert.Equal([0.1f, -0.4f, 0.7f, 2f], x.ToArray());
    }

    [Fact]
    public void AnInnerWorkspaceNeverRecyclesTheOuterWorkspacesTensors()
    {
        var x = Tensor.Parameter(Tensor.FromArray([0.5f, -1f, 3f], 3));
        var outer = new TensorWorkspace();
        var inner = new TensorWorkspace();
        using (outer.Enter())
        {
            var mine = Chain(x, 12);
            var values = mine.Select(t => t.ToArray()).ToArray();
            for (int round = 0; round < 3; round++)
            {
                using (inner.Enter())
                {
                    var theirs = Chain(x, 20);
                    Assert.DoesNotContain(theirs, t => mine.Contains(t, ByReference));
                    theirs[^1].Sum().Backward();
                }
            }
            for (int i = 0; i < mine.Count; i++) Assert.Equal(values[i], mine[i].ToArray());
            x.Grad = null;
            mine[^1].Sum().Backward(); // the outer graph survived the inner scopes
            Assert.NotNull(x.Grad);
        }
    }

    [Fact]
    public void AGraphKeptPastItsScopeCannotBeBackPropagatedSilently()
    {
        var x = Tensor.Parameter(Tensor.FromArray([0.3f, 0.6f], 2));
        var ws = new TensorWorkspace();
        Tensor loss, custom;
        using (ws.Enter())
        {
            loss = (x.Exp() * 2f).Sum();
            // An output made outside the pool, recorded inside the scope: its node goes back to the pool at the end.
            custom = Tensor.CustomOp(Tensor.Zeros(2), g => x.AddToGrad(g.Values), x);
            Assert.False(custom.IsLeaf);
        }
        using (ws.Enter()) _ = (x.Tanh() + 1f).Mean(); // the next scope reuses the nodes
        Assert.Throws<InvalidOperationException>(() => loss.Backward());
        Assert.True(custom.IsLeaf);
        Assert.Equal([0f, 0f], custom.ToArray());
        Assert.Null(x.Grad);
    }

    // Every op with a closure-free backward, with broadcasting both ways and reductions over axes.
    private static Tensor Composite(Tensor[] p, bool reversed)
    {
        Tensor a = p[0], b = p[1], w = p[2], bias = p[3];                       // a, b [4, 3]; w [2, 3]; bias [2]
        var row = b.Reshape(4, 3).Mean(1, keepDim: true);                       // [4, 1]
        var parts = new List<Tensor>
        {
            (a - row).Square().Sum(),
            (a * b + a / (b.Abs() + 1f)).Mean(),
            Tensor.LogAddExp(a, row).Sum(0).Sum(),
            Tensor.Maximum(a, b).Sigmoid().Sum(),
            a.LogSumExp(1).Mean() + a.LogSumExp(0, keepDim: true).Sum(),
            a.Softplus().Exp().Log().MaskedMean([true, false, true, false, true, false, true, false, true, false, true, true]),
            b.MaskedLogMeanExp([false, true, true, true, false, true, true, true, false, true, true, true]),
            b.MaskedSum([true, true, false, false, false, false, false, false, false, false, false, true]) * -0.5f,
            Tensor.MatMul(a, w, transB: true).Relu().Sum(1).Max(0),
            Tensor.Linear(a, w, bias).Tanh().Sum() + Tensor.Linear(b, w, null).Sum(),
            Tensor.MatMul(a, b, transA: true).Diagonal().Sum(),
            a.PickPerRow([2, 0, 1, 1]).Sum() + b.GatherRows([3, 3, 0]).Sum(),
            a.LeaveOneOutLogMeanExp().Mean(),
            (a.Clamp(-0.5f, 0.5f) - 2f * b).Sqrt().Sum(),
            (0.5f - a).Neg().Mean(),
        };
        if (reversed) parts.Reverse();
        var total = parts[0];
        for (int i = 1; i < parts.Count; i++) total = total + parts[i];
        return total;
    }

    private static Tensor[] CompositeInputs()
    {
        var rng = new Rng(11);
        var a = Tensor.RandomNormal(rng, [4, 3]);
        var b = Tensor.RandomUniform(rng, [4, 3], -1.5f, -0.5f); // keeps (clamp(a) − 2b) positive for Sqrt
        return [a, b, Tensor.RandomNormal(rng, [2, 3]), Tensor.RandomNormal(rng, [2])];
    }

    private static (float Value, float[][] Grads) Run(Tensor[] inputs, bool reversed)
    {
        foreach (var t in inputs) { t.RequiresGrad = true; t.Grad = null; }
        var loss = Composite(inputs, reversed);
        loss.Backward();
        return (loss.Item(), inputs.Select(t => t.Grad!.ToArray()).ToArray());
    }

    [Fact]
    public void ClosureFreeOpsGiveTheSameGradientsWithReusedNodes()
    {
        var inputs = CompositeInputs();
        var plain = Run(inputs, reversed: false);
        var plainReversed = Run(inputs, reversed: true);
        var ws = new TensorWorkspace();
        // Alternating the op order makes each reused node (and its state slots) come back for a different op.
        for (int round = 0; round < 4; round++)
        {
            bool reversed = round % 2 == 1;
            (float Value, float[][] Grads) pooled;
            using (ws.Enter()) pooled = Run(inputs, reversed);
            var expected = reversed ? plainReversed : plain;
            Assert.Equal(expected.Value, pooled.Value);
            for (int i = 0; i < inputs.Length; i++) Assert.Equal(expected.Grads[i], pooled.Grads[i]);
        }
        // The order only changes the float rounding of the total.
        Assert.Equal(plain.Value, plainReversed.Value, 3);
    }

    [Fact]
    public void ClosureFreeOpsMatchFiniteDifferencesInsideAWorkspace()
    {
        var ws = new TensorWorkspace();
        for (int round = 0; round < 2; round++)
        {
            using (ws.Enter())
                GradCheck.Check(p => Composite(p, reversed: round == 1), CompositeInputs(), eps: 3e-3, tol: 3e-2);
        }
    }

    [Fact]
    public void RetainedGraphsAndUnusedGraphsWorkInAWorkspace()
    {
        var x = Tensor.Parameter(Tensor.FromArray([0.2f, -0.1f, 0.4f, 0.9f], 2, 2));
        var ws = new TensorWorkspace();
        using (ws.Enter())
        {
            var loss = x.LeaveOneOutLogMeanExp().Exp().Sum();
            loss.Backward(retainGraph: true);
            var once = x.Grad!.ToArray();
            loss.Backward();
            for (int i = 0; i < once.Length; i++) Assert.Equal(2 * once[i], x.Grad![i], 5);
            _ = x.LeaveOneOutLogMeanExp().Sum(); // recorded, never back-propagated: released when the scope ends
        }
        Assert.Equal(0, ws.TensorsInUse);
        Assert.Equal(0, ws.BuffersInUse);
    }

    [Fact]
    public void AWarmMlpStepInAWorkspaceAllocatesNothing()
    {
        var rng = new Rng(5);
        var mlp = new Mlp(6, 16, 3, 2, rng);
        var opt = new Adam(mlp.Parameters(), 1e-3f);
        var x = Tensor.RandomNormal(rng, [8, 6]);
        var target = Tensor.RandomNormal(rng, [8, 3]);
        var ws = new TensorWorkspace();
        using var _ = Engine.LimitThreads(1);
        void Step()
        {
            using (ws.Enter())
            {
                opt.ZeroGrad();
                var y = mlp.Forward(x);
                var loss = (y - target).Square().Mean() + y.LogSumExp(1).Mean() * 0.1f + (y - y.Mean(0, keepDim: true)).Abs().Mean();
                loss.Backward();
                opt.Step();
            }
        }
        for (int i = 0; i < 10; i++) Step();
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 50; i++) Step();
        long perStep = (GC.GetAllocatedBytesForCurrentThread() - before) / 50;
        Assert.True(perStep < 64, $"a warm step allocated {perStep} B");
    }

    [Fact]
    public void AWarmStepWithPermuteBlockBoundAndNoiseAllocatesNothing()
    {
        var w = Tensor.Parameter(Tensor.RandomNormal(new Rng(3), [4, 3, 2, 2]));
        var ws = new TensorWorkspace();
        var rng = new Rng(9);
        int[] perm = [2, 3, 0, 1], shape = [4, 12];
        using var _ = Engine.LimitThreads(1);
        void Step()
        {
            using (ws.Enter())
            {
                w.Grad?.Data.Clear();
                var v = w.Permute(perm).Reshape(shape);
                var noisy = v + v * Tensor.RandomNormalLike(v, rng, 0f, 0.1f);
                var loss = Tensor.BlockDiagonalBound(noisy, BlockBound.JensenShannon).Objective
                           + Tensor.BlockDiagonalBound(noisy, BlockBound.InfoNce).Objective
                           + Tensor.BlockDiagonalBound(noisy, BlockBound.DonskerVaradhan).Objective;
                loss.Backward();
            }
        }
        for (int i = 0; i < 10; i++) Step();
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 50; i++) Step();
        long perStep = (GC.GetAllocatedBytesForCurrentThread() - before) / 50;
        Assert.True(perStep < 64, $"a warm step allocated {perStep} B");
    }

    [Fact]
    public void RandomNormalLikeDrawsWhatRandomNormalDraws()
    {
        var like = Tensor.Zeros(3, 5);
        var expected = Tensor.RandomNormal(new Rng(4), [3, 5], 0.5f, 2f).ToArray();
        var ws = new TensorWorkspace();
        using (ws.Enter())
        {
            var t = Tensor.RandomNormalLike(like, new Rng(4), 0.5f, 2f);
            Assert.Equal([3, 5], t.Shape);
            Assert.Equal(expected, t.ToArray());
        }
        Assert.Equal(expected, Tensor.RandomNormalLike(like, new Rng(4), 0.5f, 2f).ToArray());
    }
}
