using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using MiBounds.Tensors;

namespace MiBounds.Bench;

/// <summary>
/// `steps`: training steps/s per (critic, bound, batch) cell, median of repeats, with bytes allocated per step and gen-0
/// collections per 1000 steps; with --compare, PyTorch's steps/s for the same cell from bench/torch_steps.py --serve,
/// alternating our repeats with PyTorch's so both see the same machine load. `steps-gc`: GC collections and bytes
/// allocated over a 4000-step level.
/// </summary>
internal static class StepsCommandList
{
    public static IEnumerable<System.CommandLine.Command> Create() =>
    [
        BenchCommands.PassThrough("steps", "training steps/s per critic × bound × batch cell [--compare] [--threads 2,1] [--batches 64,128] " +
                                     "[--critics separable,concat] [--bounds nwj,tuba,infonce,js,alpha0.5] [--repeats 5] [--seconds 1] [--json FILE]", StepCommands.Steps),
        BenchCommands.PassThrough("steps-gc", "GC collections and bytes/step over a 4000-step level per cell [--steps 4000] [--threads 1] [--batches 64] " +
                                        "[--critics ...] [--bounds ...]", StepCommands.GcLevel),
        BenchCommands.PassThrough("steps-profile", "share of a step's time per phase (critic forward, baseline, bound, backward, Adam) [--steps 200] [--threads 1] [--batches 64] [--critics ...] [--bounds ...]", StepCommands.Profile),
    ];
}

