using System.Buffers.Binary;
using System.Text;
using MiBounds.Data;

namespace MiBounds.Tests;

public sealed class DataFileTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("mib-data-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Write(string name, string text)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    private string WriteBytes(string name, byte[] bytes)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    // Asserts a one-line InvalidDataException whose message holds every fragment.
    private static string Fails(Action read, params string[] fragments)
    {
        var e = Assert.Throws<InvalidDataException>(read);
        Assert.DoesNotContain('\n', e.Message);
        foreach (var f in fragments) Assert.Contains(f, e.Message);
        return e.Message;
    }

    // A .npy file with the given header dictionary text and raw data bytes.
    private string Npy(string name, string header, byte[] data)
    {
        header = header.PadRight(((10 + header.Length + 1 + 63) / 64) * 64 - 10 - 1) + "\n";
        var bytes = new List<byte> { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0, (byte)(header.Length & 0xFF), (byte)(header.Length >> 8) };
        bytes.AddRange(Encoding.ASCII.GetBytes(header));
        bytes.AddRange(data);
        return WriteBytes(name, bytes.ToArray());
    }

    private static string Header(string descr, bool fortran, string shape) =>
        $"{{'descr': '{descr}', 'fortran_order': {(fortran ? "True" : "False")}, 'shape': {shape}, }}";

    private static byte[] Encode(string descr, IEnumerable<double> values)
    {
        bool big = descr[0] == '>';
        var bytes = new List<byte>();
        foreach (double v in values)
        {
            byte[] cell;
            switch (descr[1..])
            {
                case "f8": cell = new byte[8]; if (big) BinaryPrimitives.WriteDoubleBigEndian(cell, v); else BinaryPrimitives.WriteDoubleLittleEndian(cell, v); break;
                case "f4": cell = new byte[4]; if (big) BinaryPrimitives.WriteSingleBigEndian(cell, (float)v); else BinaryPrimitives.WriteSingleLittleEndian(cell, (float)v); break;
                case "i8": cell = new byte[8]; if (big) BinaryPrimitives.WriteInt64BigEndian(cell, (long)v); else BinaryPrimitives.WriteInt64LittleEndian(cell, (long)v); break;
                case "i4": cell = new byte[4]; if (big) BinaryPrimitives.WriteInt32BigEndian(cell, (int)v); else BinaryPrimitives.WriteInt32LittleEndian(cell, (int)v); break;
                default: throw new ArgumentException(descr);
            }
            bytes.AddRange(cell);
        }
        return bytes.ToArray();
    }

    [Fact]
    public void CsvTsvAndWhitespaceWithAndWithoutHeader()
    {
        var csv = DataFile.Read(Write("a.csv", "\uFEFFa,b\n1,2\n# comment\n\n3,4e-1\n"));
        Assert.Equal(["a", "b"], csv.ColumnNames);
        Assert.Equal(new double[,] { { 1, 2 }, { 3, 0.4 } }, csv.Values);
        var tsv = DataFile.Read(Write("a.tsv", "1\t2\t3\r\n4\t5\t6\r\n"));
        Assert.Equal(["1", "2", "3"], tsv.ColumnNames);
        Assert.Equal(2, tsv.Rows);
        var ws = DataFile.Read(Write("a.txt", "  1   2\n3 4\n"));
        Assert.Equal(new double[,] { { 1, 2 }, { 3, 4 } }, ws.Values);
        Assert.Equal(Path.Combine(_dir, "a.txt"), ws.Path);
    }

    [Fact]
    public void EmptyHeaderOnlyRaggedAndMissingFilesNameTheFileAndLine()
    {
        Fails(() => DataFile.Read(Write("empty.csv", "")), "empty.csv", "no data rows");
        Fails(() => DataFile.Read(Write("comments.csv", "# nothing\n\n")), "comments.csv", "no data rows");
        Fails(() => DataFile.Read(Write("header.csv", "a,b,c\n")), "header.csv", "header (line 1) but no data rows");
        Fails(() => DataFile.Read(Write("ragged.csv", "a,b\n1,2\n3,4\n5\n7,8\n")), "ragged.csv", "row 3 (line 4)", "1 column, expected 2");
        Assert.Throws<FileNotFoundException>(() => DataFile.Read(Path.Combine(_dir, "missing.csv")));
        Fails(() => DataFile.Read(_dir), "is a directory");
    }

    [Fact]
    public void NonNumericNanAndInfiniteCellsNameLineAndColumn()
    {
        Fails(() => DataFile.Read(Write("text.csv", "a,b\n1,2\n3,oops\n")), "text.csv", "row 2 (line 3), column 2 ('b')", "'oops' is not a number");
        Fails(() => DataFile.Read(Write("nan.csv", "1,2\n3,4\nNaN,6\n")), "nan.csv", "row 3 (line 3), column 1", "NaN");
        Fails(() => DataFile.Read(Write("na.csv", "1,2\nNA,6\n")), "na.csv", "row 2 (line 2), column 1", "missing value");
        Fails(() => DataFile.Read(Write("inf.csv", "1,2\n5,-inf\n")), "inf.csv", "row 2 (line 2), column 2", "infinite");
        Fails(() => DataFile.Read(Write("big.csv", "1,2\n5,1e999\n")), "big.csv", "column 2", "infinite");
        Fails(() => DataFile.Read(Write("blank.csv", "1,2\n3,\n")), "blank.csv", "row 2 (line 2), column 2", "empty");
    }

    [Fact]
    public void BinaryContentIsNamedAsBinaryWithoutEchoingIt()
    {
        // Before: the first "cell" (raw bytes) went into the message.
        var npyBytes = File.ReadAllBytes(Npy("real.npy", Header("<f8", false, "(2,)"), Encode("<f8", [1, 2])));
        string m = Fails(() => DataFile.Read(WriteBytes("real.bin", npyBytes)), "real.bin looks like a binary file", ".npy extension");
        Assert.DoesNotContain("NUMPY", m);
        Fails(() => DataFile.Read(WriteBytes("nul.csv", [(byte)'1', (byte)',', 0, (byte)'\n'])), "nul.csv", "binary");
        Fails(() => DataFile.Read(WriteBytes("latin1.csv", [(byte)'1', (byte)',', 0xE9, 0xFF, (byte)'\n'])), "latin1.csv", "binary");
        Fails(() => DataFile.Read(WriteBytes("ctrl.csv", [(byte)'1', (byte)',', 0x1B, (byte)'[', (byte)'2', (byte)'J', (byte)'\n'])), "ctrl.csv", "binary");
    }

    [Fact]
    public void EchoedCellTextIsShortAndPrintable()
    {
        string longCell = new('x', 500);
        string m = Fails(() => DataFile.Read(Write("long.csv", $"1,2\n3,{longCell}\n")), "long.csv", "not a number", "…");
        Assert.True(m.Length < 200, m);
        // Printable but odd characters (a bidi override) are escaped, not written raw.
        string m2 = Fails(() => DataFile.Read(Write("bidi.csv", "1,2\n3,ab\u202Ecd\n")), "bidi.csv", "\\u202E");
        Assert.DoesNotContain('\u202E', m2);
    }

    [Fact]
    public void UtfSixteenWithBomIsText()
    {
        var bytes = Encoding.Unicode.GetPreamble().Concat(Encoding.Unicode.GetBytes("a,b\n1,2\n3,4\n")).ToArray();
        var m = DataFile.Read(WriteBytes("utf16.csv", bytes));
        Assert.Equal(["a", "b"], m.ColumnNames);
        Assert.Equal(2, m.Rows);
    }

    [Theory]
    [InlineData("<f8", false)]
    [InlineData(">f8", false)]
    [InlineData("<f4", true)]
    [InlineData(">f4", true)]
    [InlineData("<i4", false)]
    [InlineData(">i8", true)]
    [InlineData("<i8", false)]
    public void NpyDtypesByteOrdersAndMemoryOrdersReadTheSameMatrix(string descr, bool fortran)
    {
        double[,] expected = { { 1, -2, 3 }, { 4, 5, -6 } };
        var flat = fortran ? new double[] { 1, 4, -2, 5, 3, -6 } : [1, -2, 3, 4, 5, -6];
        var m = DataFile.Read(Npy("m.npy", Header(descr, fortran, "(2, 3)"), Encode(descr, flat)));
        Assert.Equal(expected, m.Values);
        Assert.Equal(["1", "2", "3"], m.ColumnNames);
    }

    [Fact]
    public void OneDimensionalNpyIsOneColumn()
    {
        var m = DataFile.Read(Npy("v.npy", Header("<f8", false, "(3,)"), Encode("<f8", [1.5, 2, 3])));
        Assert.Equal(new double[,] { { 1.5 }, { 2 }, { 3 } }, m.Values);
    }

    [Fact]
    public void NegativeShapeIsACleanError()
    {
        // Before: OverflowException from new double[-3, 2] (the process aborted, exit 134).
        Fails(() => DataFile.Read(Npy("neg.npy", Header("<f8", false, "(-3, 2)"), [])), "neg.npy", "invalid shape");
        Fails(() => DataFile.Read(Npy("word.npy", Header("<f8", false, "(x, 2)"), [])), "word.npy", "invalid shape");
    }

    [Fact]
    public void NpyHeaderWithoutClosingBraceIsRefused()
    {
        // Before: accepted, since the three keys are found by pattern.
        Fails(() => DataFile.Read(Npy("open.npy", "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), ", Encode("<f8", [1, 2]))), "open.npy", "malformed .npy header");
    }

    [Fact]
    public void BadNpyFilesNameTheFile()
    {
        Fails(() => DataFile.Read(Write("fake.npy", "not numpy")), "fake.npy", "not a .npy file");
        Fails(() => DataFile.Read(Npy("short.npy", Header("<f8", false, "(4, 2)"), Encode("<f8", [1, 2]))), "short.npy", "needs 64");
        Fails(() => DataFile.Read(Npy("c16.npy", Header("<c16", false, "(1,)"), new byte[16])), "c16.npy", "unsupported dtype");
        Fails(() => DataFile.Read(Npy("3d.npy", Header("<f8", false, "(1, 1, 1)"), new byte[8])), "3d.npy", "1-D");
        Fails(() => DataFile.Read(Npy("nan.npy", Header("<f8", false, "(2, 2)"), Encode("<f8", [1, 2, 3, double.NaN]))), "nan.npy", "row 2, column 2", "NaN");
        Fails(() => DataFile.Read(Npy("inf.npy", Header("<f4", false, "(2,)"), Encode("<f4", [1, double.PositiveInfinity]))), "inf.npy", "row 2, column 1", "infinite");
        var v2 = new List<byte> { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 2, 0, 0xFF, 0xFF, 0xFF, 0xFF };
        Fails(() => DataFile.Read(WriteBytes("huge.npy", v2.ToArray())), "huge.npy", "truncated");
    }

    [Fact]
    public void ColumnSelectionByNumberRangeAndName()
    {
        var m = DataFile.Read(Write("d.csv", "p,q,r,s\n1,2,3,4\n5,6,7,8\n"));
        Assert.Equal([0, 2, 3], ColumnSelection.Parse("1,3-4").Resolve(m));
        Assert.Equal([1, 0], ColumnSelection.Parse(" q , p ").Resolve(m));
        var pq = m.Select(ColumnSelection.Parse("s,1"));
        Assert.Equal(["s", "p"], pq.ColumnNames);
        Assert.Equal(new double[,] { { 4, 1 }, { 8, 5 } }, pq.Values);
        Fails(() => ColumnSelection.Parse(" , ", "--x-cols"), "--x-cols", "no columns");
        Fails(() => ColumnSelection.Parse("9", "--y-cols").Resolve(m), "--y-cols", "column 9 does not exist", "4 columns");
        Fails(() => ColumnSelection.Parse("0").Resolve(m), "column 0 does not exist");
        Fails(() => ColumnSelection.Parse("3-2").Resolve(m), "runs backwards");
        Fails(() => ColumnSelection.Parse("zz").Resolve(m), "'zz'", "p, q, r, s");
        Fails(() => ColumnSelection.Parse("1,p").Resolve(m), "column 1 ('p') is listed twice");
    }

    [Fact]
    public void DuplicateHeaderNamesCannotBeSelectedByName()
    {
        // Before: the first column of that name was taken silently.
        var m = DataFile.Read(Write("dup.csv", "a,b,a\n1,2,3\n4,5,6\n"));
        Fails(() => ColumnSelection.Parse("a").Resolve(m), "'a' matches columns 1, 3", "by number");
        Assert.Equal([2], ColumnSelection.Parse("3").Resolve(m));
    }

    [Fact]
    public void PairedDataFromTwoFilesOrOneSplitFile()
    {
        string rows = string.Join("\n", Enumerable.Range(0, 10).Select(i => $"{i},{i * i % 7},{i % 3}"));
        string data = Write("all.csv", "u,v,w\n" + rows);
        var split = PairedData.Load(null, null, data, "u", null);
        Assert.Equal(["u"], split.X.ColumnNames);
        Assert.Equal(["v", "w"], split.Y.ColumnNames);
        Assert.Equal(data, split.X.Path);
        var (x, y) = PairedData.Load(data, Write("y.csv", string.Join("\n", Enumerable.Range(0, 10).Select(i => $"{i % 4}"))), null, "2-3", null);
        Assert.Equal(10, x.Rows);
        Assert.Equal(2, x.Columns);
        Assert.Equal(1, y.Columns);
        Fails(() => PairedData.Load(null, null, data, "1,2", "2"), "column 2 ('v') is in both");
        Fails(() => PairedData.Load(null, null, data, null, null), "--x-cols");
        Fails(() => PairedData.Load(data, Write("y3.csv", "1\n2\n3\n"), null, null, null), "all.csv has 10 rows", "y3.csv has 3");
        Fails(() => PairedData.Load(Write("c.csv", "1,5\n2,5\n3,5\n4,5\n"), Write("y4.csv", "1\n2\n3\n4\n"), null, null, null), "c.csv", "column 2 is constant");
        Fails(() => PairedData.Load(Write("t.csv", "1\n2\n3\n"), Write("t2.csv", "3\n1\n2\n"), null, null, null), "t.csv", "3 rows", "at least 4");
    }
}
