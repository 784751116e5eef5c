using MiBounds.Toy.Commands;
using MiBounds.Toy.Reproductions;

namespace MiBounds.Toy.Tests;

public class PooleReproductionTests
{
    [Fact]
    public void BiasVarianceRowsFollowTheirDefinitions()
    {
        var row = PooleBiasVariance.From(new OptimalStudy.Row(4, "InfoNce", null, 3.0, 0.5, 100));
        Assert.Equal(-1.0, row.Bias, 12);
        Assert.Equal(0.25, row.Variance, 12);
        Assert.Equal(1.25, row.Mse, 12);
        Assert.Equal("InfoNCE", row.Label);
        Assert.Equal("Iα (α=0.1)", PooleBiasVariance.From(new OptimalStudy.Row(4, "InterpolatedBound", 0.1, 3, 1, 10)).Label);
    }

    [Fact]
    public void MseMatchesTheMeanSquaredErrorOfTheBatchesAndNwjIsUnbiased()
    {
        // Independent reference: the study's std over batches recomputed from the raw NWJ values with the exact critic.
        var rows = PooleBiasVariance.Compute(dim: 3, batch: 16, batches: 400, levels: [1.0], seed: 5);
        Assert.Equal(4 + PooleBiasVariance.Alphas.Length, rows.Count);
        var nwj = rows.Single(r => r.Label == "NWJ");
        var tuba = rows.Single(r => r.Label == "TUBA");
        Assert.True(Math.Abs(nwj.Bias) < 4 * Math.Sqrt(nwj.Variance / nwj.Batches), $"NWJ bias {nwj.Bias}");
        Assert.Equal(nwj.Mean, tuba.Mean, 4); // the same estimator with optimal critics
        var nce = rows.Single(r => r.Label == "InfoNCE");
        Assert.True(nce.Mean < Math.Log(16) && nce.Bias < 0);
        // Iα at α → 1 approaches InfoNCE.
        Assert.True(Math.Abs(rows.Single(r => r.Alpha == 0.99).Mean - nce.Mean) < Math.Abs(rows.Single(r => r.Alpha == 0.01).Mean - nce.Mean));
    }

    [Fact]
    public void ClaimsCanFail()
    {
        // A made-up InfoNCE above log K must be reported as not holding.
        var rows = new List<BiasVarianceRow> { new(2, "InfoNce", null, 5, 3, 0.01, 9.01, 10), new(4, "InfoNce", null, 5, 1, 0.01, 1.01, 10) };
        var claim = PooleCommand.Claims(rows).Single();
        Assert.False(claim.Holds);
    }

    private static MiBounds.Toy.Reports.SummaryRecord Level(string critic, string estimator, double mi, double mean, double variance) => new()
    {
        Task = "gaussian", Critic = critic, Bound = estimator, Estimator = estimator, Mi = mi, Mean = mean, Bias = mean - mi, Variance = variance,
    };

    [Fact]
    public void StaircaseClaimsHoldOnThePapersPatternAndFailOtherwise()
    {
        List<MiBounds.Toy.Reports.SummaryRecord> Rows(double nceTop, double nwjTopVariance) =>
        [
            Level("concat", "infonce", 2, 1.9, 0.01), Level("concat", "infonce", 10, nceTop, 0.01),
            Level("concat", "nwj", 2, 2.0, 0.05), Level("concat", "nwj", 10, 9.0, nwjTopVariance),
            Level("concat", "tuba", 2, 2.0, 0.05), Level("concat", "tuba", 10, 9.0, 3.0),
            Level("concat", "alpha0.01", 2, 2.0, 0.05), Level("concat", "alpha0.01", 10, 8.0, 0.5),
        ];
        var paper = PooleCommand.StaircaseClaims(Rows(nceTop: 4.1, nwjTopVariance: 4.0), batch: 64);
        Assert.Equal(5, paper.Count);
        Assert.All(paper, c => Assert.True(c.Holds, c.Claim + ": " + c.Numbers));
        // InfoNCE above log 64 = 4.16, and an NWJ whose variance does not grow: those claims must fail.
        var broken = PooleCommand.StaircaseClaims(Rows(nceTop: 4.6, nwjTopVariance: 0.06), batch: 64);
        Assert.False(broken.Single(c => c.Claim.Contains("below log K")).Holds);
        // The ceiling is the sweep's own log K: at K = 128 (log K = 4.85) the same 4.6 is below it.
        Assert.True(PooleCommand.StaircaseClaims(Rows(nceTop: 4.6, nwjTopVariance: 4.0), batch: 128).Single(c => c.Claim.Contains("below log K")).Holds);
        Assert.False(broken.Single(c => c.Claim.Contains("NWJ's variance grows")).Holds);
        Assert.False(broken.Single(c => c.Claim.Contains("Iα (α=0.01) has less bias")).Holds);
    }

    [Fact]
    public void EmaStartsAtTheFirstValueAndSkipsNonFinite()
    {
        var e = PooleEfficiency.Ema([1.0, 3.0, double.NaN, 3.0], span: 3);
        Assert.Equal(1.0, e[0]);
        Assert.Equal(2.0, e[1], 12);
        Assert.Equal(2.0, e[2], 12);
        Assert.Equal(2.5, e[3], 12);
    }

    [Fact]
    public void CommandWritesReportFiguresAndRebuildsFromJson()
    {
        var dir = Path.Combine(Path.GetTempPath(), "poole-" + Guid.NewGuid().ToString("N"));
        try
        {
            var (code, output, error) = Cli.Run(ToyCommands.Reproductions(), ["poole", "--report", dir, "--parts", "bias-variance,efficiency,cost", "--batches", "20", "--mi", "2,4",
                "--steps", "15", "--cost-batches", "4,8", "--cost-steps", "2"]);
            Assert.True(code == 0, output + error);
            string md = File.ReadAllText(Path.Combine(dir, "poole.md"));
            Assert.Contains("| TUBA |", md);
            Assert.Contains("Not generated yet", md);
            foreach (var f in new[] { "bias-variance.png", "efficiency.png", "cost.png", "results.json" }) Assert.True(File.Exists(Path.Combine(dir, "poole", f)), f);
            File.Delete(Path.Combine(dir, "poole.md"));
            (code, _, _) = Cli.Run(ToyCommands.Reproductions(), ["poole", "--report", dir, "--report-only"]);
            Assert.Equal(0, code);
            Assert.Equal(md, File.ReadAllText(Path.Combine(dir, "poole.md")));
            (code, _, error) = Cli.Run(ToyCommands.Reproductions(), ["poole", "--report", dir, "--parts", "staircase"]);
            Assert.Equal(2, code);
            Assert.Contains("--sweep", error);
        }
        finally { if (Directory.Exists(dir)) Directory.Delete(dir, true); }
    }
}
