using System.Text.Json;

namespace MiBounds.Toy.Tests;

public class OptimalCommandTests
{
    private static (int code, string output) Run(params string[] args)
    {
        var (code, output, error) = Cli.Run(args);
        return (code, output + error);
    }

    [Fact]
    public void JsonHasOneRecordPerLevelAndBoundWithTheDocumentedFields()
    {
        var (code, output) = Run("optimal", "--dim", "4", "--batch", "16", "--batches", "40", "--mi", "1,2", "--seed", "3", "--json");
        Assert.Equal(0, code);
        using var doc = JsonDocument.Parse(output);
        var records = doc.RootElement.EnumerateArray().ToList();
        Assert.Equal(2 * 10, records.Count);
        var names = records.Select(r => r.GetProperty("bound").GetString()).Distinct().ToHashSet();
        Assert.Equal(new HashSet<string?> { "Tuba", "Nwj", "InfoNce", "JensenShannon", "DonskerVaradhan", "Smile", "InterpolatedBound", "BarberAgakov" }, names);
        foreach (var r in records)
        {
            Assert.Equal(r.GetProperty("bound").GetString() == "InterpolatedBound", r.TryGetProperty("alpha", out _));
            Assert.Equal(r.TryGetProperty("alpha", out _) ? ["mi", "bound", "alpha", "mean", "std", "batches"] : new[] { "mi", "bound", "mean", "std", "batches" }, r.EnumerateObject().Select(p => p.Name));
            Assert.Equal(40, r.GetProperty("batches").GetInt32());
            Assert.True(r.GetProperty("std").GetDouble() > 0);
        }
        // Unbiased bounds with their optimal critics land near the truth; InfoNCE stays under log K.
        foreach (var r in records.Where(r => r.GetProperty("bound").GetString() is "Tuba" or "BarberAgakov"))
        {
            double se = r.GetProperty("std").GetDouble() / Math.Sqrt(40);
            Assert.True(Math.Abs(r.GetProperty("mean").GetDouble() - r.GetProperty("mi").GetDouble()) < 4 * se + 0.02, r.ToString());
        }
        Assert.All(records.Where(r => r.GetProperty("bound").GetString() == "InfoNce"), r => Assert.True(r.GetProperty("mean").GetDouble() < Math.Log(16)));
    }

    [Fact]
    public void TableIsTheDefault()
    {
        var (code, output) = Run("optimal", "--dim", "2", "--batch", "4", "--batches", "3", "--mi", "1");
        Assert.Equal(0, code);
        Assert.Contains("InterpolatedBound(α=0.5)", output);
    }

    [Theory]
    [InlineData("--batch", "1")]
    [InlineData("--dim", "0")]
    [InlineData("--mi", "-1")]
    [InlineData("--bogus", "1")]
    public void BadOptionsExitWithCodeTwo(string option, string value)
    {
        var (code, output) = Run("optimal", option, value);
        Assert.Equal(2, code);
        Assert.Contains(option.TrimStart('-'), output);
    }
}
