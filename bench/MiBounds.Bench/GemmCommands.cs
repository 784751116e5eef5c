using System.Diagnostics;
using System.Runtime.Intrinsics;
using MiBounds.Tensors;

namespace MiBounds.Bench;

/// <summary>
/// Quick command-line GEMM measurements: `fma-peak` (the Vector512/Vector256 FMA roofline of this machine on 1 and 2 threads)
/// and `gemm` (GFLOP/s of <see cref="Gemm.Multiply"/> at the engine's shapes, median of repeats).
/// </summary>
internal static class GemmCommandList
{
    public static IEnumerable<System.CommandLine.Command> Create() =>
    [
        BenchCommands.PassThrough("fma-peak", "FMA peak GFLOP/s of a plain Vector512 (or Vector256) FMA loop on 1 and 2 threads [--repeats R]", GemmCommands.FmaPeak),
        BenchCommands.PassThrough("gemm", "GFLOP/s of Gemm.Multiply per shape, median of repeats [--threads 1,2] [--repeats R] [--filter text]", GemmCommands.GemmShapes),
    ];
}

/// <summary>The shapes used by the GEMM benchmarks (shared by the command and the BenchmarkDotNet class).</summary>
internal static class GemmShapes
{
    /// <summary>(name, transA, transB, m, n, k): C[m×n] = op(A)[m×k]·op(B)[k×n].</summary>
    public static readonly (string Name, bool TA, bool TB, int M, int N, int K)[] All =
    [
        ("concat-fwd 4096x256.(256x256)T", false, true, 4096, 256, 256),
        ("concat-dx  4096x256.256x256", false, false, 4096, 256, 256),
        ("concat-dW  (4096x256)T.4096x256", true, false, 256, 256, 4096),
        ("concat-blk-fwd 512x256.(256x256)T", false, true, 512, 256, 256),
        ("concat-blk-dx  512x256.256x256", false, false, 512, 256, 256),
        ("concat-blk-dW  (512x256)T.512x256", true, false, 256, 256, 512),
        ("square     1024x1024.1024x1024", false, false, 1024, 1024, 1024),
        ("toy-fwd1   64x20.(256x20)T", false, true, 64, 256, 20),
        ("toy-fwd2   64x256.(256x256)T", false, true, 64, 256, 256),
        ("toy-fwd3   64x256.(32x256)T", false, true, 64, 32, 256),
        ("toy-dx3    64x32.32x256", false, false, 64, 256, 32),
        ("toy-dx2    64x256.256x256", false, false, 64, 256, 256),
        ("toy-dx1    64x256.256x20", false, false, 64, 20, 256),
        ("toy-dW3    (64x32)T.64x256", true, false, 32, 256, 64),
        ("toy-dW2    (64x256)T.64x256", true, false, 256, 256, 64),
        ("toy-dW1    (64x256)T.64x20", true, false, 256, 20, 64),
        // Image models: DIM's fc (64 × 6272 → 1024) and conv2 as im2col products, VIB's encoder at 100 rows.
        ("dim-fc-fwd 64x6272.(1024x6272)T", false, true, 64, 1024, 6272),
        ("dim-fc-dx  64x1024.1024x6272", false, false, 64, 6272, 1024),
        ("dim-fc-dW  (64x1024)T.64x6272", true, false, 1024, 6272, 64),
        ("dim-conv2-fwd 128x1600.1600x3136", false, false, 128, 3136, 1600),
        ("dim-conv2-dW  128x3136.(1600x3136)T", false, true, 128, 1600, 3136),
        ("dim-conv2-dx  (128x1600)T.128x3136", true, false, 1600, 3136, 128),
        // The hypothesis classifier: conv2 (32 → 64 channels, 4×4, 14×14 → 7×7, batch 100), fc1 on 100 rows, fc2 on 1000 rows.
        ("hyp-conv2-fwd 64x512.512x4900", false, false, 64, 4900, 512),
        ("hyp-conv2-dW  64x4900.(512x4900)T", false, true, 64, 512, 4900),
        ("hyp-conv2-dx  (64x512)T.64x4900", true, false, 512, 4900, 64),
        ("hyp-fc1-fwd 100x3136.(512x3136)T", false, true, 100, 512, 3136),
        ("hyp-fc1-dx  100x512.512x3136", false, false, 100, 3136, 512),
        ("hyp-fc1-dW  (100x512)T.100x3136", true, false, 512, 3136, 100),
        ("hyp-fc2-fwd 1000x512.(256x512)T", false, true, 1000, 256, 512),
        ("hyp-fc2-dx  1000x256.256x512", false, false, 1000, 512, 256),
        ("hyp-fc2-dW  (1000x256)T.1000x512", true, false, 256, 512, 1000),
        ("vib-fwd2   100x1024.(1024x1024)T", false, true, 100, 1024, 1024),
        ("vib-dx2    100x1024.1024x1024", false, false, 100, 1024, 1024),
        ("vib-dW2    (100x1024)T.100x1024", true, false, 1024, 1024, 100),
    ];

