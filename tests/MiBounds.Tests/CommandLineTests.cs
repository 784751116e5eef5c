using MiBounds.Cli;

namespace MiBounds.Tests;

public class CommandLineTests
{
    private sealed class BadData(string message) : Exception(message);

    private static (int code, string stdout, string stderr) Run(CommandSet set, params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = set.Run(args, error, output);
        return (code, output.ToString(), error.ToString());
    }

    private static CommandSet Make()
    {
        var set = new CommandSet("prog");
        set.Add("fit", "fits", "usage: prog fit --steps N", o =>
        {
            int steps = o.Int("steps", 10, min: 0);
            string mode = o.Choice("mode", "fast", "fast", "slow");
            o.EnsureAllUsed();
            if (steps == 7) throw new BadData("row 3 is ragged");
            return steps == 0 && mode == "slow" ? 5 : 0;
        });
        set.TreatAsDataError<BadData>();
        return set;
    }

    [Fact]
    public void OptionsParseAndValidate()
    {
        Assert.Equal(5, Run(Make(), "fit", "--steps", "0", "--mode", "SLOW").code);
        Assert.Equal(5, Run(Make(), "fit", "--steps=0", "--mode", "slow").code);
        var (code, _, err) = Run(Make(), "fit", "--steps", "-1");
        Assert.Equal(2, code);
        Assert.Contains("--steps must be ≥ 0", err);
        Assert.Contains("unknown option --bogus", Run(Make(), "fit", "--bogus", "1").stderr);
        Assert.Contains("given twice", Run(Make(), "fit", "--steps", "1", "--steps", "2").stderr);
        Assert.Contains("unknown command 'fitt'", Run(Make(), "fitt").stderr);
    }

    [Fact]
    public void HelpDataErrorsAndExitCodes()
    {
        var (code, stdout, _) = Run(Make(), "fit", "--help");
        Assert.Equal(0, code);
        Assert.Contains("usage: prog fit --steps N", stdout);
        var data = Run(Make(), "fit", "--steps", "7");
        Assert.Equal(1, data.code);
        Assert.Contains("row 3 is ragged", data.stderr);
        Assert.Equal(2, Run(Make()).code);
        var parsed = new ParsedOptions(["--x", "-1e-3", "--flag", "--list", "1,2.5"]);
        Assert.Equal(-1e-3, parsed.Double("x", 0));
        Assert.True(parsed.Flag("flag"));
        Assert.Equal([1.0, 2.5], parsed.Doubles("list", []));
        parsed.EnsureAllUsed();
    }
}
