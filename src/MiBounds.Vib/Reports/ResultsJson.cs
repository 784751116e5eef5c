using System.Text.Json.Serialization;
using MiBounds.Data;

namespace MiBounds.Vib.Reports;

/// <summary>A VIB run's epoch entry in results.json (the test-set bounds; the train-set ones are in results.csv).</summary>
internal sealed record EpochJsonRecord(
    string Model, int Epoch, double Seconds,
    [property: JsonPropertyName("test_acc_1")] double TestAcc1,
    [property: JsonPropertyName("test_acc_12")] double TestAcc12,
    [property: JsonPropertyName("train_acc_1")] double TrainAcc1,
    double IzxBits, double IzyBits)
{
    public static EpochJsonRecord From(EpochRecord e) => new(e.Model, e.Epoch, e.Seconds, e.TestAcc1, e.TestAcc12, e.TrainAcc1, e.IzxBits, e.IzyBits);
}

/// <summary>A hypothesis run's epoch entry in results.json.</summary>
internal sealed record HypothesisEpochJsonRecord(
    string Model, int Epoch, double Seconds, double Loss,
    [property: JsonPropertyName("bound_nats")] double Bound,
    double Regularizer,
    [property: JsonPropertyName("test_acc")] double TestAccuracy);

/// <summary>
/// Any entry of a results.json array as read back: attack entries have <c>attack</c>, epoch entries do not.
/// Written by <see cref="JsonOutput"/>, so a null number reads as NaN.
/// </summary>
internal sealed record ResultsEntryJsonRecord(string? Model, string? Attack, double Epsilon, double Accuracy);

/// <summary>Writes and reads the results.json arrays of VIB, hypothesis and DIM runs.</summary>
internal static class ResultsJsonFile
{
    /// <summary>An array of heterogeneous entries (each serialized as its runtime record type), newline-terminated.</summary>
    public static string Serialize(IEnumerable<object> entries) => JsonOutput.Serialize(entries.ToArray()) + "\n";

    /// <summary>The attack entries of a results.json text.</summary>
    /// <exception cref="System.Text.Json.JsonException">The text is not an array of objects.</exception>
    public static List<AttackRecord> ReadAttacks(string json) =>
        JsonOutput.Deserialize<ResultsEntryJsonRecord[]>(json)
            .Where(e => e.Attack is not null)
            .Select(e => new AttackRecord(e.Model ?? "", e.Attack!, e.Epsilon, e.Accuracy))
            .ToList();
}
