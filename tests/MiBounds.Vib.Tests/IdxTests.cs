using MiBounds.Vib;
using MiBounds.Vib.Data;

namespace MiBounds.Vib.Tests;

public class IdxTests
{
    private static string TempFile(string name) => Path.Combine(Path.GetTempPath(), "vibidx-" + Guid.NewGuid().ToString("N") + name);

    [Theory]
    [InlineData(".idx")]
    [InlineData(".gz")]
    public void RoundTripKeepsDimsAndBytes(string ext)
    {
        var path = TempFile(ext);
        var data = Enumerable.Range(0, 2 * 3 * 4).Select(i => (byte)(i * 7)).ToArray();
        Idx.Write(path, [2, 3, 4], data);
        var read = Idx.Read(path);
        Assert.Equal([2, 3, 4], read.Dims);
        Assert.Equal(data, read.Data);
        Assert.Equal(12, read.ItemSize);
        File.Delete(path);
    }

    [Fact]
    public void HeaderBytesFollowTheMnistLayout()
    {
        var path = TempFile(".idx");
        Idx.Write(path, [2, 1], [5, 6]);
        // magic 00 00 08 02, then big-endian 2 and 1, then the data
        Assert.Equal(new byte[] { 0, 0, 8, 2, 0, 0, 0, 2, 0, 0, 0, 1, 5, 6 }, File.ReadAllBytes(path));
        File.Delete(path);
    }

    [Fact]
    public void MissingFileErrorNamesIt()
    {
        var path = TempFile(".gz");
        var e = Assert.Throws<DataException>(() => Idx.Read(path));
        Assert.Contains(path, e.Message);
    }

    [Theory]
    [InlineData(new byte[] { 1, 2 }, "too short")]
    [InlineData(new byte[] { 9, 9, 8, 1, 0, 0, 0, 1, 0 }, "magic")]
    [InlineData(new byte[] { 0, 0, 13, 1, 0, 0, 0, 1, 0, 0, 0, 0 }, "type")]
    [InlineData(new byte[] { 0, 0, 8, 2, 0, 0, 0, 2 }, "truncated header")]
    [InlineData(new byte[] { 0, 0, 8, 1, 0, 0, 0, 3, 1, 2 }, "need 3 bytes")]
    public void CorruptFilesAreRejectedWithTheFileName(byte[] content, string expected)
    {
        var path = TempFile(".idx");
        File.WriteAllBytes(path, content);
        var e = Assert.Throws<DataException>(() => Idx.Read(path));
        Assert.Contains(path, e.Message);
        Assert.Contains(expected, e.Message);
        File.Delete(path);
    }

    [Fact]
    public void CorruptGzipIsReportedNotThrownRaw()
    {
        var path = TempFile(".gz");
        File.WriteAllBytes(path, [0x1f, 0x8b, 8, 0, 1, 2, 3]);
        var e = Assert.Throws<DataException>(() => Idx.Read(path));
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void DirectoryLoadScalesPixelsAndReadsBothSplits()
    {
        var dir = Synthetic.WriteIdxDirectory(train: 30, test: 12);
        var data = ImageData.Load(dir);
        Assert.Equal(30, data.Train.Count);
        Assert.Equal(12, data.Test.Count);
        Assert.Equal(36, data.Train.Features);
        var raw = Idx.Read(Path.Combine(dir, "train-images-idx3-ubyte.gz"));
        Assert.Equal(raw.Data[5] / 127.5f - 1f, data.Train.Images[5], 6);
        Assert.InRange(data.Train.Images.Values.ToArray().Min(), -1f, 1f);
        Assert.InRange(data.Train.Images.Values.ToArray().Max(), -1f, 1f);
        Directory.Delete(dir, true);
    }

    [Fact]
    public void DirectoryWithAMissingFileNamesIt()
    {
        var dir = Synthetic.WriteIdxDirectory(train: 10, test: 5);
        File.Delete(Path.Combine(dir, "t10k-labels-idx1-ubyte"));
        var e = Assert.Throws<DataException>(() => ImageData.Load(dir));
        Assert.Contains("t10k-labels-idx1-ubyte", e.Message);
        Directory.Delete(dir, true);
    }

    [Fact]
    public void MismatchedCountsAreReported()
    {
        var dir = Synthetic.WriteIdxDirectory(train: 10, test: 5);
        Idx.Write(Path.Combine(dir, "train-labels-idx1-ubyte.gz"), [9], new byte[9]);
        var e = Assert.Throws<DataException>(() => ImageData.Load(dir));
        Assert.Contains("10 images", e.Message);
        Assert.Contains("9 labels", e.Message);
        Directory.Delete(dir, true);
    }
}

public class DefaultLocationTests
{
    [Fact]
    public void DefaultLocationErrorGivesTheInstallCommand()
    {
        var dir = Path.Combine(Path.GetTempPath(), "vib-no-such-" + Guid.NewGuid().ToString("N"));
        var e = Assert.Throws<DataException>(() => ImageData.Load(dir, isDefault: true));
        Assert.Contains("train-images-idx3-ubyte", e.Message);
        Assert.Contains("apt-get install -y dataset-fashion-mnist", e.Message);
        var plain = Assert.Throws<DataException>(() => ImageData.Load(dir, isDefault: false));
        Assert.DoesNotContain("apt-get", plain.Message);
    }
}
