using System.Text.Json;
using MiBounds.Tensors;
using MiBounds.Toy.Tasks;
using MiBounds.Toy.Tasks.Synthetic;

namespace MiBounds.Toy.Tests;

public class SyntheticTasksTests
{
    [Theory]
    [InlineData(1, 0.3)]
    [InlineData(3, 0.9)]
    [InlineData(20, 0.5)]
    public void DenseNormalFormulaReducesToTheCorrelatedGaussian(int dim, double rho)
    {
        var dense = new DenseGaussianTask(DenseAlgebra.PairedCorrelation(dim, rho), dim);
        Assert.Equal(CorrelatedGaussian.RhoToMi(dim, rho), dense.TrueMi, 10);
    }

    [Theory]
    [InlineData(3, 3, 1.0)]
    [InlineData(5, 2, 2.5)]
    [InlineData(1, 4, 0.3)]
    public void DenseNormalLogDeterminantsAgreeWithItsCanonicalCorrelations(int dx, int dy, double mi)
    {
        // WithMi builds Σ from canonical correlations (I = −½ Σ log(1−ρ_i²)); TrueMi comes from log-determinants of Σ.
        var task = DenseGaussianTask.WithMi(dx, dy, mi);
        Assert.Equal(mi, task.TrueMi, 8);
        if (dx > 1) Assert.NotEqual(0, task.Covariance[0, 1], 3); // dense within X too
    }

