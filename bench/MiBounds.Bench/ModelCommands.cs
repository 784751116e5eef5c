using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using MiBounds.Tensors;

namespace MiBounds.Bench;

/// <summary>
/// `models`: seconds per N training steps of the image models (VIB kinds, DIM modes × bounds, hypothesis models) at each
/// thread count, median of repeats, bytes allocated per warm step; with --compare, the PyTorch peers
/// (torch_vib.py, torch_dim.py, torch_hypothesis.py, found through --peers DIR or MIBOUNDS_PEERS) run the same steps,
/// alternating with our repeats so both see the same machine load, and the table gives PyTorch's best ÷ ours' best.
/// </summary>
internal static class ModelCommandList
{
    public static IEnumerable<System.CommandLine.Command> Create() =>
    [
        BenchCommands.PassThrough("models", "image-model training steps, ours [vs the PyTorch peers] at 1 and 2 threads [--models vib,dim-local-js,hyp-dv|all] [--threads 1,2] [--steps 200] [--repeats 3] [--compare --peers DIR] [--data DIR] [--json FILE]", ModelCommands.Run),
    ];
}

internal static class ModelCommands
{
    private static string? Option(string[] args, string name)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }

    private static string LoadAverage() => File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Trim() : "n/a";

    /// <summary>Seconds for <paramref name="steps"/> steps of ours and the bytes allocated per step.</summary>
    private static (double Seconds, double BytesPerStep) Ours(ModelWorkload w, int steps)
    {
        long bytes0 = GC.GetTotalAllocatedBytes(precise: true);
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < steps; i++) w.Step();
        double dt = sw.Elapsed.TotalSeconds;
        return (dt, (double)(GC.GetTotalAllocatedBytes(precise: true) - bytes0) / steps);
    }

    /// <summary>Runs the peer for <paramref name="steps"/> steps with every BLAS/OpenMP pool pinned; returns its timed seconds (training steps only).</summary>
    private static double Peer(string python, string peers, ModelWorkload w, int steps, int threads, string? data)
    {
        var (script, extra) = w.Peer!.Value;
        var psi = new ProcessStartInfo(python) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(Path.Combine(peers, script));
        foreach (var a in extra) psi.ArgumentList.Add(a);
        psi.ArgumentList.Add("--threads"); psi.ArgumentList.Add(threads.ToString(CultureInfo.InvariantCulture));
        if (w.PeerSteps == 0)
        {
            psi.ArgumentList.Add("--steps"); psi.ArgumentList.Add(steps.ToString(CultureInfo.InvariantCulture));
            if (data is not null) { psi.ArgumentList.Add("--data"); psi.ArgumentList.Add(data); }
        }
        foreach (var v in new[] { "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS" })
            psi.Environment[v] = threads.ToString(CultureInfo.InvariantCulture);
        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {python}");
        var stderr = p.StandardError.ReadToEndAsync();
        string? last = null;
        while (p.StandardOutput.ReadLine() is { } line) if (line.StartsWith('{')) last = line;
        p.WaitForExit();
        if (p.ExitCode != 0 || last is null)
            throw new InvalidOperationException($"{script} failed (exit {p.ExitCode}): {stderr.Result.Trim().Split('\n').LastOrDefault()} " +
                                                "(is python3-torch installed? apt-get install -y python3-torch python3-numpy)");
        using var doc = JsonDocument.Parse(last);
        return doc.RootElement.GetProperty("seconds").GetDouble();
    }

    public static int Run(string[] args)
    {
        var names = (Option(args, "--models") ?? string.Join(',', ModelWorkload.Headline)) is "all" ? ModelWorkload.All
            : (Option(args, "--models") ?? string.Join(',', ModelWorkload.Headline)).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var threadCounts = (Option(args, "--threads") ?? "1,2").Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray();
        int steps = int.Parse(Option(args, "--steps") ?? "200", CultureInfo.InvariantCulture);
        int repeats = int.Parse(Option(args, "--repeats") ?? "3", CultureInfo.InvariantCulture);
        bool compare = args.Contains("--compare");
        string? data = Option(args, "--data"), jsonPath = Option(args, "--json");
        string python = Option(args, "--python") ?? "/usr/bin/python3";
        string? peers = Option(args, "--peers") ?? Environment.GetEnvironmentVariable("MIBOUNDS_PEERS");
        if (compare && (peers is null || !Directory.Exists(peers)))
        {
            Console.Error.WriteLine("models --compare needs the PyTorch peer scripts' folder: --peers DIR or MIBOUNDS_PEERS=DIR");
            return 2;
        }

        Console.WriteLine($"# {Environment.ProcessorCount} processors, Vector512 {System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated}; " +
                          $"median of {repeats} repeats{(compare ? ", ours and the peer alternating" : "")}; load average at start {LoadAverage()}");
        Console.WriteLine("# seconds for the model's steps (VIB: 600 = one epoch of 100 unless --steps without --compare; others --steps); ratio = PyTorch's best ÷ ours' best");
        var results = new List<Dictionary<string, object>>();
        int saved = Engine.MaxThreads;
        try
        {
            foreach (var name in names)
            {
                var w = ModelWorkload.Create(name, data);
                // The VIB peer always runs one epoch (600 steps); an explicit --steps shortens ours (not comparable then).
                int n = w.PeerSteps > 0 && !(args.Contains("--steps") && !compare) ? w.PeerSteps : steps;
                var ours = new Dictionary<int, double>();
                var theirs = new Dictionary<int, double>();
                double bytes = double.NaN;
                foreach (int threads in threadCounts)
                {
                    Engine.MaxThreads = threads;
                    Ours(w, Math.Max(10, n / 20)); // JIT, buffers
                    var o = new List<double>();
                    var t = new List<double>();
                    for (int r = 0; r < repeats; r++)
                    {
                        var (seconds, b) = Ours(w, n);
                        o.Add(seconds);
                        bytes = b;
                        if (compare && w.Peer is not null) t.Add(Peer(python, peers!, w, n, threads, data));
                    }
                    ours[threads] = StepCommands.Median(o);
                    if (t.Count > 0) theirs[threads] = StepCommands.Median(t);
                    Console.WriteLine($"{name,-20} {threads} thr: ours {ours[threads],7:F2} s ({string.Join(" ", o.Select(x => x.ToString("F2", CultureInfo.InvariantCulture)))})" +
                                      (t.Count > 0 ? $"  torch {theirs[threads],7:F2} s ({string.Join(" ", t.Select(x => x.ToString("F2", CultureInfo.InvariantCulture)))})" : "") +
                                      $"  {bytes,8:F0} B/step  load {LoadAverage().Split(' ')[0]}");
                }
                double bestOurs = ours.Values.Min();
                var row = new Dictionary<string, object> { ["model"] = name, ["steps"] = n, ["ours_seconds"] = ours.ToDictionary(kv => kv.Key.ToString(CultureInfo.InvariantCulture), kv => kv.Value), ["bytes_per_step"] = bytes };
                if (theirs.Count > 0)
                {
                    row["torch_seconds"] = theirs.ToDictionary(kv => kv.Key.ToString(CultureInfo.InvariantCulture), kv => kv.Value);
                    row["ratio"] = theirs.Values.Min() / bestOurs;
                }
                results.Add(row);
            }
        }
        finally { Engine.MaxThreads = saved; }

        Console.WriteLine();
        Console.WriteLine($"| model, work | ours {string.Join(" / ", threadCounts)} threads | PyTorch {string.Join(" / ", threadCounts)} threads | best vs best |");
        Console.WriteLine("|---|---|---|---|");
        foreach (var r in results)
        {
            var o = (Dictionary<string, double>)r["ours_seconds"];
            string ourCell = string.Join(" / ", threadCounts.Select(t => o[t.ToString(CultureInfo.InvariantCulture)].ToString("F1", CultureInfo.InvariantCulture))) + " s";
            string theirCell = r.TryGetValue("torch_seconds", out var ts)
                ? string.Join(" / ", threadCounts.Select(t => ((Dictionary<string, double>)ts)[t.ToString(CultureInfo.InvariantCulture)].ToString("F1", CultureInfo.InvariantCulture))) + " s"
                : "no peer";
            string ratio = r.TryGetValue("ratio", out var x) ? ((double)x).ToString("F2", CultureInfo.InvariantCulture) + "×" : "–";
            Console.WriteLine($"| {r["model"]}, {r["steps"]} steps | {ourCell} | {theirCell} | {ratio} |");
        }
        Console.WriteLine($"# load average at end: {LoadAverage()}");
        if (jsonPath is not null)
        {
            File.WriteAllText(jsonPath, JsonSerializer.Serialize(new Dictionary<string, object> { ["load_average_end"] = LoadAverage(), ["rows"] = results }, new JsonSerializerOptions { WriteIndented = true }));
            Console.WriteLine($"# wrote {jsonPath}");
        }
        return 0;
    }
}
