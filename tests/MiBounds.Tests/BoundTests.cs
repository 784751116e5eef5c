using MiBounds.Bounds;
using MiBounds.Critics;
using MiBounds.Tensors;

namespace MiBounds.Tests;

public class BoundTests
{

    private static (float[] flat, double[,] grid) RandomScores(int k, int seed, double scale)
    {
        var rng = new Rng((ulong)seed);
        var flat = new float[k * k];
        var grid = new double[k, k];
        for (int i = 0; i < k; i++)
            for (int j = 0; j < k; j++)
            {
                flat[i * k + j] = (float)(scale * rng.NextNormal() + (i == j ? 1.5 : 0));
                grid[i, j] = flat[i * k + j];
            }
        return (flat, grid);
    }

    private static double[] RandomBaseline(int k, int seed)
    {
        var rng = new Rng((ulong)seed);
        return Enumerable.Range(0, k).Select(_ => (double)rng.NextNormal() * 0.5).ToArray();
    }

    public static TheoryData<string> Names => new() { "nwj", "tuba", "infonce", "js", "alpha0.01", "alpha0.5", "alpha0.99", "smile5", "smileinf", "mine", "dv" };

    private static double Reference(string name, double[,] s, double[] b) => name switch
    {
        "nwj" => ReferenceFormulas.Nwj(s),
        "tuba" => ReferenceFormulas.Tuba(s, b),
        "infonce" => ReferenceFormulas.InfoNce(s),
        "js" => ReferenceFormulas.JsValue(s),
        "alpha0.01" => ReferenceFormulas.Interpolated(s, b, 0.01),
        "alpha0.5" => ReferenceFormulas.Interpolated(s, b, 0.5),
        "alpha0.99" => ReferenceFormulas.Interpolated(s, b, 0.99),
        "smile5" => ReferenceFormulas.Smile(s, 5),
        "smileinf" => ReferenceFormulas.Dv(s),
        "mine" or "dv" => ReferenceFormulas.Dv(s),
        _ => throw new ArgumentException(name),
    };