    [Fact]
    public void DenseNormalSamplesHaveItsCovariance()
    {
        var task = DenseGaussianTask.WithMi(2, 2, 1.0);
        var b = task.Sample(40_000, new Rng(3));
        var v = new double[4][];
        for (int k = 0; k < 4; k++) v[k] = Enumerable.Range(0, 40_000).Select(i => (double)(k < 2 ? b.X[i, k] : b.Y[i, k - 2])).ToArray();
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 4; j++)
            {
                double cov = Enumerable.Range(0, 40_000).Average(n => v[i][n] * v[j][n]);
                Assert.InRange(cov, task.Covariance[i, j] - 0.03, task.Covariance[i, j] + 0.03);
            }
    }

    // The original synthetic tasks and the BMI-style suite with tractable densities.
    public static TheoryData<string> PointwiseTasks => new(SyntheticTasks.All().Concat(BmiTasks.All()).OfType<IPointwiseMiTask>().Select(t => t.Name));

    [Theory]
    [MemberData(nameof(PointwiseTasks))]
    public void MonteCarloOfTheKnownDensitiesMatchesTheClosedFormMi(string name)
    {
        // E[log p(x,y) − log p(x) − log p(y)] from the densities, against the closed form (entropies, log-determinants,
        // the Student-t constant): two independent computations of the same number.
        var task = (IPointwiseMiTask)SyntheticTasks.Get(name);
        const int n = 20_000;
        var b = task.Sample(n, new Rng(17));
        var values = new double[n];
        for (int i = 0; i < n; i++)
            values[i] = task.PointwiseMi(b.X.Values.Slice(i * task.DimX, task.DimX), b.Y.Values.Slice(i * task.DimY, task.DimY));
        double mean = values.Average();
        double se = Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / (n - 1) / n);
        Assert.True(Math.Abs(mean - task.TrueMi) < 4 * se + 0.005, $"{name}: Monte Carlo {mean:F4} ± {se:F4} vs closed form {task.TrueMi:F4}");
    }

    [Fact]
    public void StudentTApproachesTheGaussianAsDegreesOfFreedomGrowAndIsDependentAtZeroCorrelation()
    {
        Assert.Equal(-Math.Log(0.75), new StudentTTask(2, 1e7, 0.5).TrueMi, 5);
        double c = new StudentTTask(3, 2, 0.0).TrueMi;
        Assert.True(c > 0.05, $"the shared scale makes X and Y dependent: {c}");
        Assert.True(new StudentTTask(3, 2, 0.0).TrueMi > new StudentTTask(3, 20, 0.0).TrueMi, "heavier tails, more shared-scale information");
    }

    [Fact]
    public void UniformNoiseBranchesMeetAtEpsilonOne()
    {
        Assert.Equal(1.5, new AdditiveUniformNoiseTask(3, 1.0).TrueMi, 12);
        Assert.Equal(new AdditiveUniformNoiseTask(1, 1 - 1e-9).TrueMi, new AdditiveUniformNoiseTask(1, 1 + 1e-9).TrueMi, 6);
    }

    [Fact]
    public void TransformsAreStrictlyIncreasingAndOnlyMapTheInnerSamples()
    {
        foreach (var map in new[] { CoordinateMap.HalfCube, CoordinateMap.Wiggly })
        {
            double previous = double.NegativeInfinity;
            for (double t = -50; t <= 50; t += 0.001)
            {
                double v = map.Apply(t);
                Assert.True(v > previous, $"{map.Name} is not increasing at {t}");
                previous = v;
            }
            var inner = SyntheticTasks.Get("normal-3x3");
            var outer = new TransformedTask(inner, map);
            Assert.Equal(inner.TrueMi, outer.TrueMi);
            var a = inner.Sample(50, new Rng(4));
            var b = outer.Sample(50, new Rng(4));
            for (int i = 0; i < 50; i++)
                for (int k = 0; k < 3; k++)
                {
                    Assert.Equal((float)map.Apply(a.X[i, k]), b.X[i, k]);
                    Assert.Equal((float)map.Apply(a.Y[i, k]), b.Y[i, k]);
                }
        }
    }

    [Theory]
    [InlineData("normal-dense", 3, 1.5)]
    [InlineData("normal-dense", 20, 8)]
    [InlineData("student-t", 4, 2)]
    [InlineData("student-t", 20, 6)]
    [InlineData("uniform-noise", 1, 2)]      // ε < 1 branch (solved by bisection)
    [InlineData("uniform-noise", 20, 4)]     // ε > 1 branch
    [InlineData("halfcube-normal", 5, 2)]
    [InlineData("wiggly-normal", 5, 2)]
    public void FactoriesHitTheRequestedMiInTheSweepRegistry(string name, int dim, double mi)
    {
        var task = TaskRegistry.Get(name).Create(dim, mi);
        Assert.Equal(mi, task.TrueMi, 6);
        Assert.Equal(dim, task.DimX);
        Assert.Contains(TaskRegistry.FixedTasks, t => t.Name == "normal-3x3");
    }

    [Fact]
    public void TaskListHasUniqueNamesAndRejectsUnknownOnes()
    {
        var all = SyntheticTasks.All();
        Assert.Equal(all.Count, all.Select(t => t.Name).Distinct().Count());
        Assert.All(all, t => Assert.Equal(t.Name, SyntheticTasks.Get(t.Name).Name));
        var e = Assert.Throws<FormatException>(() => SyntheticTasks.Get("nope"));
        Assert.Contains("normal-3x3", e.Message);
    }

    [Fact]
    public void BenchTasksPrintsEstimateAndTruthAsJson()
    {
        var (code, output, _) = Cli.Run("bench-tasks", "--tasks", "uniform-1-eps0.3,normal-3x3", "--estimators", "ksg", "--samples", "600", "--json");
        Assert.Equal(0, code);
        using var doc = JsonDocument.Parse(output);
        Assert.Equal(["samples", "batch", "steps", "critic", "seed", "results", "summary"], doc.RootElement.EnumerateObject().Select(p => p.Name));
        var results = doc.RootElement.GetProperty("results");
        Assert.Equal(2, results.GetArrayLength());
        var first = results[0];
        Assert.Equal(["task", "estimator", "description", "dim_x", "dim_y", "true_nats", "seconds", "result"], first.EnumerateObject().Select(p => p.Name));
        Assert.Equal(JsonValueKind.Null, first.GetProperty("result").GetProperty("batch_size").ValueKind);
        Assert.Equal("uniform-1-eps0.3", first.GetProperty("task").GetString());
        Assert.Equal(SyntheticTasks.Get("uniform-1-eps0.3").TrueMi, first.GetProperty("true_nats").GetDouble(), 12);
        double estimate = first.GetProperty("result").GetProperty("estimate_nats").GetDouble();
        Assert.InRange(estimate, 1.1, 1.6); // KSG on 600 points of a 1-D task with I = 1.35
        var (tableCode, table, _) = Cli.Run("bench-tasks", "--tasks", "uniform-1-eps0.3", "--estimators", "ksg", "--samples", "600");
        Assert.Equal(0, tableCode);
        Assert.Contains("uniform-1-eps0.3", table);
        Assert.Contains("1.354", table);
    }
}
