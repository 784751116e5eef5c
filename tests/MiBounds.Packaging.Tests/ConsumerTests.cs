using System.Globalization;
using System.IO.Compression;
using System.Text.Json;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using Xunit.Abstractions;

namespace MiBounds.Packaging.Tests;

/// <summary>
/// The packages as a new user meets them: packed from this checkout, referenced from a fresh console project outside
/// the repository that runs the README's example verbatim, and the tool installed and run as `mibounds`.
/// </summary>
public sealed class ConsumerTests(PackagesFixture packages, ITestOutputHelper log) : IClassFixture<PackagesFixture>
{
    private static readonly TimeSpan Minutes3 = TimeSpan.FromMinutes(3);

    private Dotnet.Result Packed()
    {
        Assert.NotNull(packages.Pack);
        log.WriteLine($"{packages.Pack.CommandLine}: {packages.Pack.Elapsed.TotalSeconds:F1} s");
        Assert.True(packages.Pack.ExitCode == 0, packages.Pack.ToString());
        return packages.Pack;
    }

    [DotnetFact]
    public void EveryLibraryAndTheToolIsPackedWithItsMetadata()
    {
        Packed();
        foreach (var id in PackagesFixture.Libraries.Append(PackagesFixture.Tool))
        {
            string file = Path.Combine(packages.Feed, $"{id}.{packages.Version}.nupkg");
            Assert.True(File.Exists(file), $"{file} missing; the feed has {string.Join(", ", Directory.GetFiles(packages.Feed).Select(Path.GetFileName))}");
            using var zip = ZipFile.OpenRead(file);
            var nuspec = XDocument.Load(zip.Entries.Single(e => e.FullName == $"{id}.nuspec").Open());
            var meta = nuspec.Root!.Elements().Single(e => e.Name.LocalName == "metadata");
            string Field(string name) => meta.Elements().SingleOrDefault(e => e.Name.LocalName == name)?.Value ?? "";
            Assert.Equal(id, Field("id"));
            Assert.Equal(packages.Version, Field("version"));
            Assert.Equal("MIT", Field("license"));
            Assert.Equal("README.md", Field("readme"));
            Assert.Contains(zip.Entries, e => e.FullName == "README.md");
            Assert.False(string.IsNullOrWhiteSpace(Field("authors")), $"{id}: no authors");
            Assert.Equal("https://github.com/mibounds/mibounds", Field("projectUrl"));
            Assert.True(Field("description").Length > 60 && Field("description") != "Package Description", $"{id}: description '{Field("description")}'");
            var repository = meta.Elements().Single(e => e.Name.LocalName == "repository");
            Assert.Equal("https://github.com/mibounds/mibounds", repository.Attribute("url")?.Value);
            if (id == PackagesFixture.Tool)
            {
                Assert.Contains(zip.Entries, e => e.FullName.EndsWith("DotnetToolSettings.xml", StringComparison.Ordinal));
                var settings = XDocument.Load(zip.Entries.First(e => e.FullName.EndsWith("DotnetToolSettings.xml", StringComparison.Ordinal)).Open());
                var command = settings.Descendants().Single(e => e.Name.LocalName == "Command");
                Assert.Equal("mibounds", command.Attribute("Name")?.Value);
                Assert.Equal("mibounds-cli.dll", command.Attribute("EntryPoint")?.Value);
                continue;
            }
            Assert.Contains(zip.Entries, e => e.FullName == $"lib/net10.0/{id}.dll");
            Assert.Contains(zip.Entries, e => e.FullName == $"lib/net10.0/{id}.xml"); // XML docs
            Assert.True(File.Exists(Path.ChangeExtension(file, ".snupkg")), $"{id}: no symbol package");
            // Project references are package dependencies, at the same version.
            var dependencies = meta.Descendants().Where(e => e.Name.LocalName == "dependency")
                .ToDictionary(e => e.Attribute("id")!.Value, e => e.Attribute("version")!.Value);
            string[] expected = id switch
            {
                "MiBounds" or "MiBounds.Plots" => ["MiBounds.Tensors"],
                "MiBounds.Toy" or "MiBounds.Vib" => ["MiBounds", "MiBounds.Commands", "MiBounds.Plots"],
                _ => [],
            };
            foreach (var dependency in expected)
            {
                Assert.True(dependencies.TryGetValue(dependency, out var version), $"{id} does not depend on {dependency}");
                Assert.Equal(packages.Version, version);
            }
        }
        Assert.DoesNotContain(Directory.GetFiles(packages.Feed), f => Path.GetFileName(f).Contains("Tests", StringComparison.Ordinal) || Path.GetFileName(f).Contains("Bench", StringComparison.Ordinal));
    }

