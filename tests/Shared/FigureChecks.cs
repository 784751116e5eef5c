using System.Buffers.Binary;
using System.Xml.Linq;
using Xunit;

namespace MiBounds.TestSupport;

/// <summary>Checks on written figures: a real PNG of the stated size, and an SVG that parses and holds given texts.</summary>
internal static class FigureChecks
{
    private static readonly byte[] s_pngSignature = [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>Width and height from the PNG's IHDR chunk, after checking the signature.</summary>
    public static (int Width, int Height) PngSize(string path)
    {
        var bytes = File.ReadAllBytes(path);
        Assert.True(bytes.Length > 33, $"{path}: too short for a PNG");
        Assert.Equal(s_pngSignature, bytes[..8]);
        Assert.Equal("IHDR", System.Text.Encoding.ASCII.GetString(bytes, 12, 4));
        return (BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(16)), BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(20)));
    }

    /// <summary>Every text run of the SVG at <paramref name="path"/>, after checking it parses as an svg document.</summary>
    public static string[] SvgTexts(string path)
    {
        var svg = XDocument.Parse(File.ReadAllText(path));
        Assert.Equal("svg", svg.Root!.Name.LocalName);
        return svg.Descendants().Where(e => e.Name.LocalName == "text").Select(e => e.Value.Trim()).ToArray();
    }

    /// <summary>Checks basePath.png (of the given size) and basePath.svg (holding every expected text) and returns the SVG's texts.</summary>
    public static string[] Check(string basePath, int width, int height, params string[] expectedTexts)
    {
        Assert.Equal((width, height), PngSize(basePath + ".png"));
        var texts = SvgTexts(basePath + ".svg");
        foreach (var t in expectedTexts) Assert.Contains(t, texts);
        return texts;
    }

    /// <summary>Log-axis labels read 10ᵏ; none is a fractional power such as "1e-0.1".</summary>
    public static void HasDecadeLabels(string[] texts, params int[] exponents)
    {
        foreach (int k in exponents) Assert.Contains(MiBounds.Plots.DecadeTicks.Label(k), texts);
        Assert.DoesNotContain(texts, t => System.Text.RegularExpressions.Regex.IsMatch(t, @"^1e-?\d+\.\d"));
    }
}
