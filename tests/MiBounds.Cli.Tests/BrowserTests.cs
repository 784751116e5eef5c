using System.Diagnostics;
using Microsoft.Playwright;
using Xunit.Abstractions;

namespace MiBounds.Cli.Tests;

/// <summary>Where the browser tests find Chromium, and whether its absence fails them (CI) or skips them (elsewhere).</summary>
internal static class Chromium
{
    /// <summary>Debian's chromium package (.ci/run installs it).</summary>
    public const string Path = "/usr/bin/chromium";

    /// <summary>Playwright drives the system browser; nothing is downloaded.</summary>
    public static readonly string[] Args =
        ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

    public static bool OnCi => !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("CI"));

    public static bool Present => File.Exists(Path);
}

/// <summary>A fact that needs Chromium: skipped with a reason outside CI when it is missing; on CI it runs and fails.</summary>
public sealed class ChromiumFactAttribute : FactAttribute
{
    public ChromiumFactAttribute()
    {
        if (!Chromium.Present && !Chromium.OnCi)
            Skip = $"{Chromium.Path} is missing (apt-get install -y chromium); skipped outside CI, where CI=true makes it a failure";
    }
}

/// <summary>
/// The report pages as a reader sees them: headless Chromium (driven by Playwright for .NET, with the system browser)
/// opens each index.html from a file:// URL and checks that every image loaded and that the runs table has one row per run.
/// </summary>
public sealed class BrowserTests(ITestOutputHelper log) : IDisposable
{
    private readonly string _dir = Host.TempFolder();

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    private void Ok(params string[] args)
    {
        var (code, output, error) = Host.Run(args);
        Assert.True(code == 0, $"{string.Join(' ', args)}: {output}{error}");
    }

    [ChromiumFact]
    public async Task EveryReportPageShowsItsFiguresAndOneRowPerRun()
    {
        Assert.True(Chromium.Present, $"{Chromium.Path} is missing: .ci/run installs it with apt-get install -y chromium");

        // A tiny sweep (4 runs), the same sweep in two shards merged, and two VIB runs (one attacked) plotted.
        string[] sweep = ["sweep", "--steps-per-level", "4", "--levels", "1,2", "--estimators", "nwj,infonce", "--task", "gaussian", "--dim", "2", "--batch", "4", "--plain"];
        string whole = Path.Combine(_dir, "sweep"), merged = Path.Combine(_dir, "merged");
        Ok([.. sweep, "--out", whole]);
        Ok([.. sweep, "--out", Path.Combine(_dir, "s1"), "--shard", "1/2"]);
        Ok([.. sweep, "--out", Path.Combine(_dir, "s2"), "--shard", "2/2"]);
        Ok("sweep", "merge", merged, Path.Combine(_dir, "s1"), Path.Combine(_dir, "s2"));
        string idx = Vib.Tests.Synthetic.WriteIdxDirectory(train: 40, test: 20);
        try
        {
            string runs = Path.Combine(_dir, "vib");
            string[] vib = ["vib", "--data", idx, "--k", "2", "--hidden", "8", "--batch", "20", "--epochs", "1", "--threads", "1", "--train-eval", "20"];
            Ok([.. vib, "--out", Path.Combine(runs, "beta-small"), "--beta", "0.001", "--robustness", "--epsilons", "0.1"]);
            Ok([.. vib, "--out", Path.Combine(runs, "beta-large"), "--beta", "0.1"]);
            Ok("plot", "--runs", runs, "--out", Path.Combine(_dir, "plots"));
        }
        finally { Directory.Delete(idx, recursive: true); }

        var clock = Stopwatch.StartNew();
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions { ExecutablePath = Chromium.Path, Headless = true, Args = Chromium.Args });
        log.WriteLine($"Playwright {browser.Version} started in {clock.Elapsed.TotalSeconds:0.0} s");
        await Check(browser, Path.Combine(whole, "index.html"), images: 2, rows: 4);
        await Check(browser, Path.Combine(merged, "index.html"), images: 2, rows: 4);
        await Check(browser, Path.Combine(_dir, "plots", "index.html"), images: 3, rows: 2);
        log.WriteLine($"three pages checked in {clock.Elapsed.TotalSeconds:0.0} s");
    }

    private async Task Check(IBrowser browser, string file, int images, int rows)
    {
        var page = await browser.NewPageAsync();
        var errors = new List<string>();
        page.PageError += (_, e) => errors.Add(e);
        page.Console += (_, m) => { if (m.Type == "error") errors.Add(m.Text); };
        var response = await page.GotoAsync(new Uri(file).AbsoluteUri, new PageGotoOptions { WaitUntil = WaitUntilState.Load });
        Assert.NotNull(response);
        // naturalWidth is 0 for an image that failed to load (missing file, bad path, broken PNG).
        var widths = await page.EvaluateAsync<int[]>("() => Array.from(document.images).map(i => i.complete ? i.naturalWidth : 0)");
        var sources = await page.EvaluateAsync<string[]>("() => Array.from(document.images).map(i => i.getAttribute('src'))");
        Assert.True(widths.Length == images, $"{file}: {widths.Length} images ({string.Join(", ", sources)}), expected {images}");
        for (int i = 0; i < widths.Length; i++) Assert.True(widths[i] > 0, $"{file}: image {sources[i]} did not load");
        Assert.All(sources, s => Assert.False(Path.IsPathRooted(s) || s.Contains(':'), $"{file}: {s} is not a relative path"));
        int bodyRows = await page.EvaluateAsync<int>("() => document.querySelectorAll('table#runs > tbody > tr').length");
        int headers = await page.EvaluateAsync<int>("() => document.querySelectorAll('table#runs > thead > tr > th').length");
        int badRows = await page.EvaluateAsync<int>("h => Array.from(document.querySelectorAll('table#runs > tbody > tr')).filter(r => r.cells.length !== h).length", headers);
        Assert.True(bodyRows == rows, $"{file}: the runs table has {bodyRows} rows, expected {rows}");
        Assert.Equal(0, badRows);
        Assert.False(string.IsNullOrWhiteSpace(await page.TitleAsync()), $"{file}: no title");
        Assert.True(errors.Count == 0, $"{file}: {string.Join("; ", errors)}");
        log.WriteLine($"{Path.GetRelativePath(_dir, file)}: {widths.Length} images ({string.Join(", ", widths)} px wide), {bodyRows} runs");
        await page.CloseAsync();
    }
}
