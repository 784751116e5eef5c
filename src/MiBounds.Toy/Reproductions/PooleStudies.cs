using System.Diagnostics;
using System.Globalization;
using MiBounds.Bounds;
using MiBounds.Critics;
using MiBounds.Plots;
using MiBounds.Tensors;
using MiBounds.Toy.Commands;
using MiBounds.Toy.Reports;
using MiBounds.Toy.Sweep;
using MiBounds.Toy.Tasks;
using MiBounds.Training;
using ScottPlot;

namespace MiBounds.Toy.Reproductions;

/// <summary>Bias, variance and MSE of one bound at one true MI with optimal critics (nats, nats²).</summary>
public sealed record BiasVarianceRow(double Mi, string Bound, double? Alpha, double Mean, double Bias, double Variance, double Mse, int Batches)
{
    /// <summary>TUBA, NWJ, InfoNCE, JS or Iα (α=…).</summary>
    public string Label => Alpha is double a ? string.Create(CultureInfo.InvariantCulture, $"Iα (α={a:G})") : Bound switch
    {
        "Tuba" => "TUBA", "Nwj" => "NWJ", "InfoNce" => "InfoNCE", "JensenShannon" => "JS", _ => Bound,
    };
}

/// <summary>
/// Poole et al. (2019), Figure 3: bias, variance and MSE of TUBA, NWJ, InfoNCE, JS and Iα against the true MI, each
/// bound evaluated with its optimal critic on fresh correlated-Gaussian batches (<see cref="OptimalStudy"/>, no training).
/// </summary>
public static class PooleBiasVariance
{
    /// <summary>The Iα values of the figure.</summary>
    public static readonly double[] Alphas = [0.01, 0.1, 0.5, 0.9, 0.99];

    /// <summary>The bounds of the figure (<see cref="OptimalStudy.Row.Bound"/> names).</summary>
    public static readonly string[] Bounds = ["Tuba", "Nwj", "InfoNce", "JensenShannon", "InterpolatedBound"];

    /// <summary>Runs the study: <paramref name="batches"/> batches of <paramref name="batch"/> pairs per MI level.</summary>
    public static List<BiasVarianceRow> Compute(int dim, int batch, int batches, IReadOnlyList<double> levels, ulong seed) =>
        OptimalStudy.Compute(dim, batch, batches, levels, seed, Alphas).Where(r => Bounds.Contains(r.Bound)).Select(From).ToList();

    /// <summary>Bias = mean − true MI, variance = the batches' sample variance, MSE = bias² + variance.</summary>
    public static BiasVarianceRow From(OptimalStudy.Row r)
    {
        double bias = r.Mean - r.Mi, variance = r.Std * r.Std;
        return new BiasVarianceRow(r.Mi, r.Bound, r.Alpha, r.Mean, bias, variance, bias * bias + variance, r.Batches);
    }

    /// <summary>Three panels (bias; variance and MSE on decade axes) against the true MI, one line per bound.</summary>
    public static void Figure(IReadOnlyList<BiasVarianceRow> rows, string basePath, int dim, int batch)
    {
        var labels = rows.Select(r => r.Label).Distinct().ToList();
        var panels = new (string Title, string Y, Func<BiasVarianceRow, double> Value, bool Log)[]
        {
            ("bias", "bias (nats)", r => r.Bias, false),
            ("variance", "variance (nats²)", r => r.Variance, true),
            ("MSE", "MSE (nats²)", r => r.Mse, true),
        };
        Multiplot? multiplot = null;
        foreach (var (title, y, value, log) in panels)
        {
            var plot = Figures.NewPlot(title, "true MI (nats)", y);
            if (log) Figures.LogY(plot);
            for (int b = 0; b < labels.Count; b++)
            {
                var pts = rows.Where(r => r.Label == labels[b]).OrderBy(r => r.Mi)
                    .Select(r => (X: r.Mi, Y: log ? Math.Log10(Math.Max(value(r), 1e-12)) : value(r))).ToArray();
                var line = plot.Add.Scatter(pts.Select(p => p.X).ToArray(), pts.Select(p => p.Y).ToArray(), Figures.Color(b));
                line.LineWidth = 2;
                line.MarkerSize = 6;
                line.LegendText = labels[b];
                // TUBA, NWJ and JS coincide with optimal critics: line styles keep all three visible.
                line.LinePattern = labels[b] switch { "NWJ" => LinePattern.Dashed, "JS" => LinePattern.Dotted, _ => LinePattern.Solid };
                if (labels[b] == "TUBA") line.LineWidth = 5;
            }
            if (title == "bias") plot.ShowLegend(Edge.Bottom);
            else plot.HideLegend();
            if (multiplot is null) multiplot = new Multiplot(plot);
            else multiplot.AddPlot(plot);
        }
        multiplot!.Layout = new ScottPlot.MultiplotLayouts.Columns();
        Figures.Save(multiplot, basePath, 1500, 620, $"Bias, variance and MSE with optimal critics (d = {dim}, K = {batch})",
            "each point: batches of fresh samples; TUBA (thick), NWJ (dashed) and JS (dotted) coincide with optimal critics");
    }
}

