using MiBounds.Tensors.Nn;

namespace MiBounds.Tensors.Tests;

/// <summary>The fused ReLU MLP op against finite differences and against the layer-by-layer network; the fused Adam update against the formula.</summary>
public class FusedMlpTests
{
    private static Tensor R(int seed, params int[] shape) => Tensor.RandomNormal(new Rng((ulong)seed), shape);

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void GradientsMatchFiniteDifferences(int layers)
    {
        int[] widths = layers switch { 1 => [4, 3], 2 => [4, 6, 2], _ => [3, 5, 4, 2] };
        var inputs = new List<Tensor> { R(1, 5, widths[0]) };
        for (int l = 0; l < layers; l++) inputs.Add(R(10 + l, widths[l + 1], widths[l]) * (1f / MathF.Sqrt(widths[l])));
        for (int l = 0; l < layers; l++) inputs.Add(R(20 + l, widths[l + 1]) * 0.3f);
        GradCheck.Check(x => FusedMlp.ReluMlp(x[0], x.Skip(1).Take(layers).ToArray(), x.Skip(1 + layers).Take(layers).Select(t => (Tensor?)t).ToArray()),
            inputs.ToArray(), eps: 1e-3, tol: 2e-2);
    }

    [Fact]
    public void PooledOpsAreReusedWithoutMixingEvaluations()
    {
        // The op objects are pooled: a no-grad evaluation returns its op at once while a recorded one of another width is
        // alive, and later steps re-arm released ops. Every step must still give the layer-by-layer gradients.
        var rng = new Rng(8);
        var small = new Mlp(4, 6, 3, 1, rng);
        var large = new Mlp(4, 9, 3, 2, rng);
        for (int step = 0; step < 3; step++)
        {
            var x = R(30 + step, 5, 4);
            var fused = FusedMlp.Forward(large, x);
            using (Tensor.NoGrad()) _ = FusedMlp.Forward(small, x * 2f);
            var also = FusedMlp.Forward(small, x);
            (fused.Sum() + also.Square().Sum()).Backward();
            var fusedGrads = large.Parameters().Concat(small.Parameters()).Select(p => p.Grad!.ToArray()).ToArray();
            large.ZeroGrad(); small.ZeroGrad();
            (large.Forward(x).Sum() + small.Forward(x).Square().Sum()).Backward();
            var plainGrads = large.Parameters().Concat(small.Parameters()).Select(p => p.Grad!.ToArray()).ToArray();
            for (int p = 0; p < plainGrads.Length; p++)
                for (int i = 0; i < plainGrads[p].Length; i++)
                    Assert.True(Math.Abs(plainGrads[p][i] - fusedGrads[p][i]) <= 1e-5f * (1 + Math.Abs(plainGrads[p][i])), $"step {step} parameter {p} element {i}: {fusedGrads[p][i]} vs {plainGrads[p][i]}");
            large.ZeroGrad(); small.ZeroGrad();
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]  // the same input and the same network on both sides: both halves write one gradient
    public void SeparableScoresMatchTheLayerByLayerProductForEveryThreadCount(bool shared)
    {
        var rng = new Rng(12);
        var g = new Mlp(6, 17, 5, 2, rng);
        var h = shared ? g : new Mlp(6, 11, 5, 1, rng);
        var x = R(13, 9, 6);
        var y = shared ? x : R(14, 9, 6);
        var leaves = g.Parameters().Concat(shared ? [] : h.Parameters()).Append(x).Concat(shared ? [] : [y]).Distinct().ToArray();
        foreach (var t in leaves) t.RequiresGrad = true;
        var probe = R(15, 9, 9);

        (float[] Scores, float[][] Grads) Run(int threads, bool fused)
        {
            using var _ = Engine.LimitThreads(threads);
            foreach (var t in leaves) t.Grad = null;
            var s = fused ? FusedMlp.SeparableScores(g, x, h, y) : Tensor.MatMul(h.Forward(y), g.Forward(x), transB: true);
            (s * probe).Sum().Backward();
            return (s.ToArray(), leaves.Select(t => t.Grad!.ToArray()).ToArray());
        }

        var one = Run(1, fused: true);
        var two = Run(2, fused: true);
        var plain = Run(1, fused: false);
        Assert.Equal(one.Scores, two.Scores);
        for (int p = 0; p < leaves.Length; p++) Assert.Equal(one.Grads[p], two.Grads[p]);
        for (int i = 0; i < plain.Scores.Length; i++)
            Assert.True(Math.Abs(plain.Scores[i] - one.Scores[i]) <= 1e-5f * (1 + Math.Abs(plain.Scores[i])), $"score {i}: {one.Scores[i]} vs {plain.Scores[i]}");
        for (int p = 0; p < leaves.Length; p++)
            for (int i = 0; i < plain.Grads[p].Length; i++)
                Assert.True(Math.Abs(plain.Grads[p][i] - two.Grads[p][i]) <= 1e-4f * (1 + Math.Abs(plain.Grads[p][i])), $"leaf {p} element {i}: fused {two.Grads[p][i]} vs plain {plain.Grads[p][i]}");
        Assert.Contains("[9, 4]", Assert.Throws<ArgumentException>(() => FusedMlp.SeparableScores(g, R(1, 9, 4), h, y)).Message);
        Assert.Throws<ArgumentException>(() => FusedMlp.SeparableScores(g, x, new Mlp(6, 4, 3, 1, rng), y));
    }

    [Fact]
    public void SeparableScoresBackwardTwiceWithARetainedGraphAddsTheGradientAgain()
    {
        var rng = new Rng(21);
        var g = new Mlp(3, 5, 2, 1, rng);
        var h = new Mlp(3, 4, 2, 1, rng);
        var x = R(22, 6, 3);
        var y = R(23, 6, 3);
        var parameters = g.Parameters().Concat(h.Parameters()).ToArray();
        var loss = FusedMlp.SeparableScores(g, x, h, y).Square().Sum();
        loss.Backward(retainGraph: true);
        var once = parameters.Select(p => p.Grad!.ToArray()).ToArray();
        loss.Backward();
        for (int p = 0; p < parameters.Length; p++)
            for (int i = 0; i < once[p].Length; i++)
                Assert.True(Math.Abs(parameters[p].Grad![i] - 2 * once[p][i]) <= 1e-5f * (1 + Math.Abs(once[p][i])), $"parameter {p} element {i}: {parameters[p].Grad![i]} after two passes, {once[p][i]} after one");
    }

    [Fact]
    public void MatchesLayerByLayerMlp()
    {
        var rng = new Rng(3);
        var mlp = new Mlp(7, 33, 5, 2, rng);
        var x = R(4, 37, 7);
        x.RequiresGrad = true;
        var probe = R(5, 37, 5);
        var fused = FusedMlp.Forward(mlp, x);
        (fused * probe).Sum().Backward();
        var fusedGrads = mlp.Parameters().Prepend(x).Select(p => p.Grad!.ToArray()).ToArray();
        mlp.ZeroGrad(); x.Grad = null;
        var plain = mlp.Forward(x);
        (plain * probe).Sum().Backward();
        var plainGrads = mlp.Parameters().Prepend(x).Select(p => p.Grad!.ToArray()).ToArray();
        for (int i = 0; i < plain.Size; i++) Assert.Equal(plain[i], fused[i]); // same GEMM calls, same order
        for (int p = 0; p < plainGrads.Length; p++)
            for (int i = 0; i < plainGrads[p].Length; i++)
                Assert.True(Math.Abs(plainGrads[p][i] - fusedGrads[p][i]) <= 1e-5f * (1 + Math.Abs(plainGrads[p][i])), $"tensor {p} element {i}: {fusedGrads[p][i]} vs {plainGrads[p][i]}");
    }

    [Fact]
    public void FusedOpsGiveTheSameGradientsInsideAWorkspace()
    {
        var concat = new Mlp(5, 24, 1, 2, new Rng(8)); // on [x (3), y (2)] pairs
        var embed = new Mlp(2, 6, 3, 1, new Rng(9));
        var x = R(1, 9, 3); var y = R(2, 9, 2);
        var w = concat.Layers.Select(l => l.Weight).ToArray();
        var b = concat.Layers.Select(l => (Tensor?)l.Bias).ToArray();
        var parameters = concat.Parameters().Concat(embed.Parameters()).ToArray();
        float[][] Grads(TensorWorkspace? ws)
        {
            foreach (var p in parameters) p.ZeroGrad();
            using (ws?.Enter())
            {
                var s = FusedPairwise.ConcatReluMlpScores(x, y, w, b);
                var h = FusedMlp.Forward(embed, y);
                (s.Square().Mean() + h.Square().Sum()).Backward();
            }
            return parameters.Select(p => p.Grad!.ToArray()).ToArray();
        }
        var plain = Grads(null);
        var ws = new TensorWorkspace();
        for (int repeat = 0; repeat < 3; repeat++) // pooled buffers are reused from the second step on
        {
            var pooled = Grads(ws);
            for (int p = 0; p < plain.Length; p++) Assert.Equal(plain[p], pooled[p]);
        }
        Assert.Equal(0, ws.BuffersInUse);
    }

    [Fact]
    public void FallsBackForOtherActivationsAndChecksShapes()
    {
        var mlp = new Mlp(3, 4, 1, 1, new Rng(1), Activation.Tanh);
        var x = R(2, 5, 3);
        var a = FusedMlp.Forward(mlp, x);
        var b = mlp.Forward(x);
        for (int i = 0; i < a.Size; i++) Assert.Equal(b[i], a[i]);
        var relu = new Mlp(3, 4, 1, 1, new Rng(1));
        Assert.Contains("[5, 2]", Assert.Throws<ArgumentException>(() => FusedMlp.Forward(relu, R(3, 5, 2))).Message);
    }

    [Fact]
    public void AdamUpdateMatchesTheFormula()
    {
        const int n = 37; // a vector body and a scalar tail
        var w = R(1, n).ToArray(); var g = R(2, n).ToArray(); var m = R(3, n).ToArray(); var v = R(4, n).Abs().ToArray();
        var (w0, m0, v0) = ((float[])w.Clone(), (float[])m.Clone(), (float[])v.Clone());
        float b1 = 0.9f, b2 = 0.999f, lr = 5e-4f, eps = 1e-8f;
        int t = 3;
        double bc1 = 1 - Math.Pow(b1, t), bc2 = 1 - Math.Pow(b2, t);
        FusedAdam.Update(w, g, m, v, b1, b2, (float)(lr / bc1), (float)(1 / Math.Sqrt(bc2)), eps);
        for (int i = 0; i < n; i++)
        {
            double mi = b1 * (double)m0[i] + (1 - b1) * (double)g[i];
            double vi = b2 * (double)v0[i] + (1 - b2) * (double)g[i] * g[i];
            double wi = w0[i] - lr * (mi / bc1) / (Math.Sqrt(vi / bc2) + eps);
            Assert.True(Math.Abs(m[i] - mi) <= 1e-6 * (1 + Math.Abs(mi)), $"m[{i}] {m[i]} vs {mi}");
            Assert.True(Math.Abs(v[i] - vi) <= 1e-6 * (1 + Math.Abs(vi)), $"v[{i}] {v[i]} vs {vi}");
            Assert.True(Math.Abs(w[i] - wi) <= 1e-6 * (1 + Math.Abs(wi)), $"w[{i}] {w[i]} vs {wi}");
        }
    }

    [Fact]
    public void MlpExposesItsLayerParametersAndFiniteChecks()
    {
        var mlp = new Mlp(3, 8, 2, 2, new Rng(4));
        Assert.Equal(mlp.Layers.Select(l => l.Weight), mlp.Weights);
        Assert.Equal(mlp.Layers.Select(l => l.Bias), mlp.Biases);
        Assert.Same(mlp.Weights, mlp.Weights); // built once: the fused forward reads them every step
        Assert.False(mlp.AnyLayerChecksFinite);
        mlp.Layers[1].CheckFinite = true;
        Assert.True(mlp.AnyLayerChecksFinite);
    }
}
