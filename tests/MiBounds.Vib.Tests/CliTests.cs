using MiBounds.Vib;

namespace MiBounds.Vib.Tests;

public class CliTests
{
    private static (int Code, string Out, string Err) Run(params string[] args)
    {
        var o = new StringWriter(); var e = new StringWriter();
        int code = Commands.Dispatch(args, o, e);
        return (code, o.ToString(), e.ToString());
    }

    [Theory]
    [InlineData("vib", "--beta", "abc")]
    [InlineData("vib", "--k", "0")]
    [InlineData("vib", "--epochs", "-3")]
    [InlineData("vib", "--bogus", "1")]
    [InlineData("vib", "stray")]
    [InlineData("vim", "--sigma", "0")]
    [InlineData("baseline", "--kind", "svm")]
    [InlineData("baseline", "--beta", "0.1")]
    [InlineData("frobnicate")]
    [InlineData("robustness")]
    [InlineData("plot")]
    public void BadOptionsGiveOneLineAndExitCode2(params string[] args)
    {
        var (code, _, err) = Run(args);
        Assert.Equal(2, code);
        Assert.StartsWith("error: ", err);
        Assert.Single(err.TrimEnd().Split('\n'));
    }

    [Fact]
    public void HelpListsEveryCommand()
    {
        var (code, output, _) = Run("--help");
        Assert.Equal(0, code);
        foreach (var name in new[] { "vib", "vim", "baseline", "robustness", "plot" }) Assert.Contains(name, output);
    }

    [Theory]
    [InlineData("vib", "--beta X")]
    [InlineData("dim", "--estimator NAME")]
    [InlineData("robustness-table", "--runs LIST")]
    public void CommandHelpPrintsItsOptions(string command, string option)
    {
        var (code, output, err) = Run(command, "--epochs", "nope", "--help");
        Assert.Equal(0, code);
        Assert.StartsWith($"usage: {command} ", output);
        Assert.Contains(option, output);
        Assert.Equal("", err);
    }

    [Fact]
    public void MissingDataDirectoryNamesTheFile()
    {
        var dir = Path.Combine(Path.GetTempPath(), "vib-missing-" + Guid.NewGuid().ToString("N"));
        var outDir = Path.Combine(Path.GetTempPath(), "vib-out-" + Guid.NewGuid().ToString("N"));
        var (code, _, err) = Run("vib", "--data", dir, "--out", outDir, "--epochs", "1");
        Assert.Equal(1, code);
        Assert.Contains("train-images-idx3-ubyte", err);
    }

    [Fact]
    public void TrainResumeAndPlotEndToEnd()
    {
        var data = Synthetic.WriteIdxDirectory(train: 60, test: 30);
        var outDir = Path.Combine(Path.GetTempPath(), "vib-cli-" + Guid.NewGuid().ToString("N"));
        string[] common = ["--data", data, "--out", outDir, "--k", "2", "--hidden", "16", "--batch", "20", "--threads", "1"];
        Assert.Equal(0, Run(["vib", "--epochs", "1", .. common]).Code);
        Assert.Equal(2, Run(["vib", "--epochs", "1", .. common]).Code); // refuses to overwrite a run
        Assert.Equal(2, Run(["vib", "--epochs", "2", "--beta", "0.5", "--resume", .. common]).Code); // options differ
        Assert.Equal(0, Run(["vib", "--epochs", "2", "--resume", "--robustness", "--epsilons", "0.1", .. common]).Code);
        var results = RunResults.Load(outDir);
        Assert.Equal([1, 2], results.Epochs.Select(e => e.Epoch));
        Assert.Equal(["none", "fgsm", "pgd"], results.Attacks.Select(a => a.Attack));
        var json = File.ReadAllText(Path.Combine(outDir, "results.json"));
        foreach (var key in new[] { "\"model\"", "\"epoch\"", "\"seconds\"", "\"test_acc_1\"", "\"test_acc_12\"", "\"train_acc_1\"", "\"izx_bits\"", "\"izy_bits\"", "\"attack\"", "\"epsilon\"", "\"accuracy\"" })
            Assert.Contains(key, json);
        Assert.True(File.Exists(Path.Combine(outDir, "embedding.png")) && File.Exists(Path.Combine(outDir, "embedding.svg")), "K = 2 runs draw their embedding");
        Assert.True(File.Exists(Path.Combine(outDir, "robustness.png")) && File.Exists(Path.Combine(outDir, "robustness.svg")), "--robustness draws its curves");
        // The robustness command reloads the checkpoint and replaces the run's attack records.
        Assert.Equal(0, Run("robustness", "--out", outDir, "--data", data, "--epsilons", "0.1,0.2", "--count", "20", "--threads", "1").Code);
        Assert.Equal(["none", "fgsm", "pgd", "fgsm", "pgd"], RunResults.Load(outDir).Attacks.Select(a => a.Attack));
        var plots = Path.Combine(outDir, "plots");
        Assert.Equal(0, Run("plot", "--runs", outDir, "--out", plots).Code);
        foreach (var name in new[] { "error_vs_beta", "ib_plane", "robustness" })
            foreach (var ext in new[] { ".png", ".svg" })
                Assert.True(File.Exists(Path.Combine(plots, name + ext)), name + ext);
        Directory.Delete(outDir, true);
        Directory.Delete(data, true);
    }
}
