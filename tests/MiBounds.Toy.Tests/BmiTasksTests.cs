using System.Globalization;
using System.Text.Json;
using MiBounds.Tensors;
using MiBounds.Toy.Commands;
using MiBounds.Toy.Tasks;
using MiBounds.Toy.Tasks.Synthetic;

namespace MiBounds.Toy.Tests;

public class BmiTasksTests
{
    [Fact]
    public void TheSuiteHasTheHardFamiliesAtTheirDimensions()
    {
        var tasks = BmiTasks.All();
        Assert.True(tasks.Count >= 16, $"{tasks.Count} tasks");
        Assert.Contains(tasks, t => t.Name == "bmi-dense-25-25" && t.DimX == 25 && t.DimY == 25);
        Assert.Contains(tasks, t => t.Name == "bmi-sparse-25-25" && t.DimX == 25);
        Assert.Contains(tasks, t => t.TrueMi >= 5);
        Assert.Contains(tasks, t => t is StudentTTask { DegreesOfFreedom: <= 2 });
        Assert.Equal(tasks.Count, tasks.Select(t => t.Name).Distinct().Count());
        Assert.Equal(tasks.Count, SyntheticTasks.Select("bmi").Count);
        Assert.Equal("bmi-spiral-sparse-5-5", SyntheticTasks.Get("BMI-spiral-sparse-5-5").Name);
    }

    [Fact]
    public void ClosedFormsMatchHandComputedValues()
    {
        // Dense: every correlation 0.5, so Σxx has eigenvalues 1 + 24·0.5 = 13 (once) and 0.5; Σ has 25.5 and 0.5:
        // I = ½(2 log 13 + 48 log 0.5 − log 25.5 − 49 log 0.5) = ½ log(169 / (25.5 · 0.5)).
        Assert.Equal(0.5 * Math.Log(169 / (25.5 * 0.5)), BmiTasks.Dense(25, 25).TrueMi, 9);
        // Sparse: two pairs with correlation λ²/(λ² + 1) = 0.8, I = −log(1 − 0.64).
        Assert.Equal(-Math.Log(0.36), BmiTasks.Sparse(25, 25).TrueMi, 9);
        Assert.Equal(-Math.Log(0.36), BmiTasks.Sparse(3, 3).TrueMi, 9);
        // BMI's additive noise U(−ε, ε) with ε = 0.1: I = ε − log 2ε; with ε = 0.75 (> ½): 1/(4ε).
        Assert.Equal(0.1 - Math.Log(0.2), SyntheticTasks.Get("bmi-1v1-additive-0.1").TrueMi, 12);
        Assert.Equal(0.25 / 0.75, new AdditiveUniformNoiseTask(1, 1.5).TrueMi, 12);
        Assert.Equal(5.0, SyntheticTasks.Get("highmi-paired-5-5").TrueMi, 9);
        Assert.Equal(-0.5 * Math.Log(1 - 0.75 * 0.75), SyntheticTasks.Get("bmi-1v1-normal-0.75").TrueMi, 12);
    }

    // The Monte Carlo check of the pointwise tasks runs over this suite too: SyntheticTasksTests.MonteCarloOfTheKnownDensitiesMatchesTheClosedFormMi.

    [Fact]
    public void TransformedTasksKeepTheInnerMiAndTheirMapsAreInvertible()
    {
        foreach (var t in BmiTasks.All().Where(t => t is TransformedTask or SpiralTask))
        {
            var inner = t is TransformedTask tt ? tt.Inner : ((SpiralTask)t).Inner;
            Assert.Equal(inner.TrueMi, t.TrueMi);
        }
        // Strictly increasing margin maps: order is kept, so ranks (and MI) are.
        foreach (var map in new[] { CoordinateMap.NormalCdf, CoordinateMap.Asinh, CoordinateMap.HalfCube })
            for (double a = -6; a < 6; a += 0.25) Assert.True(map.Apply(a + 0.25) > map.Apply(a), $"{map.Name} at {a}");
        // The spiral keeps ‖x‖, so rotating back by −speed·‖x‖² recovers the point.
        var rng = new Rng(5);
        for (int trial = 0; trial < 200; trial++)
        {
            var v = Enumerable.Range(0, 5).Select(_ => (float)(3 * rng.NextNormal())).ToArray();
            var w = (float[])v.Clone();
            SpiralTask.Rotate(w, 1, 2, 0.4);
            Assert.Equal(v.Sum(a => a * a), w.Sum(a => a * a), 2);
            SpiralTask.Rotate(w, 1, 2, -0.4);
            for (int k = 0; k < 5; k++) Assert.True(Math.Abs(v[k] - w[k]) < 1e-4 * (1 + Math.Abs(v[k])), $"{v[k]} vs {w[k]}");
        }
    }

