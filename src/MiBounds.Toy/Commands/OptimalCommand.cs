using System.Globalization;
using MiBounds.Bounds;
using System.CommandLine;
using MiBounds.Commands;
using MiBounds.Critics;
using MiBounds.Tensors;
using MiBounds.Toy.Tasks;

namespace MiBounds.Toy.Commands;

/// <summary>`optimal`: the optimal-critic study's command.</summary>
internal static class OptimalCommand
{
    internal static Command Create()
    {
        var dim = CommandOptions.Int("--dim", "dimension of X and Y", 20, min: 1);
        var batch = CommandOptions.Int("--batch", "batch size K", 64, min: 2);
        var batches = CommandOptions.Int("--batches", "batches per MI level", 400, min: 1);
        var mi = CommandOptions.Doubles("--mi", "true MI levels in nats", [2, 4, 6, 8, 10], min: 0);
        var seed = CommandOptions.Int("--seed", "seed", 0, min: 0);
        var json = CommandOptions.Flag("--json", "print one JSON array instead of the table");
        return new Command("optimal", "every bound with the analytic (optimal) critics on the correlated Gaussian: mean and std over batches (no training)")
            { dim, batch, batches, mi, seed, json }
            .WithAction(run =>
            {
                var rows = OptimalStudy.Compute(run.Get(dim), run.Get(batch), run.Get(batches), run.Get(mi), (ulong)run.Get(seed));
                if (run.Get(json)) OptimalStudy.WriteJson(rows, run.Out);
                else OptimalStudy.WriteTable(rows, run.Get(batch), run.Out);
                return 0;
            });
    }
}

/// <summary>
/// The optimal-critic study: evaluates every bound on fresh correlated-Gaussian batches with the analytic critics
/// (log p(y|x) with baseline log p(y) for TUBA, InfoNCE and Iα; log r for JS, DV and SMILE; 1 + log r for NWJ; the exact
/// decoder for BA) and reports, per MI and bound, the mean and standard deviation over batches.
/// </summary>
public static class OptimalStudy
{
    /// <summary>One result row.</summary>
    public sealed record Row(double Mi, string Bound, [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)] double? Alpha, double Mean, double Std, int Batches);

    /// <summary>The Iα interpolation values the study evaluates unless told otherwise.</summary>
    public static readonly double[] DefaultAlphas = [0.01, 0.5, 0.99];

    /// <summary>
    /// Runs the study for each MI level; scores are computed once per batch and shared by the bounds.
    /// <paramref name="alphas"/> are the Iα values (default <see cref="DefaultAlphas"/>).
    /// </summary>
    public static List<Row> Compute(int dim, int batch, int batches, IReadOnlyList<double> levels, ulong seed, IReadOnlyList<double>? alphas = null)
    {
        alphas ??= DefaultAlphas;
        var rows = new List<Row>();
        var rng = new Rng(seed);
        var baseline = new GaussianMarginalBaseline();
        foreach (double mi in levels)
        {
            var task = CorrelatedGaussian.FromMi(dim, mi);
            var conditional = new GaussianConditionalCritic(dim, task.Rho);
            var ratio = new GaussianConditionalCritic(dim, task.Rho, AnalyticScore.LogDensityRatio);
            // (bound, which scores it takes, alpha)
            var entries = new List<(IMiEstimator Bound, Func<(Tensor cond, Tensor ratio), Tensor>? Scores, double? Alpha)>
            {
                (new Tuba(conditional, baseline), s => s.cond, null),
                (new Nwj(ratio), s => s.ratio + 1f, null),
                (new InfoNce(conditional), s => s.cond, null),
                (new JensenShannon(ratio), s => s.ratio, null),
                (new DonskerVaradhan(ratio), s => s.ratio, null),
                (new Smile(ratio, 5), s => s.ratio, null),
            };
            foreach (double a in alphas) entries.Add((new InterpolatedBound(conditional, baseline, a), s => s.cond, a));
            entries.Add((new BarberAgakov(conditional, BarberAgakov.StandardNormalEntropy(dim)), null, null));
            var values = entries.Select(_ => new double[batches]).ToArray();
            var mask = PositiveMask.Diagonal(batch);
            using (Tensor.NoGrad())
            {
                for (int b = 0; b < batches; b++)
                {
                    var sample = task.Sample(batch, rng);
                    var scores = (conditional.Scores(sample.X, sample.Y), ratio.Scores(sample.X, sample.Y));
                    var logBaseline = baseline.LogBaseline(sample.Y);
                    for (int e = 0; e < entries.Count; e++)
                    {
                        var (bound, pick, _) = entries[e];
                        values[e][b] = bound is MiBound mb
                            ? mb.FromScores(pick!(scores), logBaseline, mask, training: false).Value.Item()
                            : bound.Estimate(sample);
                    }
                }
            }
            for (int e = 0; e < entries.Count; e++)
            {
                double mean = values[e].Average();
                double std = batches > 1 ? Math.Sqrt(values[e].Sum(v => (v - mean) * (v - mean)) / (batches - 1)) : 0;
                string name = entries[e].Bound is MiBound m ? m.GetType().Name : entries[e].Bound.Name;
                rows.Add(new Row(mi, name, entries[e].Alpha, mean, std, batches));
            }
        }
        return rows;
    }

    /// <summary>One JSON array of {"mi","bound","alpha" (Iα only),"mean","std","batches"}.</summary>
    public static void WriteJson(IEnumerable<Row> rows, TextWriter output) => output.WriteLine(MiBounds.Data.JsonOutput.Serialize(rows.ToArray()));

    internal static void WriteTable(List<Row> rows, int batch, TextWriter output)
    {
        var c = CultureInfo.InvariantCulture;
        output.WriteLine($"Optimal critics on the correlated Gaussian, batch {batch}, {rows[0].Batches} batches per level (nats; log K = {Math.Log(batch).ToString("F3", c)})");
        output.WriteLine($"{"bound",-27} {"true MI",8} {"mean",9} {"std",8}");
        foreach (var r in rows)
        {
            string name = r.Alpha is double a ? $"{r.Bound}(α={a.ToString(c)})" : r.Bound;
            output.WriteLine($"{name,-27} {r.Mi.ToString("F2", c),8} {r.Mean.ToString("F3", c),9} {r.Std.ToString("F3", c),8}");
        }
    }
}
