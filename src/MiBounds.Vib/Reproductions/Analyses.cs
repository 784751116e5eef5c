using MiBounds.Data;
using MiBounds.Vib.Data;
using MiBounds.Tensors;
using MiBounds.Vib.Analysis;
using MiBounds.Vib.Attacks;
using MiBounds.Vib.Training;

using MiBounds.Vib.Reports;

namespace MiBounds.Vib.Reproductions;

/// <summary>One image of the targeted C&amp;W attack: its test index, whether it succeeded, the perturbation's norms ([0, 1] pixels) and the example.</summary>
public sealed record TargetedImage(int Index, int Label, int Target, bool Success, double L0, double L1, double L2, double LInf, float[] Adversarial);

/// <summary>The targeted C&amp;W attack on the first test images of one class toward another (cw_targeted.json in the run folder).</summary>
public sealed record TargetedAttack(int Source, int Target, CarliniWagnerOptions Options, List<TargetedImage> Images)
{
    /// <summary>The file name in the run folder.</summary>
    public const string File = "cw_targeted.json";

    /// <summary>Mean norms of the successful perturbations.</summary>
    public PerturbationNorms MeanSuccessful() =>
        PerturbationNorms.Mean(Images.Where(i => i.Success).Select(i => new PerturbationNorms(i.L0, i.L1, i.L2, i.LInf)).ToList());
}

/// <summary>Accuracy under the C&amp;W L2 attack on the first test images (cw_accuracy.json): clean, targeted (random wrong target), untargeted.</summary>
public sealed record AttackAccuracy(int Count, CarliniWagnerOptions Options, double Clean, double Targeted, double Untargeted)
{
    /// <summary>The file name in the run folder.</summary>
    public const string File = "cw_accuracy.json";
}

/// <summary>Representation quality of the test set's codes μ(x) (representation.json): k-means purity and ARI against the labels, Hoyer sparsity of μ/σ.</summary>
public sealed record Representation(int Count, int Clusters, ulong Seed, double Purity, double AdjustedRand, double Hoyer)
{
    /// <summary>The file name in the run folder.</summary>
    public const string File = "representation.json";
}

/// <summary>A K = 2 embedding (embedding.json): per test image μ and the covariance (s₁₁, s₁₂, s₂₂), the decoder's entropy (bits) on a grid.</summary>
public sealed record Embedding2D(double[][] Means, double[][] Covariances, int[] Labels, double[][] EntropyBits, double X0, double X1, double Y0, double Y1, double MaxEntropyBits)
{
    /// <summary>The file name in the run folder.</summary>
    public const string File = "embedding.json";
}

/// <summary>The analyses the reproductions run on trained models, each cached as JSON in the run's folder.</summary>
public static class ReproductionAnalyses
{
    /// <summary>Reads a cached analysis, or null when absent or when <paramref name="valid"/> rejects it (other settings).</summary>
    public static T? Read<T>(string folder, string file, Func<T, bool>? valid = null) where T : class
    {
        var path = Path.Combine(folder, file);
        if (!File.Exists(path)) return null;
        T value;
        try { value = JsonOutput.Deserialize<T>(File.ReadAllText(path)); }
        catch (Exception e) when (e is System.Text.Json.JsonException or InvalidOperationException) { throw new DataException($"{path}: malformed ({e.Message})", e); }
        return valid is null || valid(value) ? value : null;
    }

    /// <summary>Writes an analysis atomically.</summary>
    public static void Write<T>(string folder, string file, T value) => JsonOutput.Write(Path.Combine(folder, file), value);

    /// <summary>
    /// The targeted attack on the first <paramref name="count"/> test images of class <paramref name="source"/> toward
    /// <paramref name="target"/>, against the run's prediction rule (12-sample average for stochastic models), averaged weights.
    /// </summary>
    public static TargetedAttack Targeted(VibTrainer trainer, int source, int target, int count, CarliniWagnerOptions options)
    {
        var test = trainer.Data.Test;
        var index = Enumerable.Range(0, test.Count).Where(i => test.Labels[i] == source).Take(count).ToArray();
        if (index.Length == 0) throw new DataException($"the test set has no image of class {source}");
        var images = test.Images.GatherRows(index).Detach();
        var result = trainer.WithAveragedWeights(() =>
            CarliniWagner.Attack(trainer.Predictor(new Rng(trainer.Config.Seed + 104729)), images, index.Select(_ => source).ToArray(), index.Select(_ => target).ToArray(), options));
        var clean = images.ToRows(); var adv = result.Adversarial.ToRows();
        var list = index.Select((idx, i) =>
        {
            var n = PerturbationNorms.Of(clean[i], adv[i]);
            return result.Success[i]
                ? new TargetedImage(idx, source, target, true, n.L0, n.L1, n.L2, n.LInf, adv[i])
                : new TargetedImage(idx, source, target, false, double.NaN, double.NaN, double.NaN, double.NaN, adv[i]);
        }).ToList();
        return new TargetedAttack(source, target, options, list);
    }

