using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using MiBounds.Bounds;
using MiBounds.Tensors;
using MiBounds.Toy.Tasks;

namespace MiBounds.Toy.Sweep;

/// <summary>
/// What a staircase sweep computes (everything that changes the numbers). Saved as <c>sweep.json</c> in the output
/// folder so <c>--resume</c> continues the same sweep.
/// </summary>
public sealed record SweepConfig
{
    /// <summary>Task names (see <see cref="TaskRegistry"/>).</summary>
    public required string[] Tasks { get; init; }

    /// <summary>Critic kinds: "concat" and/or "separable".</summary>
    public required string[] Critics { get; init; }

    /// <summary>Estimator names as <see cref="BoundSpec.Parse"/> reads them.</summary>
    public required string[] Estimators { get; init; }

    /// <summary>Dimension of x and y.</summary>
    public int Dim { get; init; } = 20;

    /// <summary>Batch size K.</summary>
    public int Batch { get; init; } = 64;

    /// <summary>Training steps at each MI level.</summary>
    public int StepsPerLevel { get; init; } = 4000;

    /// <summary>The staircase's true MI values in nats.</summary>
    public required double[] Levels { get; init; }

    /// <summary>Adam's learning rate.</summary>
    public double LearningRate { get; init; } = 5e-4;

    /// <summary>The sweep's seed; each run derives its own from it and the run's name.</summary>
    public ulong Seed { get; init; }

    /// <summary>The critics the sweep knows.</summary>
    public static readonly string[] CriticKinds = ["concat", "separable"];

    /// <summary>The paper's estimators, the default list.</summary>
    public const string DefaultEstimators = "nwj,tuba,infonce,js,alpha0.01,alpha0.5,alpha0.99,smile5,mine,dv";

    /// <summary>The paper's staircase.</summary>
    public static readonly double[] DefaultLevels = [2, 4, 6, 8, 10];

    /// <summary>Total steps of one run.</summary>
    [JsonIgnore] public int TotalSteps => StepsPerLevel * Levels.Length;

    /// <summary>The parsed estimators.</summary>
    public IReadOnlyList<BoundSpec> Bounds() => Estimators.Select(BoundSpec.Parse).ToArray();

    /// <summary>Every (task, critic, estimator) run, slowest first (concat critics cost far more) so the cores stay busy to the end.</summary>
    public IReadOnlyList<RunSpec> Runs()
    {
        var runs = new List<RunSpec>();
        foreach (var critic in Critics.OrderBy(c => c == "concat" ? 0 : 1))
            foreach (var task in Tasks)
                foreach (var bound in Bounds())
                    runs.Add(new RunSpec(task, critic, bound));
        return runs;
    }

    /// <summary>Checks every field; throws <see cref="ArgumentException"/> naming the first bad one.</summary>
    public void Validate()
    {
        if (Tasks.Length == 0) throw new ArgumentException("no task given");
        foreach (var t in Tasks) TaskRegistry.Get(t);
        if (Critics.Length == 0) throw new ArgumentException("no critic given");
        foreach (var c in Critics)
            if (!CriticKinds.Contains(c)) throw new ArgumentException($"unknown critic '{c}'; critics: {string.Join(", ", CriticKinds)}");
        if (Estimators.Length == 0) throw new ArgumentException("no estimator given");
        var names = Bounds().Select(b => b.Text).ToArray();
        if (names.Distinct().Count() != names.Length) throw new ArgumentException($"an estimator is listed twice: {string.Join(",", names)}");
        if (Dim < 1) throw new ArgumentException($"dim must be at least 1, got {Dim}");
        if (Batch < 2) throw new ArgumentException($"batch must be at least 2 (the bounds need negatives), got {Batch}");
        if (StepsPerLevel < 1) throw new ArgumentException($"steps per level must be at least 1, got {StepsPerLevel}");
        if (Levels.Length == 0 || Levels.Any(l => !(l >= 0) || double.IsInfinity(l))) throw new ArgumentException($"levels must be finite MI values ≥ 0, got {string.Join(",", Levels)}");
        if (!(LearningRate > 0) || double.IsInfinity(LearningRate)) throw new ArgumentException($"the learning rate must be positive, got {LearningRate}");
        foreach (var t in Tasks)
            foreach (var mi in Levels) TaskRegistry.Get(t).Create(Dim, mi); // a task may reject a level; say so before training
    }

    internal static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    /// <summary>Writes the config as JSON.</summary>
    public void Save(string path) => AtomicFile.WriteAllText(path, JsonSerializer.Serialize(this, Json));

    /// <summary>Reads a config written by <see cref="Save"/>.</summary>
    public static SweepConfig Load(string path)
    {
        try
        {
            return JsonSerializer.Deserialize<SweepConfig>(File.ReadAllText(path), Json) ?? throw new InvalidDataException($"{path} holds no sweep configuration");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path} is not a sweep configuration: {e.Message}");
        }
    }

    /// <summary>Whether two configs describe the same computation.</summary>
    public bool SameAs(SweepConfig other) => DifferenceFrom(other) is null;

    /// <summary>
    /// The first field in which this config differs from <paramref name="saved"/>, as "batch: 8 saved, 16 now" (names as
    /// in sweep.json), or null when they describe the same computation.
    /// </summary>
    public string? DifferenceFrom(SweepConfig saved) => DifferenceFrom(saved, "saved", "now");

    /// <summary>
    /// The first field in which this config differs from <paramref name="other"/>, as "batch: 8 in A, 16 in B" with
    /// <paramref name="otherLabel"/> = "in A" and <paramref name="thisLabel"/> = "in B", or null when they agree.
    /// </summary>
    public string? DifferenceFrom(SweepConfig other, string otherLabel, string thisLabel)
    {
        ArgumentNullException.ThrowIfNull(other);
        var before = JsonSerializer.SerializeToNode(other, Json)!.AsObject();
        var now = JsonSerializer.SerializeToNode(this, Json)!.AsObject();
        foreach (var (name, value) in before)
        {
            var current = now[name];
            if (!JsonNode.DeepEquals(value, current)) return $"{name}: {Show(value)} {otherLabel}, {Show(current)} {thisLabel}";
        }
        return null;
    }

    private static string Show(JsonNode? node) => node?.ToJsonString(Compact) ?? "null";

    private static readonly JsonSerializerOptions Compact = new() { WriteIndented = false };
}

/// <summary>One training run of the sweep: a task, a critic kind and an estimator, trained through every level.</summary>
public sealed record RunSpec(string Task, string Critic, BoundSpec Bound)
{
    /// <summary>A file-name-safe identifier, e.g. "gaussian-concat-alpha0.5".</summary>
    public string Id => $"{Task}-{Critic}-{Bound.Text}";

    /// <summary>The run's own seed: a stable hash of the sweep seed and <see cref="Id"/> (FNV-1a; string.GetHashCode varies per process).</summary>
    public ulong SeedFor(ulong sweepSeed)
    {
        ulong h = 14695981039346656037UL;
        foreach (char c in $"{sweepSeed}/{Id}") { h ^= c; h *= 1099511628211UL; }
        return h;
    }
}