    [Theory]
    [MemberData(nameof(Names))]
    public void ValueMatchesIndependentFormula(string name)
    {
        const int k = 7;
        var (flat, grid) = RandomScores(k, 11, 1.3);
        var b = RandomBaseline(k, 12);
        var spec = BoundSpec.Parse(name);
        var bound = spec.CreateScoreOnly();
        var eval = bound.EvaluateScores(flat, k, k, spec.UsesBaseline ? b.Select(v => (float)v).ToArray() : null);
        Assert.Equal(Reference(name, grid, b), eval.Value, 4);
        if (name == "js") Assert.Equal(ReferenceFormulas.JsObjective(grid), eval.Objective, 4);
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void ScoreGradientMatchesFiniteDifferences(string name)
    {
        const int k = 5;
        var (flat, _) = RandomScores(k, 21, 1.0);
        var b = RandomBaseline(k, 22).Select(v => (float)v).ToArray();
        var spec = BoundSpec.Parse(name);
        var baseline = spec.UsesBaseline ? b : null;
        // MINE's objective depends on its moving average: fix it so the finite differences see the same function.
        MiBound Make() { var m = spec.CreateScoreOnly(); if (m is Mine mine) mine.MovingAverage = 1.7; return m; }
        var eval = Make().EvaluateScores(flat, k, k, baseline);
        const double eps = 1e-2;
        for (int i = 0; i < flat.Length; i++)
        {
            var up = (float[])flat.Clone(); up[i] += (float)eps;
            var down = (float[])flat.Clone(); down[i] -= (float)eps;
            double numeric = (Make().EvaluateScores(up, k, k, baseline).Objective - Make().EvaluateScores(down, k, k, baseline).Objective) / (2 * eps);
            Assert.True(Math.Abs(numeric - eval.ScoreGradient[i]) < 2e-3 + 2e-2 * Math.Abs(numeric),
                $"{name} score {i}: finite difference {numeric} vs gradient {eval.ScoreGradient[i]}");
        }
        if (baseline is null) return;
        for (int i = 0; i < k; i++)
        {
            var up = (float[])b.Clone(); up[i] += (float)eps;
            var down = (float[])b.Clone(); down[i] -= (float)eps;
            double numeric = (Make().EvaluateScores(flat, k, k, up).Objective - Make().EvaluateScores(flat, k, k, down).Objective) / (2 * eps);
            Assert.True(Math.Abs(numeric - eval.BaselineGradient![i]) < 2e-3 + 2e-2 * Math.Abs(numeric),
                $"{name} baseline {i}: finite difference {numeric} vs gradient {eval.BaselineGradient[i]}");
        }
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void LargeMagnitudeScoresGiveFiniteValuesAndGradients(string name)
    {
        const int k = 6;
        var rng = new Rng(5);
        var flat = new float[k * k];
        for (int i = 0; i < flat.Length; i++) flat[i] = rng.NextFloat() < 0.5 ? -80f : 80f;
        flat[0] = 80f; flat[1] = 80f; // ties at the row maximum
        var spec = BoundSpec.Parse(name);
        var eval = spec.CreateScoreOnly().EvaluateScores(flat, k, k, spec.UsesBaseline ? new float[k] : null);
        // NWJ/TUBA/MINE exponentiate raw scores by definition (e^80 fits a double); they must not produce NaN.
        Assert.False(double.IsNaN(eval.Value), $"{name}: value is NaN");
        if (name is not ("nwj" or "tuba" or "js" or "mine"))
        {
            Assert.True(double.IsFinite(eval.Value), $"{name}: value {eval.Value}");
            Assert.All(eval.ScoreGradient, g => Assert.True(float.IsFinite(g), $"{name}: gradient {g}"));
        }
    }

    [Fact]
    public void LeaveOneOutIsExactAtExtremeScores()
    {
        var rows = new[] { new float[] { 80, -80, 79.9f, -80 }, new float[] { 3, 3, 3, 3 }, new float[] { -80, 80, 80, 0 } };
        var s = Tensor.FromRows(rows);
        var loo = ScoreMath.LeaveOneOutLogMeanExp(s);
        for (int i = 0; i < rows.Length; i++)
            for (int j = 0; j < 4; j++)
            {
                var others = rows[i].Where((_, l) => l != j).Select(v => (double)v).ToArray();
                double m = others.Max();
                double expected = m + Math.Log(others.Sum(v => Math.Exp(v - m)) / others.Length);
                Assert.True(Math.Abs(expected - loo[i, j]) < 1e-4, $"({i},{j}): {loo[i, j]} vs {expected}");
            }
    }

    [Fact]
    public void InterpolatedBoundHasTheAdvertisedLimits()
    {
        const int k = 8;
        var (flat, grid) = RandomScores(k, 3, 1.0);
        var b = RandomBaseline(k, 4);
        var fb = b.Select(v => (float)v).ToArray();
        double tuba = ReferenceFormulas.Tuba(grid, b), infoNce = ReferenceFormulas.InfoNce(grid);
        double nearZero = new InterpolatedBound(1e-6).EvaluateScores(flat, k, k, fb).Value;
        Assert.Equal(tuba, nearZero, 3);
        // Iα ≤ 1 + log K − log α for every α (the ceiling the plots draw).
        foreach (double alpha in new[] { 0.01, 0.5, 0.99 })
        {
            var bound = new InterpolatedBound(alpha);
            Assert.True(bound.EvaluateScores(flat, k, k, fb).Value <= bound.Ceiling(k)!.Value, $"α={alpha} above its ceiling");
        }
        var fromLogit = InterpolatedBound.FromLogit(null, null, 0.0);
        Assert.Equal(0.5, fromLogit.Alpha, 12);
    }

    [Fact]
    public void PositiveMaskOffTheDiagonalMatchesPermutedScores()
    {
        // Moving row i's positive to column p_i must give the same DV and JS values as the diagonal case.
        const int k = 5;
        var (flat, grid) = RandomScores(k, 9, 1.0);
        int[] perm = [2, 0, 4, 1, 3];
        var moved = new float[k * k];
        for (int i = 0; i < k; i++) for (int j = 0; j < k; j++) moved[i * k + perm[j]] = flat[i * k + j];
        var mask = PositiveMask.FromLabels(perm, k);
        foreach (var bound in new MiBound[] { new DonskerVaradhan(), new JensenShannon(), new InfoNce() })
        {
            var direct = bound.EvaluateScores(flat, k, k);
            var masked = bound.EvaluateScores(moved, k, k, positives: mask);
            Assert.Equal(direct.Value, masked.Value, 5);
        }
        Assert.Equal(ReferenceFormulas.Dv(grid), new DonskerVaradhan().EvaluateScores(moved, k, k, positives: mask).Value, 4);
    }

    [Fact]
    public void ARefilledLabelMaskEqualsAFreshOneAndSharedMasksAreNeverRefilled()
    {
        int[] first = [2, 0, 1, 1], second = [0, 2, 2, 1];
        var mask = PositiveMask.FromLabels(first, 3);
        var refilled = PositiveMask.FromLabels(second, 3, reuse: mask);
        Assert.Same(mask, refilled);
        var fresh = PositiveMask.FromLabels(second, 3);
        Assert.Equal(fresh.Positives, refilled.Positives);
        Assert.Equal(fresh.Negatives, refilled.Negatives);
        Assert.Equal(fresh.PositivePerRow, refilled.PositivePerRow);
        // Another shape, or the cached diagonal (shared by every caller), gives a new mask instead.
        Assert.NotSame(mask, PositiveMask.FromLabels([0, 1, 2], 3, reuse: mask));
        var diagonal = PositiveMask.Diagonal(3);
        var fromDiagonal = PositiveMask.FromLabels([1, 2, 0], 3, reuse: diagonal);
        Assert.NotSame(diagonal, fromDiagonal);
        Assert.True(PositiveMask.Diagonal(3).IsDiagonal);
        Assert.False(fromDiagonal.IsDiagonal);
        // Bad labels are refused before anything is refilled.
        Assert.Throws<ArgumentOutOfRangeException>(() => PositiveMask.FromLabels([0, 3, 1, 1], 3, reuse: mask));
        Assert.Equal(fresh.Positives, mask.Positives);
    }

    [Fact]
    public void MineMovingAverageFollowsTrainingStepsOnly()
    {
        var mine = new Mine(null, momentum: 0.5);
        var (flat, grid) = RandomScores(4, 1, 1.0);
        mine.EvaluateScores(flat, 4, 4, training: false);
        Assert.True(double.IsNaN(mine.MovingAverage));
        mine.EvaluateScores(flat, 4, 4, training: true);
        double first = Math.Exp(ReferenceFormulas.LmeOff(grid));
        Assert.Equal(first, mine.MovingAverage, 4);
        var (flat2, grid2) = RandomScores(4, 2, 1.0);
        mine.EvaluateScores(flat2, 4, 4, training: true);
        Assert.Equal(0.5 * first + 0.5 * Math.Exp(ReferenceFormulas.LmeOff(grid2)), mine.MovingAverage, 4);
    }

    [Fact]
    public void BoundSpecRejectsUnknownNamesAndBadParameters()
    {
        Assert.Throws<FormatException>(() => BoundSpec.Parse("nce"));
        Assert.Throws<FormatException>(() => BoundSpec.Parse("alpha1.5"));
        Assert.Throws<FormatException>(() => BoundSpec.Parse("smile-1"));
        Assert.Equal(BoundKind.Interpolated, BoundSpec.Parse("alpha0.01").Kind);
        Assert.True(double.IsPositiveInfinity(BoundSpec.Parse("smileinf").Parameter));
        Assert.Equal("InterpolatedBound", BoundSpec.Parse("alpha0.5").TypeName);
        Assert.Equal(0.5, ((InterpolatedBound)BoundSpec.Parse("alpha0.5").CreateScoreOnly()).Alpha, 12);
        var scoreOnly = new InfoNce();
        Assert.Contains("without a critic", Assert.Throws<InvalidOperationException>(() => scoreOnly.Estimate(new Batch(Tensor.Zeros(3, 1), Tensor.Zeros(3, 1)))).Message);
        Assert.Throws<ArgumentNullException>(() => BoundSpec.Parse("tuba").Create(new GaussianConditionalCritic(1, 0.5)));
    }

    [Fact]
    public void ScoreLevelInputErrorsAreClear()
    {
        var nce = new InfoNce();
        Assert.Contains("do not fill", Assert.Throws<ArgumentException>(() => nce.EvaluateScores(new float[5], 2, 2)).Message);
        Assert.Contains("NaN", Assert.Throws<ArgumentException>(() => nce.EvaluateScores([0, float.NaN, 0, 0], 2, 2)).Message);
        Assert.Contains("positive mask", Assert.Throws<ArgumentException>(() => nce.EvaluateScores(new float[6], 2, 3)).Message);
        Assert.Contains("baseline", Assert.Throws<ArgumentNullException>(() => new Tuba().EvaluateScores(new float[4], 2, 2)).Message);
        Assert.Contains("one entry per score row", Assert.Throws<ArgumentException>(() => new Tuba().EvaluateScores(new float[4], 2, 2, new float[3])).Message);
    }
}
