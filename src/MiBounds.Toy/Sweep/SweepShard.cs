using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using MiBounds.Tensors;

namespace MiBounds.Toy.Sweep;

/// <summary>
/// The <see cref="Index"/>-th (1-based) of <see cref="Count"/> disjoint subsets of a sweep's runs: run number r of
/// <see cref="SweepConfig.Runs"/> belongs to shard (r mod n) + 1. Round robin spreads the slow concat runs (listed
/// first) over every shard, and depends only on the configuration, so every machine computes the same split.
/// </summary>
public readonly record struct SweepShard
{
    /// <summary>A shard; throws <see cref="ArgumentOutOfRangeException"/> unless 1 ≤ index ≤ count.</summary>
    public SweepShard(int index, int count)
    {
        if (count < 1 || index < 1 || index > count)
            throw new ArgumentOutOfRangeException(nameof(index), $"a shard is i/n with 1 ≤ i ≤ n, got {index}/{count}");
        Index = index;
        Count = count;
    }

    /// <summary>Which shard, from 1.</summary>
    public int Index { get; }

    /// <summary>How many shards the sweep is split into.</summary>
    public int Count { get; }

    /// <summary>The whole sweep (1/1).</summary>
    public static SweepShard All => new(1, 1);

    /// <summary>Whether this is the whole sweep.</summary>
    public bool IsAll => Count <= 1;

    /// <summary>Reads "i/n"; throws <see cref="FormatException"/> naming the problem.</summary>
    public static SweepShard Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var parts = text.Split('/');
        if (parts.Length != 2
            || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int i)
            || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int n))
            throw new FormatException($"a shard is written i/n (e.g. 2/4), got '{text}'");
        if (n < 1 || i < 1 || i > n) throw new FormatException($"a shard i/n needs 1 ≤ i ≤ n, got '{text}'");
        return new SweepShard(i, n);
    }

    /// <summary>Whether run number <paramref name="runIndex"/> (0-based, in <see cref="SweepConfig.Runs"/> order) is in this shard.</summary>
    public bool Contains(int runIndex) => IsAll || runIndex % Count == Index - 1;

    /// <summary>This shard's runs of <paramref name="runs"/>, in order.</summary>
    public IReadOnlyList<RunSpec> Select(IReadOnlyList<RunSpec> runs)
    {
        var shard = this;
        return runs.Where((_, i) => shard.Contains(i)).ToArray();
    }

    /// <summary>"i/n".</summary>
    public override string ToString() => IsAll ? "1/1" : $"{Index}/{Count}";

    /// <summary>Name of the file that marks a shard's folder (absent in an unsharded sweep's).</summary>
    public const string File = "shard.json";

    /// <summary>Writes shard.json: the shard and its run ids (so a folder says what it holds without the code that split it).</summary>
    public void Save(string outDir, IReadOnlyList<RunSpec> runs) =>
        AtomicFile.WriteAllText(Path.Combine(outDir, File), JsonSerializer.Serialize(new ShardFile(ToString(), runs.Select(r => r.Id).ToArray()), SweepConfig.Json));

    /// <summary>
    /// The shard saved in <paramref name="outDir"/> (the whole sweep when there is no shard.json), checked against the
    /// run ids it lists; throws <see cref="InvalidDataException"/> naming the file otherwise.
    /// </summary>
    public static SweepShard Load(string outDir, SweepConfig config)
    {
        string path = Path.Combine(outDir, File);
        if (!System.IO.File.Exists(path)) return All;
        ShardFile? saved;
        try { saved = JsonSerializer.Deserialize<ShardFile>(System.IO.File.ReadAllText(path), SweepConfig.Json); }
        catch (JsonException e) { throw new InvalidDataException($"{path} is not a shard description: {e.Message.Split('\n')[0]}"); }
        if (saved?.Shard is null || saved.Runs is null) throw new InvalidDataException($"{path} is not a shard description (it needs \"shard\" and \"runs\")");
        SweepShard shard;
        try { shard = Parse(saved.Shard); }
        catch (FormatException e) { throw new InvalidDataException($"{path}: {e.Message}"); }
        var expected = shard.Select(config.Runs()).Select(r => r.Id).ToArray();
        if (!expected.SequenceEqual(saved.Runs, StringComparer.Ordinal))
            throw new InvalidDataException($"{path} lists other runs than shard {shard} of its sweep.json has ({saved.Runs.Length} listed, {expected.Length} expected)");
        return shard;
    }

    private sealed record ShardFile([property: JsonPropertyName("shard")] string? Shard, [property: JsonPropertyName("runs")] string[]? Runs);
}
