using MiBounds.Tensors;
using MiBounds.Tensors.Optim;
using MiBounds.Vib.Data;

namespace MiBounds.Vib.Attacks;

/// <summary>
/// Settings of the Carlini–Wagner L2 attack. The defaults are the original attack's (Carlini and Wagner 2017):
/// 9 binary-search steps over c from 1e-3, 10 000 Adam iterations at lr 1e-2 with early abort, confidence κ = 0.
/// </summary>
public sealed record CarliniWagnerOptions
{
    /// <summary>Adam iterations per binary-search step.</summary>
    public int Iterations { get; init; } = 10000;
    /// <summary>Binary-search steps over the constant c (each restarts the perturbation at zero).</summary>
    public int BinarySearchSteps { get; init; } = 9;
    /// <summary>The first c, per image.</summary>
    public double InitialC { get; init; } = 1e-3;
    /// <summary>Adam's learning rate on the perturbation in tanh space.</summary>
    public double LearningRate { get; init; } = 1e-2;
    /// <summary>Confidence κ: the target's log-probability must beat every other class's by κ (untargeted: some class beats the label's by κ).</summary>
    public double Confidence { get; init; }
    /// <summary>Stop a binary-search step when the loss has not fallen by 0.01% over a tenth of the iterations.</summary>
    public bool AbortEarly { get; init; } = true;
    /// <summary>Lower end of the pixel range.</summary>
    public float PixelMin { get; init; } = ImageDataset.PixelMin;
    /// <summary>Upper end of the pixel range.</summary>
    public float PixelMax { get; init; } = ImageDataset.PixelMax;
}

/// <summary>The outcome of a Carlini–Wagner attack on a batch.</summary>
/// <param name="Adversarial">Per image the successful example of least L2 distance, or the clean image where the attack failed, [N, D].</param>
/// <param name="Success">Per image, whether an example meeting the confidence was found.</param>
/// <param name="L2">Per image, the L2 distance of the adversarial example in the model's pixel units (NaN on failure).</param>
/// <param name="C">Per image, the constant c of the best example (NaN on failure).</param>
public sealed record CarliniWagnerResult(Tensor Adversarial, bool[] Success, double[] L2, double[] C);

/// <summary>
/// The Carlini–Wagner L2 attack (Carlini and Wagner 2017) against any differentiable classifier given as a function from
/// images [N, D] to class log-probabilities (or logits) [N, C]. The image is x = mid + half·tanh(w), so it stays in the
/// pixel range without clipping; Adam minimizes ‖x − x₀‖² + c·f(x) over w, with
/// f = max(max_{i≠t} Z_i − Z_t, −κ) toward target t, or f = max(Z_y − max_{i≠y} Z_i, −κ) away from label y;
/// c is binary-searched per image (halved toward the last success, ×10 while none). Differences of log-probabilities
/// equal differences of logits, so a model's log-softmax output gives the original attack exactly.
/// </summary>
public static class CarliniWagner
{
    /// <summary>
    /// Attacks <paramref name="images"/> with true <paramref name="labels"/>: toward <paramref name="targets"/> when given
    /// (targeted), otherwise toward any other class (untargeted). All images are optimized together, each with its own c.
    /// For a stochastic model the success of each iterate is judged on the same forward pass that gives its gradient.
    /// </summary>
    public static CarliniWagnerResult Attack(Func<Tensor, Tensor> model, Tensor images, int[] labels, int[]? targets, CarliniWagnerOptions options)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        if (images.Rank != 2 || images.Dim(0) != labels.Length) throw new ArgumentException($"images {Tensor.ShapeString(images.Shape)} do not fit {labels.Length} labels");
        if (targets is not null && targets.Length != labels.Length) throw new ArgumentException($"{targets.Length} targets for {labels.Length} images");
        if (options.Iterations < 1 || options.BinarySearchSteps < 1) throw new ArgumentOutOfRangeException(nameof(options), "iterations and binary-search steps must be ≥ 1");
        int n = images.Dim(0), dim = images.Dim(1);
        bool targeted = targets is not null;
        int[] goal = targets ?? labels;
        float mid = (options.PixelMax + options.PixelMin) / 2, half = (options.PixelMax - options.PixelMin) / 2;
        var clean = images.Detach().Values.ToArray();

        // w₀ = atanh of the clean image, shrunk slightly so pixels at the range's ends stay finite.
        var w0 = new float[clean.Length];
        for (int i = 0; i < clean.Length; i++) w0[i] = MathF.Atanh(Math.Clamp((clean[i] - mid) / half, -1, 1) * 0.999999f);
        var w0Tensor = Tensor.FromArray(w0, n, dim);
        var x0 = Tensor.FromArray(clean, n, dim);