/// <summary>One point of an efficiency run: the step, the seconds since the start, the training batch's estimate.</summary>
public sealed record EfficiencyPoint(string Critic, long Step, double Seconds, double Estimate);

/// <summary>Cost of one training step of a critic at batch size K (median of timed steps, after warm-up).</summary>
public sealed record StepCost(string Critic, int Batch, double MillisecondsPerStep, int Steps);

/// <summary>
/// Poole et al. (2019), the critic architectures' efficiency–accuracy trade-off: InfoNCE trained with the separable critic
/// (2K network passes per batch) and the concat critic (K² passes) on the correlated Gaussian, the estimate against
/// steps and wall-clock seconds; and the cost of a step against the batch size.
/// </summary>
public static class PooleEfficiency
{
    /// <summary>Trains InfoNCE with each critic for <paramref name="steps"/> steps at true MI <paramref name="mi"/>.</summary>
    public static List<EfficiencyPoint> Train(int dim, int batch, int steps, double mi, ulong seed, double learningRate = 5e-4, CancellationToken cancellation = default)
    {
        var points = new List<EfficiencyPoint>();
        var task = CorrelatedGaussian.FromMi(dim, mi);
        foreach (var critic in SweepConfig.CriticKinds)
        {
            var rng = new Rng(seed);
            var trainer = new MiTrainer(new InfoNce(Critic(critic, dim, rng)), (float)learningRate);
            var sw = Stopwatch.StartNew();
            for (int s = 0; s < steps && !cancellation.IsCancellationRequested; s++)
            {
                double v = trainer.Step(task.Sample(batch, rng));
                points.Add(new EfficiencyPoint(critic, s, sw.Elapsed.TotalSeconds, v));
            }
        }
        return points;
    }

    /// <summary>Median milliseconds per training step of each critic at each batch size (2 warm-up steps, then <paramref name="steps"/> timed).</summary>
    public static List<StepCost> Cost(int dim, IReadOnlyList<int> batches, int steps, ulong seed)
    {
        var costs = new List<StepCost>();
        var task = CorrelatedGaussian.FromMi(dim, 4);
        foreach (var critic in SweepConfig.CriticKinds)
            foreach (int k in batches)
            {
                var rng = new Rng(seed);
                var trainer = new MiTrainer(new InfoNce(Critic(critic, dim, rng)));
                var times = new double[steps];
                for (int s = -2; s < steps; s++)
                {
                    var sample = task.Sample(k, rng);
                    var sw = Stopwatch.StartNew();
                    trainer.Step(sample);
                    if (s >= 0) times[s] = sw.Elapsed.TotalMilliseconds;
                }
                Array.Sort(times);
                costs.Add(new StepCost(critic, k, times[steps / 2], steps));
            }
        return costs;
    }

    private static ICritic Critic(string kind, int dim, Rng rng) =>
        kind == "concat" ? new ConcatCritic(dim, dim, rng) : new SeparableCritic(dim, dim, rng);

    /// <summary>Estimate vs step and vs seconds (EMA over 100 steps bold, raw faint), one colour per critic, true MI and log K dashed.</summary>
    public static void Figure(IReadOnlyList<EfficiencyPoint> points, double mi, int batch, string basePath)
    {
        Multiplot? multiplot = null;
        foreach (bool bySeconds in new[] { false, true })
        {
            var plot = Figures.NewPlot(bySeconds ? "estimate vs wall-clock time" : "estimate vs training step", bySeconds ? "seconds" : "training step", "InfoNCE estimate (nats)");
            var critics = points.Select(p => p.Critic).Distinct().ToList();
            for (int c = 0; c < critics.Count; c++)
            {
                var mine = points.Where(p => p.Critic == critics[c]).ToArray();
                double[] xs = mine.Select(p => bySeconds ? p.Seconds : p.Step).ToArray();
                double[] raw = mine.Select(p => p.Estimate).ToArray();
                var faint = plot.Add.Scatter(xs, raw, Figures.Color(c).WithAlpha(0.25));
                faint.MarkerSize = 0; faint.LineWidth = 1;
                var ema = plot.Add.Scatter(xs, Ema(raw, 100), Figures.Color(c));
                ema.MarkerSize = 0; ema.LineWidth = 2.5f; ema.LegendText = critics[c] + " critic";
            }
            var truth = plot.Add.HorizontalLine(mi, 1.5f, Colors.Black);
            truth.LegendText = "true MI";
            var ceiling = plot.Add.HorizontalLine(Math.Log(batch), 1.5f, Colors.Gray, LinePattern.Dashed);
            ceiling.LegendText = string.Create(CultureInfo.InvariantCulture, $"log K = {Math.Log(batch):0.00}");
            plot.ShowLegend(Edge.Bottom);
            if (multiplot is null) multiplot = new Multiplot(plot);
            else multiplot.AddPlot(plot);
        }
        multiplot!.Layout = new ScottPlot.MultiplotLayouts.Columns();
        Figures.Save(multiplot, basePath, 1400, 620, string.Create(CultureInfo.InvariantCulture, $"Separable vs concat critic, InfoNCE, true MI {mi:G} nats, K = {batch}"));
    }

