using System.Reflection;

namespace MiBounds.Toy.Tasks;

/// <summary>
/// Builds a task with a requested true MI. Adding a task to the suite means adding a (non-abstract, parameterless)
/// class implementing this interface anywhere in this assembly: <see cref="TaskRegistry"/> finds it by reflection.
/// </summary>
public interface IMiTaskFactory
{
    /// <summary>The name used on the command line (lower case, unique).</summary>
    string Name { get; }

    /// <summary>One line for the <c>tasks</c> listing.</summary>
    string Summary { get; }

    /// <summary>The task with dimension <paramref name="dim"/> whose true MI is <paramref name="mi"/> nats.</summary>
    IMiTask Create(int dim, double mi);
}

/// <summary>
/// A set of ready-made tasks whose MI is fixed by their definition (not chosen by level), listed by the <c>tasks</c>
/// command. Like factories, any parameterless class implementing this in the assembly is found by reflection, e.g.
/// <c>sealed class MyCatalog : IMiTaskCatalog { public IEnumerable&lt;IMiTask&gt; Tasks() =&gt; MyTasks.All(); }</c>.
/// </summary>
public interface IMiTaskCatalog
{
    /// <summary>The tasks.</summary>
    IEnumerable<IMiTask> Tasks();
}

/// <summary>The correlated Gaussian of the paper's Figure 2.</summary>
public sealed class GaussianTaskFactory : IMiTaskFactory
{
    /// <inheritdoc />
    public string Name => "gaussian";

    /// <inheritdoc />
    public string Summary => "y = ρx + √(1−ρ²)ε, x, ε ~ N(0, I_d); I = −(d/2)·log(1−ρ²)";

    /// <inheritdoc />
    public IMiTask Create(int dim, double mi) => CorrelatedGaussian.FromMi(dim, mi);
}

/// <summary>The cubic variant of the correlated Gaussian (y ↦ y³, same MI).</summary>
public sealed class CubicTaskFactory : IMiTaskFactory
{
    /// <inheritdoc />
    public string Name => "cubic";

    /// <inheritdoc />
    public string Summary => "the correlated Gaussian with y ↦ y³ elementwise (MI unchanged)";

    /// <inheritdoc />
    public IMiTask Create(int dim, double mi) => CorrelatedGaussian.FromMi(dim, mi, cubic: true);
}

/// <summary>Every task factory in this assembly, by name.</summary>
public static class TaskRegistry
{
    private static readonly Lazy<IReadOnlyDictionary<string, IMiTaskFactory>> s_factories = new(Discover);
    private static readonly Lazy<IReadOnlyList<IMiTaskCatalog>> s_catalogs = new(() => Instances<IMiTaskCatalog>().ToArray());

    /// <summary>Every fixed-MI task of every <see cref="IMiTaskCatalog"/> in the assembly.</summary>
    public static IReadOnlyList<IMiTask> FixedTasks => s_catalogs.Value.SelectMany(c => c.Tasks()).ToArray();

    /// <summary>All factories, ordered by name with the paper's two tasks first.</summary>
    public static IReadOnlyList<IMiTaskFactory> All =>
        s_factories.Value.Values.OrderBy(f => f.Name switch { "gaussian" => 0, "cubic" => 1, _ => 2 }).ThenBy(f => f.Name, StringComparer.Ordinal).ToArray();

    /// <summary>The names, comma-separated, for help and error messages.</summary>
    public static string Names => string.Join(", ", All.Select(f => f.Name));

    /// <summary>The factory named <paramref name="name"/>; throws <see cref="ArgumentException"/> listing the names otherwise.</summary>
    public static IMiTaskFactory Get(string name) =>
        s_factories.Value.TryGetValue(name.Trim().ToLowerInvariant(), out var f) ? f
        : throw new ArgumentException($"unknown task '{name}'; tasks: {Names}");

    /// <summary>Whether a task of that name exists.</summary>
    public static bool Contains(string name) => s_factories.Value.ContainsKey(name.Trim().ToLowerInvariant());

    private static IReadOnlyDictionary<string, IMiTaskFactory> Discover()
    {
        var found = new Dictionary<string, IMiTaskFactory>(StringComparer.Ordinal);
        foreach (var factory in Instances<IMiTaskFactory>())
            if (!found.TryAdd(factory.Name, factory))
                throw new InvalidOperationException($"two task factories are named '{factory.Name}': {found[factory.Name].GetType().Name} and {factory.GetType().Name}");
        return found;
    }

    // One instance of every concrete class in this assembly that implements T and has a parameterless constructor.
    private static IEnumerable<T> Instances<T>()
    {
        foreach (var type in typeof(TaskRegistry).Assembly.GetTypes().OrderBy(t => t.FullName, StringComparer.Ordinal))
        {
            if (type.IsAbstract || type.IsInterface || !typeof(T).IsAssignableFrom(type)) continue;
            if (type.GetConstructor(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance, Type.EmptyTypes) is not { } ctor) continue;
            yield return (T)ctor.Invoke(null);
        }
    }
}
