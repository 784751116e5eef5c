using Xunit;

namespace MiBounds.TestSupport;

/// <summary>
/// The test classes that count a thread's allocated bytes. They run alone, after the parallel ones: test classes
/// running at the same time rent from and return to the same shared array pool, so a measured step can find its
/// buffers taken and allocate new ones (CI saw 1967 B per step this way).
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class AllocationMeasurements
{
    /// <summary>The collection's name, for <see cref="CollectionAttribute"/>.</summary>
    public const string Name = "allocation measurements";
}
