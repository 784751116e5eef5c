namespace MiBounds.Commands;

/// <summary>
/// Checks output paths right after parsing, before any work: a folder option must not name a file and every existing
/// ancestor must be a folder; a file option must not name a folder. Mistakes are <see cref="UsageException"/>s.
/// </summary>
public static class OutputPaths
{
    /// <summary>
    /// Checks the folder <paramref name="path"/> (given by <paramref name="optionName"/>, e.g. "--out"), creates it unless
    /// <paramref name="create"/> is false (a run to resume must exist already; the command says so), and returns it.
    /// </summary>
    public static string EnsureFolder(string path, string optionName, bool create = true)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (path.Length == 0) throw new UsageException($"{optionName} needs a folder name");
        if (File.Exists(path)) throw new UsageException($"{optionName} {path} is a file, not a folder");
        CheckAncestors(path, path, optionName);
        if (!create) return path;
        try { Directory.CreateDirectory(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"{optionName} {path}: cannot create the folder ({e.Message})");
        }
        return path;
    }

    /// <summary>Creates the parent folder of the file <paramref name="path"/> (given by <paramref name="optionName"/>) and returns the path.</summary>
    public static string EnsureFile(string path, string optionName)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (path.Length == 0) throw new UsageException($"{optionName} needs a file name");
        if (Directory.Exists(path)) throw new UsageException($"{optionName} {path} is a folder, not a file");
        string? parent = Path.GetDirectoryName(Path.GetFullPath(path));
        if (parent is not null)
        {
            if (File.Exists(parent)) throw new UsageException($"{optionName} {path}: {parent} is a file, not a folder");
            CheckAncestors(parent, path, optionName);
            try { Directory.CreateDirectory(parent); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new UsageException($"{optionName} {path}: cannot create the folder {parent} ({e.Message})");
            }
        }
        return path;
    }

    private static void CheckAncestors(string folder, string given, string optionName)
    {
        for (string? a = Path.GetDirectoryName(Path.GetFullPath(folder)); !string.IsNullOrEmpty(a); a = Path.GetDirectoryName(a))
            if (File.Exists(a)) throw new UsageException($"{optionName} {given}: {a} is a file, not a folder");
    }
}
