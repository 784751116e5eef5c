using System.Diagnostics;
using System.Globalization;
using MiBounds.Vib.Data;

namespace MiBounds.Cli.Tests;

/// <summary>
/// The built mibounds-cli as a child process, stopped by SIGTERM, SIGINT or kill -9 partway through a sweep, a VIB run
/// and a DIM run: the signals checkpoint and exit with 143 and 130 (kill -9 leaves the last periodic checkpoint), and
/// `--resume` then writes the same CSVs (timing columns aside) as an uninterrupted run.
/// </summary>
public sealed class SignalTests : IDisposable
{
    private readonly string _dir = Host.TempFolder();

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static readonly string Cli = Path.Combine(AppContext.BaseDirectory, "mibounds-cli.dll");

    private static Process Start(IEnumerable<string> args)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(Cli);
        foreach (var a in args) info.ArgumentList.Add(a);
        var p = Process.Start(info)!;
        p.BeginOutputReadLine(); // drained so the child never blocks on a full pipe
        p.BeginErrorReadLine();
        return p;
    }

    private static int RunToEnd(IEnumerable<string> args)
    {
        using var p = Start(args);
        Assert.True(p.WaitForExit(120_000), "the run did not finish");
        return p.ExitCode;
    }

    private static bool SigIntIgnoredHere()
    {
        // A process started with SIGINT ignored (a background job of a non-interactive shell) passes that on to children, and the runtime respects it.
        var line = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("SigIgn:", StringComparison.Ordinal));
        return line is not null && (Convert.ToUInt64(line[7..].Trim(), 16) & (1UL << (2 - 1))) != 0;
    }

    /// <summary>
    /// Runs <paramref name="command"/> uninterrupted into one folder, then for each signal into another: waits until
    /// <paramref name="ready"/> says the run is partway (for kill -9: past a checkpoint), signals it, checks the exit
    /// code, resumes it and compares <paramref name="csvs"/> with the uninterrupted run's, without their "seconds" columns.
    /// </summary>
    private void InterruptResumeAndCompare(string[] command, Func<string, bool> ready, string[] csvs, params string[] signals)
    {
        if (!OperatingSystem.IsLinux()) return; // signals as Linux delivers them
        string whole = Path.Combine(_dir, command[0] + "-whole");
        if (!Directory.Exists(whole)) Assert.Equal(0, RunToEnd([.. command, "--out", whole]));
        foreach (var signal in signals)
        {
            if (signal == "INT" && SigIntIgnoredHere()) continue; // cannot deliver SIGINT to a child here
            string cut = Path.Combine(_dir, $"{command[0]}-{signal}");
            using (var p = Start([.. command, "--out", cut]))
            {
                var started = Stopwatch.StartNew();
                while (!ready(cut) && !p.HasExited && started.Elapsed < TimeSpan.FromSeconds(60)) Thread.Sleep(10);
                Assert.False(p.HasExited, $"{command[0]} ended before it could be sent SIG{signal}");
                using (var kill = Process.Start("kill", ["-" + signal, p.Id.ToString(CultureInfo.InvariantCulture)])) kill.WaitForExit();
                Assert.True(p.WaitForExit(60_000), $"{command[0]} did not stop after SIG{signal}");
                Assert.Equal(signal switch { "TERM" => 143, "INT" => 130, _ => 137 }, p.ExitCode);
            }
            foreach (var csv in csvs)
                Assert.NotEqual(WithoutSeconds(Path.Combine(whole, csv)), WithoutSeconds(Path.Combine(cut, csv))); // stopped partway
            Assert.Equal(0, RunToEnd([.. command, "--resume", "--out", cut]));
            foreach (var csv in csvs)
                Assert.Equal(WithoutSeconds(Path.Combine(whole, csv)), WithoutSeconds(Path.Combine(cut, csv)));
        }
    }

    // The CSV's lines without the columns whose header says "seconds" (wall time differs from run to run).
    private static string[] WithoutSeconds(string path)
    {
        if (!File.Exists(path)) return [];
        var lines = File.ReadAllLines(path);
        var drop = lines[0].Split(',').Select((h, i) => (h, i)).Where(c => c.h.Contains("seconds", StringComparison.Ordinal)).Select(c => c.i).ToHashSet();
        return lines.Select(l => string.Join(",", l.Split(',').Where((_, i) => !drop.Contains(i)))).ToArray();
    }

    private static int Rows(string path) => File.Exists(path) ? File.ReadLines(path).Count() - 1 : 0;

    [Fact]
    public void ASweepStoppedBySignalsOrKilledResumesToTheSameCsv()
    {
        string[] sweep = ["sweep", "--task", "gaussian", "--critic", "separable", "--estimators", "nwj", "--dim", "2", "--batch", "8",
                          "--steps-per-level", "3000", "--levels", "1,2", "--checkpoint-every", "500", "--parallel", "1", "--plain"];
        const string csv = "runs/gaussian-separable-nwj.csv";
        // Signals: once training has begun. kill -9: once a checkpoint exists and rows have been written past it.
        bool Partway(string dir) => Rows(Path.Combine(dir, csv)) > 1;
        bool PastACheckpoint(string dir) => File.Exists(Path.Combine(dir, "checkpoints", "gaussian-separable-nwj.safetensors")) && Rows(Path.Combine(dir, csv)) > 700;
        InterruptResumeAndCompare(sweep, Partway, [csv], "TERM", "INT");
        InterruptResumeAndCompare(sweep, PastACheckpoint, [csv], "KILL");
    }

    /// <summary>An IDX folder of random <paramref name="side"/>² images in 10 classes, as the image commands read.</summary>
    private string ImageFolder(int train, int test, int side)
    {
        string dir = Path.Combine(_dir, $"idx-{side}");
        if (Directory.Exists(dir)) return dir;
        Directory.CreateDirectory(dir);
        var rng = new Random(7);
        foreach (var (prefix, n) in new[] { ("train", train), ("t10k", test) })
        {
            var labels = new byte[n];
            var pixels = new byte[n * side * side];
            for (int i = 0; i < n; i++)
            {
                labels[i] = (byte)(i % 10);
                for (int p = 0; p < side * side; p++) pixels[i * side * side + p] = (byte)((p % 10 == labels[i] ? 150 : 30) + rng.Next(80));
            }
            Idx.Write(Path.Combine(dir, $"{prefix}-images-idx3-ubyte"), [n, side, side], pixels);
            Idx.Write(Path.Combine(dir, $"{prefix}-labels-idx1-ubyte"), [n], labels);
        }
        return dir;
    }

    [Fact]
    public void AVibRunStoppedBySignalsOrKilledResumesToTheSameResults()
    {
        string data = ImageFolder(train: 6000, test: 200, side: 16);
        string[] vib = ["vib", "--data", data, "--epochs", "4", "--batch", "20", "--k", "4", "--train-eval", "500", "--threads", "1"];
        // After the first epoch's checkpoint, the run is in epoch 2: a signal checkpoints mid-epoch, kill -9 leaves epoch 1's.
        bool InEpochTwo(string dir) => File.Exists(Path.Combine(dir, "checkpoint.safetensors"));
        InterruptResumeAndCompare(vib, InEpochTwo, ["results.csv"], "TERM", "KILL");
    }

    [Fact]
    public void ADimRunStoppedBySignalsOrKilledResumesToTheSameTrainingLog()
    {
        string data = ImageFolder(train: 3200, test: 200, side: 8);
        string[] dim = ["dim", "--data", data, "--epochs", "4", "--batch", "32", "--width", "32", "--prior", "0.1",
                        "--probe-train", "200", "--probe-test", "100", "--probe-epochs", "1", "--threads", "1"];
        bool InEpochTwo(string dir) => File.Exists(Path.Combine(dir, "checkpoint.safetensors"));
        InterruptResumeAndCompare(dim, InEpochTwo, ["training.csv"], "INT", "KILL");
    }
}
