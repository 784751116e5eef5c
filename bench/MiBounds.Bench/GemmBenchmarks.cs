using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using MiBounds.Tensors;

namespace MiBounds.Bench;

/// <summary>
/// SGEMM at the engine's shapes (see <see cref="GemmShapes.All"/>) on 2 threads, with a GFLOP/s column.
/// Run: `dotnet run -c Release --project bench/MiBounds.Bench -- --filter '*GemmBenchmarks*'` (add `--inProcess` on a busy machine,
/// where BenchmarkDotNet's own build of the boilerplate can time out).
/// </summary>
[MemoryDiagnoser]
[Config(typeof(GemmConfig))]
public class GemmBenchmarks
{
    private float[] _a = [], _b = [], _c = [];
    private int _lda, _ldb;
    private (string Name, bool TA, bool TB, int M, int N, int K) _shape;
    private IDisposable? _limit;

    /// <summary>Shape key: the first word of a <see cref="GemmShapes.All"/> name.</summary>
    [ParamsSource(nameof(Shapes))]
    public string Shape { get; set; } = "";

    /// <summary>Threads for the product (Engine.LimitThreads).</summary>
    [Params(2)]
    public int Threads { get; set; }

    public static IEnumerable<string> Shapes => GemmShapes.All.Select(s => Key(s.Name));

    [GlobalSetup]
    public void Setup()
    {
        _shape = GemmShapes.All.First(s => Key(s.Name) == Shape);
        (_a, _b, _c, _lda, _ldb) = GemmShapes.Allocate(_shape.TA, _shape.TB, _shape.M, _shape.N, _shape.K);
        _limit = Engine.LimitThreads(Threads);
    }

    [GlobalCleanup]
    public void Cleanup() => _limit?.Dispose();

    [Benchmark]
    public void Multiply() =>
        Gemm.Multiply(_shape.TA, _shape.TB, _shape.M, _shape.N, _shape.K, _a, _lda, _b, _ldb, _c, _shape.N, accumulate: false);

    /// <summary>Short parameter value for a shape: its first word (e.g. "concat-fwd").</summary>
    private static string Key(string name) => name.Split(' ')[0];

    /// <summary>2·m·n·k for a shape name.</summary>
    internal static double Flop(string shape)
    {
        var s = GemmShapes.All.First(x => Key(x.Name) == shape);
        return 2.0 * s.M * s.N * s.K;
    }

    private sealed class GemmConfig : ManualConfig
    {
        public GemmConfig() => AddColumn(new GflopsColumn());
    }

    private sealed class GflopsColumn : IColumn
    {
        public string Id => "GFLOPs";
        public string ColumnName => "GFLOP/s";
        public bool AlwaysShow => true;
        public ColumnCategory Category => ColumnCategory.Custom;
        public int PriorityInCategory => 0;
        public bool IsNumeric => true;
        public UnitType UnitType => UnitType.Dimensionless;
        public string Legend => "2·m·n·k / mean time";
        public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
        public bool IsAvailable(Summary summary) => true;
        public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);
        public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
        {
            var report = summary[benchmarkCase];
            if (report?.ResultStatistics is not { } stats) return "-";
            var shape = (string)benchmarkCase.Parameters["Shape"];
            return (Flop(shape) / stats.Median).ToString("F1"); // flop per ns = GFLOP/s
        }
    }
}
