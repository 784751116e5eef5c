namespace MiBounds.Tensors.Tests;

/// <summary>The fused pairwise ReLU MLP against finite differences and against the same network built from unfused ops.</summary>
public class FusedPairwiseTests
{
    private static Tensor R(int seed, params int[] shape) => Tensor.RandomNormal(new Rng((ulong)seed), shape);

    /// <summary>The reference: broadcast V[i] + U[j] to [Kv·Ku, H0], then ReLU layers and a one-output layer, all unfused.</summary>
    private static Tensor Unfused(Tensor v, Tensor u, Tensor[] weights, Tensor?[] biases)
    {
        int kv = v.Dim(0), ku = u.Dim(0), h = v.Dim(1);
        var a = (v.Reshape(kv, 1, h) + u.Reshape(1, ku, h)).Reshape(kv * ku, h).Relu();
        for (int l = 0; l < weights.Length; l++)
        {
            a = Tensor.Linear(a, weights[l], biases[l]);
            if (l < weights.Length - 1) a = a.Relu();
        }
        return a.Reshape(kv, ku);
    }

    private static (Tensor V, Tensor U, Tensor[] W, Tensor?[] B) Network(int seed, int kv, int ku, int[] widths, bool outBias = true)
    {
        var v = R(seed, kv, widths[0]);
        var u = R(seed + 1, ku, widths[0]);
        var w = new Tensor[widths.Length];
        var b = new Tensor?[widths.Length];
        for (int l = 0; l < widths.Length; l++)
        {
            int din = widths[l], dout = l + 1 < widths.Length ? widths[l + 1] : 1;
            w[l] = R(seed + 10 + l, dout, din) * (1f / MathF.Sqrt(din));
            b[l] = l == widths.Length - 1 && !outBias ? null : R(seed + 20 + l, dout) * 0.3f;
        }
        return (v, u, w, b);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    public void GradientsMatchFiniteDifferences(int hiddenAfterFirst)
    {
        int[] widths = hiddenAfterFirst switch { 0 => [5], 1 => [5, 6], _ => [4, 5, 3] };
        var (v, u, w, b) = Network(3 + hiddenAfterFirst, 3, 4, widths);
        var inputs = new List<Tensor> { v, u };
        inputs.AddRange(w);
        inputs.AddRange(b.Where(x => x is not null)!);
        int nw = w.Length;
        GradCheck.Check(x => FusedPairwise.ReluMlpScores(x[0], x[1], x.Skip(2).Take(nw).ToArray(), x.Skip(2 + nw).Take(nw).Select(t => (Tensor?)t).ToArray()),
            inputs.ToArray(), eps: 1e-3, tol: 2e-2);
    }

    [Theory]
    [InlineData(3, 4, true)]
    [InlineData(40, 20, true)]   // 800 pair rows: several blocks, the last one partial
    [InlineData(7, 130, false)]  // more columns than a block's rows; no output bias
    public void ValuesAndGradientsMatchUnfusedOps(int kv, int ku, bool outBias)
    {
        var (v, u, w, b) = Network(11, kv, ku, [8, 12], outBias);
        var all = new List<Tensor> { v, u };
        all.AddRange(w);
        all.AddRange(b.Where(x => x is not null)!);
        foreach (var t in all) t.RequiresGrad = true;
        var probe = R(99, kv, ku);

        var fused = FusedPairwise.ReluMlpScores(v, u, w, b);
        (fused * probe).Sum().Backward();
        var fusedGrads = all.Select(t => t.Grad!.ToArray()).ToArray();
        foreach (var t in all) t.Grad = null;

        var reference = Unfused(v, u, w, b);
        (reference * probe).Sum().Backward();
        for (int i = 0; i < fused.Size; i++)
            Assert.True(Math.Abs(fused[i] - reference[i]) <= 1e-5f * (1 + Math.Abs(reference[i])), $"score {i}: fused {fused[i]} vs unfused {reference[i]}");
        for (int p = 0; p < all.Count; p++)
        {
            var expected = all[p].Grad!.Values;
            for (int i = 0; i < expected.Length; i++)
                Assert.True(Math.Abs(fusedGrads[p][i] - expected[i]) <= 1e-4f * (1 + Math.Abs(expected[i])),
                    $"input {p} element {i}: fused {fusedGrads[p][i]} vs unfused {expected[i]}");
        }
    }

    [Theory]
    [InlineData(3, 4, true)]
    [InlineData(4, 3, false)]
    public void ConcatGradientsMatchFiniteDifferences(int kx, int ky, bool inputGrads)
    {
        // S[i, j] = MLP([x_j, y_i]) with layers (2+3)→4→5→1.
        var x = R(1, kx, 2); var y = R(2, ky, 3);
        var w = new[] { R(3, 4, 5) * 0.5f, R(4, 5, 4) * 0.5f, R(5, 1, 5) * 0.5f };
        var b = new[] { R(6, 4) * 0.3f, R(7, 5) * 0.3f, R(8, 1) * 0.3f };
        var inputs = new List<Tensor>();
        if (inputGrads) inputs.AddRange([x, y]);
        inputs.AddRange(w); inputs.AddRange(b);
        int o = inputGrads ? 2 : 0;
        GradCheck.Check(t => FusedPairwise.ConcatReluMlpScores(inputGrads ? t[0] : x, inputGrads ? t[1] : y, t.Skip(o).Take(3).ToArray(), t.Skip(o + 3).Take(3).Select(q => (Tensor?)q).ToArray()),
            inputs.ToArray(), eps: 1e-3, tol: 2e-2);
    }

    [Fact]
    public void ConcatMatchesExplicitConcatenation()
    {
        int kx = 30, ky = 25, dx = 3, dy = 4; // 750 pairs: several blocks
        var x = R(1, kx, dx); var y = R(2, ky, dy);
        var w = new[] { R(3, 16, dx + dy) * 0.5f, R(4, 8, 16) * 0.3f, R(5, 1, 8) * 0.3f };
        var b = new Tensor?[] { R(6, 16) * 0.3f, R(7, 8) * 0.3f, null };
        var all = new List<Tensor> { x, y };
        all.AddRange(w); all.Add(b[0]!); all.Add(b[1]!);
        foreach (var t in all) t.RequiresGrad = true;
        var probe = R(9, ky, kx);
        var fused = FusedPairwise.ConcatReluMlpScores(x, y, w, b);
        (fused * probe).Sum().Backward();
        var fusedGrads = all.Select(t => t.Grad!.ToArray()).ToArray();
        foreach (var t in all) t.Grad = null;

        // Reference: every pair [x_j, y_i] as a row, then the layers unfused.
        var rows = new List<Tensor>();
        for (int i = 0; i < ky; i++)
            for (int j = 0; j < kx; j++) rows.Add(Tensor.Concat(1, x.Slice(0, j, 1), y.Slice(0, i, 1)));
        var a = Tensor.Concat(0, rows.ToArray());
        for (int l = 0; l < w.Length; l++) { a = Tensor.Linear(a, w[l], b[l]); if (l < w.Length - 1) a = a.Relu(); }
        var reference = a.Reshape(ky, kx);
        (reference * probe).Sum().Backward();
        for (int i = 0; i < fused.Size; i++)
            Assert.True(Math.Abs(fused[i] - reference[i]) <= 1e-5f * (1 + Math.Abs(reference[i])), $"score {i}: fused {fused[i]} vs concatenated {reference[i]}");
        for (int p = 0; p < all.Count; p++)
        {
            var expected = all[p].Grad!.Values;
            for (int i = 0; i < expected.Length; i++)
                Assert.True(Math.Abs(fusedGrads[p][i] - expected[i]) <= 1e-4f * (1 + Math.Abs(expected[i])), $"input {p} element {i}: fused {fusedGrads[p][i]} vs concatenated {expected[i]}");
        }
        Assert.Contains("[16, 7]", Assert.Throws<ArgumentException>(() => FusedPairwise.ConcatReluMlpScores(x, R(1, ky, 5), w, b)).Message);
    }

    [Fact]
    public void ConcatResultsAreBitwiseTheSameForEveryThreadCount()
    {
        // 64 × 64 pairs = 8 blocks in 4 lanes: the lanes run on two threads, and their weight, bias and dU partials are
        // summed in a fixed order, so one thread and several must agree to the last bit, and with the unfused network.
        int k = 64, dx = 5, dy = 6;
        var x = R(11, k, dx); var y = R(12, k, dy);
        var w = new[] { R(13, 32, dx + dy) * 0.4f, R(14, 24, 32) * 0.2f, R(15, 1, 24) * 0.2f };
        var b = new Tensor?[] { R(16, 32) * 0.3f, R(17, 24) * 0.3f, R(18, 1) * 0.3f };
        var all = new List<Tensor> { x, y };
        all.AddRange(w);
        all.AddRange(b.Select(t => t!));
        foreach (var t in all) t.RequiresGrad = true;
        var probe = R(19, k, k);

        (float[] Scores, float[][] Grads) Run(int threads)
        {
            using var _ = Engine.LimitThreads(threads);
            foreach (var t in all) t.Grad = null;
            var s = FusedPairwise.ConcatReluMlpScores(x, y, w, b);
            (s * probe).Sum().Backward();
            return (s.ToArray(), all.Select(t => t.Grad!.ToArray()).ToArray());
        }

        var one = Run(1);
        var many = Run(4);
        Assert.Equal(one.Scores, many.Scores);
        for (int p = 0; p < all.Count; p++) Assert.Equal(one.Grads[p], many.Grads[p]);

        foreach (var t in all) t.Grad = null;
        // Unfused: the first layer on the two column blocks of W₀, broadcast over all pairs (rows y, columns x).
        int hidden = w[0].Dim(0);
        var pre = Tensor.Linear(y, w[0].Slice(1, dx, dy), b[0]).Reshape(k, 1, hidden) + Tensor.Linear(x, w[0].Slice(1, 0, dx), null).Reshape(1, k, hidden);
        var h = pre.Reshape(k * k, hidden).Relu();
        for (int l = 1; l < w.Length; l++) { h = Tensor.Linear(h, w[l], b[l]); if (l < w.Length - 1) h = h.Relu(); }
        (h.Reshape(k, k) * probe).Sum().Backward();
        for (int p = 0; p < all.Count; p++)
        {
            var expected = all[p].Grad!.Values;
            for (int i = 0; i < expected.Length; i++)
                Assert.True(Math.Abs(many.Grads[p][i] - expected[i]) <= 1e-3f * (1 + Math.Abs(expected[i])), $"input {p} element {i}: fused {many.Grads[p][i]} vs unfused {expected[i]}");
        }
    }

    [Fact]
    public void TwoRecordedEvaluationsKeepTheirOwnActivations()
    {
        var (v, u, w, b) = Network(5, 6, 5, [4, 6]);
        foreach (var t in w) t.RequiresGrad = true;
        var first = FusedPairwise.ReluMlpScores(v, u, w, b);
        var second = FusedPairwise.ReluMlpScores(v * 2f, u, w, b); // rents its own workspace while the first is alive
        (first.Sum() + second.Sum()).Backward();
        var together = w[0].Grad!.ToArray();
        foreach (var t in w) t.Grad = null;
        (Unfused(v, u, w, b).Sum() + Unfused(v * 2f, u, w, b).Sum()).Backward();
        for (int i = 0; i < together.Length; i++)
            Assert.True(Math.Abs(together[i] - w[0].Grad![i]) <= 1e-4f * (1 + Math.Abs(w[0].Grad![i])), $"element {i}: {together[i]} vs {w[0].Grad![i]}");
    }

    [Fact]
    public void NoGradRecordsNothingAndShapeErrorsNameShapes()
    {
        var (v, u, w, b) = Network(6, 3, 3, [4]);
        v.RequiresGrad = true;
        using (Tensor.NoGrad()) Assert.False(FusedPairwise.ReluMlpScores(v, u, w, b).RequiresGrad);
        var ex = Assert.Throws<ArgumentException>(() => FusedPairwise.ReluMlpScores(v, R(1, 3, 5), w, b));
        Assert.Contains("[3, 5]", ex.Message);
        var wide = new[] { R(2, 2, 4) };
        Assert.Contains("one output", Assert.Throws<ArgumentException>(() => FusedPairwise.ReluMlpScores(v, u, wide, [null])).Message);
    }
}
