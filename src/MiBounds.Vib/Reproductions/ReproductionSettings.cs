using System.Globalization;
using System.Text;
using MiBounds.Vib.Attacks;
using MiBounds.Vib.Reports;

namespace MiBounds.Vib.Reproductions;

/// <summary>What a reproduction command was asked to do (the defaults are the papers' protocols where we can run them).</summary>
public sealed record ReproductionSettings
{
    /// <summary>Folder of the run folders.</summary>
    public required string Root { get; init; }
    /// <summary>The Markdown report; its figures go to the folder of the same name without extension.</summary>
    public required string Report { get; init; }
    /// <summary>Epochs of every run.</summary>
    public int Epochs { get; init; } = 200;
    /// <summary>β grid of the sweeps.</summary>
    public required double[] Betas { get; init; }
    /// <summary>Training images used (0 = all); fewer only for smoke runs.</summary>
    public int TrainCount { get; init; }
    /// <summary>Test images used (0 = all).</summary>
    public int TestCount { get; init; }
    /// <summary>Test images of the accuracy-under-attack measurement.</summary>
    public int AttackCount { get; init; } = 1000;
    /// <summary>Class attacked by the targeted attack on the first ten images.</summary>
    public int Source { get; init; } = 1;
    /// <summary>The targeted attack's target class.</summary>
    public int Target { get; init; } = 8;
    /// <summary>C&amp;W settings of the ten-image targeted attack.</summary>
    public CarliniWagnerOptions TargetedAttack { get; init; } = new();
    /// <summary>C&amp;W settings of the accuracy-under-attack sweep (fewer iterations: it attacks a thousand images per model).</summary>
    public CarliniWagnerOptions SweepAttack { get; init; } = new() { Iterations = 100, BinarySearchSteps = 5 };
    /// <summary>Seed of every run.</summary>
    public ulong Seed { get; init; } = 1;
    /// <summary>Skip the C&amp;W accuracy sweep (the most expensive analysis).</summary>
    public bool SkipAttackSweep { get; init; }
    /// <summary>Epochs of the VIM reproduction's σ × β study with the convolutional encoder (0: not run).</summary>
    public int ConvEpochs { get; init; }
    /// <summary>The data directory (null: Fashion-MNIST's default).</summary>
    public string? Data { get; init; }

    /// <summary>The folder of the report's figures.</summary>
    public string FigureFolder => Path.Combine(Path.GetDirectoryName(Report) ?? ".", Path.GetFileNameWithoutExtension(Report));

    /// <summary>A figure's base path (no extension) and its PNG link relative to the report.</summary>
    public (string BasePath, string Link) Figure(string name) =>
        (Path.Combine(FigureFolder, name), Path.GetFileNameWithoutExtension(Report) + "/" + name + ".png");

    /// <summary>Whether the data are MNIST (by the folder's name), so the paper's numbers compare directly.</summary>
    public bool IsMnist => Data is not null && Path.GetFileName(Path.TrimEndingDirectorySeparator(Data)).Contains("mnist", StringComparison.OrdinalIgnoreCase)
        && !Data.Contains("fashion", StringComparison.OrdinalIgnoreCase);

    /// <summary>The dataset's name for the report.</summary>
    public string DatasetName => Data is null ? "Fashion-MNIST" : IsMnist ? "MNIST" : Data;

    /// <summary>Class name for the report (digits on MNIST).</summary>
    public string ClassName(int c) => IsMnist ? c.ToString(CultureInfo.InvariantCulture) : RunFigures.ClassName(c);

    /// <summary>The options that reproduce this reproduction on the command line.</summary>
    public string CommandLine(string command)
    {
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder($"dotnet run --project src/MiBounds.Cli -c Release -- reproduce {command}");
        sb.Append(inv, $" --epochs {Epochs} --out {Root} --report {Report}");
        sb.Append(" --betas ").Append(string.Join(',', Betas.Select(b => b.ToString("G3", inv))));
        if (TrainCount > 0) sb.Append(inv, $" --train-count {TrainCount}");
        if (TestCount > 0) sb.Append(inv, $" --test-count {TestCount}");
        sb.Append(inv, $" --attack-count {AttackCount} --source {Source} --target {Target}");
        sb.Append(inv, $" --cw-iterations {TargetedAttack.Iterations} --cw-search-steps {TargetedAttack.BinarySearchSteps} --cw-sweep-iterations {SweepAttack.Iterations} --cw-sweep-search-steps {SweepAttack.BinarySearchSteps}");
        sb.Append(inv, $" --cw-lr {TargetedAttack.LearningRate:G3} --cw-c {TargetedAttack.InitialC:G3} --cw-confidence {TargetedAttack.Confidence:G3}");
        if (SkipAttackSweep) sb.Append(" --skip-attack-sweep");
        if (command == "vim") sb.Append(inv, $" --conv-epochs {ConvEpochs}");
        if (Data is not null) sb.Append(" --data ").Append(Data);
        return sb.ToString();
    }

    /// <summary>The C&amp;W settings as a sentence for the report.</summary>
    public static string Describe(CarliniWagnerOptions o) => string.Create(CultureInfo.InvariantCulture,
        $"{o.BinarySearchSteps} binary-search steps over c from {o.InitialC:G3}, {o.Iterations} Adam iterations (lr {o.LearningRate:G3}{(o.AbortEarly ? ", early abort" : "")}), confidence κ = {o.Confidence:G3}");
}

/// <summary>Formatting shared by the reports.</summary>
internal static class Fmt
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;
    public static string Err(double acc) => double.IsFinite(acc) ? (100 * (1 - acc)).ToString("F2", Inv) + "%" : "—";
    public static string Pct(double acc) => double.IsFinite(acc) ? (100 * acc).ToString("F1", Inv) + "%" : "—";
    public static string Num(double v, string format = "F3") => double.IsFinite(v) ? v.ToString(format, Inv) : "—";
    public static string Beta(double b) => b.ToString("G3", Inv);
}
