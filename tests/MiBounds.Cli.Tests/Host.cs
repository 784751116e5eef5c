using MiBounds.Commands;

namespace MiBounds.Cli.Tests;

/// <summary>Runs the mibounds root in-process with captured (hence non-terminal) output and no signal handlers.</summary>
internal static class Host
{
    public static (int Code, string Out, string Err) Run(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        using var interruption = new Interruption();
        int code = CommandHost.Run(Program.CreateRoot(), args, output, error, interruption);
        return (code, output.ToString(), error.ToString());
    }

    public static string TempFolder() => Directory.CreateTempSubdirectory("mib-cli-").FullName;
}
