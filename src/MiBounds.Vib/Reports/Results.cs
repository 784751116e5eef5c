using System.Globalization;
using System.Text;
using System.Text.Json;
using MiBounds.Tensors;
using MiBounds.Vib.Data;

namespace MiBounds.Vib.Reports;

/// <summary>Metrics after one epoch, measured with the Polyak-averaged weights. Information terms are in bits.</summary>
public sealed record EpochRecord(
    string Model, int Epoch, double Seconds,
    double TestAcc1, double TestAcc12, double TrainAcc1, double TrainAcc12,
    double IzxBits, double IzyBits, double TrainIzxBits, double TrainIzyBits, double LossBits);

/// <summary>Adversarial accuracy of one attack at one radius (ε in [0, 1] pixel units).</summary>
public sealed record AttackRecord(string Model, string Attack, double Epsilon, double Accuracy);

/// <summary>
/// A run's results: results.json (a JSON array, one record per epoch with the fields model, epoch, seconds,
/// test_acc_1, test_acc_12, train_acc_1, izx_bits, izy_bits — the test-set bounds — then one record per attack with
/// model, attack, epsilon, accuracy) and results.csv (every epoch metric, train and test).
/// Both are rewritten whole (<see cref="AtomicFile"/>) after each change, so an interruption never leaves half a file.
/// </summary>
public sealed class RunResults
{
    /// <summary>Per-epoch records, in order.</summary>
    public List<EpochRecord> Epochs { get; } = [];
    /// <summary>Robustness records.</summary>
    public List<AttackRecord> Attacks { get; } = [];

    /// <summary>Writes results.json and results.csv into <paramref name="directory"/>.</summary>
    public void Save(string directory)
    {
        Directory.CreateDirectory(directory);
        AtomicFile.WriteAllText(Path.Combine(directory, "results.json"), ToJson());
        AtomicFile.WriteAllText(Path.Combine(directory, "results.csv"), ToCsv());
    }

    /// <summary>The results.json text (undefined values, e.g. I(Z;X) of a deterministic encoder, are null).</summary>
    public string ToJson() => ResultsJsonFile.Serialize(Epochs.Select(EpochJsonRecord.From).Concat<object>(Attacks));

    private const string CsvHeader = "model,epoch,seconds,test_acc_1,test_acc_12,train_acc_1,train_acc_12,izx_bits,izy_bits,train_izx_bits,train_izy_bits,loss_bits";

    /// <summary>The results.csv text (epoch records only; "nan" marks undefined values).</summary>
    public string ToCsv()
    {
        var sb = new StringBuilder(CsvHeader).Append('\n');
        foreach (var e in Epochs)
        {
            sb.Append(e.Model).Append(',').Append(e.Epoch);
            foreach (var v in new[] { e.Seconds, e.TestAcc1, e.TestAcc12, e.TrainAcc1, e.TrainAcc12, e.IzxBits, e.IzyBits, e.TrainIzxBits, e.TrainIzyBits, e.LossBits })
                sb.Append(',').Append(double.IsFinite(v) ? v.ToString("G6", CultureInfo.InvariantCulture) : "nan");
            sb.Append('\n');
        }
        return sb.ToString();
    }

    /// <summary>Reads the results.csv (epochs) and results.json (attacks) of <paramref name="directory"/>; missing files give empty lists.</summary>
    public static RunResults Load(string directory)
    {
        var r = new RunResults();
        var csv = Path.Combine(directory, "results.csv");
        if (File.Exists(csv))
        {
            var lines = File.ReadAllLines(csv);
            if (lines.Length == 0 || lines[0] != CsvHeader) throw new DataException($"{csv}: unexpected header (expected {CsvHeader})");
            foreach (var line in lines.Skip(1).Where(l => l.Length > 0))
            {
                var f = line.Split(',');
                if (f.Length != 12) throw new DataException($"{csv}: a row has {f.Length} fields, expected 12: {line}");
                double D(int i) => f[i] == "nan" ? double.NaN : double.Parse(f[i], CultureInfo.InvariantCulture);
                r.Epochs.Add(new EpochRecord(f[0], int.Parse(f[1], CultureInfo.InvariantCulture), D(2), D(3), D(4), D(5), D(6), D(7), D(8), D(9), D(10), D(11)));
            }
        }
        var json = Path.Combine(directory, "results.json");
        if (File.Exists(json))
        {
            try
            {
                r.Attacks.AddRange(ResultsJsonFile.ReadAttacks(File.ReadAllText(json)));
            }
            catch (Exception e) when (e is JsonException or InvalidOperationException or KeyNotFoundException)
            {
                throw new DataException($"{json}: malformed results ({e.Message})", e);
            }
        }
        return r;
    }
}
