using MiBounds.Tensors.Nn;

namespace MiBounds.Tensors.Tests;

/// <summary>Finite-difference checks and reference values for the image and classification ops.</summary>
public class LayerOpTests
{
    private static Tensor R(int seed, params int[] shape) => Tensor.RandomNormal(new Rng((ulong)seed), shape);

    /// <summary>Values well apart (a shuffled grid) so a ±eps step never changes an arg-max or a kink's side.</summary>
    internal static Tensor Spread(int seed, params int[] shape)
    {
        int n = 1; foreach (int d in shape) n *= d;
        var v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (i - n / 2 + 0.5f) * 0.1f;
        new Rng((ulong)seed).Shuffle(v.AsSpan());
        return Tensor.FromArray(v, shape);
    }

    [Theory]
    [InlineData(1, 0)]
    [InlineData(1, 1)]
    [InlineData(2, 0)]
    [InlineData(2, 1)]
    public void Conv2dMatchesFiniteDifferences(int stride, int padding)
    {
        GradCheck.Check(x => Tensor.Conv2d(x[0], x[1], x[2], stride, padding), [R(1, 2, 3, 5, 6), R(2, 4, 3, 3, 2), R(3, 4)]);
        GradCheck.Check(x => Tensor.Conv2d(x[0], x[1], null, stride, padding), [R(4, 1, 2, 4, 4), R(5, 3, 2, 1, 3)]);
    }

    [Fact]
    public void Conv2dMatchesDirectSum()
    {
        var x = R(1, 2, 3, 7, 6); var w = R(2, 5, 3, 3, 2); var b = R(3, 5);
        const int s = 2, p = 1;
        var y = Tensor.Conv2d(x, w, b, s, p);
        Assert.Equal([2, 5, 4, 4], y.Shape);
        var xs = x.ToArray(); var ws = w.ToArray(); var ys = y.ToArray();
        for (int n = 0; n < 2; n++)
            for (int o = 0; o < 5; o++)
                for (int oy = 0; oy < 4; oy++)
                    for (int ox = 0; ox < 4; ox++)
                    {
                        double acc = b[o];
                        for (int c = 0; c < 3; c++)
                            for (int i = 0; i < 3; i++)
                                for (int j = 0; j < 2; j++)
                                {
                                    int iy = oy * s - p + i, ix = ox * s - p + j;
                                    if (iy < 0 || iy >= 7 || ix < 0 || ix >= 6) continue;
                                    acc += xs[((n * 3 + c) * 7 + iy) * 6 + ix] * ws[((o * 3 + c) * 3 + i) * 2 + j];
                                }
                        Assert.Equal(acc, ys[((n * 5 + o) * 4 + oy) * 4 + ox], 4);
                    }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void Conv2dOverSeveralImageChunksMatchesDirectSums(int threads)
    {
        // 64 channels × 5×5 taps × 49 outputs: the batch is im2col-ed in chunks of 5 images (5, 5, 3 for 13), so the
        // forward pass, the weight and bias sums over chunks and the per-chunk input gradient are all exercised.
        const int n = 13, c = 64, h = 14, o = 3, k = 5, s = 2, p = 2, ho = 7;
        var x = R(1, n, c, h, h); var w = R(2, o, c, k, k); var b = R(3, o); var r = R(4, n, o, ho, ho);
        foreach (var t in new[] { x, w, b }) t.RequiresGrad = true;
        using (Engine.LimitThreads(threads)) (Tensor.Conv2d(x, w, b, s, p) * r).Sum().Backward();
        var y = Tensor.Conv2d(x, w, b, s, p).ToArray();
        float[] xs = x.ToArray(), ws = w.ToArray(), rs = r.ToArray();
        var dW = new double[w.Size]; var dx = new double[x.Size]; var db = new double[o];
        for (int bi = 0; bi < n; bi++)
            for (int oc = 0; oc < o; oc++)
                for (int oy = 0; oy < ho; oy++)
                    for (int ox = 0; ox < ho; ox++)
                    {
                        int yi = ((bi * o + oc) * ho + oy) * ho + ox;
                        double acc = b[oc], g = rs[yi];
                        db[oc] += g;
                        for (int ci = 0; ci < c; ci++)
                            for (int i = 0; i < k; i++)
                                for (int j = 0; j < k; j++)
                                {
                                    int iy = oy * s - p + i, ix = ox * s - p + j;
                                    if (iy < 0 || iy >= h || ix < 0 || ix >= h) continue;
                                    int xi = ((bi * c + ci) * h + iy) * h + ix, wi = ((oc * c + ci) * k + i) * k + j;
                                    acc += xs[xi] * ws[wi];
                                    dW[wi] += g * xs[xi];
                                    dx[xi] += g * ws[wi];
                                }
                        Assert.True(Math.Abs(acc - y[yi]) <= 1e-4 * (1 + Math.Abs(acc)), $"y[{yi}]: {y[yi]} vs {acc}");
                    }
        AssertClose(dW, w.Grad!.ToArray());
        AssertClose(dx, x.Grad!.ToArray());
        AssertClose(db, b.Grad!.ToArray());

        // Frozen weights (as in attacks): the input gradient alone, whose backward skips rebuilding the columns.
        var xAttacked = Tensor.FromArray(xs, n, c, h, h); xAttacked.RequiresGrad = true;
        var wFrozen = Tensor.FromArray(ws, o, c, k, k);
        using (Engine.LimitThreads(threads)) (Tensor.Conv2d(xAttacked, wFrozen, null, s, p) * r).Sum().Backward();
        AssertClose(dx, xAttacked.Grad!.ToArray());
        Assert.Null(wFrozen.Grad);

        static void AssertClose(double[] expected, float[] actual)
        {
            Assert.Equal(expected.Length, actual.Length);
            for (int i = 0; i < expected.Length; i++)
                Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-3 * (1 + Math.Abs(expected[i])), $"[{i}]: {actual[i]} vs {expected[i]}");
        }
    }

