using MiBounds.Vib.Reproductions;

namespace MiBounds.Vib.Tests;

public class DimReportTests
{
    private static IEnumerable<DimProbeCell> Cells(string model, int epoch, double codeAccuracy) =>
        new[] { "conv", "fc", "code" }.Select(f => new DimProbeCell(model, epoch, "linear", f, f == "code" ? codeAccuracy : 0.8, 1));

    [Fact]
    public void ARunInProgressIsReportedEncoderByEncoderAndComparedAtACommonEpoch()
    {
        // DIM(G) js has reached epoch 10, DIM(L) js only epoch 2: at epoch 2 the global code is better (0.79 vs 0.78),
        // while comparing each model's latest probe (L's 0.78 at epoch 2 against G's 0.70 at epoch 10) would call it a win for L.
        var r = new DimReproductionResults
        {
            Probes =
            [
                new DimProbeCell("random", 0, "linear", "code", 0.714, 1),
                .. Cells("DIM(G) js", 1, 0.75), .. Cells("DIM(G) js", 2, 0.79), .. Cells("DIM(G) js", 10, 0.70),
                .. Cells("DIM(L) js", 1, 0.76), .. Cells("DIM(L) js", 2, 0.78),
            ],
        };
        string report = DimReproduction.Report(r);
        Assert.Contains("each encoder at its latest probed epoch (runs in progress: epochs 2, 10)", report);
        Assert.Contains("| DIM(G) js | 10 |", report);
        Assert.Contains("| DIM(L) js | 2 |", report);
        Assert.Contains("DIM(L) gives better codes than DIM(G) with js: **does not hold** (linear probe on the code: 78.0% vs 79.0%, both at epoch 2)", report);
        Assert.Contains("DIM(G) js's code is **not** better than a random encoder's (70.0% vs 71.4%)", report);
    }

    [Fact]
    public void FinishedRunsKeepOneEpochInTheHeading()
    {
        var r = new DimReproductionResults { Probes = [.. Cells("DIM(G) js", 2, 0.77), .. Cells("DIM(L) js", 2, 0.78)] };
        string report = DimReproduction.Report(r);
        Assert.Contains("encoders after 2 epochs", report);
        Assert.Contains("with js: holds (linear probe on the code: 78.0% vs 77.0%)", report);
    }
}
