using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using MiBounds.Commands;
using MiBounds.Data;
using MiBounds.Tensors;
using MiBounds.Toy.Reports;
using SweepReport = MiBounds.Toy.Reports.Report;
using MiBounds.Toy.Sweep;
using static MiBounds.Commands.CommandOptions;

namespace MiBounds.Toy.Reproductions;

/// <summary>What `reproduce poole` measured; saved as poole/results.json so the report can be rebuilt without rerunning.</summary>
public sealed record PooleResults
{
    /// <summary>Bias–variance rows (Figure 3).</summary>
    public List<BiasVarianceRow> BiasVariance { get; init; } = [];
    /// <summary>Settings of the bias–variance study: d, K, batches per level, seed, seconds.</summary>
    public Dictionary<string, double> BiasVarianceSettings { get; init; } = [];
    /// <summary>Efficiency runs (estimate per step and second), thinned to every 10th step.</summary>
    public List<EfficiencyPoint> Efficiency { get; init; } = [];
    /// <summary>Settings of the efficiency runs: d, K, steps, MI, seed.</summary>
    public Dictionary<string, double> EfficiencySettings { get; init; } = [];
    /// <summary>Cost per step vs K.</summary>
    public List<StepCost> Cost { get; init; } = [];
    /// <summary>`uptime` when the timings were taken (the machine is shared).</summary>
    public string? Load { get; init; }
    /// <summary>Staircase figures written from a sweep folder, and the folder.</summary>
    public List<string> Staircase { get; init; } = [];
    /// <summary>The sweep folder the staircase figures came from.</summary>
    public string? SweepFolder { get; init; }
    /// <summary>The staircase runs' statistics per MI level (the sweep's summary.json rows), for the table and claims.</summary>
    public List<SummaryRecord> StaircaseLevels { get; init; } = [];
    /// <summary>The staircase sweep's batch size K (InfoNCE's ceiling is log K).</summary>
    public int StaircaseBatch { get; init; }
    /// <summary>Staircase runs that stopped before their last step (diverged), by "task-critic-estimator" id.</summary>
    public List<string> StaircaseStopped { get; init; } = [];
}

/// <summary>`reproduce poole`: the rest of Poole et al. (2019) as a report (docs/reproductions/poole.md).</summary>
public static class PooleCommand
{
    /// <summary>The parts the command can run.</summary>
    public static readonly string[] Parts = ["bias-variance", "efficiency", "cost", "staircase"];

    /// <summary>The command.</summary>
    public static Command Create()
    {
        var parts = String("--parts", $"comma-separated parts to (re)run: {string.Join(", ", Parts)} (staircase needs --sweep)", "bias-variance,efficiency,cost");
        var sweep = OptionalString("--sweep", "a sweep folder (the `sweep` command's --out) whose runs give Figure 2");
        var report = String("--report", "folder of the report: REPORT/poole.md, figures and results.json in REPORT/poole/", Path.Combine("docs", "reproductions"));
        var reportOnly = Flag("--report-only", "rebuild the report and figures from REPORT/poole/results.json, running nothing");
        var batches = Int("--batches", "bias–variance: batches per MI level", 2000, 2);
        var levels = Doubles("--mi", "bias–variance: true MI levels (nats)", [2, 3, 4, 5, 6, 7, 8, 9, 10], 0);
        var steps = Int("--steps", "efficiency: training steps per critic", 3000, 1);
        var effMi = Double("--efficiency-mi", "efficiency: true MI of the task (nats)", 4, 0);
        var costBatches = Doubles("--cost-batches", "cost: batch sizes K", [16, 32, 64, 128, 256, 512], 2, 1 << 14);
        var costSteps = Int("--cost-steps", "cost: timed steps per (critic, K)", 20, 1);
        var seed = Int("--seed", "seed", 0, 0);
        var command = new Command("poole", "Poole et al. 2019: bias–variance with optimal critics (Fig. 3), critic efficiency–accuracy and cost vs K, the staircase (Fig. 2) from a sweep folder")
            { parts, sweep, report, reportOnly, batches, levels, steps, effMi, costBatches, costSteps, seed };
        return command.WithAction(run =>
        {
            string dir = OutputPaths.EnsureFolder(Path.Combine(run.Get(report), "poole"), "--report");
            string resultsPath = Path.Combine(dir, "results.json");
            var results = File.Exists(resultsPath) ? JsonOutput.Deserialize<PooleResults>(File.ReadAllText(resultsPath)) : new PooleResults();
            if (!run.Get(reportOnly))
            {
                var chosen = run.Get(parts).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                foreach (var p in chosen)
                    if (!Parts.Contains(p)) throw new UsageException($"--parts: unknown part '{p}'; parts: {string.Join(", ", Parts)}");
                if (chosen.Contains("staircase") && run.Get(sweep) is null) throw new UsageException("--parts staircase needs --sweep DIR (a sweep folder)");
                results = RunParts(run, chosen, results, dir, run.Get(sweep), run.Get(batches), run.Get(levels), run.Get(steps), run.Get(effMi),
                    run.Get(costBatches).Select(b => (int)b).ToArray(), run.Get(costSteps), (ulong)run.Get(seed));
                JsonOutput.Write(resultsPath, results);
            }
            string md = Path.Combine(run.Get(report), "poole.md");
            WriteFigures(results, dir);
            AtomicFile.WriteAllText(md, Report(results));
            run.Out.WriteLine($"report: {md}");
            return 0;
        });
    }