    public static (float[] A, float[] B, float[] C, int Lda, int Ldb) Allocate(bool ta, bool tb, int m, int n, int k, int seed = 1)
    {
        var rng = new Random(seed);
        var a = new float[m * k]; var b = new float[k * n]; var c = new float[m * n];
        for (int i = 0; i < a.Length; i++) a[i] = (float)(rng.NextDouble() * 2 - 1);
        for (int i = 0; i < b.Length; i++) b[i] = (float)(rng.NextDouble() * 2 - 1);
        return (a, b, c, ta ? m : k, tb ? k : n);
    }
}

internal static class GemmCommands
{
    private static string? Option(string[] args, string name)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }

    private static double Median(List<double> xs) { xs.Sort(); return xs.Count % 2 == 1 ? xs[xs.Count / 2] : 0.5 * (xs[xs.Count / 2 - 1] + xs[xs.Count / 2]); }

    public static int FmaPeak(string[] args)
    {
        int repeats = int.Parse(Option(args, "--repeats") ?? "7");
        Console.WriteLine($"Vector512 accelerated: {Vector512.IsHardwareAccelerated}, Vector256 accelerated: {Vector256.IsHardwareAccelerated}, " +
                          $"processors: {Environment.ProcessorCount}");
        const long iterations = 20_000_000;
        foreach (int threads in new[] { 1, 2 })
        {
            var samples = new List<double>();
            var cpuSamples = new List<double>();
            for (int r = 0; r < repeats + 1; r++)
            {
                var process = Process.GetCurrentProcess();
                process.Refresh();
                var cpu0 = process.TotalProcessorTime;
                var sw = Stopwatch.StartNew();
                float sink = 0;
                var workers = new Thread[threads];
                long flopsPerThread = 0;
                for (int t = 0; t < threads; t++)
                {
                    workers[t] = new Thread(() =>
                    {
                        long f;
                        float s = Vector512.IsHardwareAccelerated ? FmaLoop512(iterations, out f) : FmaLoop256(iterations, out f);
                        Interlocked.Exchange(ref flopsPerThread, f);
                        lock (workers) sink += s;
                    });
                }
                sw.Restart();
                foreach (var w in workers) w.Start();
                foreach (var w in workers) w.Join();
                double seconds = sw.Elapsed.TotalSeconds;
                process.Refresh();
                double cpuSeconds = (process.TotalProcessorTime - cpu0).TotalSeconds;
                if (r > 0)
                {
                    samples.Add(threads * flopsPerThread / seconds / 1e9); // first run warms up the JIT
                    cpuSamples.Add(flopsPerThread * threads / cpuSeconds / 1e9);
                }
                if (float.IsNaN(sink)) Console.WriteLine("nan");
            }
            Console.WriteLine($"fma-peak threads={threads}: median {Median(samples),8:F1} GFLOP/s  (min {samples.Min():F1}, max {samples.Max():F1}, {repeats} runs); " +
                              $"per CPU-second: {Median(cpuSamples):F1} GFLOP/cpu-s");
        }
        return 0;
    }

    /// <summary>24 independent Vector512 FMA chains: enough to cover latency × throughput (4 cycles × 2 pipes) several times.</summary>
    private static float FmaLoop512(long iterations, out long flops)
    {
        var m = Vector512.Create(0.9999999f); var d = Vector512.Create(1e-7f);
        Vector512<float> a0 = Vector512.Create(0.1f), a1 = Vector512.Create(0.2f), a2 = Vector512.Create(0.3f), a3 = Vector512.Create(0.4f),
            a4 = Vector512.Create(0.5f), a5 = Vector512.Create(0.6f), a6 = Vector512.Create(0.7f), a7 = Vector512.Create(0.8f),
            a8 = Vector512.Create(0.9f), a9 = Vector512.Create(1.0f), a10 = Vector512.Create(1.1f), a11 = Vector512.Create(1.2f),
            a12 = Vector512.Create(1.3f), a13 = Vector512.Create(1.4f), a14 = Vector512.Create(1.5f), a15 = Vector512.Create(1.6f),
            a16 = Vector512.Create(1.7f), a17 = Vector512.Create(1.8f), a18 = Vector512.Create(1.9f), a19 = Vector512.Create(2.0f),
            a20 = Vector512.Create(2.1f), a21 = Vector512.Create(2.2f), a22 = Vector512.Create(2.3f), a23 = Vector512.Create(2.4f);
        for (long i = 0; i < iterations; i++)
        {
            a0 = Vector512.FusedMultiplyAdd(a0, m, d); a1 = Vector512.FusedMultiplyAdd(a1, m, d); a2 = Vector512.FusedMultiplyAdd(a2, m, d);
            a3 = Vector512.FusedMultiplyAdd(a3, m, d); a4 = Vector512.FusedMultiplyAdd(a4, m, d); a5 = Vector512.FusedMultiplyAdd(a5, m, d);
            a6 = Vector512.FusedMultiplyAdd(a6, m, d); a7 = Vector512.FusedMultiplyAdd(a7, m, d); a8 = Vector512.FusedMultiplyAdd(a8, m, d);
            a9 = Vector512.FusedMultiplyAdd(a9, m, d); a10 = Vector512.FusedMultiplyAdd(a10, m, d); a11 = Vector512.FusedMultiplyAdd(a11, m, d);
            a12 = Vector512.FusedMultiplyAdd(a12, m, d); a13 = Vector512.FusedMultiplyAdd(a13, m, d); a14 = Vector512.FusedMultiplyAdd(a14, m, d);
            a15 = Vector512.FusedMultiplyAdd(a15, m, d); a16 = Vector512.FusedMultiplyAdd(a16, m, d); a17 = Vector512.FusedMultiplyAdd(a17, m, d);
            a18 = Vector512.FusedMultiplyAdd(a18, m, d); a19 = Vector512.FusedMultiplyAdd(a19, m, d); a20 = Vector512.FusedMultiplyAdd(a20, m, d);
            a21 = Vector512.FusedMultiplyAdd(a21, m, d); a22 = Vector512.FusedMultiplyAdd(a22, m, d); a23 = Vector512.FusedMultiplyAdd(a23, m, d);
        }
        flops = iterations * 24 * 16 * 2;
        var s = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11 + a12 + a13 + a14 + a15 + a16 + a17 + a18 + a19 + a20 + a21 + a22 + a23;
        return Vector512.Sum(s);
    }

    private static float FmaLoop256(long iterations, out long flops)
    {
        var m = Vector256.Create(0.9999999f); var d = Vector256.Create(1e-7f);
        Vector256<float> a0 = Vector256.Create(0.1f), a1 = Vector256.Create(0.2f), a2 = Vector256.Create(0.3f), a3 = Vector256.Create(0.4f),
            a4 = Vector256.Create(0.5f), a5 = Vector256.Create(0.6f), a6 = Vector256.Create(0.7f), a7 = Vector256.Create(0.8f),
            a8 = Vector256.Create(0.9f), a9 = Vector256.Create(1.0f), a10 = Vector256.Create(1.1f), a11 = Vector256.Create(1.2f);
        for (long i = 0; i < iterations; i++)
        {
            a0 = Vector256.FusedMultiplyAdd(a0, m, d); a1 = Vector256.FusedMultiplyAdd(a1, m, d); a2 = Vector256.FusedMultiplyAdd(a2, m, d);
            a3 = Vector256.FusedMultiplyAdd(a3, m, d); a4 = Vector256.FusedMultiplyAdd(a4, m, d); a5 = Vector256.FusedMultiplyAdd(a5, m, d);
            a6 = Vector256.FusedMultiplyAdd(a6, m, d); a7 = Vector256.FusedMultiplyAdd(a7, m, d); a8 = Vector256.FusedMultiplyAdd(a8, m, d);
            a9 = Vector256.FusedMultiplyAdd(a9, m, d); a10 = Vector256.FusedMultiplyAdd(a10, m, d); a11 = Vector256.FusedMultiplyAdd(a11, m, d);
        }
        flops = iterations * 12 * 8 * 2;
        return Vector256.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11);
    }

    public static int GemmShapes(string[] args)
    {
        int repeats = int.Parse(Option(args, "--repeats") ?? "9");
        var threadCounts = (Option(args, "--threads") ?? "2").Split(',').Select(int.Parse).ToArray();
        string? filter = Option(args, "--filter");
        Console.WriteLine($"Vector512 accelerated: {Vector512.IsHardwareAccelerated}; median of {repeats} samples (each ≥ 20 ms)");
        foreach (var (name, ta, tb, m, n, k) in MiBounds.Bench.GemmShapes.All)
        {
            if (filter != null && !name.Contains(filter, StringComparison.OrdinalIgnoreCase)) continue;
            var (a, b, c, lda, ldb) = MiBounds.Bench.GemmShapes.Allocate(ta, tb, m, n, k);
            var line = $"{name,-34}";
            foreach (int threads in threadCounts)
            {
                using var limit = Engine.LimitThreads(threads);
                double flop = 2.0 * m * n * k;
                // Warm up and size a sample to ≥ 20 ms.
                int reps = 1;
                while (true)
                {
                    var sw = Stopwatch.StartNew();
                    for (int r = 0; r < reps; r++) Gemm.Multiply(ta, tb, m, n, k, a, lda, b, ldb, c, n, accumulate: false);
                    if (sw.Elapsed.TotalMilliseconds >= 20) break;
                    reps *= 2;
                }
                var samples = new List<double>();
                var cpuSamples = new List<double>();
                var process = Process.GetCurrentProcess();
                for (int s = 0; s < repeats; s++)
                {
                    process.Refresh();
                    var cpu0 = process.TotalProcessorTime;
                    var sw = Stopwatch.StartNew();
                    for (int r = 0; r < reps; r++) Gemm.Multiply(ta, tb, m, n, k, a, lda, b, ldb, c, n, accumulate: false);
                    double wall = sw.Elapsed.TotalSeconds;
                    process.Refresh();
                    double cpu = (process.TotalProcessorTime - cpu0).TotalSeconds;
                    samples.Add(flop * reps / wall / 1e9);
                    cpuSamples.Add(flop * reps / cpu / 1e9);
                }
                double us = flop / Median(samples) / 1e3;
                // GFLOP per CPU-second is less sensitive to other processes than wall-clock GFLOP/s on a busy machine.
                line += $"  t={threads}: {Median(samples),7:F1} GFLOP/s ({us,8:F1} us, {Median(cpuSamples),6:F1} GFLOP/cpu-s)";
            }
            Console.WriteLine(line);
        }
        return 0;
    }
}
