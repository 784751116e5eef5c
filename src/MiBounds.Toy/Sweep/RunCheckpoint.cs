using MiBounds.Tensors;
using System.Text;

namespace MiBounds.Toy.Sweep;

/// <summary>
/// Everything a run needs to continue exactly where it stopped: trainable parameters (critic, then baseline), Adam's
/// moments and step count, the RNG state, MINE's moving average, and every estimate so far with the time spent per level.
/// A small binary file written atomically; the estimates it holds are authoritative (the CSV is rebuilt from them on resume).
/// </summary>
public sealed class RunCheckpoint
{
    private const string Magic = "MIBOUNDS-TOY-RUN-1";

    /// <summary>The run's <see cref="RunSpec.Id"/>, checked on load.</summary>
    public required string RunId { get; init; }

    /// <summary>Every training-batch estimate so far, one per step.</summary>
    public required double[] Estimates { get; init; }

    /// <summary>Training seconds spent at each level so far.</summary>
    public required double[] LevelSeconds { get; init; }

    /// <summary>The RNG state (<see cref="MiBounds.Tensors.Rng.GetState"/>).</summary>
    public required ulong[] RngState { get; init; }

    /// <summary>MINE's moving average (NaN for other bounds or before the first step).</summary>
    public double MineAverage { get; init; } = double.NaN;

    /// <summary>Adam's step count.</summary>
    public long OptimizerSteps { get; init; }

    /// <summary>Parameter values, in the optimizer's parameter order.</summary>
    public required float[][] Parameters { get; init; }

    /// <summary>Adam's first moments, same order.</summary>
    public required float[][] FirstMoments { get; init; }

    /// <summary>Adam's second moments, same order.</summary>
    public required float[][] SecondMoments { get; init; }

    /// <summary>Saves atomically (temporary file, flush, rename).</summary>
    public void Save(string path) => AtomicFile.Write(path, stream =>
    {
        using var w = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
        w.Write(Magic);
        w.Write(RunId);
        WriteDoubles(w, Estimates);
        WriteDoubles(w, LevelSeconds);
        w.Write(RngState.Length);
        foreach (var s in RngState) w.Write(s);
        w.Write(MineAverage);
        w.Write(OptimizerSteps);
        foreach (var group in new[] { Parameters, FirstMoments, SecondMoments })
        {
            w.Write(group.Length);
            foreach (var t in group)
            {
                w.Write(t.Length);
                foreach (var v in t) w.Write(v);
            }
        }
        w.Write(Magic); // a trailer: a file cut short fails to load instead of resuming from garbage
    });

    /// <summary>Loads a checkpoint; throws <see cref="InvalidDataException"/> naming the file when it is damaged or another run's.</summary>
    public static RunCheckpoint Load(string path, string expectedRunId)
    {
        try
        {
            using var r = new BinaryReader(File.OpenRead(path), Encoding.UTF8);
            if (r.ReadString() != Magic) throw new InvalidDataException($"{path} is not a toy-sweep checkpoint");
            string id = r.ReadString();
            if (id != expectedRunId) throw new InvalidDataException($"{path} belongs to run {id}, not {expectedRunId}");
            var estimates = ReadDoubles(r);
            var seconds = ReadDoubles(r);
            var rng = new ulong[r.ReadInt32()];
            for (int i = 0; i < rng.Length; i++) rng[i] = r.ReadUInt64();
            double mine = r.ReadDouble();
            long steps = r.ReadInt64();
            var groups = new float[3][][];
            for (int g = 0; g < 3; g++)
            {
                groups[g] = new float[r.ReadInt32()][];
                for (int t = 0; t < groups[g].Length; t++)
                {
                    var a = groups[g][t] = new float[r.ReadInt32()];
                    for (int i = 0; i < a.Length; i++) a[i] = r.ReadSingle();
                }
            }
            if (r.ReadString() != Magic) throw new InvalidDataException($"{path} is damaged (bad trailer)");
            return new RunCheckpoint
            {
                RunId = id, Estimates = estimates, LevelSeconds = seconds, RngState = rng, MineAverage = mine, OptimizerSteps = steps,
                Parameters = groups[0], FirstMoments = groups[1], SecondMoments = groups[2],
            };
        }
        catch (EndOfStreamException)
        {
            throw new InvalidDataException($"{path} is truncated; delete it to restart that run");
        }
    }

    private static void WriteDoubles(BinaryWriter w, double[] values)
    {
        w.Write(values.Length);
        foreach (var v in values) w.Write(v);
    }

    private static double[] ReadDoubles(BinaryReader r)
    {
        int n = r.ReadInt32();
        if (n < 0 || n > 100_000_000) throw new InvalidDataException($"implausible array length {n}");
        var a = new double[n];
        for (int i = 0; i < n; i++) a[i] = r.ReadDouble();
        return a;
    }
}
