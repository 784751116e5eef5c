using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using MiBounds.Tensors;

namespace MiBounds.Bench;

/// <summary>
/// What `models` and `eval` share: option parsing, running a PyTorch peer with its thread pools pinned, timing ours and
/// the peer alternately at each thread count (so both see the same machine load), and the best-vs-best table and JSON.
/// </summary>
internal static class PeerComparison
{
    public static string? Option(string[] args, string name)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }

    public static int[] ThreadCounts(string[] args) =>
        (Option(args, "--threads") ?? "1,2").Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray();

    public static string LoadAverage() => File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Trim() : "n/a";

    /// <summary>Runs <paramref name="script"/> with every BLAS/OpenMP pool pinned to <paramref name="threads"/>; returns the "seconds" of its last JSON line.</summary>
    public static double RunPeer(string python, string script, IEnumerable<string> args, int threads)
    {
        var psi = new ProcessStartInfo(python) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(script);
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.ArgumentList.Add("--threads"); psi.ArgumentList.Add(threads.ToString(CultureInfo.InvariantCulture));
        foreach (var v in new[] { "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS" })
            psi.Environment[v] = threads.ToString(CultureInfo.InvariantCulture);
        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {python}");
        var stderr = p.StandardError.ReadToEndAsync();
        string? last = null;
        while (p.StandardOutput.ReadLine() is { } line) if (line.StartsWith('{')) last = line;
        p.WaitForExit();
        if (p.ExitCode != 0 || last is null)
            throw new InvalidOperationException($"{Path.GetFileName(script)} failed (exit {p.ExitCode}): {stderr.Result.Trim().Split('\n').LastOrDefault()} " +
                                                "(is python3-torch installed? apt-get install -y python3-torch python3-numpy)");
        using var doc = JsonDocument.Parse(last);
        return doc.RootElement.GetProperty("seconds").GetDouble();
    }

    /// <summary>
    /// Medians of <paramref name="repeats"/> timings of ours (seconds from <paramref name="ours"/>) and, when given, the
    /// peer's at each thread count, alternating; prints one line per thread count (with <paramref name="note"/>'s text).
    /// Returns the row: key → name, "ours_seconds", and "torch_seconds" and "ratio" (PyTorch's best ÷ ours' best).
    /// </summary>
    public static Dictionary<string, object> Alternate(string key, string name, int[] threadCounts, int repeats,
        Func<double> ours, Func<int, double>? peer, Action? warmUp = null, Func<string>? note = null)
    {
        var oursMedian = new Dictionary<int, double>();
        var theirsMedian = new Dictionary<int, double>();
        int saved = Engine.MaxThreads;
        try
        {
            foreach (int threads in threadCounts)
            {
                Engine.MaxThreads = threads;
                warmUp?.Invoke();
                var o = new List<double>();
                var t = new List<double>();
                for (int r = 0; r < repeats; r++)
                {
                    o.Add(ours());
                    if (peer is not null) t.Add(peer(threads));
                }
                oursMedian[threads] = StepCommands.Median(o);
                if (t.Count > 0) theirsMedian[threads] = StepCommands.Median(t);
                Console.WriteLine($"{name,-20} {threads} thr: ours {oursMedian[threads],7:F2} s ({Seconds(o)})" +
                                  (t.Count > 0 ? $"  torch {theirsMedian[threads],7:F2} s ({Seconds(t)})" : "") +
                                  $"{note?.Invoke()}  load {LoadAverage().Split(' ')[0]}");
            }
        }
        finally { Engine.MaxThreads = saved; }
        var row = new Dictionary<string, object> { [key] = name, ["ours_seconds"] = ByThreads(oursMedian) };
        if (theirsMedian.Count > 0)
        {
            row["torch_seconds"] = ByThreads(theirsMedian);
            row["ratio"] = theirsMedian.Values.Min() / oursMedian.Values.Min();
        }
        return row;
    }

    private static string Seconds(IEnumerable<double> values) => string.Join(" ", values.Select(x => x.ToString("F2", CultureInfo.InvariantCulture)));

    private static Dictionary<string, double> ByThreads(Dictionary<int, double> seconds) =>
        seconds.ToDictionary(kv => kv.Key.ToString(CultureInfo.InvariantCulture), kv => kv.Value);

    /// <summary>Prints the markdown table (first column from <paramref name="label"/>) and writes the rows to <paramref name="jsonPath"/> when given.</summary>
    public static void Finish(List<Dictionary<string, object>> rows, int[] threadCounts, Func<Dictionary<string, object>, string> label, string? jsonPath)
    {
        string Cell(object seconds) =>
            string.Join(" / ", threadCounts.Select(t => ((Dictionary<string, double>)seconds)[t.ToString(CultureInfo.InvariantCulture)].ToString("F1", CultureInfo.InvariantCulture))) + " s";
        Console.WriteLine();
        Console.WriteLine($"| work | ours {string.Join(" / ", threadCounts)} threads | PyTorch {string.Join(" / ", threadCounts)} threads | best vs best |");
        Console.WriteLine("|---|---|---|---|");
        foreach (var r in rows)
        {
            string theirCell = r.TryGetValue("torch_seconds", out var ts) ? Cell(ts) : "no peer";
            string ratio = r.TryGetValue("ratio", out var x) ? ((double)x).ToString("F2", CultureInfo.InvariantCulture) + "×" : "–";
            Console.WriteLine($"| {label(r)} | {Cell(r["ours_seconds"])} | {theirCell} | {ratio} |");
        }
        Console.WriteLine($"# load average at end: {LoadAverage()}");
        if (jsonPath is null) return;
        File.WriteAllText(jsonPath, JsonSerializer.Serialize(new Dictionary<string, object> { ["load_average_end"] = LoadAverage(), ["rows"] = rows }, new JsonSerializerOptions { WriteIndented = true }));
        Console.WriteLine($"# wrote {jsonPath}");
    }
}