    private static PooleResults RunParts(CommandRun run, string[] parts, PooleResults results, string dir, string? sweepDir, int batches, double[] levels,
        int steps, double effMi, int[] costBatches, int costSteps, ulong seed)
    {
        const int dim = 20, batch = 64;
        var log = run.Out;
        string load = Uptime();
        if (parts.Contains("bias-variance"))
        {
            var sw = Stopwatch.StartNew();
            var rows = PooleBiasVariance.Compute(dim, batch, batches, levels, seed);
            log.WriteLine($"bias–variance: {rows.Count} rows in {sw.Elapsed.TotalSeconds:F0}s");
            results = results with
            {
                BiasVariance = rows,
                BiasVarianceSettings = new() { ["dim"] = dim, ["batch"] = batch, ["batches"] = batches, ["seed"] = seed, ["seconds"] = sw.Elapsed.TotalSeconds },
            };
        }
        if (parts.Contains("efficiency"))
        {
            var points = PooleEfficiency.Train(dim, batch, steps, effMi, seed, cancellation: run.Cancellation);
            foreach (var g in points.GroupBy(p => p.Critic))
                log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"efficiency: {g.Key} {g.Count()} steps in {g.Last().Seconds:F1}s, last-100 mean {g.TakeLast(100).Average(p => p.Estimate):F3} nats"));
            results = results with
            {
                Efficiency = points.Where(p => p.Step % 10 == 0 || p.Step == steps - 1).ToList(),
                EfficiencySettings = new() { ["dim"] = dim, ["batch"] = batch, ["steps"] = steps, ["mi"] = effMi, ["seed"] = seed },
                Load = load,
            };
        }
        if (parts.Contains("cost"))
        {
            var costs = PooleEfficiency.Cost(dim, costBatches, costSteps, seed);
            foreach (var c in costs) log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"cost: {c.Critic,-9} K={c.Batch,4}  {c.MillisecondsPerStep:F2} ms/step"));
            results = results with { Cost = costs, Load = load };
        }
        if (parts.Contains("staircase"))
        {
            var (config, runs) = PooleStaircase.Load(sweepDir!);
            var names = PooleStaircase.Figures(config, runs, dir);
            log.WriteLine($"staircase: {names.Count} figures from {sweepDir}");
            results = results with
            {
                Staircase = names, SweepFolder = sweepDir, StaircaseLevels = SweepReport.Summarize(config, runs), StaircaseBatch = config.Batch,
                StaircaseStopped = runs.Where(x => x.Status != RunStatus.Done).Select(x => x.Spec.Id).ToList(),
            };
        }
        return results;
    }

    private static void WriteFigures(PooleResults r, string dir)
    {
        if (r.BiasVariance.Count > 0)
            PooleBiasVariance.Figure(r.BiasVariance, Path.Combine(dir, "bias-variance"), (int)r.BiasVarianceSettings.GetValueOrDefault("dim", 20), (int)r.BiasVarianceSettings.GetValueOrDefault("batch", 64));
        if (r.Efficiency.Count > 0)
            PooleEfficiency.Figure(r.Efficiency, r.EfficiencySettings.GetValueOrDefault("mi", 4), (int)r.EfficiencySettings.GetValueOrDefault("batch", 64), Path.Combine(dir, "efficiency"));
        if (r.Cost.Count > 0) PooleEfficiency.CostFigure(r.Cost, Path.Combine(dir, "cost"));
    }

    /// <summary>`uptime` (the machine's load), or "unknown".</summary>
    public static string Uptime()
    {
        try
        {
            using var p = Process.Start(new ProcessStartInfo("uptime") { RedirectStandardOutput = true, UseShellExecute = false })!;
            string s = p.StandardOutput.ReadToEnd().Trim();
            p.WaitForExit();
            return s.Length > 0 ? s : "unknown";
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException) { return "unknown"; }
    }

    /// <summary>The claims of the paper checked on the measured rows: (claim, holds, the numbers).</summary>
    public static List<(string Claim, bool Holds, string Numbers)> Claims(IReadOnlyList<BiasVarianceRow> rows)
    {
        var c = CultureInfo.InvariantCulture;
        var list = new List<(string, bool, string)>();
        if (rows.Count == 0) return list;
        double hi = rows.Max(r => r.Mi), lo = rows.Min(r => r.Mi);
        BiasVarianceRow? Get(string label, double mi) => rows.FirstOrDefault(r => r.Label == label && r.Mi == mi);
        foreach (var label in new[] { "TUBA", "NWJ" })
        {
            var mine = rows.Where(r => r.Label == label).ToList();
            if (mine.Count == 0) continue;
            // Unbiased: |bias| within 4 standard errors of the mean at every level.
            bool unbiased = mine.All(r => Math.Abs(r.Bias) <= 4 * Math.Sqrt(r.Variance / r.Batches));
            list.Add(($"{label} is unbiased with the optimal critic", unbiased,
                string.Join("; ", mine.Select(r => string.Create(c, $"I={r.Mi:G}: bias {r.Bias:F3} ± {Math.Sqrt(r.Variance / r.Batches):F3}")))));
            var (a, b) = (Get(label, lo), Get(label, hi));
            if (a is not null && b is not null)
                list.Add(($"{label}'s variance grows exponentially with the MI", b.Variance > 100 * a.Variance,
                    string.Create(c, $"variance {a.Variance:G3} at {lo:G} nats, {b.Variance:G3} at {hi:G} nats")));
        }
        var nce = rows.Where(r => r.Label == "InfoNCE").OrderBy(r => r.Mi).ToList();
        if (nce.Count > 1)
        {
            double logK = Math.Log(64);
            list.Add(("InfoNCE stays below log K and its bias grows with the MI (low variance)",
                nce.All(r => r.Mean <= logK + 1e-9) && nce[^1].Bias < nce[0].Bias && nce.All(r => r.Variance < 1),
                string.Create(c, $"means {string.Join(", ", nce.Select(r => r.Mean.ToString("F2", c)))} (log K = {logK:F2}); max variance {nce.Max(r => r.Variance):G3}")));
        }
        var alphas = rows.Where(r => r.Alpha is not null && r.Mi == hi).OrderBy(r => r.Alpha).ToList();
        if (alphas.Count > 1)
        {
            // α → 0 is NWJ-like (unbiased, high variance), α → 1 InfoNCE-like (biased, low variance).
            bool varianceDown = alphas.Zip(alphas.Skip(1)).All(p => p.Second.Variance <= p.First.Variance);
            bool biasUp = alphas.Zip(alphas.Skip(1)).All(p => Math.Abs(p.Second.Bias) >= Math.Abs(p.First.Bias) - 1e-9);
            string numbers = string.Join("; ", alphas.Select(r => string.Create(c, $"α={r.Alpha:G}: bias {r.Bias:F2}, variance {r.Variance:G3}")));
            list.Add(($"Iα interpolates from NWJ to InfoNCE: at {hi:G} nats |bias| grows with α", biasUp, numbers));
            list.Add(($"Iα interpolates from NWJ to InfoNCE: at {hi:G} nats the variance falls as α grows", varianceDown, numbers));
            var (tuba, nce10) = (Get("TUBA", hi), Get("InfoNCE", hi));
            if (tuba is not null && nce10 is not null)
                list.Add(($"at {hi:G} nats some α has a lower MSE than both NWJ/TUBA and InfoNCE", alphas.Any(r => r.Mse < Math.Min(tuba.Mse, nce10.Mse)),
                    string.Create(c, $"MSE TUBA {tuba.Mse:G3}, InfoNCE {nce10.Mse:G3}, best Iα {alphas.Min(r => r.Mse):G3} (α={alphas.MinBy(r => r.Mse)!.Alpha:G})")));
        }
        return list;
    }

    // The paper's Figure 2 as numbers: mean and standard deviation of each run's last estimates per level, and its claims.
    private static void StaircaseTables(PooleResults r, StringBuilder sb)
    {
        var c = CultureInfo.InvariantCulture;
        var levels = r.StaircaseLevels.Select(x => x.Mi).Distinct().OrderBy(x => x).ToList();
        sb.AppendLine();
        sb.AppendLine("Mean ± standard deviation of each run's estimates over the last 1000 steps of each level (nats; the true MI heads each column):");
        sb.AppendLine();
        sb.Append("| task | critic | estimator |").Append(string.Concat(levels.Select(l => string.Create(c, $" {l:G} |")))).AppendLine();
        sb.Append("|---|---|---|").Append(string.Concat(levels.Select(_ => "---|"))).AppendLine();
        foreach (var g in r.StaircaseLevels.GroupBy(x => (x.Task, x.Critic, x.Estimator)))
        {
            bool stopped = r.StaircaseStopped.Contains($"{g.Key.Task}-{g.Key.Critic}-{g.Key.Estimator}");
            sb.Append($"| {g.Key.Task} | {g.Key.Critic} | {SweepReport.DisplayName(MiBounds.Bounds.BoundSpec.Parse(g.Key.Estimator))}{(stopped ? " (diverged)" : "")} |");
            foreach (var l in levels)
                sb.Append(g.FirstOrDefault(x => x.Mi == l) is { } x ? $" {Nats(x.Mean)} ± {Nats(Math.Sqrt(x.Variance))} |" : " – |");
            sb.AppendLine();
        }
        sb.AppendLine();
        sb.AppendLine("The paper's claims on the Gaussian task (both critics), checked on these numbers:");
        sb.AppendLine();
        sb.AppendLine("| claim (paper) | holds here | our numbers |");
        sb.AppendLine("|---|---|---|");
        foreach (var (claim, holds, numbers) in StaircaseClaims(r.StaircaseLevels, r.StaircaseBatch)) sb.AppendLine($"| {claim} | {(holds ? "yes" : "**no**")} | {numbers} |");
        if (r.StaircaseStopped.Count > 0)
        {
            sb.AppendLine();
            sb.AppendLine($"Stopped early (the objective became infinite or NaN; their rows hold the levels they reached): {string.Join(", ", r.StaircaseStopped)}.");
        }
    }

    // Two decimals, or three significant digits once a diverging estimate runs into the thousands.
    private static string Nats(double v) => (Math.Abs(v) < 1e4 ? v.ToString("F2", CultureInfo.InvariantCulture) : v.ToString("G3", CultureInfo.InvariantCulture));

    /// <summary>Figure 2's claims on the Gaussian task at batch size <paramref name="batch"/>: InfoNCE under log K with low variance, NWJ/TUBA variance growing with MI, Iα between.</summary>
    public static List<(string Claim, bool Holds, string Numbers)> StaircaseClaims(IReadOnlyList<SummaryRecord> rows, int batch)
    {
        var c = CultureInfo.InvariantCulture;
        var list = new List<(string, bool, string)>();
        foreach (var critic in rows.Where(x => x.Task == "gaussian").Select(x => x.Critic).Distinct())
        {
            var g = rows.Where(x => x.Task == "gaussian" && x.Critic == critic).ToList();
            double top = g.Max(x => x.Mi), bottom = g.Min(x => x.Mi);
            SummaryRecord? At(string estimator, double mi) => g.FirstOrDefault(x => x.Estimator == estimator && x.Mi == mi);
            if (g.Where(x => x.Estimator == "infonce").ToList() is { Count: > 0 } nce)
            {
                double logK = Math.Log(batch);
                list.Add(($"{critic}: InfoNCE stays below log K = {logK:F2}", nce.All(x => x.Mean <= logK + 0.05),
                    string.Join(", ", nce.Select(x => string.Create(c, $"{x.Mean:F2} at {x.Mi:G}")))));
            }
            if (At("infonce", top) is { } n10 && At("nwj", top) is { } w10 && At("tuba", top) is { } t10)
                list.Add((string.Create(c, $"{critic}: at {top:G} nats InfoNCE has a lower variance than NWJ and TUBA"), n10.Variance < Math.Min(w10.Variance, t10.Variance),
                    string.Create(c, $"variance InfoNCE {n10.Variance:G3}, NWJ {w10.Variance:G3}, TUBA {t10.Variance:G3}")));
            foreach (var e in new[] { "nwj", "tuba" })
                if (At(e, top) is { } hi && At(e, bottom) is { } lo)
                    list.Add((string.Create(c, $"{critic}: {SweepReport.DisplayName(MiBounds.Bounds.BoundSpec.Parse(e))}'s variance grows with the MI"), hi.Variance > 4 * lo.Variance,
                        string.Create(c, $"variance {lo.Variance:G3} at {bottom:G} nats, {hi.Variance:G3} at {top:G}")));
            if (At("alpha0.01", top) is { } a && At("infonce", top) is { } n && At("nwj", top) is { } w)
                list.Add((string.Create(c, $"{critic}: at {top:G} nats Iα (α=0.01) has less bias than InfoNCE and less variance than NWJ"),
                    Math.Abs(a.Bias) < Math.Abs(n.Bias) && a.Variance < w.Variance,
                    string.Create(c, $"bias Iα {a.Bias:F2} vs InfoNCE {n.Bias:F2}; variance Iα {a.Variance:G3} vs NWJ {w.Variance:G3}")));
        }
        return list;
    }

    /// <summary>The markdown report.</summary>
    public static string Report(PooleResults r)
    {
        var c = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.AppendLine("# Poole et al. (2019), \"On Variational Bounds of Mutual Information\": the rest of the paper");
        sb.AppendLine();
        sb.AppendLine("Written by `mibounds-cli reproduce poole` (src/MiBounds.Toy/Reproductions). Numbers and figures come from `poole/results.json`; `--report-only` rebuilds this file from it.");
        sb.AppendLine("The staircase with trained critics (the paper's Figure 2) comes from a sweep folder (`--parts staircase --sweep DIR`).");
        sb.AppendLine();
        sb.AppendLine("## Bias, variance and MSE with optimal critics (the paper's Figure 3)");
        sb.AppendLine();
        if (r.BiasVariance.Count == 0) sb.AppendLine("Not run yet (`--parts bias-variance`).");
        else
        {
            var s = r.BiasVarianceSettings;
            sb.AppendLine(string.Create(c, $"Protocol: correlated Gaussian, d = {s.GetValueOrDefault("dim"):G}, K = {s.GetValueOrDefault("batch"):G}, {s.GetValueOrDefault("batches"):G} fresh batches per true MI, seed {s.GetValueOrDefault("seed"):G}; each bound evaluated with its optimal critic (no training) by the `optimal` study's code: log p(y|x) with baseline p(y) for TUBA and Iα, log p(y|x) for InfoNCE, 1 + log r for NWJ, log r for JS (whose reported value is NWJ on log r + 1, so JS equals NWJ here). Bias = mean − true MI, variance over batches, MSE = bias² + variance. Compute: {s.GetValueOrDefault("seconds"):F0} s."));
            sb.AppendLine();
            sb.AppendLine("The paper shows this figure without a table; its claims, checked on our numbers:");
            sb.AppendLine();
            sb.AppendLine("| claim (paper) | holds here | our numbers |");
            sb.AppendLine("|---|---|---|");
            foreach (var (claim, holds, numbers) in Claims(r.BiasVariance)) sb.AppendLine($"| {claim} | {(holds ? "yes" : "**no**")} | {numbers} |");
            sb.AppendLine();
            sb.AppendLine("![bias, variance, MSE](poole/bias-variance.png)");
            sb.AppendLine();
            var mis = r.BiasVariance.Select(x => x.Mi).Distinct().OrderBy(x => x).ToList();
            sb.Append("| bound |").Append(string.Concat(mis.Select(m => string.Create(c, $" bias / var @ {m:G} |")))).AppendLine();
            sb.Append("|---|").Append(string.Concat(mis.Select(_ => "---|"))).AppendLine();
            foreach (var label in r.BiasVariance.Select(x => x.Label).Distinct())
            {
                sb.Append($"| {label} |");
                foreach (var m in mis)
                {
                    var row = r.BiasVariance.FirstOrDefault(x => x.Label == label && x.Mi == m);
                    sb.Append(row is null ? " – |" : string.Create(c, $" {row.Bias:F2} / {row.Variance:G3} |"));
                }
                sb.AppendLine();
            }
        }
        sb.AppendLine();
        sb.AppendLine("## Efficiency and accuracy of the critic architectures");
        sb.AppendLine();
        if (r.Efficiency.Count == 0 && r.Cost.Count == 0) sb.AppendLine("Not run yet (`--parts efficiency,cost`).");
        if (r.Efficiency.Count > 0)
        {
            var s = r.EfficiencySettings;
            sb.AppendLine(string.Create(c, $"InfoNCE trained with the separable critic (g(x)ᵀh(y), 2K network passes per batch) and the concat critic (f([x, y]) on all K² pairs), both MLPs 256-256 (separable: embedding 32), Adam 5e-4, d = {s.GetValueOrDefault("dim"):G}, K = {s.GetValueOrDefault("batch"):G}, true MI {s.GetValueOrDefault("mi"):G} nats, {s.GetValueOrDefault("steps"):G} steps, seed {s.GetValueOrDefault("seed"):G}. Short runs (the paper trains longer)."));
            sb.AppendLine();
            sb.AppendLine("| critic | steps | seconds | mean estimate over the last 10% of steps (nats) |");
            sb.AppendLine("|---|---|---|---|");
            foreach (var g in r.Efficiency.GroupBy(p => p.Critic))
            {
                var pts = g.ToList();
                var tail = pts.Skip(pts.Count * 9 / 10).ToList();
                sb.AppendLine(string.Create(c, $"| {g.Key} | {pts[^1].Step + 1} | {pts[^1].Seconds:F1} | {tail.Average(p => p.Estimate):F3} |"));
            }
            sb.AppendLine();
            sb.AppendLine("![estimate vs steps and seconds](poole/efficiency.png)");
            sb.AppendLine();
        }
        if (r.Cost.Count > 0)
        {
            sb.AppendLine("Cost of one training step (median of timed steps after two warm-up steps):");
            sb.AppendLine();
            var ks = r.Cost.Select(x => x.Batch).Distinct().OrderBy(x => x).ToList();
            sb.Append("| critic |").Append(string.Concat(ks.Select(k => $" K={k} |"))).AppendLine();
            sb.Append("|---|").Append(string.Concat(ks.Select(_ => "---|"))).AppendLine();
            foreach (var g in r.Cost.GroupBy(x => x.Critic))
                sb.Append($"| {g.Key} (ms/step) |").Append(string.Concat(ks.Select(k => g.FirstOrDefault(x => x.Batch == k) is { } x ? string.Create(c, $" {x.MillisecondsPerStep:F2} |") : " – |"))).AppendLine();
            sb.AppendLine();
            sb.AppendLine("![cost vs K](poole/cost.png)");
            sb.AppendLine();
        }
        if (r.Load is not null) sb.AppendLine($"Machine load when timed (`uptime`): `{r.Load}`. The machine is shared, so absolute times are noisy; the ratio between critics is the result.");
        sb.AppendLine();
        sb.AppendLine("## The staircase (the paper's Figure 2)");
        sb.AppendLine();
        if (r.Staircase.Count == 0) sb.AppendLine("Not generated yet: run the default sweep (`mibounds-cli sweep --out results/sweep-default`, about 65 min) and then `reproduce poole --parts staircase --sweep results/sweep-default`.");
        else
        {
            sb.AppendLine($"From the sweep folder `{r.SweepFolder}` (its sweep.json holds the protocol).");
            sb.AppendLine();
            foreach (var name in r.Staircase) sb.AppendLine($"![{name}](poole/{name}.png)");
            if (r.StaircaseLevels.Count > 0) StaircaseTables(r, sb);
        }
        sb.AppendLine();
        sb.AppendLine("## Not done");
        sb.AppendLine();
        sb.AppendLine("- The slides' representation-learning experiment on dSprites (optional in the issue): not implemented.");
        return sb.ToString();
    }
}
