using MiBounds.Tensors;
using MiBounds.Vib;
using MiBounds.Vib.Reports;
using MiBounds.Vib.Commands;

namespace MiBounds.Vib.Tests;

public class CliTests
{
    private static (int Code, string Out, string Err) Run(params string[] args)
    {
        return DimTests.Run(args);
    }

    [Theory]
    [InlineData("vib", "--beta", "abc")]
    [InlineData("vib", "--k", "0")]
    [InlineData("vib", "--epochs", "-3")]
    [InlineData("vib", "--bogus", "1")]
    [InlineData("vib", "stray")]
    [InlineData("vim", "--sigma", "0")]
    [InlineData("vib", "--encoder", "resnet")]
    [InlineData("baseline", "--kind", "svm")]
    [InlineData("baseline", "--beta", "0.1")]
    [InlineData("frobnicate")]
    [InlineData("robustness")]
    [InlineData("plot")]
    public void BadOptionsGiveOneLineAndExitCode2(params string[] args)
    {
        var (code, _, err) = Run(args);
        Assert.Equal(2, code);
        Assert.NotEqual("", err.Trim());
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
    [InlineData("vib", "--beta")]
    [InlineData("dim", "--estimator")]
    [InlineData("robustness-table", "--runs")]
    public void CommandHelpPrintsItsOptions(string command, string option)
    {
        var (code, output, err) = Run(command, "--epochs", "nope", "--help");
        Assert.Equal(0, code);
        Assert.Contains($" {command} [options]", output);
        Assert.Contains(option, output);
        Assert.Equal("", err);
    }

    [Fact]
    public void MissingDataDirectoryNamesTheFile()
    {
        var dir = Path.Combine(Path.GetTempPath(), "vib-missing-" + Guid.NewGuid().ToString("N"));
        var outDir = Path.Combine(Path.GetTempPath(), "vib-out-" + Guid.NewGuid().ToString("N"));
        var (code, _, err) = Run("vib", "--data", dir, "--out", outDir, "--epochs", "1");
        Assert.Equal(2, code); // bad data is exit code 2, one line naming the file
        Assert.Contains("train-images-idx3-ubyte", err);
        Assert.Single(err.TrimEnd().Split('\n'));
    }

    [Fact]
    public void ResumeRefusesACheckpointOfTheOlderFormatInOneLine()
    {
        var data = Synthetic.WriteIdxDirectory(train: 60, test: 30);
        var outDir = Path.Combine(Path.GetTempPath(), "vib-cli-old-" + Guid.NewGuid().ToString("N"));
        string[] common = ["--data", data, "--out", outDir, "--k", "2", "--hidden", "8", "--batch", "20", "--threads", "1"];
        Assert.Equal(0, Run(["vib", "--epochs", "1", .. common]).Code);
        // What the pre-spine VIB checkpoint looked like: tensors plus epochs/RNG metadata, no format entry.
        SafeTensors.Save(Path.Combine(outDir, "checkpoint.safetensors"), new Dictionary<string, Tensor> { ["model.decoder.weight"] = Tensor.Zeros(3, 2) },
            new Dictionary<string, string> { ["epochs"] = "1", ["rng"] = "1,2,3,4" });
        var (code, _, err) = Run(["vib", "--epochs", "2", "--resume", .. common]);
        Assert.Equal(2, code); // bad data: one line, exit 2
        Assert.Contains("checkpoint.safetensors is a checkpoint of an older or foreign format", err);
        Assert.Single(err.TrimEnd().Split('\n'));
        Directory.Delete(outDir, true);
        Directory.Delete(data, true);
    }

    [Fact]
    public void TheConvolutionalEncoderTrainsFromTheCommandLine()
    {
        var data = Synthetic.WriteIdxDirectory(train: 40, test: 20, side: 8);
        var outDir = Path.Combine(Path.GetTempPath(), "vim-cli-conv-" + Guid.NewGuid().ToString("N"));
        try
        {
            var (code, output, err) = Run("vim", "--encoder", "conv", "--data", data, "--out", outDir, "--k", "4", "--hidden", "16", "--batch", "20", "--epochs", "1", "--threads", "1");
            Assert.True(code == 0, err);
            Assert.Contains("conv vim K=4", output);
            Assert.Contains("\"Encoder\": \"Conv\"", File.ReadAllText(Path.Combine(outDir, "run.json")));
        }
        finally
        {
            if (Directory.Exists(outDir)) Directory.Delete(outDir, true);
            Directory.Delete(data, true);
        }
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
        string page = File.ReadAllText(Path.Combine(plots, RunReport.IndexFile));
        foreach (var name in new[] { "error_vs_beta", "ib_plane", "robustness" }) Assert.Contains($"<img src=\"{name}.png\"", page);
        Directory.Delete(outDir, true);
        Directory.Delete(data, true);
    }
}
