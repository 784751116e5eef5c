using MiBounds.Tensors.Nn;

namespace MiBounds.Tensors.Tests;

/// <summary>Central finite differences for the backward pass of every differentiable op, plus autodiff semantics and error messages.</summary>
public class OpGradTests
{
    private static Tensor R(int seed, params int[] shape) => Tensor.RandomNormal(new Rng((ulong)seed), shape);
    private static Tensor Pos(int seed, params int[] shape) => R(seed, shape).Abs() + 0.5f;
    private static Tensor Spread(int seed, params int[] shape) => LayerOpTests.Spread(seed, shape);

    [Fact]
    public void UnaryOps()
    {
        GradCheck.Check(x => x[0].Exp(), [R(1, 3, 4)]);
        GradCheck.Check(x => x[0].Log(), [Pos(2, 3, 4)]);
        GradCheck.Check(x => x[0].Log1p(), [Pos(3, 3, 4)]);
        GradCheck.Check(x => x[0].Softplus(), [R(4, 3, 4) * 3f]);
        GradCheck.Check(x => x[0].Sigmoid(), [R(5, 3, 4)]);
        GradCheck.Check(x => x[0].Tanh(), [R(6, 3, 4)]);
        GradCheck.Check(x => x[0].Relu(), [Spread(7, 3, 4)]);
        GradCheck.Check(x => x[0].Square(), [R(8, 3, 4)]);
        GradCheck.Check(x => x[0].Sqrt(), [Pos(9, 3, 4)]);
        GradCheck.Check(x => x[0].Abs(), [Spread(10, 3, 4)]);
        GradCheck.Check(x => x[0].Clamp(-0.2f, 0.3f), [Spread(11, 3, 4)]);
        GradCheck.Check(x => x[0].Neg(), [R(12, 3, 4)]);
        GradCheck.Check(x => -x[0], [R(13, 2, 2, 3)]);
    }

    [Fact]
    public void ScalarOps()
    {
        GradCheck.Check(x => x[0] + 2f, [R(1, 3, 2)]);
        GradCheck.Check(x => 2f + x[0], [R(2, 3, 2)]);
        GradCheck.Check(x => x[0] - 1.5f, [R(3, 3, 2)]);
        GradCheck.Check(x => 1.5f - x[0], [R(4, 3, 2)]);
        GradCheck.Check(x => x[0] * 3f, [R(5, 3, 2)]);
        GradCheck.Check(x => -0.5f * x[0], [R(6, 3, 2)]);
        GradCheck.Check(x => x[0] / 4f, [R(7, 3, 2)]);
        GradCheck.Check(x => Tensor.AddScalar(x[0], 1f) * Tensor.MulScalar(x[0], 2f), [R(8, 4)]);
    }

    [Fact]
    public void BinaryOpsWithEveryBroadcastPattern()
    {
        (int[] a, int[] b)[] shapes =
        [
            ([4, 3], [4, 3]), // same
            ([4, 3], [1, 3]), // row
            ([4, 3], [3]),    // row, lower rank
            ([4, 3], [4, 1]), // column
            ([4, 1], [1, 3]), // outer
            ([4, 3], [1]),    // scalar-like
            ([2, 3, 4], [3, 1]),
            ([2, 1, 3, 2], [4, 1, 2]),
        ];
        int seed = 0;
        foreach (var (sa, sb) in shapes)
        {
            GradCheck.Check(x => x[0] + x[1], [R(++seed, sa), R(++seed, sb)]);
            GradCheck.Check(x => x[0] - x[1], [R(++seed, sa), R(++seed, sb)]);
            GradCheck.Check(x => x[0] * x[1], [R(++seed, sa), R(++seed, sb)]);
            GradCheck.Check(x => x[0] / x[1], [R(++seed, sa), Pos(++seed, sb)]);
            GradCheck.Check(x => x[1] / x[0], [Pos(++seed, sa), R(++seed, sb)]);
        }
        GradCheck.Check(x => x[0] * x[1], [R(90, 3, 2), Tensor.Scalar(1.7f)]);
        GradCheck.Check(x => x[0].Add(x[1]).Mul(x[0]).Sub(x[1]).Div(x[1] + 3f), [R(91, 2, 3), Pos(92, 2, 3)]);
        GradCheck.Check(x => Tensor.Maximum(x[0], x[1]), [Spread(93, 3, 4), Spread(94, 3, 4) + 0.03f]); // no ties
        GradCheck.Check(x => Tensor.LogAddExp(x[0], x[1]), [R(95, 3, 4), R(96, 3, 1)]);
    }

