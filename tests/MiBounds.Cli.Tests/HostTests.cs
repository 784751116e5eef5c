using System.Globalization;
using System.Text;

namespace MiBounds.Cli.Tests;

public sealed class HostTests : IDisposable
{
    private readonly string _dir = Host.TempFolder();

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    public static TheoryData<string> CommandNames()
    {
        var data = new TheoryData<string>();
        foreach (var c in Program.CreateRoot().Subcommands) data.Add(c.Name);
        return data;
    }

    [Fact]
    public void RootHelpListsEveryCommand()
    {
        var root = Program.CreateRoot();
        Assert.True(root.Subcommands.Count >= 13);
        foreach (var flag in new[] { "--help", "-h" })
        {
            var (code, output, error) = Host.Run(flag);
            Assert.Equal(0, code);
            Assert.Equal("", error);
            foreach (var c in root.Subcommands) Assert.Contains(c.Name, output);
        }
    }

    [Theory]
    [MemberData(nameof(CommandNames))]
    public void HelpOnEveryCommandNamesEveryOption(string name)
    {
        var command = Program.CreateRoot().Subcommands.Single(c => c.Name == name);
        foreach (var flag in new[] { "--help", "-h" })
        {
            var (code, output, error) = Host.Run(name, flag);
            Assert.True(code == 0, error);
            Assert.Equal("", error);
            foreach (var option in command.Options) Assert.Contains(option.Name, output);
            foreach (var option in command.Options.Where(o => o.HasDefaultValue && o.ValueType != typeof(bool)))
                Assert.Contains($"{option.Name} <", output);
            Assert.DoesNotContain('\u001b', output);
        }
    }

    [Theory]
    [InlineData("sweep", "--steps-per-level", "0")]
    [InlineData("estimate", "--k", "0")]
    [InlineData("optimal", "--batch", "1")]
    [InlineData("tasks", "--dim", "x")]
    [InlineData("bench-tasks", "--samples", "1")]
    [InlineData("vib", "--k", "0")]
    [InlineData("dim", "--batch", "1")]
    [InlineData("hypothesis", "--objective", "svm")]
    [InlineData("robustness-table", "--count", "0")]
    public void UsageErrorIsOneLineWithExitCode2(string command, string option, string value)
    {
        var (code, output, error) = Host.Run(command, option, value);
        Assert.Equal(2, code);
        Assert.Single(error.TrimEnd().Split('\n'));
        Assert.Contains(option, error);
        Assert.Equal("", output); // no help dump
    }

    [Theory]
    [InlineData("sweep")]
    [InlineData("tasks")]
    [InlineData("vib")]
    [InlineData("plot")]
    public void UnknownOptionIsExitCode2(string command)
    {
        var (code, _, error) = Host.Run(command, "--colour", "red");
        Assert.Equal(2, code);
        Assert.Contains("unknown option --colour", error);
        Assert.Single(error.TrimEnd().Split('\n'));
    }

    [Fact]
    public void BadDataFileIsOneLineNamingTheFileWithExitCode2()
    {
        string x = Path.Combine(_dir, "ragged.csv"), y = Path.Combine(_dir, "y.csv");
        File.WriteAllText(x, "a,b\n1,2\n3\n5,6\n7,8\n");
        File.WriteAllText(y, "1\n2\n3\n4\n");
        var (code, _, error) = Host.Run("estimate", "--x", x, "--y", y, "--quiet");
        Assert.Equal(2, code);
        Assert.Contains("ragged.csv", error);
        Assert.Single(error.TrimEnd().Split('\n'));

        var missing = Path.Combine(_dir, "no-such-idx");
        var vib = Host.Run("vib", "--data", missing, "--out", Path.Combine(_dir, "v"));
        Assert.Equal(2, vib.Code);
        Assert.Contains("train-images-idx3-ubyte", vib.Err);
        Assert.Single(vib.Err.TrimEnd().Split('\n'));
    }

