using System.Diagnostics;
using System.Text;

namespace MiBounds.Packaging.Tests;

/// <summary>The dotnet CLI as a child process, with an environment cleaned of the test run's own build state.</summary>
public static class Dotnet
{
    /// <summary>The dotnet executable running these tests (or the one on PATH); null when there is none.</summary>
    public static string? Path { get; } = Find();

    /// <summary>The folder of the dotnet installation, for apphosts such as an installed tool.</summary>
    public static string? Root => Path is null ? null : System.IO.Path.GetDirectoryName(new FileInfo(Path).ResolveLinkTarget(true)?.FullName ?? Path);

    private static string? Find()
    {
        foreach (var candidate in new[] { Environment.GetEnvironmentVariable("DOTNET_HOST_PATH"), Environment.ProcessPath })
            if (candidate is not null && System.IO.Path.GetFileNameWithoutExtension(candidate) == "dotnet" && File.Exists(candidate)) return candidate;
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(System.IO.Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            string file = System.IO.Path.Combine(dir, OperatingSystem.IsWindows() ? "dotnet.exe" : "dotnet");
            if (File.Exists(file)) return file;
        }
        return null;
    }

    /// <summary>Runs <c>dotnet args</c> in <paramref name="workingDirectory"/>.</summary>
    public static Result Run(string workingDirectory, TimeSpan timeout, IReadOnlyDictionary<string, string?>? environment, params string[] args) =>
        Exec(Path ?? throw new InvalidOperationException("dotnet not found"), workingDirectory, timeout, environment, args);

    /// <summary>Runs any program with the cleaned environment; output and error are captured.</summary>
    public static Result Exec(string program, string workingDirectory, TimeSpan timeout, IReadOnlyDictionary<string, string?>? environment, params string[] args)
    {
        var info = new ProcessStartInfo(program)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var a in args) info.ArgumentList.Add(a);
        // The parent `dotnet test` exports MSBuild state that would steer a nested build to its own settings.
        foreach (var key in info.Environment.Keys.ToArray())
            if (key.StartsWith("MSBUILD", StringComparison.OrdinalIgnoreCase) || key.StartsWith("VSTEST", StringComparison.OrdinalIgnoreCase)
                || key == "MIB_BUILD_ROOT" || key == "DOTNET_HOST_PATH")
                info.Environment.Remove(key);
        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        info.Environment["DOTNET_NOLOGO"] = "1";
        info.Environment["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1";
        info.Environment["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0";
        info.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        info.Environment["DOTNET_SYSTEM_GLOBALIZATION_INVARIANT"] = "1";
        if (Root is { } root) info.Environment["DOTNET_ROOT"] = root;
        if (environment is not null)
            foreach (var (key, value) in environment)
                if (value is null) info.Environment.Remove(key); else info.Environment[key] = value;

        var output = new StringBuilder();
        var error = new StringBuilder();
        using var process = new Process { StartInfo = info };
        using var outputClosed = new ManualResetEventSlim();
        using var errorClosed = new ManualResetEventSlim();
        process.OutputDataReceived += (_, e) => { if (e.Data is null) outputClosed.Set(); else lock (output) output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is null) errorClosed.Set(); else lock (error) error.AppendLine(e.Data); };
        var clock = Stopwatch.StartNew();
        process.Start();
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        // WaitForExit(timeout) returns at exit even if a build server it started still holds the pipes open.
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{System.IO.Path.GetFileName(program)} {string.Join(' ', args)} ran past {timeout.TotalSeconds:F0} s\n{output}\n{error}");
        }
        // The last lines: a finite wait does not drain the pipes, and a build server may keep them open after the exit.
        var drained = Stopwatch.StartNew();
        outputClosed.Wait(TimeSpan.FromSeconds(10));
        errorClosed.Wait(TimeSpan.FromSeconds(10) - drained.Elapsed is { Ticks: > 0 } left ? left : TimeSpan.Zero);
        lock (output) lock (error)
            return new Result(process.ExitCode, output.ToString(), error.ToString(), clock.Elapsed,
                $"{System.IO.Path.GetFileName(program)} {string.Join(' ', args)}");
    }

    /// <summary>A finished child process.</summary>
    public sealed record Result(int ExitCode, string Output, string Error, TimeSpan Elapsed, string CommandLine)
    {
        /// <summary>Everything it printed, for assertion messages.</summary>
        public override string ToString() => $"{CommandLine} → exit {ExitCode} after {Elapsed.TotalSeconds:F1} s\n--- stdout\n{Output}\n--- stderr\n{Error}";
    }
}

/// <summary>A fact that is skipped only when no dotnet executable can be found.</summary>
public sealed class DotnetFactAttribute : FactAttribute
{
    /// <summary>Sets <see cref="FactAttribute.Skip"/> when dotnet is unavailable.</summary>
    public DotnetFactAttribute()
    {
        if (Dotnet.Path is null) Skip = "dotnet is not available on this machine";
    }
}
