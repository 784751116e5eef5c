namespace MiBounds.Packaging.Tests;

/// <summary>The checkout these tests run in.</summary>
internal static class Repository
{
    /// <summary>The folder holding MiBounds.sln, found above the test's output folder.</summary>
    public static string Root { get; } = FindRoot();

    private static string FindRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "MiBounds.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("MiBounds.sln not found above the test folder");
    }

    /// <summary>A path relative to the repository root.</summary>
    public static string PathOf(string relative) => Path.Combine(Root, relative);
}
