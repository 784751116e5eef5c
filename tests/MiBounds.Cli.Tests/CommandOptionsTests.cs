using System.CommandLine;
using MiBounds.Commands;

namespace MiBounds.Cli.Tests;

/// <summary>The option conventions and the host's exit codes, on a small made-up command (was CommandLineTests of the old core parser).</summary>
public class CommandOptionsTests
{
    private sealed class Unexpected(string message) : Exception(message);

    private static (int code, string stdout, string stderr) Run(params string[] args) => Run(new Interruption(), args);

    private static (int code, string stdout, string stderr) Run(Interruption interruption, params string[] args)
    {
        var steps = CommandOptions.Int("--steps", "steps", 10, min: 0);
        var mode = CommandOptions.Choice("--mode", "mode", "fast", "fast", "slow");
        var x = CommandOptions.Double("--x", "x", 0);
        var flag = CommandOptions.Flag("--flag", "a flag");
        var list = CommandOptions.Doubles("--list", "a list", []);
        var fit = new Command("fit", "fits") { steps, mode, x, flag, list }.WithAction(run =>
        {
            int s = run.Get(steps);
            if (s == 7) throw new InvalidDataException("data.csv: row 3 is ragged");
            if (s == 8) throw new Unexpected("a bug");
            if (s == 9) { run.Cancellation.ThrowIfCancellationRequested(); return CommandHost.Interrupted; }
            if (run.Get(x) == -1e-3 && run.Get(flag) && run.Get(list) is [1.0, 2.5]) return 6;
            return s == 0 && run.Get(mode) == "slow" ? 5 : 0;
        });
        var root = new RootCommand("prog") { fit };
        var output = new StringWriter();
        var error = new StringWriter();
        int code = CommandHost.Run(root, args, output, error, interruption);
        return (code, output.ToString(), error.ToString());
    }

    [Fact]
    public void OptionsParseAndValidate()
    {
        Assert.Equal(5, Run("fit", "--steps", "0", "--mode", "SLOW").code);
        Assert.Equal(5, Run("fit", "--steps=0", "--mode", "slow").code);
        Assert.Equal(6, Run("fit", "--x", "-1e-3", "--flag", "--list", "1,2.5").code);
        var (code, _, err) = Run("fit", "--steps", "-1");
        Assert.Equal(2, code);
        Assert.Contains("--steps must be ≥ 0", err);
        Assert.Single(err.TrimEnd().Split('\n'));
        Assert.Contains("unknown option --bogus", Run("fit", "--bogus", "1").stderr);
        Assert.Contains("unknown command 'fitt'", Run("fitt").stderr);
        Assert.Contains("--mode must be one of fast, slow", Run("fit", "--mode", "medium").stderr);
    }

    [Fact]
    public void HelpDataErrorsAndExitCodes()
    {
        var (code, stdout, _) = Run("fit", "--help");
        Assert.Equal(0, code);
        Assert.Contains("--steps", stdout);
        Assert.Contains("[default: 10]", stdout);
        var data = Run("fit", "--steps", "7");
        Assert.Equal(2, data.code);
        Assert.Contains("row 3 is ragged", data.stderr);
        Assert.Single(data.stderr.TrimEnd().Split('\n'));
        var bug = Run("fit", "--steps", "8");
        Assert.Equal(1, bug.code);
        Assert.Contains("at MiBounds.Cli.Tests", bug.stderr); // the stack trace
        Assert.Equal(2, Run().code);
    }

    [Theory]
    [InlineData(null, 130)]
    [InlineData(System.Runtime.InteropServices.PosixSignal.SIGINT, 130)]
    [InlineData(System.Runtime.InteropServices.PosixSignal.SIGTERM, 143)]
    public void InterruptionMapsToTheSignalsExitCode(System.Runtime.InteropServices.PosixSignal? signal, int expected)
    {
        using var interruption = new Interruption();
        if (signal is { } s) interruption.Request(s);
        Assert.Equal(expected, Run(interruption, "fit", "--steps", "9").code);
    }
}
