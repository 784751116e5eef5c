using System.Diagnostics;
using System.Globalization;
using MiBounds.Tensors;
using MiBounds.Tensors.Optim;

namespace MiBounds.Bench;

/// <summary>
/// `kernels`: milliseconds per call of the per-layer kernels at the image models' shapes (conv forward+backward, batch-norm
/// forward+backward, linear layers at 100 rows, Adam + Polyak over VIB's and DIM's parameter counts, DIM's batched local
/// bound), at each thread count, repeats interleaved across thread counts in one process, medians.
/// </summary>
internal static class KernelCommandList
{
    public static IEnumerable<System.CommandLine.Command> Create() =>
    [
        BenchCommands.PassThrough("kernels", "per-layer kernels at the image models' shapes, ms per call at each thread count, interleaved [--threads 1,2] [--repeats 7] [--only NAME,...]", KernelCommands.Run),
    ];
}

internal static class KernelCommands
{
    private static Tensor R(int seed, params int[] shape) => Tensor.RandomNormal(new Rng((ulong)seed), shape);

    private static Tensor P(int seed, params int[] shape)
    {
        var t = R(seed, shape);
        t.RequiresGrad = true;
        return t;
    }

    /// <summary>(name, one call: forward and backward in a workspace, FLOP of the call or 0).</summary>
    internal static List<(string Name, Action Call, double Flop)> Cases()
    {
        var ws = new TensorWorkspace();
        var cases = new List<(string, Action, double)>();
        void Add(string name, Func<Tensor> forward, double flop, Tensor[] grads)
        {
            cases.Add((name, () =>
            {
                using var _ = ws.Enter();
                foreach (var g in grads) g.Grad?.Data.Clear();
                forward().Sum().Backward();
            }, flop));
        }
        // DIM conv2: [64, 64, 14, 14] * [128, 64, 5, 5] stride 2 pad 2 → [64, 128, 7, 7]; input gradient needed.
        {
            var x = P(1, 64, 64, 14, 14); var w = P(2, 128, 64, 5, 5); var b = P(3, 128);
            Add("conv dim.conv2 f+b", () => Tensor.Conv2d(x, w, b, 2, 2), 3 * 2.0 * 64 * 49 * 128 * 1600, [x, w, b]);
        }
        // DIM conv1: [64, 1, 28, 28] * [64, 1, 5, 5] stride 2 pad 2; no input gradient (images).
        {
            var x = R(4, 64, 1, 28, 28); var w = P(5, 64, 1, 5, 5); var b = P(6, 64);
            Add("conv dim.conv1 f+b", () => Tensor.Conv2d(x, w, b, 2, 2), 2 * 2.0 * 64 * 196 * 64 * 25, [w, b]);
        }
        // Hypothesis conv2: [100, 32, 14, 14] * [64, 32, 4, 4] stride 2 pad 1 → [100, 64, 7, 7].
        {
            var x = P(7, 100, 32, 14, 14); var w = P(8, 64, 32, 4, 4); var b = P(9, 64);
            Add("conv hyp.conv2 f+b", () => Tensor.Conv2d(x, w, b, 2, 1), 3 * 2.0 * 100 * 49 * 64 * 512, [x, w, b]);
        }
        // Hypothesis conv1: [100, 1, 28, 28] * [32, 1, 4, 4] stride 2 pad 1 → [100, 32, 14, 14]; no input gradient (images).
        {
            var x = R(14, 100, 1, 28, 28); var w = P(15, 32, 1, 4, 4); var b = P(16, 32);
            Add("conv hyp.conv1 f+b", () => Tensor.Conv2d(x, w, b, 2, 1), 2 * 2.0 * 100 * 196 * 32 * 16, [w, b]);
        }
        // Forward only (nothing requires a gradient): im2col, the product and the layout copy.
        {
            var x = R(7, 100, 32, 14, 14); var w = R(8, 64, 32, 4, 4); var b = R(9, 64);
            cases.Add(("conv hyp.conv2 fwd", () => { using var _ = ws.Enter(); Tensor.Conv2d(x, w, b, 2, 1); }, 2.0 * 100 * 49 * 64 * 512));
            var xd = R(1, 64, 64, 14, 14); var wd = R(2, 128, 64, 5, 5); var bd = R(3, 128);
            cases.Add(("conv dim.conv2 fwd", () => { using var _ = ws.Enter(); Tensor.Conv2d(xd, wd, bd, 2, 2); }, 2.0 * 64 * 49 * 128 * 1600));
        }
        // Batch-norm: DIM bn2 [64, 128, 7, 7], hypothesis bn1 [100, 32, 14, 14], DIM bn_fc [64, 1024], the authors' DIM local critic [64, 512, 7, 7].
        foreach (var (name, shape, seed) in new[] { ("bn dim.bn2 f+b", new[] { 64, 128, 7, 7 }, 10), ("bn hyp.bn1 f+b", new[] { 100, 32, 14, 14 }, 11), ("bn dim.bn_fc f+b", new[] { 64, 1024 }, 12), ("bn dim.mi f+b", new[] { 64, 512, 7, 7 }, 13) })
        {
            var x = P(seed, shape); int c = shape[1];
            var gamma = P(seed + 1, c); var beta = P(seed + 2, c);
            var rm = Tensor.Zeros(c); var rv = Tensor.Zeros(c);
            Add(name, () => Tensor.BatchNorm(x, gamma, beta, rm, rv, training: true), 0, [x, gamma, beta]);
        }
        // Linear layers at 100 rows (VIB encoder), DIM's fc (64 × 6272 → 1024) and the hypothesis network's fc1–fc3.
        foreach (var (name, m, kIn, nOut) in new[] { ("linear 100x784->1024", 100, 784, 1024), ("linear 100x1024->1024", 100, 1024, 1024), ("linear 100x1024->512", 100, 1024, 512), ("linear 64x6272->1024", 64, 6272, 1024), ("linear 100x3136->512", 100, 3136, 512), ("linear 1000x512->256", 1000, 512, 256), ("linear 1000x256->128", 1000, 256, 128) })
        {
            var x = P(20, m, kIn); var w = P(21, nOut, kIn); var b = P(22, nOut);
            Add("linear " + name[7..] + " f+b", () => Tensor.Linear(x, w, b), 3 * 2.0 * m * kIn * nOut, [x, w, b]);
        }
        // Adam + Polyak over VIB's encoder (2.4 M) and Adam over DIM's parameters (8.6 M), gradients present.
        foreach (var (name, sizes, polyak) in new[] { ("adam+polyak vib 2.4M", new[] { 784 * 1024, 1024 * 1024, 1024 * 512, 256 * 10 }, true), ("adam dim 8.6M", new[] { 6272 * 1024, 6272 * 256, 128 * 1600, 256 * 256 * 4, 64 * 25 }, false) })
        {
            var ps = sizes.Select((n, i) => P(30 + i, n)).ToArray();
            foreach (var p in ps) p.AddToGrad(R(40, p.Size).Values);
            var adam = new Adam(ps, 1e-4f);
            var avg = polyak ? new ParameterAverage(ps) : null;
            cases.Add((name + " (zero excluded)", () => { adam.Step(); avg?.Update(); }, 0));
            cases.Add(("zero grad " + name.Split(' ')[^2] + " " + name.Split(' ')[^1], adam.ZeroGrad, 0));
        }
        // The hypothesis network's factored first layer: image rows [100, 512] plus hypothesis rows [10, 512], every pair, ReLU.
        {
            var u = P(60, 100, 512); var v = P(61, 10, 512);
            Add("hyp.fc1 pairs+relu f+b", () => (u.Reshape(100, 1, 512) + v.Reshape(1, 10, 512)).Reshape(1000, 512).Relu(), 0, [u, v]);
        }
        // The hypothesis network's information-elimination regularizer on its [1000, 256] FC-256 outputs (median bandwidth).
        {
            var r = P(62, 1000, 256).Relu().Detach();
            r.RequiresGrad = true;
            Add("hyp.ie mmd 1000x256 f+b", () => MiBounds.Vib.Hypothesis.InformationElimination.Regularizer(r, 10), 3 * 2.0 * 1000 * 1000 * 256, [r]);
        }
        // DIM's local objective on [64, 49·64] scores, one op.
        {
            var s = P(50, 64, 49 * 64);
            Add("block bound js 64x49x64 f+b", () => Tensor.BlockDiagonalBound(s, BlockBound.JensenShannon).Objective, 0, [s]);
        }
        return cases;
    }

