namespace MiBounds.Data;

/// <summary>
/// Reads users' sample files: NumPy .npy (by extension) or delimited text — CSV, TSV, ';' or whitespace separated,
/// with an optional header line. Every problem is a <see cref="InvalidDataException"/> naming the file.
/// </summary>
public static class DataFile
{
    /// <summary>Reads <paramref name="path"/> as .npy when its extension is .npy, else as delimited text.</summary>
    /// <exception cref="FileNotFoundException">No such file.</exception>
    /// <exception cref="InvalidDataException">The file is not a usable numeric table.</exception>
    public static DataMatrix Read(string path)
    {
        CheckExists(path);
        return path.EndsWith(".npy", StringComparison.OrdinalIgnoreCase) ? NpyReader.Read(path) : DelimitedTextReader.Read(path);
    }

    /// <summary>
    /// Reads delimited text: the delimiter is the first of ',', tab, ';' in the first data line (else runs of
    /// whitespace); a first line without any number is a header; blank lines and lines starting with '#' are skipped.
    /// </summary>
    public static DataMatrix ReadText(string path)
    {
        CheckExists(path);
        return DelimitedTextReader.Read(path);
    }

    /// <summary>Reads a .npy file (format 1–3, 1-D or 2-D, float/int/bool dtypes, either byte order and memory order).</summary>
    public static DataMatrix ReadNpy(string path)
    {
        CheckExists(path);
        return NpyReader.Read(path);
    }

    private static void CheckExists(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (Directory.Exists(path)) throw DataErrors.Fail($"{path}: is a directory, not a data file", path);
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: file not found", path);
    }
}
