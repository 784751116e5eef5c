using MiBounds.Vib.Reports;
using System.Text.Json;
using MiBounds.Vib.Dim;
using MiBounds.Vib.Hypothesis;

namespace MiBounds.Vib.Tests;

// Each results.json writer keeps its field names (now from records via MiBounds.Data.JsonOutput).
public sealed class ResultsJsonTests
{
    private static string[][] Names(string json) =>
        JsonDocument.Parse(json).RootElement.EnumerateArray().Select(e => e.EnumerateObject().Select(p => p.Name).ToArray()).ToArray();

    [Fact]
    public void VibResultsKeepTheirFieldsWriteNaNAsNullAndLoadBack()
    {
        var r = new RunResults();
        r.Epochs.Add(new EpochRecord("vib", 1, 2.5, 0.9, 0.99, 0.95, 1, double.NaN, 1.5, 6, 1.4, 0.3));
        r.Attacks.Add(new AttackRecord("vib", "fgsm", 0.1, double.NaN));
        string json = r.ToJson();
        var names = Names(json);
        Assert.Equal(["model", "epoch", "seconds", "test_acc_1", "test_acc_12", "train_acc_1", "izx_bits", "izy_bits"], names[0]);
        Assert.Equal(["model", "attack", "epsilon", "accuracy"], names[1]);
        var root = JsonDocument.Parse(json).RootElement;
        Assert.Equal(JsonValueKind.Null, root[0].GetProperty("izx_bits").ValueKind);
        Assert.Equal(JsonValueKind.Null, root[1].GetProperty("accuracy").ValueKind);
        string dir = Directory.CreateTempSubdirectory("mib-results-").FullName;
        try
        {
            r.Save(dir);
            var back = RunResults.Load(dir);
            var a = Assert.Single(back.Attacks);
            Assert.Equal(("vib", "fgsm", 0.1), (a.Model, a.Attack, a.Epsilon));
            Assert.True(double.IsNaN(a.Accuracy)); // before: a null accuracy made Load fail
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void HypothesisResultsKeepTheirFields()
    {
        string json = HypothesisTrainer.ResultsJson([new HypothesisEpochRecord("h", 1, 3, 0.5, double.PositiveInfinity, 0.1, 0.8)], [new AttackRecord("h", "pgd", 0.2, 0.4)]);
        var names = Names(json);
        Assert.Equal(["model", "epoch", "seconds", "loss", "bound_nats", "regularizer", "test_acc"], names[0]);
        Assert.Equal(["model", "attack", "epsilon", "accuracy"], names[1]);
        Assert.Equal(JsonValueKind.Null, JsonDocument.Parse(json).RootElement[0].GetProperty("bound_nats").ValueKind);
        Assert.EndsWith("]\n", json);
    }

    [Fact]
    public void DimResultsKeepTheirFields()
    {
        string json = DimTrainer.ResultsJson([new ProbeRecord("js", "linear", "global", 0.123456789)]);
        Assert.Equal(["estimator", "probe", "features", "accuracy"], Assert.Single(Names(json)));
        Assert.Equal(0.123456789, JsonDocument.Parse(json).RootElement[0].GetProperty("accuracy").GetDouble()); // full precision
    }
}

public sealed class JsonFilesTests
{
    [Fact]
    public void ConfigurationsRoundTripAndBadFilesNameTheFileAndWhatWasExpected()
    {
        var config = new MiBounds.Vib.Training.TrainConfig { Beta = 1e-4, Bottleneck = 7 };
        Assert.Equal(config, MiBounds.Vib.Training.TrainConfig.FromJson(config.ToJson(), "run.json"));
        var bad = Assert.Throws<MiBounds.Vib.Data.DataException>(() => DimConfig.FromJson("{\"Epochs\": \"many\"}", "dim/run.json"));
        Assert.StartsWith("dim/run.json: not a DIM run configuration (", bad.Message);
        var empty = Assert.Throws<MiBounds.Vib.Data.DataException>(() => HypothesisConfig.FromJson("null", "h/run.json"));
        Assert.Equal("h/run.json: null where a hypothesis run configuration was expected", empty.Message);
        Assert.Throws<MiBounds.Vib.Data.DataException>(() => MiBounds.Vib.Reproductions.GuessFirst.FromJson("[1, 2]", "results.json"));
    }
}