    public static int Run(string[] args)
    {
        int i = Array.IndexOf(args, "--threads");
        var threadCounts = (i >= 0 ? args[i + 1] : "1,2").Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray();
        i = Array.IndexOf(args, "--repeats");
        int repeats = i >= 0 ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : 7;
        i = Array.IndexOf(args, "--only");
        var only = i >= 0 ? args[i + 1].Split(',') : null;
        Console.WriteLine($"# ms per call, median of {repeats} repeats (each ≥ 0.2 s), thread counts interleaved; load average {File.ReadAllText("/proc/loadavg").Trim()}");
        Console.WriteLine($"{"kernel",-34} " + string.Join(" ", threadCounts.Select(t => $"{t + " thr ms",10} {"GFLOP/s",8}")));
        int saved = Engine.MaxThreads;
        try
        {
            foreach (var (name, call, flop) in Cases())
            {
                if (only is not null && !only.Any(o => name.Contains(o, StringComparison.Ordinal))) continue;
                var times = threadCounts.ToDictionary(t => t, _ => new List<double>());
                foreach (int t in threadCounts) { Engine.MaxThreads = t; for (int w = 0; w < 3; w++) call(); }
                for (int r = 0; r < repeats; r++)
                    foreach (int t in threadCounts)
                    {
                        Engine.MaxThreads = t;
                        var sw = Stopwatch.StartNew();
                        int n = 0;
                        do { call(); n++; } while (sw.Elapsed.TotalSeconds < 0.2);
                        times[t].Add(sw.Elapsed.TotalMilliseconds / n);
                    }
                Console.WriteLine($"{name,-34} " + string.Join(" ", threadCounts.Select(t =>
                {
                    double ms = StepCommands.Median(times[t]);
                    return $"{ms,10:F3} {(flop > 0 ? (flop / ms / 1e6).ToString("F1", CultureInfo.InvariantCulture) : "–"),8}";
                })));
            }
        }
        finally { Engine.MaxThreads = saved; }
        Console.WriteLine($"# load average at end {File.ReadAllText("/proc/loadavg").Trim()}");
        return 0;
    }
}