    [Fact]
    public void Conv2dLargeEnoughToRunInParallelMatchesSerial()
    {
        var x = R(1, 4, 8, 12, 12); var w = R(2, 16, 8, 3, 3);
        var parallel = Tensor.Conv2d(x, w, null, 1, 1);
        Tensor serial;
        using (Engine.LimitThreads(1)) serial = Tensor.Conv2d(x, w, null, 1, 1);
        for (int i = 0; i < serial.Size; i++) Assert.Equal(serial[i], parallel[i], 3);
    }

    [Fact]
    public void Conv2dForwardAndBackwardAreBitwiseTheSameAtOneAndTwoThreads()
    {
        // DIM's conv2 geometry (5×5, stride 2, padding 2) on a small batch: big enough for the parallel im2col/col2im.
        (float[] Y, float[] Dx, float[] Dw, float[] Db) Run(int threads)
        {
            using var _ = Engine.LimitThreads(threads);
            var x = R(3, 6, 16, 14, 14); var w = R(4, 32, 16, 5, 5); var b = R(5, 32);
            x.RequiresGrad = w.RequiresGrad = b.RequiresGrad = true;
            var y = Tensor.Conv2d(x, w, b, stride: 2, padding: 2);
            (y * R(6, y.Shape)).Sum().Backward();
            return (y.ToArray(), x.Grad!.ToArray(), w.Grad!.ToArray(), b.Grad!.ToArray());
        }
        var one = Run(1);
        var two = Run(2);
        Assert.Equal(one.Y, two.Y);
        Assert.Equal(one.Dx, two.Dx);
        Assert.Equal(one.Dw, two.Dw);
        Assert.Equal(one.Db, two.Db);
    }

    [Fact]
    public void Conv2dShapeErrorsNameBothShapes()
    {
        var ex = Assert.Throws<ArgumentException>(() => Tensor.Conv2d(R(1, 2, 3, 5, 5), R(2, 4, 2, 3, 3)));
        Assert.Contains("[2, 3, 5, 5]", ex.Message);
        Assert.Contains("[4, 2, 3, 3]", ex.Message);
        Assert.Throws<ArgumentException>(() => Tensor.Conv2d(R(1, 2, 3, 2, 2), R(2, 4, 3, 3, 3)));
        Assert.Throws<ArgumentException>(() => Tensor.Conv2d(R(1, 2, 3, 5, 5), R(2, 4, 3, 3, 3), R(3, 5)));
    }

    [Fact]
    public void PoolsMatchFiniteDifferences()
    {
        GradCheck.Check(x => x[0].MaxPool2x2(), [Spread(1, 2, 3, 4, 6)]);
        GradCheck.Check(x => x[0].MaxPool2x2(), [Spread(2, 1, 2, 5, 7)]);
        GradCheck.Check(x => x[0].AvgPool2x2(), [R(3, 2, 3, 5, 4)]);
    }

    [Fact]
    public void PoolsComputeWindowMaxAndMean()
    {
        var x = Tensor.FromArray([1, 2, 5, 0, 3, 4, -1, 9, 7, 7, 7, 7, 0, 0, 0, 0], 1, 1, 4, 4);
        Assert.Equal([4f, 9f, 7f, 7f], x.MaxPool2x2().ToArray());
        Assert.Equal([2.5f, 3.25f, 3.5f, 3.5f], x.AvgPool2x2().ToArray());
    }