    [Fact]
    public void BadOutputPathsAreRejectedBeforeAnyWork()
    {
        string file = Path.Combine(_dir, "afile");
        File.WriteAllText(file, "x");
        // bench-tasks would run every task before writing; the check comes first (no progress line on stderr).
        var bench = Host.Run("bench-tasks", "--out", Path.Combine(file, "x.json"), "--estimators", "ksg", "--samples", "600");
        Assert.Equal(2, bench.Code);
        Assert.Contains("is a file, not a folder", bench.Err);
        Assert.Single(bench.Err.TrimEnd().Split('\n'));
        var benchFolder = Host.Run("bench-tasks", "--out", _dir, "--estimators", "ksg", "--samples", "600");
        Assert.Equal(2, benchFolder.Code);
        Assert.Contains("is a folder, not a file", benchFolder.Err);

        var vib = Host.Run("vib", "--out", file, "--data", Path.Combine(_dir, "none"));
        Assert.Equal(2, vib.Code);
        Assert.Contains("--out", vib.Err);
        Assert.Contains("is a file, not a folder", vib.Err);
        Assert.Single(vib.Err.TrimEnd().Split('\n'));

        var sweep = Host.Run("sweep", "--out", Path.Combine(file, "b"), "--plain");
        Assert.Equal(2, sweep.Code);
        Assert.Contains("is a file, not a folder", sweep.Err);
        Assert.Single(sweep.Err.TrimEnd().Split('\n'));
        Assert.Equal("", sweep.Out); // nothing started

        // A missing parent folder is created (it was "Could not find a part of the path").
        var nested = Path.Combine(_dir, "a", "b");
        var ok = Host.Run("sweep", "--out", nested, "--plain", "--steps-per-level", "2", "--levels", "1", "--estimators", "nwj", "--critic", "separable", "--task", "gaussian", "--dim", "2", "--batch", "4");
        Assert.True(ok.Code == 0, ok.Err);
        Assert.True(File.Exists(Path.Combine(nested, "summary.json")));
    }

    [Fact]
    public void RedirectedOutputHasNoEscapeCodesAndNoWrapping()
    {
        var outputs = new List<string>();
        void Ok(params string[] args)
        {
            var (code, output, error) = Host.Run(args);
            Assert.True(code == 0, $"{string.Join(' ', args)}: {error}");
            outputs.Add(output + error);
        }
        Ok("tasks", "--dim", "3", "--levels", "1,2");
        Ok("optimal", "--dim", "2", "--batch", "4", "--batches", "3", "--mi", "1");
        var sb = new StringBuilder("a,b\n");
        var rng = new Random(1);
        for (int i = 0; i < 60; i++) sb.Append(CultureInfo.InvariantCulture, $"{rng.NextDouble()},{rng.NextDouble()}\n");
        string data = Path.Combine(_dir, "d.csv");
        File.WriteAllText(data, sb.ToString());
        Ok("estimate", "--data", data, "--x-cols", "a", "--y-cols", "b", "--estimator", "ksg");
        string sweep = Path.Combine(_dir, "sweep");
        Ok("sweep", "--steps-per-level", "5", "--levels", "1", "--estimators", "nwj", "--critic", "separable", "--task", "gaussian", "--dim", "2", "--batch", "4", "--out", sweep);
        foreach (var text in outputs) Assert.DoesNotContain('\u001b', text);

        // plot on a tiny vib run: its summary table must not wrap at 80 columns.
        string idx = Vib.Tests.Synthetic.WriteIdxDirectory(train: 40, test: 20);
        string run = Path.Combine(_dir, "vibrun");
        Ok("vib", "--data", idx, "--out", run, "--k", "2", "--hidden", "8", "--batch", "20", "--epochs", "1", "--threads", "1", "--train-eval", "20");
        Ok("plot", "--runs", run, "--out", Path.Combine(_dir, "plots"));
        Directory.Delete(idx, recursive: true);
        foreach (var text in outputs) Assert.DoesNotContain('\u001b', text);
        var tableRows = outputs[^1].Split('\n').Where(l => l.StartsWith('|')).ToArray();
        Assert.NotEmpty(tableRows);
        Assert.All(tableRows, row => Assert.EndsWith("|", row.TrimEnd()));
        Assert.Contains(outputs[^2].Split('\n'), l => l.Length > 80); // the epoch line is long and stays whole
    }
}