    [Fact]
    public void MatMulBatchedAndLinear()
    {
        foreach (bool ta in new[] { false, true })
            foreach (bool tb in new[] { false, true })
                GradCheck.Check(x => Tensor.MatMul(x[0], x[1], ta, tb), [ta ? R(1, 2, 5, 3) : R(1, 2, 3, 5), tb ? R(2, 2, 4, 5) : R(2, 2, 5, 4)]);
        GradCheck.Check(x => Tensor.Linear(x[0], x[1], x[2]), [R(3, 5, 4), R(4, 3, 4), R(5, 3)]);
        GradCheck.Check(x => Tensor.Linear(x[0], x[1], null), [R(6, 5, 4), R(7, 3, 4)]);
    }

    [Fact]
    public void LinearOverColumnsMatchesFiniteDifferences()
    {
        // x [5, 3] through columns [2, 5) of a [4, 7] weight: the other columns get no gradient.
        GradCheck.Check(x => Tensor.LinearOverColumns(x[0], x[1], 2, x[2]), [R(1, 5, 3), R(2, 4, 7), R(3, 4)]);
        GradCheck.Check(x => Tensor.LinearOverColumns(x[0], x[1], 0, null), [R(4, 5, 3), R(5, 4, 7)]);
    }

    [Theory]
    [InlineData(0, 70)]
    [InlineData(30, 70)]
    [InlineData(20, 270)]
    public void LinearOverColumnsIsBitwiseLinearOfTheSlice(int start, int width)
    {
        // Large enough for the products' blocked and parallel paths (300 input columns > one 256-wide k block).
        const int rows = 40, outputs = 33, total = 300;
        var x = R(6, rows, width); var b = R(7, outputs); var up = R(8, rows, outputs);
        var w1 = R(9, outputs, total); var w2 = R(9, outputs, total);
        foreach (var t in new[] { x, b, w1, w2 }) t.RequiresGrad = true;
        var direct = Tensor.LinearOverColumns(x, w1, start, b);
        (direct * up).Sum().Backward();
        float[] directValues = direct.ToArray(), dxDirect = x.Grad!.ToArray(), dbDirect = b.Grad!.ToArray();
        x.Grad = null; b.Grad = null;
        var sliced = Tensor.Linear(x, w2.Slice(1, start, width), b);
        (sliced * up).Sum().Backward();
        Assert.Equal(sliced.ToArray(), directValues);
        Assert.Equal(x.Grad!.ToArray(), dxDirect);
        Assert.Equal(b.Grad!.ToArray(), dbDirect);
        Assert.Equal(w2.Grad!.ToArray(), w1.Grad!.ToArray());
    }

