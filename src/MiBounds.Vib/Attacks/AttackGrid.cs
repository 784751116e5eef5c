using MiBounds.Tensors;

namespace MiBounds.Vib.Attacks;

/// <summary>
/// An adversarial attack as a pluggable entry of a reproduction's grid: crafts adversarial images against a differentiable
/// classifier (images → log-probabilities) at a perturbation size in [0, 1] pixel units (L∞ radius or L2 norm).
/// </summary>
public interface IAttack
{
    /// <summary>Short name used in records (fgsm, pgd, cw).</summary>
    string Name { get; }

    /// <summary>linf or l2: what <c>size</c> measures.</summary>
    string Norm { get; }

    /// <summary>Adversarial versions of <paramref name="images"/> for their <paramref name="labels"/>.</summary>
    Tensor Perturb(Func<Tensor, Tensor> model, Tensor images, int[] labels, double size, Rng rng);
}

/// <summary>FGSM: one signed-gradient step of the full radius.</summary>
public sealed class FgsmAttack : IAttack
{
    /// <inheritdoc />
    public string Name => "fgsm";
    /// <inheritdoc />
    public string Norm => "linf";
    /// <inheritdoc />
    public Tensor Perturb(Func<Tensor, Tensor> model, Tensor images, int[] labels, double size, Rng rng) =>
        AdversarialAttacks.Perturb(model, images, labels, AttackSpec.Fgsm(size), rng);
}

/// <summary>
/// L∞ PGD with a random start and Foolbox's defaults (LinfPGD: 40 steps of ε·0.01/0.3, i.e. 0.01 at ε = 0.3), so the
/// step scales with the radius up to ε = 1.
/// </summary>
public sealed class PgdAttack(int steps = 40, double relativeStep = 0.01 / 0.3) : IAttack
{
    /// <summary>Steps of the attack.</summary>
    public int Steps { get; } = steps;
    /// <summary>Step size as a fraction of ε.</summary>
    public double RelativeStep { get; } = relativeStep;
    /// <inheritdoc />
    public string Name => "pgd";
    /// <inheritdoc />
    public string Norm => "linf";
    /// <inheritdoc />
    public Tensor Perturb(Func<Tensor, Tensor> model, Tensor images, int[] labels, double size, Rng rng) =>
        AdversarialAttacks.Perturb(model, images, labels, AttackSpec.Pgd(size, Steps, size * RelativeStep), rng);
}

/// <summary>
/// Carlini–Wagner L2 at a budget: the untargeted minimal-perturbation attack (<see cref="CarliniWagner"/>), its example
/// kept where its L2 distance, in [0, 1] pixel units, is at most the size, and the clean image otherwise (the attack
/// failed within the budget). Fewer iterations than the original attack by default, as the grids attack 1000 images.
/// The minimal perturbations do not depend on the budget, so the attack remembers its last <see cref="CacheSize"/>
/// results by model and image values: a grid over several budgets runs C&amp;W once per model and batch.
/// </summary>
public sealed class CarliniWagnerAttack(CarliniWagnerOptions? options = null) : IAttack
{
    /// <summary>How many (model, batch) results are kept (a 1000-image grid over six models and a substitute needs 70).</summary>
    public const int CacheSize = 128;
    private readonly LinkedList<(Func<Tensor, Tensor> Model, float[] Images, int[] Labels, CarliniWagnerResult Result)> _cache = new();

    /// <summary>The attack's settings.</summary>
    public CarliniWagnerOptions Options { get; } = options ?? new CarliniWagnerOptions { Iterations = 100, BinarySearchSteps = 5 };
    /// <summary>How many times the C&amp;W optimization itself ran (the rest were served from the cache).</summary>
    public int AttacksRun { get; private set; }
    /// <inheritdoc />
    public string Name => "cw";
    /// <inheritdoc />
    public string Norm => "l2";
    /// <inheritdoc />
    public Tensor Perturb(Func<Tensor, Tensor> model, Tensor images, int[] labels, double size, Rng rng)
    {
        var result = MinimalPerturbations(model, images, labels);
        // The model's pixels span PixelMax − PixelMin; sizes are in [0, 1] units.
        double scale = Options.PixelMax - Options.PixelMin;
        var output = result.Adversarial.Clone();
        int d = images.Dim(1);
        for (int i = 0; i < labels.Length; i++)
            if (!result.Success[i] || result.L2[i] / scale > size) images.Values.Slice(i * d, d).CopyTo(output.Data.Slice(i * d, d));
        return output;
    }