        var c = Enumerable.Repeat(options.InitialC, n).ToArray();
        var lower = new double[n];
        var upper = Enumerable.Repeat(1e10, n).ToArray();
        var bestL2 = Enumerable.Repeat(double.PositiveInfinity, n).ToArray();
        var bestC = Enumerable.Repeat(double.NaN, n).ToArray();
        var best = (float[])clean.Clone();
        float kappa = (float)options.Confidence;
        int classes = -1;
        var workspace = new TensorWorkspace();

        for (int search = 0; search < options.BinarySearchSteps; search++)
        {
            var delta = Tensor.Parameter(Tensor.Zeros(n, dim), "cw.delta");
            var adam = new Adam([delta], (float)options.LearningRate);
            var cTensor = Tensor.FromArray(c.Select(v => (float)v).ToArray(), n);
            var succeededNow = new bool[n];
            double previous = double.PositiveInfinity;
            for (int it = 0; it < options.Iterations; it++)
            {
                using var scope = workspace.Enter(); // the iteration's graph; delta and Adam's state live outside it
                adam.ZeroGrad();
                var x = (w0Tensor + delta).Tanh() * half + mid;
                var z = model(x);
                if (classes < 0) classes = z.Dim(1);
                var onehot = Tensor.OneHot(goal, classes);
                var zGoal = z.PickPerRow(goal);
                var zOther = (z - onehot * 1e9f).Max(1); // the best class other than the goal
                var margin = targeted ? zOther - zGoal : zGoal - zOther;
                var f = (margin + kappa).Relu() - kappa;     // max(margin, −κ)
                var dist = (x - x0).Square().Sum(1);
                var loss = (dist + cTensor * f).Sum();
                loss.Backward();

                // Record this iterate's successes before the step moves it.
                var m = margin.Values; var dv = dist.Values; var xv = x.Values;
                for (int i = 0; i < n; i++)
                {
                    if (!(m[i] < -kappa)) continue; // the goal is not yet met by κ
                    succeededNow[i] = true;
                    if (!(dv[i] < bestL2[i])) continue;
                    bestL2[i] = dv[i]; bestC[i] = c[i];
                    xv.Slice(i * dim, dim).CopyTo(best.AsSpan(i * dim, dim));
                }
                adam.Step();
                double l = loss.Item();
                if (options.AbortEarly && it % Math.Max(1, options.Iterations / 10) == 0)
                {
                    if (l > previous * 0.9999) break;
                    previous = l;
                }
            }
            for (int i = 0; i < n; i++)
            {
                if (succeededNow[i]) { upper[i] = Math.Min(upper[i], c[i]); c[i] = (lower[i] + upper[i]) / 2; }
                else { lower[i] = Math.Max(lower[i], c[i]); c[i] = upper[i] < 1e9 ? (lower[i] + upper[i]) / 2 : c[i] * 10; }
            }
        }
        var success = bestL2.Select(double.IsFinite).ToArray();
        return new CarliniWagnerResult(Tensor.FromArray(best, n, dim), success,
            bestL2.Select(v => double.IsFinite(v) ? Math.Sqrt(v) : double.NaN).ToArray(), bestC);
    }

    /// <summary>
    /// Accuracy of <paramref name="model"/> on C&amp;W adversarial examples of <paramref name="images"/>, attacked in batches
    /// (a failed attack leaves the clean image, which counts if it is classified correctly). Targets, when given, are per image.
    /// </summary>
    public static double AdversarialAccuracy(Func<Tensor, Tensor> model, Tensor images, int[] labels, int[]? targets, CarliniWagnerOptions options, int batch = 100)
    {
        int correct = 0, n = labels.Length;
        for (int start = 0; start < n; start += batch)
        {
            int len = Math.Min(batch, n - start);
            var result = Attack(model, images.Slice(0, start, len).Detach(), labels[start..(start + len)], targets?[start..(start + len)], options);
            int[] pred;
            using (Tensor.NoGrad()) pred = model(result.Adversarial).ArgMaxRows();
            for (int i = 0; i < len; i++) if (pred[i] == labels[start + i]) correct++;
        }
        return (double)correct / n;
    }

    /// <summary>A random target per label, uniform over the other classes, from <paramref name="rng"/>.</summary>
    public static int[] RandomTargets(int[] labels, int classes, Rng rng) =>
        labels.Select(y => { int t = (int)(rng.NextDouble() * (classes - 1)) % (classes - 1); return t >= y ? t + 1 : t; }).ToArray();
}
