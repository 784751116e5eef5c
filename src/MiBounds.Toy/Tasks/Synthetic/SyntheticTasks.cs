namespace MiBounds.Toy.Tasks.Synthetic;

/// <summary>The synthetic tasks with known MI added for estimator benchmarks (<c>bench-tasks</c>).</summary>
public static class SyntheticTasks
{
    private static readonly (string Name, Func<IMiTask> Create)[] Factories =
    [
        ("normal-3x3", () => DenseGaussianTask.WithMi(3, 3, 1.0, seed: 7, name: "normal-3x3")),
        ("normal-5x5", () => DenseGaussianTask.WithMi(5, 5, 2.0, seed: 11, name: "normal-5x5")),
        ("student-2x2-df3", () => new StudentTTask(2, 3, 0.5)),
        ("student-5x5-df5", () => new StudentTTask(5, 5, 0.4)),
        ("uniform-1-eps0.3", () => new AdditiveUniformNoiseTask(1, 0.3)),
        ("uniform-3-eps0.5", () => new AdditiveUniformNoiseTask(3, 0.5)),
        ("halfcube-normal-3x3", () => new TransformedTask(Get("normal-3x3"), CoordinateMap.HalfCube)),
        ("wiggly-normal-3x3", () => new TransformedTask(Get("normal-3x3"), CoordinateMap.Wiggly)),
        ("halfcube-student-2x2-df3", () => new TransformedTask(Get("student-2x2-df3"), CoordinateMap.HalfCube)),
        ("wiggly-uniform-1-eps0.3", () => new TransformedTask(Get("uniform-1-eps0.3"), CoordinateMap.Wiggly)),
        ("normal-10x10-mi6", () => DenseGaussianTask.WithMi(10, 10, 6.0, seed: 13, name: "normal-10x10-mi6")),
    ];

    /// <summary>Every task's name, in benchmark order.</summary>
    public static IReadOnlyList<string> Names { get; } = Factories.Select(f => f.Name).ToArray();

    /// <summary>Every task.</summary>
    public static IReadOnlyList<IMiTask> All() => Factories.Select(f => f.Create()).ToArray();

    /// <summary>The task named <paramref name="name"/> (this list or <see cref="BmiTasks"/>); throws <see cref="FormatException"/> listing the names otherwise.</summary>
    public static IMiTask Get(string name)
    {
        foreach (var (n, create) in Factories)
            if (string.Equals(n, name.Trim(), StringComparison.OrdinalIgnoreCase)) return create();
        return BmiTasks.Find(name) ?? throw new FormatException($"unknown task '{name}'; tasks: {string.Join(", ", Names.Concat(BmiTasks.Names))} (suites: all, bmi)");
    }

    /// <summary>
    /// The tasks a <c>bench-tasks --tasks</c> value names: "all" (this list), "bmi" (<see cref="BmiTasks"/>), or
    /// comma-separated task names.
    /// </summary>
    public static IReadOnlyList<IMiTask> Select(string spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        return spec.Trim().ToLowerInvariant() switch
        {
            "all" => All(),
            "bmi" => BmiTasks.All(),
            _ => spec.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(Get).ToArray(),
        };
    }
}
