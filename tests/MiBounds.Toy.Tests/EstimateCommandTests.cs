using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using System.Text.Json;
using MiBounds.Tensors;

namespace MiBounds.Toy.Tests;

public sealed class EstimateCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("mib-estimate-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Write(string name, string text)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    // n rows of (x1, x2) and (y1) with y1 = x1 + noise.
    private (string X, string Y) Pair(int n = 200, ulong seed = 1)
    {
        var rng = new Rng(seed);
        var xs = new StringBuilder("a,b\n");
        var ys = new StringBuilder("c\n");
        for (int i = 0; i < n; i++)
        {
            double a = rng.NextNormal(), b = rng.NextNormal();
            xs.Append(CultureInfo.InvariantCulture, $"{a},{b}\n");
            ys.Append(CultureInfo.InvariantCulture, $"{a + 0.5 * rng.NextNormal()}\n");
        }
        return (Write("x.csv", xs.ToString()), Write("y.csv", ys.ToString()));
    }

    // Runs the command as the program does: exit code and the one line written to stderr.
    private static (int Code, string Error) Run(params string[] args)
    {
        var (code, _, error) = Cli.Run(["estimate", .. args, "--quiet"]);
        return (code, error.TrimEnd());
    }

    private static void AssertFails(string[] args, params string[] fragments)
    {
        var (code, error) = Run(args);
        Assert.Equal(2, code);
        Assert.DoesNotContain('\n', error);
        foreach (var f in fragments) Assert.Contains(f, error);
    }

    // The readers' own errors (ragged rows, bad cells, binary files, .npy headers) are tested in MiBounds.Tests/DataFileTests.
    [Fact]
    public void ReaderErrorsReachTheUserAsOneLineWithExitTwo()
    {
        var (_, y) = Pair();
        AssertFails(["--x", Write("ragged.csv", "a,b\n1,2\n3,4\n5\n7,8\n"), "--y", y], "ragged.csv", "row 3 (line 4)");
        AssertFails(["--x", Write("text.csv", "a,b\n1,2\n3,oops\n5,6\n7,8\n"), "--y", y], "text.csv", "'oops' is not a number");
    }

    [Fact]
    public void MismatchedRowCountsConstantColumnsAndTooFewRowsAreRejected()
    {
        var (x, y) = Pair(200);
        var (_, y2) = (x, Write("y199.csv", string.Join("\n", Enumerable.Range(0, 199).Select(i => i.ToString(CultureInfo.InvariantCulture)))));
        AssertFails(["--x", x, "--y", y2], "x.csv has 200 rows", "y199.csv has 199");
        string constant = Write("const.csv", "u,v\n" + string.Join("\n", Enumerable.Range(0, 200).Select(i => $"{i},5")));
        AssertFails(["--x", constant, "--y", y], "const.csv", "column 2 ('v') is constant", "every row is 5");
        AssertFails(["--x", Write("three.csv", "1\n2\n3\n"), "--y", Write("three-y.csv", "3\n1\n2\n")], "three.csv", "3 rows", "at least 4");
        AssertFails(["--x", Path.Combine(_dir, "missing.csv"), "--y", y], "missing.csv", "not found");
    }

    [Fact]
    public void SingleFileColumnSelectionByNameAndNumber()
    {
        string data = Write("data.csv", "p,q,r\n" + string.Join("\n", Enumerable.Range(0, 50).Select(i => $"{i},{i % 7},{(i * 13) % 11}")));
        Assert.Equal(0, Cli.Run("estimate", "--data", data, "--x-cols", "p", "--y-cols", "2-3", "--estimator", "ksg", "--json", "--quiet").Code);
        AssertFails(["--data", data, "--x-cols", "1,2", "--y-cols", "2,3"], "column 2 ('q') is in both");
        AssertFails(["--data", data, "--x-cols", "1", "--y-cols", "zz"], "--y-cols", "'zz'", "p, q, r");
        AssertFails(["--data", data, "--x-cols", "9"], "column 9 does not exist", "3 columns");
    }

    [Fact]
    public void NpyFilesAreReadInBothOrdersAndDtypes()
    {
        var rng = new Rng(2);
        int n = 120;
        var x = new double[n, 2];
        var y = new double[n];
        for (int i = 0; i < n; i++) { x[i, 0] = rng.NextNormal(); x[i, 1] = rng.NextNormal(); y[i] = x[i, 0] + 0.3 * rng.NextNormal(); }
        string xc = WriteNpy("x.npy", "<f8", false, [n, 2], (r, c) => x[r, c]);
        string xf = WriteNpy("xf.npy", ">f4", true, [n, 2], (r, c) => x[r, c]);
        string y1 = WriteNpy("y.npy", "<f8", false, [n], (r, _) => y[r]);
        var a = Estimate("--x", xc, "--y", y1, "--estimator", "ksg");
        var b = Estimate("--x", xf, "--y", y1, "--estimator", "ksg");
        Assert.Equal(a.GetProperty("estimate_nats").GetDouble(), b.GetProperty("estimate_nats").GetDouble(), 4); // float32 rounding only
        Assert.True(a.GetProperty("estimate_nats").GetDouble() > 0.8);
        x[17, 1] = double.NaN;
        string bad = WriteNpy("bad.npy", "<f8", false, [n, 2], (r, c) => x[r, c]);
        AssertFails(["--x", bad, "--y", y1], "bad.npy", "row 18, column 2", "NaN");
        AssertFails(["--x", Write("fake.npy", "not numpy"), "--y", y1], "fake.npy", "not a .npy file");
    }

    private string WriteNpy(string name, string descr, bool fortran, int[] shape, Func<int, int, double> value)
    {
        string shapeText = shape.Length == 1 ? $"({shape[0]},)" : $"({shape[0]}, {shape[1]})";
        string header = $"{{'descr': '{descr}', 'fortran_order': {(fortran ? "True" : "False")}, 'shape': {shapeText}, }}";
        header = header.PadRight(((10 + header.Length + 1 + 63) / 64) * 64 - 10 - 1) + "\n";
        int rows = shape[0], cols = shape.Length == 2 ? shape[1] : 1, size = descr[1..] == "f8" ? 8 : 4;
        var bytes = new List<byte> { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0, (byte)(header.Length & 0xFF), (byte)(header.Length >> 8) };
        bytes.AddRange(Encoding.ASCII.GetBytes(header));
        var cell = new byte[size];
        for (int k = 0; k < rows * cols; k++)
        {
            int r = fortran ? k % rows : k / cols, c = fortran ? k / rows : k % cols;
            double v = value(r, c);
            if (size == 8) { if (descr[0] == '>') BinaryPrimitives.WriteDoubleBigEndian(cell, v); else BinaryPrimitives.WriteDoubleLittleEndian(cell, v); }
            else if (descr[0] == '>') BinaryPrimitives.WriteSingleBigEndian(cell, (float)v); else BinaryPrimitives.WriteSingleLittleEndian(cell, (float)v);
            bytes.AddRange(cell);
        }
        string path = Path.Combine(_dir, name);
        File.WriteAllBytes(path, bytes.ToArray());
        return path;
    }

    private static JsonElement Estimate(params string[] args)
    {
        var (code, output, error) = Cli.Run(["estimate", .. args, "--json", "--quiet"]);
        Assert.True(code == 0, error);
        return JsonDocument.Parse(output).RootElement.Clone();
    }

    [Fact]
    public void JsonIsOneObjectWithTheDocumentedFields()
    {
        var (x, y) = Pair(240);
        var (code, output, _) = Cli.Run("estimate", "--x", x, "--y", y, "--estimator", "infonce", "--steps", "20", "--batch", "32", "--hidden", "16", "--json", "--quiet");
        Assert.Equal(0, code);
        string text = output.Trim();
        Assert.DoesNotContain('\n', text); // one line, one object
        var root = JsonDocument.Parse(text).RootElement;
        var names = root.EnumerateObject().Select(p => p.Name).ToArray();
        Assert.Equal(["estimator", "estimate_nats", "stderr_nats", "estimate_bits", "train_nats", "warnings"], names.Take(6));
        Assert.Equal("infonce", root.GetProperty("estimator").GetString());
        double nats = root.GetProperty("estimate_nats").GetDouble();
        Assert.Equal(nats / Math.Log(2), root.GetProperty("estimate_bits").GetDouble(), 9);
        Assert.True(root.GetProperty("stderr_nats").GetDouble() > 0);
        Assert.Equal(JsonValueKind.Number, root.GetProperty("train_nats").ValueKind);
        Assert.Equal(JsonValueKind.Array, root.GetProperty("warnings").ValueKind);
        Assert.All(root.GetProperty("warnings").EnumerateArray(), w => Assert.Equal(JsonValueKind.String, w.ValueKind));
        // KSG has no training value: null, not NaN (which JSON cannot hold)
        var ksg = Estimate("--x", x, "--y", y, "--estimator", "ksg");
        Assert.Equal(JsonValueKind.Null, ksg.GetProperty("train_nats").ValueKind);
        // nor batches or steps: null, not 0 (before: 0)
        Assert.Equal(JsonValueKind.Null, ksg.GetProperty("batch_size").ValueKind);
        var fold = Assert.Single(ksg.GetProperty("folds").EnumerateArray());
        Assert.Equal(JsonValueKind.Null, fold.GetProperty("best_step").ValueKind);
        Assert.Equal(JsonValueKind.Null, fold.GetProperty("steps_run").ValueKind);
        Assert.Equal(["estimator", "estimate_nats", "stderr_nats", "estimate_bits", "train_nats", "warnings", "stderr_bits", "kind", "uncertainty", "samples", "batch_size", "folds", "source", "source_reason", "components", "p_value", "permutations"],
            ksg.EnumerateObject().Select(p => p.Name));
        Assert.Equal(JsonValueKind.Null, ksg.GetProperty("p_value").ValueKind); // NaN (no permutations) is written as null
        Assert.Equal("ksg", ksg.GetProperty("source").GetString());
        var permuted = Estimate("--x", x, "--y", y, "--estimator", "ksg", "--permutations", "9");
        Assert.InRange(permuted.GetProperty("p_value").GetDouble(), 0.1, 1);
        Assert.Equal(9, permuted.GetProperty("permutations").GetInt32());
        Assert.Equal(["train_rows", "held_out_rows", "held_out_nats", "train_nats", "best_step", "steps_run", "stop_reason"], fold.EnumerateObject().Select(p => p.Name));
        Assert.Equal(32, root.GetProperty("batch_size").GetInt32());
    }

    [Fact]
    public void UsageMistakesExitWithTwo()
    {
        var (x, y) = Pair(40);
        AssertFails(["--x", x, "--y", y, "--estimator", "magic"], "unknown estimator 'magic'", "ksg");
        AssertFails(["--x", x, "--y", y, "--steps", "10", "--epochs", "2"], "--steps or --epochs");
        AssertFails(["--x", x], "--y");
    }
}