    [Fact]
    public void SpiralSamplesAreRotatedInnerSamples()
    {
        var inner = BmiTasks.Sparse(5, 5);
        var spiral = new SpiralTask(inner);
        var a = inner.Sample(50, new Rng(9));
        var b = spiral.Sample(50, new Rng(9));
        Assert.Equal(a.X[3, 4], b.X[3, 4]); // coordinates outside the rotated plane stay
        Assert.NotEqual(a.X[3, 0], b.X[3, 0]);
        Assert.Equal(a.Y[7, 0], b.Y[7, 0]); // Y turns in the (1, 2) plane
    }

    [Fact]
    public void SummaryMeasuresFollowTheirDefinitions()
    {
        Assert.Equal(1, BenchTasksCommand.AbsLog2Ratio(2, 1), 12);
        Assert.Equal(1, BenchTasksCommand.AbsLog2Ratio(0.5, 1), 12);
        Assert.Equal(Math.Log2(100), BenchTasksCommand.AbsLog2Ratio(-3, 1), 12); // floored at 0.01 nats
        Assert.True(BenchTasksCommand.WithinTolerance(0.31, 0.4)); // 0.09 ≤ 0.1
        Assert.False(BenchTasksCommand.WithinTolerance(0.29, 0.4));
        Assert.True(BenchTasksCommand.WithinTolerance(4.3, 5)); // 0.7 ≤ 0.75
        Assert.False(BenchTasksCommand.WithinTolerance(4.2, 5));
    }

    [Fact]
    public void BenchWritesResultsAndSummaryAndResumesWithoutRerunning()
    {
        string dir = Path.Combine(Path.GetTempPath(), $"mib-bench-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        try
        {
            string path = Path.Combine(dir, "b.json");
            var (code, _, _) = Cli.Run("bench-tasks", "--tasks", "bmi-1v1-normal-0.75,bmi-sparse-3-3", "--estimators", "gcmi,cca", "--samples", "800", "--out", path);
            Assert.Equal(0, code);
            using (var doc = JsonDocument.Parse(File.ReadAllText(path)))
            {
                Assert.Equal(4, doc.RootElement.GetProperty("results").GetArrayLength());
                var summary = doc.RootElement.GetProperty("summary");
                Assert.Equal(2, summary.GetArrayLength());
                Assert.Equal("gcmi", summary[0].GetProperty("estimator").GetString());
                Assert.Equal(2, summary[0].GetProperty("tasks").GetInt32());
                Assert.Equal(2, summary[0].GetProperty("within_tolerance").GetInt32()); // Gaussian tasks: GCMI is exact up to noise
            }
            // A resumed run with one more estimator runs only that estimator.
            var (code2, table, err) = Cli.Run("bench-tasks", "--tasks", "bmi-1v1-normal-0.75,bmi-sparse-3-3", "--estimators", "gcmi,cca,ksg10", "--samples", "800", "--out", path, "--resume");
            Assert.Equal(0, code2);
            Assert.Contains("4 results kept", err);
            Assert.DoesNotContain("/ gcmi", err);
            Assert.Contains("/ ksg10", err);
            Assert.Contains("mean |log2 ratio|", table);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void BmiModeReadsTheirSampleCsvAndPrintsOnlyTheNumber()
    {
        // BMI's runner writes pandas' to_csv(index=False) of [X, Y] with columns X0.., Y0.. and calls
        // PROGRAM SAMPLE.csv DIM_X DIM_Y, parsing stdout and stderr together as one float.
        string path = Path.Combine(Path.GetTempPath(), $"mib-bmi-{Guid.NewGuid():N}.csv");
        var rng = new Rng(4);
        using (var w = new StreamWriter(path))
        {
            w.WriteLine("X0,X1,Y0");
            for (int i = 0; i < 1500; i++)
            {
                double a = rng.NextNormal(), b = rng.NextNormal(), c = 0.8 * a + 0.6 * rng.NextNormal();
                w.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{a},{b},{c}"));
            }
        }
        try
        {
            var (code, output, error) = Cli.Run("estimate", "--bmi", path, "2", "1", "--estimator", "gcmi");
            Assert.Equal(0, code);
            Assert.Equal("", error);
            double value = double.Parse(output.Trim(), CultureInfo.InvariantCulture);
            Assert.InRange(value, -0.5 * Math.Log(0.36) - 0.08, -0.5 * Math.Log(0.36) + 0.08); // I = 0.511
            var (bad, _, badError) = Cli.Run("estimate", "--bmi", path, "1", "1");
            Assert.NotEqual(0, bad);
            Assert.Contains("DIM_X + DIM_Y", badError);
        }
        finally { File.Delete(path); }
    }
}
