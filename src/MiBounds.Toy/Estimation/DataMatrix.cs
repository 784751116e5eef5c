namespace MiBounds.Toy.Estimation;

/// <summary>A numeric table read from a file: rows of samples, named columns (1-based names when the file has none).</summary>
/// <param name="Path">The path as the user gave it (used in error messages).</param>
/// <param name="Values">[rows, columns], every value finite.</param>
/// <param name="ColumnNames">One name per column.</param>
internal sealed record DataMatrix(string Path, double[,] Values, string[] ColumnNames)
{
    public int Rows => Values.GetLength(0);
    public int Columns => Values.GetLength(1);

    /// <summary>"column 3 ('age')" or "column 3" when the name is just the number.</summary>
    public string DescribeColumn(int index) =>
        ColumnNames[index] == (index + 1).ToString(System.Globalization.CultureInfo.InvariantCulture) ? $"column {index + 1}" : $"column {index + 1} ('{ColumnNames[index]}')";

    /// <summary>The chosen columns (0-based) as a new matrix.</summary>
    public DataMatrix Select(int[] columns)
    {
        var v = new double[Rows, columns.Length];
        for (int r = 0; r < Rows; r++)
            for (int c = 0; c < columns.Length; c++) v[r, c] = Values[r, columns[c]];
        return new DataMatrix(Path, v, columns.Select(c => ColumnNames[c]).ToArray());
    }

    /// <summary>Loads a .npy file or a delimited text file (CSV, TSV, whitespace), by extension.</summary>
    public static DataMatrix Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (Directory.Exists(path)) throw new InvalidDataException($"{path}: is a directory, not a data file");
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: file not found", path);
        return path.EndsWith(".npy", StringComparison.OrdinalIgnoreCase) ? NpyMatrixReader.Read(path) : CsvMatrixReader.Read(path);
    }
}
