using MiBounds.Tensors;
using MiBounds.Toy.Tasks;

namespace MiBounds.Toy.Tests;

public class TaskTests
{
    [Theory]
    [InlineData(20, 2.0)]
    [InlineData(20, 10.0)]
    [InlineData(3, 0.5)]
    public void MiAndRhoConvertBothWays(int dim, double mi)
    {
        double rho = CorrelatedGaussian.MiToRho(dim, mi);
        // Independent check of I = −(d/2)·log(1−ρ²) with the closed form of ρ.
        Assert.Equal(Math.Sqrt(1 - Math.Exp(-2 * mi / dim)), rho, 12);
        Assert.Equal(mi, CorrelatedGaussian.RhoToMi(dim, rho), 10);
        Assert.Equal(mi, CorrelatedGaussian.FromMi(dim, mi).TrueMi, 10);
        Assert.Equal(mi, CorrelatedGaussian.FromMi(dim, mi, cubic: true).TrueMi, 10);
    }

    [Fact]
    public void GaussianSampleCovarianceMatchesTheAnalyticOne()
    {
        const int n = 40_000, dim = 3;
        var task = CorrelatedGaussian.FromMi(dim, 2.0);
        var batch = task.Sample(n, new Rng(7));
        var x = batch.X.ToArray(); var y = batch.Y.ToArray();
        for (int d = 0; d < dim; d++)
        {
            double sxx = 0, syy = 0, sxy = 0, sx = 0, sy = 0;
            for (int i = 0; i < n; i++) { double a = x[i * dim + d], b = y[i * dim + d]; sx += a; sy += b; sxx += a * a; syy += b * b; sxy += a * b; }
            // Var x = Var y = 1, Cov(x, y) = ρ; standard errors are about 1/√n ≈ 0.005.
            Assert.InRange(sx / n, -0.03, 0.03);
            Assert.InRange(sxx / n, 0.97, 1.03);
            Assert.InRange(syy / n, 0.97, 1.03);
            Assert.InRange(sxy / n, task.Rho - 0.03, task.Rho + 0.03);
        }
        // Different coordinates are independent.
        double cross = 0;
        for (int i = 0; i < n; i++) cross += x[i * dim] * y[i * dim + 1];
        Assert.InRange(cross / n, -0.03, 0.03);
    }

    [Fact]
    public void CubicTaskCubesTheGaussianY()
    {
        var plain = CorrelatedGaussian.FromMi(4, 3.0).Sample(50, new Rng(3));
        var cubic = CorrelatedGaussian.FromMi(4, 3.0, cubic: true).Sample(50, new Rng(3));
        Assert.Equal(plain.X.ToArray(), cubic.X.ToArray());
        var py = plain.Y.ToArray(); var cy = cubic.Y.ToArray();
        for (int i = 0; i < py.Length; i++) Assert.Equal(py[i] * py[i] * py[i], cy[i], 1e-5f);
    }

    [Fact]
    public void RegistryFindsTheBuiltInTasksAndRejectsUnknownNames()
    {
        var names = TaskRegistry.All.Select(f => f.Name).ToArray();
        Assert.Equal(["gaussian", "cubic"], names.Take(2));
        Assert.Equal(6.0, TaskRegistry.Get("gaussian").Create(20, 6.0).TrueMi, 10);
        Assert.Equal("cubic", TaskRegistry.Get("CUBIC").Create(5, 1.0).Name);
        var e = Assert.Throws<ArgumentException>(() => TaskRegistry.Get("banana"));
        Assert.Contains("gaussian", e.Message);
    }
}