    [Fact]
    public void BatchNormTrainAndEvalMatchFiniteDifferences()
    {
        GradCheck.Check(x => Tensor.BatchNorm(x[0], x[1], x[2], null, null, training: true), [R(1, 6, 3), R(2, 3), R(3, 3)], tol: 3e-2);
        GradCheck.Check(x => Tensor.BatchNorm(x[0], x[1], x[2], null, null, training: true), [R(4, 2, 3, 2, 3), R(5, 3), R(6, 3)], tol: 3e-2);
        var rm = R(7, 3); var rv = Tensor.FromArray([0.5f, 1.5f, 2f]);
        GradCheck.Check(x => Tensor.BatchNorm(x[0], x[1], x[2], rm, rv, training: false), [R(8, 2, 3, 2, 2), R(9, 3), R(10, 3)]);
        GradCheck.Check(x => Tensor.BatchNorm(x[0], null, null, null, null, training: true), [R(11, 5, 2)], tol: 3e-2);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void BatchNormSplitOverChannelsOnTwoThreadsMatchesOneThreadBitwise(bool training)
    {
        // Inputs of ≥ 2²⁰ values run as channel ranges on the engine's threads; odd channel counts make the ranges uneven.
        foreach (int[] shape in new[] { new[] { 8, 33, 64, 64 }, new[] { 8100, 131 } })
        {
            int c = shape[1];
            var results = new List<float[]>();
            foreach (int threads in new[] { 1, 2 })
            {
                using var _ = Engine.LimitThreads(threads);
                var x = R(40, shape); var gamma = R(41, c); var beta = R(42, c); var upstream = R(43, shape);
                var rm = R(44, c); var rv = Tensor.FromArray(Enumerable.Range(0, c).Select(i => 0.5f + i * 0.01f).ToArray());
                x.RequiresGrad = gamma.RequiresGrad = beta.RequiresGrad = true;
                var y = Tensor.BatchNorm(x, gamma, beta, rm, rv, training);
                (y * upstream).Sum().Backward();
                results.Add([.. y.ToArray(), .. x.Grad!.ToArray(), .. gamma.Grad!.ToArray(), .. beta.Grad!.ToArray(), .. rm.ToArray(), .. rv.ToArray()]);
            }
            Assert.Equal(results[0], results[1]);
        }
    }

    [Fact]
    public void BatchNormNormalizesAndUpdatesRunningStatistics()
    {
        var x = Tensor.FromArray([1, 10, 2, 20, 3, 30, 6, 40], 4, 2);
        var rm = Tensor.Zeros(2); var rv = Tensor.Ones(2);
        var y = Tensor.BatchNorm(x, null, null, rm, rv, training: true, momentum: 0.5f, epsilon: 1e-5f);
        for (int c = 0; c < 2; c++)
        {
            double mean = 0, sq = 0;
            for (int i = 0; i < 4; i++) { mean += y[i, c]; sq += y[i, c] * y[i, c]; }
            Assert.Equal(0, mean / 4, 4);
            Assert.Equal(1, sq / 4, 3);
        }
        // column 0: mean 3, unbiased variance 14/3; column 1: mean 25, unbiased variance 500/3.
        Assert.Equal(1.5f, rm[0], 5); Assert.Equal(12.5f, rm[1], 5);
        Assert.Equal(0.5f + 0.5f * 14f / 3f, rv[0], 4); Assert.Equal(0.5f + 0.5f * 500f / 3f, rv[1], 3);
        var ev = Tensor.BatchNorm(x, null, null, rm, rv, training: false);
        Assert.Equal((1 - 1.5f) / MathF.Sqrt(rv[0] + 1e-5f), ev[0, 0], 5);
        Assert.Throws<ArgumentException>(() => Tensor.BatchNorm(Tensor.Ones(1, 2), null, null, null, null, training: true));
    }

    [Fact]
    public void BatchNormModuleExposesRunningStatsAsBuffersAndFollowsMode()
    {
        var bn = new BatchNorm(3);
        Assert.Equal(["weight", "bias"], bn.NamedParameters().Select(p => p.Name));
        Assert.Equal(["running_mean", "running_var"], bn.NamedBuffers().Select(p => p.Name));
        var seq = new Sequential().Add(new Conv2d(2, 3, 3, new Rng(1), padding: 1)).Add(bn);
        Assert.Contains("1.running_mean", seq.NamedBuffers().Select(b => b.Name));
        var x = R(2, 4, 2, 5, 5);
        seq.Forward(x);
        Assert.NotEqual(0f, bn.RunningMean[0]);
        var before = bn.RunningMean.ToArray();
        seq.Eval();
        var a = seq.Forward(x); var b = seq.Forward(x);
        Assert.Equal(before, bn.RunningMean.ToArray());
        Assert.Equal(a.ToArray(), b.ToArray());
    }

    [Fact]
    public void DropoutMatchesFiniteDifferencesAndIsIdentityInEval()
    {
        GradCheck.Check(x => x[0].Dropout(0.4f, new Rng(3)), [R(1, 5, 6)]);
        var t = R(2, 1000);
        var d = t.Dropout(0.25f, new Rng(4));
        int zeros = 0;
        for (int i = 0; i < t.Size; i++)
        {
            if (d[i] == 0) zeros++;
            else Assert.Equal(t[i] / 0.75f, d[i], 1e-5f);
        }
        Assert.InRange(zeros, 200, 300);
        Assert.Same(t, t.Dropout(0.25f, new Rng(4), training: false));
        var layer = new Dropout(0.5f, new Rng(5));
        layer.Eval();
        Assert.Same(t, layer.Forward(t));
        Assert.All(t.Dropout(1f, new Rng(6)).ToArray(), v => Assert.Equal(0f, v));
    }

    [Fact]
    public void SoftmaxFamilyMatchesFiniteDifferences()
    {
        GradCheck.Check(x => x[0].LogSoftmax(1), [R(1, 4, 5)]);
        GradCheck.Check(x => x[0].LogSoftmax(0), [R(2, 4, 5)]);
        GradCheck.Check(x => x[0].Softmax(-1), [R(3, 3, 4)]);
        GradCheck.Check(x => x[0].Softmax(1), [R(4, 2, 3, 4)]);
        int[] labels = [2, 0, 4, 1];
        GradCheck.Check(x => Tensor.CrossEntropy(x[0], labels), [R(5, 4, 5)]);
        GradCheck.Check(x => Tensor.CrossEntropyPerSample(x[0], labels), [R(6, 4, 5)]);
    }

    [Fact]
    public void CrossEntropyIsStableAndMatchesDefinition()
    {
        var logits = Tensor.FromArray([1000f, 0f, -1000f, 1f, 2f, 3f], 2, 3);
        var ce = Tensor.CrossEntropy(logits, [1, 2]).Item();
        double row1 = Math.Log(Math.Exp(1) + Math.Exp(2) + Math.Exp(3)) - 3;
        Assert.Equal((1000 + row1) / 2, ce, 3);
        var ls = logits.LogSoftmax(1);
        Assert.True(ls.AllFinite() || float.IsNegativeInfinity(ls[0, 2]));
        Assert.Equal(0f, ls[0, 0], 5);
        var sm = R(1, 3, 7).Softmax(1);
        for (int r = 0; r < 3; r++) Assert.Equal(1f, sm.Slice(0, r, 1).Sum().Item(), 5);
        var ex = Assert.Throws<ArgumentException>(() => Tensor.CrossEntropy(Tensor.FromArray([1f, float.NaN], 1, 2), [0]));
        Assert.Contains("NaN", ex.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => Tensor.CrossEntropy(Tensor.Zeros(1, 2), [2]));
        Assert.Throws<ArgumentException>(() => Tensor.CrossEntropy(Tensor.Zeros(2, 2), [0]));
    }

    [Fact]
    public void SmallConvNetTrainsOnSyntheticImages()
    {
        // Class 0: bright left half; class 1: bright right half; plus noise.
        var rng = new Rng(11);
        const int n = 32;
        var x = Tensor.RandomNormal(rng, [n, 1, 8, 8], 0f, 0.3f);
        var labels = new int[n];
        for (int i = 0; i < n; i++)
        {
            labels[i] = i % 2;
            for (int r = 0; r < 8; r++)
                for (int c = 0; c < 4; c++) x[((i * 8) + r) * 8 + c + 4 * labels[i]] += 1f;
        }
        var net = new Sequential()
            .Add(new Conv2d(1, 4, 3, rng, padding: 1)).Add(new BatchNorm(4)).Add(t => t.Relu()).Add(new MaxPool2x2())
            .Add(new Flatten()).Add(new Dropout(0.1f, new Rng(3))).Add(new Linear(4 * 4 * 4, 2, rng));
        var opt = new Optim.Adam(net.Parameters(), 1e-2f);
        float first = 0, last = 0;
        for (int step = 0; step < 60; step++)
        {
            opt.ZeroGrad();
            var loss = Tensor.CrossEntropy(net.Forward(x), labels);
            loss.Backward();
            opt.Step();
            if (step == 0) first = loss.Item();
            last = loss.Item();
        }
        Assert.True(last < first / 5, $"loss fell only from {first} to {last}");
        net.Eval();
        using (Tensor.NoGrad()) Assert.Equal(1f, Tensor.Accuracy(net.Forward(x), labels));
    }
}
