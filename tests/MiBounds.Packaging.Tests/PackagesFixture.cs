using System.Text.RegularExpressions;

namespace MiBounds.Packaging.Tests;

/// <summary>
/// `dotnet pack MiBounds.sln` once per test run, into a temporary feed, with a version suffix of its own so NuGet's
/// global package folder never serves an older copy, and with MIB_BUILD_ROOT set so the build neither touches nor
/// races the checkout's bin/ and obj/ (which the other test projects are using at the same time).
/// </summary>
public sealed class PackagesFixture : IDisposable
{
    /// <summary>Every library package, and the tool.</summary>
    public static readonly string[] Libraries = ["MiBounds.Tensors", "MiBounds", "MiBounds.Plots", "MiBounds.Commands", "MiBounds.Toy", "MiBounds.Vib"];

    /// <summary>The tool's package id.</summary>
    public const string Tool = "MiBounds.Cli";

    /// <summary>Scratch space outside the repository.</summary>
    public string Work { get; }

    /// <summary>The folder the packages were written to.</summary>
    public string Feed => Path.Combine(Work, "feed");

    /// <summary>The packages' version: Directory.Build.props's VersionPrefix plus this run's suffix.</summary>
    public string Version { get; }

    /// <summary>The pack command's result (null when dotnet is unavailable).</summary>
    public Dotnet.Result? Pack { get; }

    /// <summary>Packs the solution (skipped when dotnet is unavailable; the tests are skipped then too).</summary>
    public PackagesFixture()
    {
        Work = Path.Combine(Path.GetTempPath(), $"mibounds-packaging-{Guid.NewGuid():N}");
        Directory.CreateDirectory(Work);
        string props = File.ReadAllText(Repository.PathOf("Directory.Build.props"));
        string prefix = Regex.Match(props, "<VersionPrefix>([^<]+)</VersionPrefix>").Groups[1].Value;
        string suffix = $"ci.{DateTime.UtcNow:yyyyMMddHHmmss}.{Environment.ProcessId}";
        Version = $"{prefix}-{suffix}";
        if (Dotnet.Path is null) return;
        Pack = Dotnet.Run(Repository.Root, TimeSpan.FromMinutes(8),
            new Dictionary<string, string?> { ["MIB_BUILD_ROOT"] = Path.Combine(Work, "build") },
            // Analyzers change no output (the ordinary build runs them) and cost a good part of the pack's time.
            "pack", "MiBounds.sln", "-c", "Release", "-o", Feed, "--version-suffix", suffix, "-nodeReuse:false", "-p:RunAnalyzers=false");
    }

    /// <summary>Removes the scratch folder and this run's packages from the global package folder.</summary>
    public void Dispose()
    {
        TryDelete(Work);
        string packages = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        foreach (var id in Libraries.Append(Tool))
            TryDelete(Path.Combine(packages, id.ToLowerInvariant(), Version.ToLowerInvariant()));
    }

    private static void TryDelete(string dir)
    {
        try { if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true); }
        catch (IOException) { } // best effort: a leftover temp folder is harmless
        catch (UnauthorizedAccessException) { }
    }
}