    /// <summary>Accuracy on the first <paramref name="count"/> test images, clean and under the targeted (random wrong target) and untargeted C&amp;W attack.</summary>
    public static AttackAccuracy Accuracy(VibTrainer trainer, int count, CarliniWagnerOptions options)
    {
        var test = trainer.Data.Test.Take(count);
        return trainer.WithAveragedWeights(() =>
        {
            var model = trainer.Predictor(new Rng(trainer.Config.Seed + 15485863));
            var targets = CarliniWagner.RandomTargets(test.Labels, test.Classes, new Rng(trainer.Config.Seed + 32452843));
            double clean = AdversarialAttacks.Accuracy(model, test.Images, test.Labels);
            double targeted = CarliniWagner.AdversarialAccuracy(model, test.Images, test.Labels, targets, options);
            double untargeted = CarliniWagner.AdversarialAccuracy(model, test.Images, test.Labels, null, options);
            return new AttackAccuracy(test.Count, options, clean, targeted, untargeted);
        });
    }

    /// <summary>k-means (k-means++, 10 restarts) of the test codes μ(x) against the labels, and the mean Hoyer sparsity of μ/σ_prior.</summary>
    public static Representation Quality(VibTrainer trainer, int count, int clusters = 10, ulong seed = 1)
    {
        var test = trainer.Data.Test.Take(count);
        var mu = trainer.WithAveragedWeights(() =>
        {
            using var _ = Tensor.NoGrad();
            return trainer.Network.Encode(test.Images).Mu.ToRows().Select(r => r.Select(v => (double)v).ToArray()).ToArray();
        });
        var km = KMeans.Fit(mu, clusters, seed, restarts: 10);
        return new Representation(test.Count, clusters, seed, ClusteringScores.Purity(km.Assignments, test.Labels),
            ClusteringScores.AdjustedRandIndex(km.Assignments, test.Labels), ClusteringScores.MeanHoyer(mu, trainer.Config.PriorSigma));
    }

    /// <summary>The K = 2 embedding of the first <paramref name="count"/> test images with full covariances and the decoder's entropy on a grid.</summary>
    public static Embedding2D Embedding(VibTrainer trainer, int count = 1000, int grid = 60)
    {
        if (trainer.Network.Bottleneck != 2) throw new InvalidOperationException($"the embedding needs K = 2, the model has K = {trainer.Network.Bottleneck}");
        var test = trainer.Data.Test.Take(count);
        return trainer.WithAveragedWeights(() =>
        {
            using var _ = Tensor.NoGrad();
            var code = trainer.Network.EncodeGaussian(test.Images);
            var m = code.Mu.ToRows().Select(r => r.Select(v => (double)v).ToArray()).ToArray();
            var covs = trainer.Network.IsStochastic
                ? code.Covariances().Select(c => new[] { c[0, 0], c[0, 1], c[1, 1] }).ToArray()
                : m.Select(_ => new double[] { 0, 0, 0 }).ToArray();
            var sigmas = covs.Select(c => new[] { Math.Sqrt(c[0]), Math.Sqrt(c[2]) }).ToArray();
            var (grid2, e) = RunFigures.EntropyGrid(trainer.Network, m, sigmas, grid);
            var h = Enumerable.Range(0, grid).Select(i => Enumerable.Range(0, grid).Select(j => grid2[i, j]).ToArray()).ToArray();
            return new Embedding2D(m, covs, test.Labels.ToArray(), h, e.Left, e.Right, e.Bottom, e.Top, Math.Log2(trainer.Network.Classes));
        });
    }
}