    [Fact]
    public void LinearOverColumnsRefusesAWindowOutsideTheWeight()
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => Tensor.LinearOverColumns(R(1, 2, 3), R(2, 4, 5), 3, null));
        Assert.Contains("[3, 6)", ex.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => Tensor.LinearOverColumns(R(1, 2, 3), R(2, 4, 5), -1, null));
        Assert.Throws<ArgumentException>(() => Tensor.LinearOverColumns(R(1, 2, 3), R(2, 4, 5), 0, R(3, 5)));
    }

    [Fact]
    public void Reductions()
    {
        GradCheck.Check(x => x[0].Sum(), [R(1, 3, 4)]);
        GradCheck.Check(x => x[0].Mean(), [R(2, 2, 3, 4)]);
        for (int axis = 0; axis < 3; axis++)
        {
            int a = axis;
            GradCheck.Check(x => x[0].Sum(a), [R(3 + a, 2, 3, 4)]);
            GradCheck.Check(x => x[0].Sum(a, keepDim: true), [R(6 + a, 2, 3, 4)]);
            GradCheck.Check(x => x[0].Mean(a), [R(9 + a, 2, 3, 4)]);
            GradCheck.Check(x => x[0].Max(a), [Spread(12 + a, 2, 3, 4)]);
            GradCheck.Check(x => x[0].LogSumExp(a), [R(15 + a, 2, 3, 4)]);
        }
        GradCheck.Check(x => x[0].Max(), [Spread(20, 3, 4)]);
        GradCheck.Check(x => x[0].LogSumExp(), [R(21, 3, 4)]);
        GradCheck.Check(x => x[0].Max(-1, keepDim: true), [Spread(22, 3, 4)]);
    }

    [Fact]
    public void MaskedReductionsAndDiagonal()
    {
        var off = Tensor.OffDiagonalMask(4, 4);
        var rnd = new bool[12];
        for (int i = 0; i < 12; i++) rnd[i] = i % 3 != 1;
        GradCheck.Check(x => x[0].MaskedSum(off), [R(1, 4, 4)]);
        GradCheck.Check(x => x[0].MaskedMean(off), [R(2, 4, 4)]);
        GradCheck.Check(x => x[0].MaskedLogSumExp(off), [R(3, 4, 4)]);
        GradCheck.Check(x => x[0].MaskedLogMeanExp(rnd), [R(4, 3, 4)]);
        GradCheck.Check(x => x[0].MaskedSum(rnd), [R(5, 2, 6)]);
        GradCheck.Check(x => x[0].Diagonal(), [R(6, 4, 4)]);
        GradCheck.Check(x => x[0].Diagonal(), [R(7, 3, 5)]);
        Assert.Equal(4, Tensor.OffDiagonalMask(2, 3).Count(b => b));
    }

    [Fact]
    public void ShapeOps()
    {
        GradCheck.Check(x => Tensor.Concat(0, x[0], x[1]), [R(1, 2, 3), R(2, 4, 3)]);
        GradCheck.Check(x => Tensor.Concat(1, x[0], x[1], x[0]), [R(3, 2, 3), R(4, 2, 1)]);
        GradCheck.Check(x => Tensor.Concat(-1, x[0], x[1]), [R(5, 2, 2, 3), R(6, 2, 2, 2)]);
        GradCheck.Check(x => x[0].Slice(0, 1, 2), [R(7, 4, 3)]);
        GradCheck.Check(x => x[0].Slice(1, 1, 2), [R(8, 2, 4, 3)]);
        GradCheck.Check(x => x[0].Reshape(3, -1), [R(9, 2, 3, 2)]);
        GradCheck.Check(x => x[0].Flatten(), [R(10, 2, 3, 2)]);
        GradCheck.Check(x => x[0].Transpose(), [R(11, 3, 4)]);
        GradCheck.Check(x => x[0].Transpose(0, 2), [R(12, 2, 3, 4)]);
        GradCheck.Check(x => x[0].Permute(2, 0, 3, 1), [R(13, 2, 3, 2, 2)]);
        GradCheck.Check(x => x[0].Permute(2, 3, 0, 1), [R(13, 3, 2, 2, 3)]);
        GradCheck.Check(x => x[0].Permute(1, 0, 2), [R(13, 3, 2, 4)]);
        GradCheck.Check(x => x[0].Permute(0, 1), [R(13, 3, 2)]);
        GradCheck.Check(x => x[0].GatherRows([2, 0, 2, 1]), [R(14, 3, 4)]);
        GradCheck.Check(x => x[0].GatherRows([1, 1]), [R(15, 3, 2, 2)]);
        GradCheck.Check(x => x[0].PickPerRow([2, 0, 3]), [R(16, 3, 4)]);
        Assert.Equal([0f, 1f, 0f, 1f, 0f, 0f], Tensor.OneHot([1, 0], 3).ToArray());
    }

    [Fact]
    public void ComposedGraphWithReuseAccumulatesGradients()
    {
        // x used several times, through several paths.
        GradCheck.Check(x => (x[0] * x[0]).Sum(1).LogSumExp() + x[0].Tanh().Mean() * x[1].Sum(), [R(1, 3, 4), R(2, 2)]);
        var w = Tensor.Parameter(Tensor.FromArray([2f, 3f]));
        (w * w).Sum().Backward();
        (w * 5f).Sum().Backward(); // gradients accumulate over backward calls
        Assert.Equal([9f, 11f], w.Grad!.ToArray());
        w.ZeroGrad();
        Assert.Equal([0f, 0f], w.Grad!.ToArray());
    }

    [Fact]
    public void NoGradDetachAndReleasedGraphs()
    {
        var w = Tensor.Parameter(Tensor.FromArray([1f, 2f]));
        using (Tensor.NoGrad())
        {
            var y = w * 2f;
            Assert.False(y.RequiresGrad);
            Assert.True(y.IsLeaf);
        }
        var d = (w * 2f).Detach();
        Assert.False(d.RequiresGrad);
        Assert.Throws<InvalidOperationException>(() => d.Sum().Backward());

        var h = w.Exp();
        var l1 = h.Sum();
        var l2 = (h * 2f).Sum();
        l1.Backward();
        var ex = Assert.Throws<InvalidOperationException>(() => l2.Backward());
        Assert.Contains("released", ex.Message);

        // With retainGraph the shared part can be walked again.
        w.Grad = null;
        var h2 = w.Exp();
        var a = h2.Sum(); var b = (h2 * 2f).Sum();
        a.Backward(retainGraph: true);
        b.Backward();
        Assert.Equal(3 * MathF.Exp(1f), w.Grad!.ToArray()[0], 4);
        Assert.Throws<InvalidOperationException>(() => Tensor.Ones(2).Sum().Backward());
        Assert.Throws<InvalidOperationException>(() => (w * 1f).Backward());
    }

    [Fact]
    public void ShapeMismatchesNameBothShapes()
    {
        var ex = Assert.Throws<ArgumentException>(() => R(1, 4, 3) + R(2, 4, 2));
        Assert.Contains("[4, 3]", ex.Message); Assert.Contains("[4, 2]", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => Tensor.MatMul(R(1, 4, 3), R(2, 4, 2)));
        Assert.Contains("[4, 3]", ex.Message); Assert.Contains("[4, 2]", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => Tensor.Linear(R(1, 5, 3), R(2, 2, 4), null));
        Assert.Contains("[5, 3]", ex.Message); Assert.Contains("[2, 4]", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => Tensor.Concat(0, R(1, 2, 3), R(2, 2, 4)));
        Assert.Contains("[2, 3]", ex.Message); Assert.Contains("[2, 4]", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => R(1, 2, 3).Reshape(4, 2));
        Assert.Contains("[2, 3]", ex.Message); Assert.Contains("[4, 2]", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => Tensor.BatchNorm(R(1, 4, 3), Tensor.Ones(2), null, null, null, true));
        Assert.Contains("[4, 3]", ex.Message); Assert.Contains("[2]", ex.Message);
        Assert.Throws<ArgumentException>(() => Tensor.Zeros(1, 1, 1, 1, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => R(1, 2, 3).Sum(2));
    }

    [Fact]
    public void NonFiniteInputsToCheckedOpsThrowNamingTheOp()
    {
        var rng = new Rng(1);
        var linear = new Linear(3, 2, rng) { CheckFinite = true };
        var bad = Tensor.FromArray([1f, float.NaN, 0f], 1, 3);
        var ex = Assert.Throws<ArgumentException>(() => linear.Forward(bad));
        Assert.Contains("Linear(3→2) input", ex.Message);
        Assert.Contains("NaN", ex.Message);
        linear.CheckFinite = false;
        Assert.False(linear.Forward(bad).AllFinite()); // unchecked: propagates silently

        var conv = new Conv2d(1, 1, 1, rng);
        var img = Tensor.Ones(1, 1, 2, 2); img[3] = float.PositiveInfinity;
        Engine.CheckFinite = true;
        try
        {
            ex = Assert.Throws<ArgumentException>(() => conv.Forward(img));
            Assert.Contains("Conv2d(1→1) input", ex.Message);
            Assert.Contains("infinite", ex.Message);
            ex = Assert.Throws<ArgumentException>(() => linear.Forward(bad));
            Assert.Contains("Linear", ex.Message);
        }
        finally { Engine.CheckFinite = false; }
        ex = Assert.Throws<ArgumentException>(() => bad.EnsureFinite("scores"));
        Assert.Contains("scores", ex.Message); Assert.Contains("flat index 1", ex.Message);
    }

    [Theory]
    [InlineData(BlockBound.JensenShannon)]
    [InlineData(BlockBound.InfoNce)]
    [InlineData(BlockBound.DonskerVaradhan)]
    public void BlockDiagonalBoundGradients(BlockBound kind) =>
        GradCheck.Check(x => Tensor.BlockDiagonalBound(x[0], kind).Objective, [R(21, 4, 12)]);
}