    [DotnetFact]
    public void TheReadmeExampleRunsInAFreshConsoleProjectAndTheToolInstallsAndRuns()
    {
        Packed();
        string app = Path.Combine(packages.Work, "consumer");
        Directory.CreateDirectory(app);
        Assert.False(Path.GetFullPath(app).StartsWith(Repository.Root, StringComparison.Ordinal), "the consumer must live outside the repository");
        WriteIsolatedNuGetConfig(app);

        Expect(Dotnet.Run(app, Minutes3, null, "new", "console", "--name", "Consumer", "--output", "."));
        Expect(Dotnet.Run(app, Minutes3, null, "add", "package", "MiBounds", "--version", packages.Version));
        File.WriteAllText(Path.Combine(app, "Program.cs"), ReadmeExample());
        var run = Expect(Dotnet.Run(app, Minutes3, null, "run", "-c", "Release", "-p:TreatWarningsAsErrors=true", "-nodeReuse:false"));
        var lines = run.Output.Split('\n').Where(l => l.Contains("true MI", StringComparison.Ordinal)).ToArray();
        Assert.True(lines.Length == 2, run.ToString());
        foreach (var line in lines)
        {
            var numbers = Regex.Matches(line, @"-?\d+\.\d+").Select(m => double.Parse(m.Value, CultureInfo.InvariantCulture)).ToArray();
            double printed = numbers[0], trueMi = numbers[^1];
            Assert.True(Math.Abs(trueMi - 2.0) < 1e-9, line);
            Assert.True(Math.Abs(printed - trueMi) < 0.6, $"estimate far from the true MI: {line}");
        }

        // The tool, from the same feed, under its command name.
        string tools = Path.Combine(packages.Work, "tools");
        var install = Expect(Dotnet.Run(app, Minutes3, null, "tool", "install", "--tool-path", tools, PackagesFixture.Tool,
            "--add-source", packages.Feed, "--version", packages.Version));
        Assert.Contains("mibounds", install.Output);
        string mibounds = Path.Combine(tools, OperatingSystem.IsWindows() ? "mibounds.exe" : "mibounds");
        Assert.True(File.Exists(mibounds), install.ToString());

        var help = Expect(Dotnet.Exec(mibounds, app, Minutes3, null, "--help"));
        Assert.Contains("mibounds [command] [options]", help.Output);
        foreach (var command in new[] { "sweep", "estimate", "optimal", "tasks", "bench-tasks", "vib", "vim", "baseline", "robustness", "plot", "dim", "hypothesis", "robustness-table" })
            Assert.Matches($@"(?m)^\s+{Regex.Escape(command)}\s", help.Output);

        WriteCorrelatedCsv(app, rows: 600, rho: 0.8);
        var estimate = Expect(Dotnet.Exec(mibounds, app, Minutes3, null, "estimate", "--x", "X.csv", "--y", "Y.csv", "--steps", "200", "--json", "--quiet"));
        using var json = JsonDocument.Parse(estimate.Output);
        double nats = json.RootElement.GetProperty("estimate_nats").GetDouble();
        double truth = -Math.Log(1 - 0.8 * 0.8); // two coordinates at ρ = 0.8
        Assert.True(nats > 0.3 && nats < truth + 0.5, $"estimate {nats} for a true MI of {truth:F3}\n{estimate}");

        var usage = Dotnet.Exec(mibounds, app, Minutes3, null, "estimate", "--steps", "-1");
        Assert.True(usage.ExitCode == 2, usage.ToString());
        Assert.StartsWith("mibounds estimate:", usage.Error);
    }

    /// <summary>The C# between the README's example markers, as written there.</summary>
    internal static string ReadmeExample()
    {
        string readme = File.ReadAllText(Repository.PathOf("README.md"));
        var match = Regex.Match(readme, @"<!-- example:start -->\s*```csharp\n(.*?)```\s*<!-- example:end -->", RegexOptions.Singleline);
        Assert.True(match.Success, "README.md has no ```csharp block between <!-- example:start --> and <!-- example:end -->");
        return match.Groups[1].Value;
    }

    private Dotnet.Result Expect(Dotnet.Result result)
    {
        log.WriteLine($"{result.CommandLine}: {result.Elapsed.TotalSeconds:F1} s");
        Assert.True(result.ExitCode == 0, result.ToString());
        return result;
    }

    /// <summary>
    /// nuget.config with the temporary feed and this machine's enabled sources (whatever the registry is called
    /// here), cleared of everything else; empty Directory.Build files stop MSBuild from reading any above the folder.
    /// </summary>
    private void WriteIsolatedNuGetConfig(string app)
    {
        var list = Expect(Dotnet.Run(app, Minutes3, null, "nuget", "list", "source", "--format", "Short"));
        var sources = list.Output.Split('\n').Select(l => l.Trim()).Where(l => l.StartsWith("E ", StringComparison.Ordinal))
            .Select(l => l[2..].Trim()).ToList();
        var config = new XElement("configuration",
            new XElement("packageSources",
                new XElement("clear"),
                new XElement("add", new XAttribute("key", "mibounds-test-feed"), new XAttribute("value", packages.Feed)),
                sources.Select((s, i) => new XElement("add", new XAttribute("key", $"source{i}"), new XAttribute("value", s)))));
        File.WriteAllText(Path.Combine(app, "nuget.config"), config.ToString());
        File.WriteAllText(Path.Combine(app, "Directory.Build.props"), "<Project />");
        File.WriteAllText(Path.Combine(app, "Directory.Build.targets"), "<Project />");
    }

    private static void WriteCorrelatedCsv(string dir, int rows, double rho)
    {
        var rng = new Random(7);
        double Normal() => Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
        using var x = new StreamWriter(Path.Combine(dir, "X.csv"));
        using var y = new StreamWriter(Path.Combine(dir, "Y.csv"));
        x.WriteLine("a,b");
        y.WriteLine("c,d");
        for (int i = 0; i < rows; i++)
        {
            double a = Normal(), b = Normal();
            double c = rho * a + Math.Sqrt(1 - rho * rho) * Normal(), d = rho * b + Math.Sqrt(1 - rho * rho) * Normal();
            x.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{a:R},{b:R}"));
            y.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{c:R},{d:R}"));
        }
    }
}
