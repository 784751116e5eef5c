using System.Diagnostics;

namespace MiBounds.Cli.Tests;

/// <summary>The built mibounds-cli as a child process: SIGTERM and SIGINT checkpoint the sweep and exit 143 and 130; --resume then finishes it.</summary>
public sealed class SignalTests : IDisposable
{
    private readonly string _dir = Host.TempFolder();

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static readonly string Cli = Path.Combine(AppContext.BaseDirectory, "mibounds-cli.dll");

    private static Process Start(params string[] args)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(Cli);
        foreach (var a in args) info.ArgumentList.Add(a);
        var p = Process.Start(info)!;
        p.BeginOutputReadLine(); // drained so the child never blocks on a full pipe
        p.BeginErrorReadLine();
        return p;
    }

    private static bool SigIntIgnoredHere()
    {
        // A process started with SIGINT ignored (a background job of a non-interactive shell) passes that on to children, and the runtime respects it.
        var line = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("SigIgn:", StringComparison.Ordinal));
        return line is not null && (Convert.ToUInt64(line[7..].Trim(), 16) & (1UL << (2 - 1))) != 0;
    }

    [Theory]
    [InlineData("TERM", 143)]
    [InlineData("INT", 130)]
    public void SignalCheckpointsExitsWithItsCodeAndResumeFinishes(string signal, int expected)
    {
        if (!OperatingSystem.IsLinux() || (signal == "INT" && SigIntIgnoredHere())) return; // cannot deliver the signal here
        string outDir = Path.Combine(_dir, "sweep-" + signal);
        string[] config = ["--task", "gaussian", "--critic", "separable", "--estimators", "nwj", "--dim", "2", "--batch", "8",
                           "--steps-per-level", "6000", "--levels", "1", "--checkpoint-every", "100", "--parallel", "1", "--plain"];
        using (var sweep = Start(["sweep", .. config, "--out", outDir]))
        {
            string csv = Path.Combine(outDir, "runs", "gaussian-separable-nwj.csv");
            var started = Stopwatch.StartNew();
            while (!(File.Exists(csv) && File.ReadLines(csv).Skip(2).Any()) && !sweep.HasExited && started.Elapsed < TimeSpan.FromSeconds(30)) Thread.Sleep(20);
            Assert.False(sweep.HasExited, "the sweep ended before it could be signalled");
            using (var kill = Process.Start("kill", ["-" + signal, sweep.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])) kill.WaitForExit();
            Assert.True(sweep.WaitForExit(30_000), "the sweep did not stop after the signal");
            Assert.Equal(expected, sweep.ExitCode);
        }
        int rows = File.ReadLines(Path.Combine(outDir, "runs", "gaussian-separable-nwj.csv")).Count() - 1;
        Assert.InRange(rows, 1, 5999); // stopped partway

        using var resume = Start("sweep", "--resume", "--out", outDir, "--plain");
        Assert.True(resume.WaitForExit(60_000));
        Assert.Equal(0, resume.ExitCode);
        Assert.Equal(1 + 6000, File.ReadLines(Path.Combine(outDir, "runs", "gaussian-separable-nwj.csv")).Count());
    }
}
