using MiBounds.TestSupport;

namespace MiBounds.Tensors.Tests;

/// <summary>
/// The leave-one-out log-mean-exp op against a direct double-precision evaluation (values and gradients, including rows
/// at ±80 and ties), finite differences, and its pooled work arrays.
/// </summary>
[Collection(AllocationMeasurements.Name)]
public class LeaveOneOutTests
{
    // Direct: loo[i, j] = log mean_{k≠j} e^{x[i,k]} and d loo[i, j] / d x[i, k] = softmax over k ≠ j, in double.
    private static (double[] Values, double[] Grad) Reference(float[] x, float[] g, int rows, int cols)
    {
        var values = new double[rows * cols];
        var grad = new double[rows * cols];
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++)
            {
                double m = double.NegativeInfinity;
                for (int k = 0; k < cols; k++) if (k != j) m = Math.Max(m, x[i * cols + k]);
                double z = 0;
                for (int k = 0; k < cols; k++) if (k != j) z += Math.Exp(x[i * cols + k] - m);
                double lse = m + Math.Log(z);
                values[i * cols + j] = lse - Math.Log(cols - 1);
                for (int k = 0; k < cols; k++) if (k != j) grad[i * cols + k] += g[i * cols + j] * Math.Exp(x[i * cols + k] - lse);
            }
        return (values, grad);
    }

    private static float[] Scores(int rows, int cols, int seed, float scale, bool extreme)
    {
        var rng = new Rng((ulong)seed);
        var x = new float[rows * cols];
        for (int i = 0; i < x.Length; i++) x[i] = extreme ? (rng.NextFloat() < 0.5 ? -80f : 80f) + rng.NextFloat() * 0.1f : scale * rng.NextFloat() - scale / 2;
        if (extreme) { x[0] = 80f; x[1] = 80f; x[cols] = -80f; } // a tie at the maximum; a row whose max sits apart
        return x;
    }

    [Theory]
    [InlineData(3, 2, 1, 4f, false)]
    [InlineData(5, 5, 2, 6f, false)]
    [InlineData(64, 64, 3, 20f, false)]
    [InlineData(16, 33, 4, 0f, true)]
    [InlineData(4, 7, 5, 300f, false)]
    public void MatchesADirectDoublePrecisionEvaluation(int rows, int cols, int seed, float scale, bool extreme)
    {
        var xs = Scores(rows, cols, seed, scale, extreme);
        var rng = new Rng((ulong)seed + 100);
        var gs = new float[xs.Length];
        rng.FillNormal(gs, 0f, 1f);
        var x = Tensor.FromArray(xs, rows, cols);
        x.RequiresGrad = true;
        var loo = x.LeaveOneOutLogMeanExp();
        loo.Backward(Tensor.FromArray(gs, rows, cols));
        var (values, grad) = Reference(xs, gs, rows, cols);
        for (int i = 0; i < xs.Length; i++)
        {
            Assert.True(Math.Abs(loo[i] - values[i]) <= 1e-6 * Math.Max(1, Math.Abs(values[i])), $"value {i}: {loo[i]} vs {values[i]}");
            Assert.True(Math.Abs(x.Grad![i] - grad[i]) <= 1e-5 * Math.Max(1, Math.Abs(grad[i])), $"gradient {i}: {x.Grad[i]} vs {grad[i]}");
        }
    }

    [Fact]
    public void GradientMatchesFiniteDifferences()
    {
        GradCheck.Check(x => x[0].LeaveOneOutLogMeanExp(), [Tensor.RandomNormal(new Rng(9), [4, 6], 0f, 2f)]);
        GradCheck.Check(x => x[0].LeaveOneOutLogMeanExp(), [Tensor.RandomNormal(new Rng(10), [3, 2])]);
    }

    [Fact]
    public void InAWorkspaceItReturnsItsBuffersAndAllocatesLittle()
    {
        var x = Tensor.RandomNormal(new Rng(11), [128, 128], 0f, 3f);
        x.RequiresGrad = true;
        var plain = x.LeaveOneOutLogMeanExp();
        plain.Sum().Backward();
        var expected = x.Grad!.ToArray();
        var ws = new TensorWorkspace();
        var values = new float[x.Size];
        long bytes = 0;
        x.Grad.Data.Clear();
        for (int rep = 0; rep < 4; rep++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            using (ws.Enter())
            {
                var loo = x.LeaveOneOutLogMeanExp();
                loo.Values.CopyTo(values);
                loo.Sum().Backward();
            }
            bytes = GC.GetAllocatedBytesForCurrentThread() - before;
            Assert.Equal(plain.ToArray(), values);
            Assert.Equal(expected, x.Grad!.ToArray());
            x.Grad.Data.Clear();
        }
        // The unpooled op allocated 128²·(8 + 4 + 4) = 256 KB of work arrays per call; now only small graph objects remain.
        Assert.True(bytes < 4096, $"{bytes} bytes allocated");
        Assert.Equal(0, ws.BuffersInUse);
        using (Tensor.NoGrad()) Assert.Equal(plain.ToArray(), x.LeaveOneOutLogMeanExp().ToArray());
        Assert.Throws<ArgumentException>(() => Tensor.Zeros(3, 1).LeaveOneOutLogMeanExp());
    }
}
