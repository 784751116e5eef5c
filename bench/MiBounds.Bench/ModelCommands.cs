using System.Diagnostics;
using System.Globalization;

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
    /// <summary>Seconds for <paramref name="steps"/> steps of ours and the bytes allocated per step.</summary>
    private static (double Seconds, double BytesPerStep) Ours(ModelWorkload w, int steps)
    {
        long bytes0 = GC.GetTotalAllocatedBytes(precise: true);
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < steps; i++) w.Step();
        double dt = sw.Elapsed.TotalSeconds;
        return (dt, (double)(GC.GetTotalAllocatedBytes(precise: true) - bytes0) / steps);
    }

    /// <summary>The peer's arguments for <paramref name="steps"/> steps (torch_vib.py takes no --steps: it runs one epoch).</summary>
    private static IEnumerable<string> PeerArguments(ModelWorkload w, int steps, string? data)
    {
        foreach (var a in w.Peer!.Value.Args) yield return a;
        if (w.PeerSteps != 0) yield break;
        yield return "--steps"; yield return steps.ToString(CultureInfo.InvariantCulture);
        if (data is not null) { yield return "--data"; yield return data; }
    }

    public static int Run(string[] args)
    {
        var listed = PeerComparison.Option(args, "--models") ?? string.Join(',', ModelWorkload.Headline);
        var names = listed is "all" ? ModelWorkload.All : listed.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var threadCounts = PeerComparison.ThreadCounts(args);
        int steps = int.Parse(PeerComparison.Option(args, "--steps") ?? "200", CultureInfo.InvariantCulture);
        int repeats = int.Parse(PeerComparison.Option(args, "--repeats") ?? "3", CultureInfo.InvariantCulture);
        bool compare = args.Contains("--compare");
        string? data = PeerComparison.Option(args, "--data"), jsonPath = PeerComparison.Option(args, "--json");
        string python = PeerComparison.Option(args, "--python") ?? "/usr/bin/python3";
        string? peers = PeerComparison.Option(args, "--peers") ?? Environment.GetEnvironmentVariable("MIBOUNDS_PEERS");
        if (compare && (peers is null || !Directory.Exists(peers)))
        {
            Console.Error.WriteLine("models --compare needs the PyTorch peer scripts' folder: --peers DIR or MIBOUNDS_PEERS=DIR");
            return 2;
        }

        Console.WriteLine($"# {Environment.ProcessorCount} processors, Vector512 {System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated}; " +
                          $"median of {repeats} repeats{(compare ? ", ours and the peer alternating" : "")}; load average at start {PeerComparison.LoadAverage()}");
        Console.WriteLine("# seconds for the model's steps (VIB: 600 = one epoch of 100 unless --steps without --compare; others --steps); ratio = PyTorch's best ÷ ours' best");
        var results = new List<Dictionary<string, object>>();
        foreach (var name in names)
        {
            var w = ModelWorkload.Create(name, data);
            // The VIB peer always runs one epoch (600 steps); an explicit --steps shortens ours (not comparable then).
            int n = w.PeerSteps > 0 && !(args.Contains("--steps") && !compare) ? w.PeerSteps : steps;
            double bytes = double.NaN;
            Func<int, double>? peer = compare && w.Peer is not null
                ? threads => PeerComparison.RunPeer(python, Path.Combine(peers!, w.Peer.Value.Script), PeerArguments(w, n, data), threads)
                : null;
            var row = PeerComparison.Alternate("model", name, threadCounts, repeats,
                () => { var (seconds, b) = Ours(w, n); bytes = b; return seconds; }, peer,
                warmUp: () => Ours(w, Math.Max(10, n / 20)), // JIT, buffers
                note: () => $"  {bytes,8:F0} B/step");
            row["steps"] = n;
            row["bytes_per_step"] = bytes;
            results.Add(row);
        }
        PeerComparison.Finish(results, threadCounts, r => $"{r["model"]}, {r["steps"]} steps", jsonPath);
        return 0;
    }
}