    // Deterministic in (model, images, labels): the same delegate (Delegate.Equals: same method and target) on equal values gives the same result.
    private CarliniWagnerResult MinimalPerturbations(Func<Tensor, Tensor> model, Tensor images, int[] labels)
    {
        var values = images.Values;
        for (var node = _cache.First; node is not null; node = node.Next)
        {
            var entry = node.Value;
            if (!entry.Model.Equals(model) || !entry.Labels.AsSpan().SequenceEqual(labels) || !entry.Images.AsSpan().SequenceEqual(values)) continue;
            _cache.Remove(node);
            _cache.AddFirst(node);
            return entry.Result;
        }
        var result = CarliniWagner.Attack(model, images, labels, null, Options);
        AttacksRun++;
        _cache.AddFirst((model, values.ToArray(), labels.ToArray(), result));
        if (_cache.Count > CacheSize) _cache.RemoveLast();
        return result;
    }
}

/// <summary>The attack kinds a grid may name, and which of them exist yet.</summary>
public static class AttackCatalog
{
    /// <summary>Every kind a reproduction may list: fgsm, pgd, cw (Carlini–Wagner L2).</summary>
    public static readonly string[] Kinds = ["fgsm", "pgd", "cw"];

    /// <summary>Why a kind has no implementation yet (null when it has one).</summary>
    public static string? Missing(string kind) => kind switch
    {
        "fgsm" or "pgd" or "cw" => null,
        _ => throw new ArgumentException($"unknown attack '{kind}'; attacks: {string.Join(", ", Kinds)}"),
    };

    /// <summary>The attack of <paramref name="kind"/>; null when it is not implemented yet (see <see cref="Missing"/>).</summary>
    public static IAttack? Create(string kind) => Missing(kind) is null ? kind switch { "fgsm" => new FgsmAttack(), "cw" => new CarliniWagnerAttack(), _ => new PgdAttack() } : null;

    /// <summary>Adversarial images [N, D] crafted against <paramref name="source"/> in batches (black-box: once, then scored on every target).</summary>
    public static Tensor Craft(IAttack attack, Func<Tensor, Tensor> source, Tensor images, int[] labels, double size, Rng rng, int batch = 100)
    {
        int n = labels.Length, d = images.Dim(1);
        var all = Tensor.Zeros(n, d);
        for (int start = 0; start < n; start += batch)
        {
            int len = Math.Min(batch, n - start);
            var adv = attack.Perturb(source, images.Slice(0, start, len).Detach(), labels[start..(start + len)], size, rng);
            adv.Values.CopyTo(all.Data.Slice(start * d));
        }
        return all;
    }

    /// <summary>Accuracy of <paramref name="target"/> on adversarial images crafted against <paramref name="source"/> (the target itself for white-box), in batches.</summary>
    public static double Accuracy(IAttack attack, Func<Tensor, Tensor> source, Func<Tensor, Tensor> target, Tensor images, int[] labels, double size, Rng rng, int batch = 100)
    {
        int correct = 0, n = labels.Length;
        for (int start = 0; start < n; start += batch)
        {
            int len = Math.Min(batch, n - start);
            var y = labels[start..(start + len)];
            var adv = attack.Perturb(source, images.Slice(0, start, len).Detach(), y, size, rng);
            int[] pred;
            using (Tensor.NoGrad()) pred = target(adv).ArgMaxRows();
            for (int i = 0; i < len; i++) if (pred[i] == y[i]) correct++;
        }
        return (double)correct / n;
    }
}
