using System.Text.Json;
using MiBounds.Data;

namespace MiBounds.Tests;

public sealed class JsonOutputTests
{
    private sealed record Sample(double Plain, double Nan, double PlusInf, double MinusInf, float Single, double? Missing, double? NullableNan, double[] Values, List<float> Floats, string Name);

    private static Sample Make() => new(1.25, double.NaN, double.PositiveInfinity, double.NegativeInfinity, float.NaN, null, double.NaN,
        [0.5, double.NaN, double.NegativeInfinity, 3], [float.PositiveInfinity, 2f], "a<b+c");

    [Fact]
    public void NonFiniteNumbersAreNullEverywhere()
    {
        var root = JsonDocument.Parse(JsonOutput.Serialize(Make())).RootElement;
        Assert.Equal(["plain", "nan", "plus_inf", "minus_inf", "single", "missing", "nullable_nan", "values", "floats", "name"], root.EnumerateObject().Select(p => p.Name));
        Assert.Equal(1.25, root.GetProperty("plain").GetDouble());
        foreach (var name in new[] { "nan", "plus_inf", "minus_inf", "single", "missing", "nullable_nan" })
            Assert.Equal(JsonValueKind.Null, root.GetProperty(name).ValueKind);
        Assert.Equal([JsonValueKind.Number, JsonValueKind.Null, JsonValueKind.Null, JsonValueKind.Number], root.GetProperty("values").EnumerateArray().Select(v => v.ValueKind));
        Assert.Equal([JsonValueKind.Null, JsonValueKind.Number], root.GetProperty("floats").EnumerateArray().Select(v => v.ValueKind));
        Assert.Equal("a<b+c", root.GetProperty("name").GetString()); // not \u003C escapes
    }

    [Fact]
    public void RoundTripReadsNullBackAsNaNForDoublesAndNullForNullables()
    {
        string text = JsonOutput.Serialize(Make());
        var back = JsonOutput.Deserialize<Sample>(text);
        Assert.Equal(1.25, back.Plain);
        Assert.True(double.IsNaN(back.Nan) && double.IsNaN(back.PlusInf) && double.IsNaN(back.MinusInf) && float.IsNaN(back.Single));
        Assert.Null(back.Missing);
        Assert.Null(back.NullableNan); // null cannot say it was NaN; a nullable reads it as absent
        Assert.Equal(0.5, back.Values[0]);
        Assert.True(double.IsNaN(back.Values[1]));
        Assert.Equal(3, back.Values[3]);
        Assert.True(float.IsNaN(back.Floats[0]));
        Assert.Equal("a<b+c", back.Name);
        Assert.Equal(text, JsonOutput.Serialize(back with { NullableNan = null }));
    }

    [Fact]
    public void FullPrecisionCompactFormAndAtomicWrite()
    {
        Assert.Equal("[0.1,1.0000000000000002]", JsonOutput.Serialize(new[] { 0.1, 1.0000000000000002 }, indented: false));
        string dir = Directory.CreateTempSubdirectory("mib-json-").FullName;
        try
        {
            string path = Path.Combine(dir, "sub", "out.json");
            JsonOutput.Write(path, new Sample(2, 0, 0, 0, 0, 1, 1, [], [], "x"));
            string text = File.ReadAllText(path);
            Assert.EndsWith("}\n", text);
            Assert.Contains("\n  \"plain\": 2", text);
            Assert.Single(Directory.GetFiles(Path.GetDirectoryName(path)!)); // no temporary left behind
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
