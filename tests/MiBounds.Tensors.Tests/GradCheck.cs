using MiBounds.Tensors;

namespace MiBounds.Tensors.Tests;

/// <summary>Central finite differences (accumulated in double) against autodiff gradients.</summary>
public static class GradCheck
{
    /// <summary>
    /// Checks d f(inputs)/d input for every input: f must return a scalar. Uses a fixed random
    /// projection so non-scalar outputs can be checked too (f may return any shape).
    /// </summary>
    public static void Check(Func<Tensor[], Tensor> f, Tensor[] inputs, double eps = 1e-2, double tol = 2e-2, int seed = 7)
    {
        foreach (var x in inputs) { x.RequiresGrad = true; x.Grad = null; }
        var probe = f(inputs);
        var rng = new Rng((ulong)seed);
        var weights = Tensor.RandomNormal(rng, probe.Shape);
        var loss = (probe * weights).Sum();
        loss.Backward();
        double Eval()
        {
            using var _ = Tensor.NoGrad();
            var o = f(inputs);
            double s = 0;
            for (int i = 0; i < o.Size; i++) s += (double)o[i] * weights[i];
            return s;
        }
        for (int t = 0; t < inputs.Length; t++)
        {
            var x = inputs[t];
            Assert.NotNull(x.Grad);
            for (int i = 0; i < x.Size; i++)
            {
                float orig = x[i];
                x[i] = (float)(orig + eps); double up = Eval();
                x[i] = (float)(orig - eps); double down = Eval();
                x[i] = orig;
                double numeric = (up - down) / (2 * eps);
                double analytic = x.Grad![i];
                double scale = Math.Max(1.0, Math.Abs(numeric));
                Assert.True(Math.Abs(numeric - analytic) <= tol * scale,
                    $"input {t} element {i}: finite difference {numeric:G6} vs autodiff {analytic:G6}");
            }
        }
    }
}