internal static class StepCommands
{
    private static string? Option(string[] args, string name)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }

    private static string[] List(string[] args, string name, string[] fallback) =>
        Option(args, name)?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) ?? fallback;

    private static int[] Ints(string[] args, string name, string fallback) =>
        List(args, name, fallback.Split(',')).Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray();

    internal static double Median(IEnumerable<double> values)
    {
        var xs = values.OrderBy(v => v).ToArray();
        return xs.Length % 2 == 1 ? xs[xs.Length / 2] : 0.5 * (xs[xs.Length / 2 - 1] + xs[xs.Length / 2]);
    }

    /// <summary>The GC configuration in effect (what the runtimeconfig or environment actually set).</summary>
    internal static string GcMode()
    {
        var config = GC.GetConfigurationVariables();
        string Get(string key) => config.TryGetValue(key, out var v) ? Convert.ToString(v, CultureInfo.InvariantCulture) ?? "?" : "default";
        return $"GC: {(System.Runtime.GCSettings.IsServerGC ? "server" : "workstation")}, concurrent {Get("ConcurrentGC")}, " +
               $"DATAS {Get("GCDynamicAdaptationMode")}, gen-0 max budget {Get("GCGen0MaxBudget")} B";
    }

    private static string LoadAverage() => File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Trim() : "n/a";

    /// <summary>One timed repeat of ours: steps/s, bytes allocated per step, gen-0 collections.</summary>
    private readonly record struct Sample(double StepsPerSecond, double BytesPerStep, int Gen0, int Steps, double StepsPerCpuSecond);

    private static TimeSpan CpuTime()
    {
        using var p = Process.GetCurrentProcess();
        return p.TotalProcessorTime;
    }

    private static Sample Measure(StepWorkload w, double seconds, int minSteps = 3)
    {
        var cpu0 = CpuTime();
        long bytes0 = GC.GetTotalAllocatedBytes(precise: true);
        int gen0 = GC.CollectionCount(0);
        var sw = Stopwatch.StartNew();
        int n = 0;
        while (true)
        {
            w.Step();
            n++;
            if (n >= minSteps && sw.Elapsed.TotalSeconds >= seconds) break;
        }
        double dt = sw.Elapsed.TotalSeconds;
        long bytes = GC.GetTotalAllocatedBytes(precise: true) - bytes0;
        int collections = GC.CollectionCount(0) - gen0;
        double cpu = (CpuTime() - cpu0).TotalSeconds;
        return new Sample(n / dt, (double)bytes / n, collections, n, n / Math.Max(cpu, 1e-9));
    }

    /// <summary>bench/torch_steps.py --serve, kept alive for the whole comparison.</summary>
    private sealed class TorchServer : IDisposable
    {
        private readonly Process _process;

        public TorchServer(string python, string script, int threads)
        {
            if (!File.Exists(script)) throw new FileNotFoundException($"PyTorch step script not found at {Path.GetFullPath(script)} (run from the repository root or pass --torch-script)");
            // One server per thread count: the script pins OpenMP's and OpenBLAS's pools to --threads before torch loads.
            var psi = new ProcessStartInfo(python, [script, "--serve", "--threads", threads.ToString(CultureInfo.InvariantCulture)])
            {
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                UseShellExecute = false,
            };
            _process = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {python}");
        }

        public (double StepsPerSecond, double StepsPerCpuSecond) Measure(string critic, string bound, int batch, double seconds)
        {
            var request = JsonSerializer.Serialize(new Dictionary<string, object> { ["critic"] = critic, ["bound"] = bound, ["batch"] = batch, ["seconds"] = seconds });
            _process.StandardInput.WriteLine(request);
            _process.StandardInput.Flush();
            var line = _process.StandardOutput.ReadLine()
                ?? throw new InvalidOperationException($"PyTorch server exited (code {(_process.HasExited ? _process.ExitCode : -1)}); is python3-torch installed? (apt-get install -y python3-torch libopenblas0-pthread)");
            using var doc = JsonDocument.Parse(line);
            if (doc.RootElement.TryGetProperty("error", out var err)) throw new InvalidOperationException($"PyTorch failed on {critic}/{bound}/K{batch}: {err.GetString()}");
            return (doc.RootElement.GetProperty("steps_per_s").GetDouble(), doc.RootElement.GetProperty("steps_per_cpu_s").GetDouble());
        }

        public void Dispose()
        {
            try { _process.StandardInput.Close(); if (!_process.WaitForExit(10_000)) _process.Kill(); }
            catch (InvalidOperationException) { }
            _process.Dispose();
        }
    }

    public static int Steps(string[] args)
    {
        var critics = List(args, "--critics", StepWorkload.AllCritics);
        var bounds = List(args, "--bounds", StepWorkload.AllBounds);
        var batches = Ints(args, "--batches", "64,128");
        var threadCounts = Ints(args, "--threads", "2");
        int repeats = int.Parse(Option(args, "--repeats") ?? "5", CultureInfo.InvariantCulture);
        double seconds = double.Parse(Option(args, "--seconds") ?? "1", CultureInfo.InvariantCulture);
        bool compare = args.Contains("--compare");
        string? jsonPath = Option(args, "--json");
        string python = Option(args, "--python") ?? "/usr/bin/python3", script = Option(args, "--torch-script") ?? "bench/torch_steps.py";
        var servers = compare ? threadCounts.Distinct().ToDictionary(t => t, t => new TorchServer(python, script, t)) : [];

        Console.WriteLine($"# {Environment.ProcessorCount} processors, Vector512 {System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated}, " +
                          $"median of {repeats} repeats of >= {seconds} s{(compare ? ", ours and PyTorch alternating per repeat" : "")}");
        Console.WriteLine($"# load average at start: {LoadAverage()}; {GcMode()}");
        Console.WriteLine("# steps/s: per wall-clock second; /cpu-s: per CPU second of the process (less sensitive to other load at 1 thread)");
        Console.WriteLine(compare
            ? $"{"cell",-26} {"thr",3} {"ours/s",9} {"torch/s",9} {"ratio",7} {"ours/cpu-s",10} {"torch/cpu-s",11} {"ratio",7} {"B/step",9} {"gc0/1k",7}"
            : $"{"cell",-26} {"thr",3} {"ours/s",9} {"ours/cpu-s",10} {"B/step",9} {"gc0/1k",7}");
        var results = new List<Dictionary<string, object>>();
        bool warmed = false;
        int saved = Engine.MaxThreads;
        try
        {
            foreach (int batch in batches)
                foreach (var critic in critics)
                    foreach (var bound in bounds)
                    {
                        var w = new StepWorkload(critic, bound, batch);
                        foreach (int threads in threadCounts)
                        {
                            Engine.MaxThreads = threads;
                            // JIT and buffers. The process's first cell gets longer: under load, tiered compilation of the
                            // shared code is still running after 0.3 s and made that cell ~30% slow (either build, A/B).
                            Measure(w, warmed ? Math.Min(0.3, seconds) : 2.0, minSteps: warmed ? 3 : 200);
                            warmed = true;
                            var ours = new List<Sample>();
                            var theirs = new List<(double StepsPerSecond, double StepsPerCpuSecond)>();
                            for (int r = 0; r < repeats; r++)
                            {
                                ours.Add(Measure(w, seconds));
                                if (compare) theirs.Add(servers[threads].Measure(critic, bound, batch, seconds));
                            }
                            double oursMedian = Median(ours.Select(s => s.StepsPerSecond));
                            double oursCpu = Median(ours.Select(s => s.StepsPerCpuSecond));
                            double bytes = Median(ours.Select(s => s.BytesPerStep));
                            double gc0 = 1000.0 * ours.Sum(s => s.Gen0) / ours.Sum(s => s.Steps);
                            var row = new Dictionary<string, object>
                            {
                                ["critic"] = critic, ["bound"] = bound, ["batch"] = batch, ["threads"] = threads,
                                ["ours_steps_per_s"] = oursMedian, ["ours_samples"] = ours.Select(s => s.StepsPerSecond).ToArray(),
                                ["ours_steps_per_cpu_s"] = oursCpu,
                                ["bytes_per_step"] = bytes, ["gen0_per_1000_steps"] = gc0,
                            };
                            if (compare)
                            {
                                double t = Median(theirs.Select(s => s.StepsPerSecond)), tCpu = Median(theirs.Select(s => s.StepsPerCpuSecond));
                                row["torch_steps_per_s"] = t;
                                row["torch_steps_per_cpu_s"] = tCpu;
                                row["torch_samples"] = theirs.Select(s => s.StepsPerSecond).ToArray();
                                row["ratio"] = oursMedian / t;
                                row["ratio_cpu"] = oursCpu / tCpu;
                                Console.WriteLine($"{w.Cell,-26} {threads,3} {oursMedian,9:F1} {t,9:F1} {oursMedian / t,6:F1}x {oursCpu,10:F1} {tCpu,11:F1} {oursCpu / tCpu,6:F1}x {bytes,9:F0} {gc0,7:F2}");
                            }
                            else Console.WriteLine($"{w.Cell,-26} {threads,3} {oursMedian,9:F1} {oursCpu,10:F1} {bytes,9:F0} {gc0,7:F2}");
                            results.Add(row);
                        }
                    }
        }
        finally
        {
            Engine.MaxThreads = saved;
            foreach (var server in servers.Values) server.Dispose();
        }
        Console.WriteLine($"# load average at end: {LoadAverage()}");
        PrintSweepEstimate(results, compare);
        if (jsonPath is not null)
        {
            File.WriteAllText(jsonPath, JsonSerializer.Serialize(new Dictionary<string, object>
            {
                ["load_average_end"] = LoadAverage(), ["processors"] = Environment.ProcessorCount, ["repeats"] = repeats, ["seconds"] = seconds, ["cells"] = results,
            }, new JsonSerializerOptions { WriteIndented = true }));
            Console.WriteLine($"# wrote {jsonPath}");
        }
        return 0;
    }

    /// <summary>
    /// The toy sweep runs one run per core, one thread each, 20 000 steps at K = 64 per (task, critic, bound), for the
    /// gaussian and cubic tasks (same cost per step). From the 1-thread K = 64 medians: the wall time of those runs on 2 cores.
    /// </summary>
    private static void PrintSweepEstimate(List<Dictionary<string, object>> results, bool compare)
    {
        var cells = results.Where(r => (int)r["batch"] == 64 && (int)r["threads"] == 1).ToList();
        if (cells.Count == 0) return;
        const double stepsPerRun = 20_000, tasks = 2, cores = 2;
        double ours = cells.Sum(r => tasks * stepsPerRun / (double)r["ours_steps_per_s"]) / cores;
        string line = $"# sweep estimate ({cells.Count} critic×bound cells × 2 tasks × 20000 steps, K=64, 1 thread per run, 2 runs at a time): ours {ours / 60:F1} min";
        if (compare) line += $", PyTorch {cells.Sum(r => tasks * stepsPerRun / (double)r["torch_steps_per_s"]) / cores / 60:F1} min";
        Console.WriteLine(line + " (computed from the medians above, not a measured sweep)");
    }

    public static int Profile(string[] args)
    {
        var critics = List(args, "--critics", StepWorkload.AllCritics);
        var bounds = List(args, "--bounds", StepWorkload.AllBounds);
        var batches = Ints(args, "--batches", "64");
        int threads = int.Parse(Option(args, "--threads") ?? "1", CultureInfo.InvariantCulture);
        int steps = int.Parse(Option(args, "--steps") ?? "200", CultureInfo.InvariantCulture);
        Console.WriteLine($"# ms per step by phase, {steps} steps after 20 warm-up steps, {threads} thread(s); load average {LoadAverage()}");
        Console.WriteLine($"{"cell",-26} " + string.Join(" ", StepPhases.Names.Select(n => $"{n,16}")) + $" {"total",8}");
        int saved = Engine.MaxThreads;
        Engine.MaxThreads = threads;
        try
        {
            foreach (int batch in batches)
                foreach (var critic in critics)
                    foreach (var bound in bounds)
                    {
                        var p = new StepPhases(critic, bound, batch);
                        for (int i = 0; i < 20; i++) p.Step();
                        Array.Clear(p.Ticks);
                        for (int i = 0; i < steps; i++) p.Step();
                        var ms = p.Ticks.Select(t => 1000.0 * t / Stopwatch.Frequency / steps).ToArray();
                        Console.WriteLine($"{critic + "/" + bound + "/K" + batch,-26} " + string.Join(" ", ms.Select(m => $"{m,16:F3}")) + $" {ms.Sum(),8:F3}");
                    }
        }
        finally { Engine.MaxThreads = saved; }
        return 0;
    }

    public static int GcLevel(string[] args)
    {
        var critics = List(args, "--critics", StepWorkload.AllCritics);
        var bounds = List(args, "--bounds", StepWorkload.AllBounds);
        var batches = Ints(args, "--batches", "64");
        int threads = int.Parse(Option(args, "--threads") ?? "1", CultureInfo.InvariantCulture);
        int steps = int.Parse(Option(args, "--steps") ?? "4000", CultureInfo.InvariantCulture);
        Console.WriteLine($"# {steps} steps per cell after 100 warm-up steps, {threads} thread(s); load average {LoadAverage()}");
        Console.WriteLine($"# {GcMode()}");
        Console.WriteLine($"{"cell",-26} {"steps/s",9} {"B/step",9} {"gen0",5} {"gen1",5} {"gen2",5}");
        int saved = Engine.MaxThreads;
        Engine.MaxThreads = threads;
        try
        {
            foreach (int batch in batches)
                foreach (var critic in critics)
                    foreach (var bound in bounds)
                    {
                        var w = new StepWorkload(critic, bound, batch);
                        for (int i = 0; i < 100; i++) w.Step();
                        int g0 = GC.CollectionCount(0), g1 = GC.CollectionCount(1), g2 = GC.CollectionCount(2);
                        long bytes0 = GC.GetTotalAllocatedBytes(precise: true);
                        var sw = Stopwatch.StartNew();
                        for (int i = 0; i < steps; i++) w.Step();
                        double dt = sw.Elapsed.TotalSeconds;
                        long bytes = GC.GetTotalAllocatedBytes(precise: true) - bytes0;
                        Console.WriteLine($"{w.Cell,-26} {steps / dt,9:F1} {(double)bytes / steps,9:F0} {GC.CollectionCount(0) - g0,5} {GC.CollectionCount(1) - g1,5} {GC.CollectionCount(2) - g2,5}");
                    }
        }
        finally { Engine.MaxThreads = saved; }
        return 0;
    }
}