    /// <summary>Milliseconds per step against K on decade axes, one line per critic.</summary>
    public static void CostFigure(IReadOnlyList<StepCost> costs, string basePath)
    {
        var plot = Figures.NewPlot("cost of a training step vs batch size", "batch size K", "ms per step");
        Figures.LogX(plot);
        Figures.LogY(plot);
        var critics = costs.Select(c => c.Critic).Distinct().ToList();
        for (int c = 0; c < critics.Count; c++)
        {
            var mine = costs.Where(x => x.Critic == critics[c]).OrderBy(x => x.Batch).ToArray();
            var line = plot.Add.Scatter(mine.Select(x => Math.Log10(x.Batch)).ToArray(), mine.Select(x => Math.Log10(x.MillisecondsPerStep)).ToArray(), Figures.Color(c));
            line.LineWidth = 2; line.MarkerSize = 7;
            line.LegendText = critics[c] + (critics[c] == "concat" ? " (K² pairs)" : " (2K passes)");
        }
        plot.ShowLegend(Edge.Right);
        Figures.Save(plot, basePath, 1000, 600);
    }

    /// <summary>Exponential moving average with span <paramref name="span"/> (α = 2/(span+1)).</summary>
    public static double[] Ema(IReadOnlyList<double> values, int span)
    {
        var r = new double[values.Count];
        double a = 2.0 / (span + 1), m = double.NaN;
        for (int i = 0; i < values.Count; i++)
        {
            double v = values[i];
            m = double.IsNaN(m) ? v : double.IsFinite(v) ? m + a * (v - m) : m;
            r[i] = m;
        }
        return r;
    }
}

/// <summary>Poole et al. (2019), Figure 2 from a finished (or partial) sweep folder: the runs' CSVs read back, no training.</summary>
public static class PooleStaircase
{
    /// <summary>Reads DIR/sweep.json and every run's DIR/runs/&lt;id&gt;.csv (missing ones give empty runs).</summary>
    public static (SweepConfig Config, List<RunResult> Runs) Load(string sweepDir)
    {
        string configPath = Path.Combine(sweepDir, SweepRunner.ConfigFile);
        if (!File.Exists(configPath)) throw new FileNotFoundException($"--sweep: {configPath} not found (not a sweep folder)");
        var config = SweepConfig.Load(configPath);
        var runs = new List<RunResult>();
        foreach (var spec in config.Runs())
        {
            string csv = Path.Combine(SweepRunner.RunsFolder(sweepDir), spec.Id + ".csv");
            double[] estimates = File.Exists(csv) ? MetricsLog.ReadRows(csv, out _).Select(row => MetricsLog.Parse(row[2])).ToArray() : [];
            var status = estimates.Length >= config.TotalSteps ? RunStatus.Done : RunStatus.Interrupted;
            runs.Add(new RunResult(spec, estimates, new double[config.Levels.Length], spec.Bound.CreateScoreOnly().Ceiling(config.Batch), status, null));
        }
        return (config, runs);
    }

    /// <summary>Writes figure-&lt;task&gt;-&lt;critic&gt;.png/.svg into <paramref name="outDir"/>; returns the base names written.</summary>
    public static List<string> Figures(SweepConfig config, IReadOnlyList<RunResult> runs, string outDir)
    {
        var written = new List<string>();
        foreach (var critic in config.Critics)
            foreach (var task in config.Tasks)
            {
                var panels = runs.Where(r => r.Spec.Critic == critic && r.Spec.Task == task).ToArray();
                string name = "staircase-" + Report.FigureBase(critic, task)["figure-".Length..];
                StaircaseFigure.Save(config, critic, task, panels, Path.Combine(outDir, name));
                written.Add(name);
            }
        return written;
    }
}
