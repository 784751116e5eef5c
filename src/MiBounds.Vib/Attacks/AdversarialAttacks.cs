using MiBounds.Tensors;
using MiBounds.Vib.Data;

namespace MiBounds.Vib.Attacks;

/// <summary>An L∞ attack: its name, radius and steps. Radii and steps are in [0, 1] pixel units.</summary>
public sealed record AttackSpec(string Name, double Epsilon, int Steps = 40, double StepSize = 0.01, bool RandomStart = true)
{
    /// <summary>FGSM with radius ε.</summary>
    public static AttackSpec Fgsm(double epsilon) => new("fgsm", epsilon, Steps: 1, StepSize: epsilon, RandomStart: false);

    /// <summary>PGD with radius ε, 40 steps of 0.01 from a random start (Madry et al.).</summary>
    public static AttackSpec Pgd(double epsilon, int steps = 40, double stepSize = 0.01) => new("pgd", epsilon, steps, stepSize, RandomStart: true);
}

/// <summary>
/// White-box L∞ attacks on an image classifier given as a differentiable function from images [N, D]
/// (pixels in [<see cref="ImageDataset.PixelMin"/>, <see cref="ImageDataset.PixelMax"/>]) to class log-probabilities [N, C].
/// Radii are given in [0, 1] pixel units; since pixels are scaled to [−1, 1], they double on the model's input.
/// </summary>
public static class AdversarialAttacks
{
    /// <summary>The adversarial version of <paramref name="images"/>: FGSM when the spec has one step and no random start, PGD otherwise.</summary>
    public static Tensor Perturb(Func<Tensor, Tensor> model, Tensor images, int[] labels, AttackSpec spec, Rng rng)
    {
        if (spec.Epsilon < 0 || spec.Epsilon > 1) throw new ArgumentOutOfRangeException(nameof(spec), spec.Epsilon, "ε must be in [0, 1] pixel units");
        if (images.Rank != 2 || images.Dim(0) != labels.Length) throw new ArgumentException($"images {Tensor.ShapeString(images.Shape)} do not fit {labels.Length} labels");
        float eps = ImageDataset.EpsilonToScaled(spec.Epsilon), step = ImageDataset.EpsilonToScaled(spec.StepSize);
        var clean = images.Detach();
        var x = clean.Clone();
        if (eps == 0) return x;
        if (spec.RandomStart)
        {
            var noise = Tensor.RandomUniform(rng, x.Shape, -eps, eps);
            x = (x + noise).Clamp(ImageDataset.PixelMin, ImageDataset.PixelMax);
        }
        // Each step's graph lives in a workspace (its buffers reused by the next step); x and clean live outside it.
        var workspace = new TensorWorkspace();
        for (int s = 0; s < spec.Steps; s++)
        {
            using var scope = workspace.Enter();
            var grad = LossGradient(model, x, labels);
            var xs = x.Data; var g = grad.Values; var c = clean.Values;
            for (int i = 0; i < xs.Length; i++)
            {
                float v = xs[i] + step * MathF.Sign(g[i]);
                v = Math.Clamp(v, c[i] - eps, c[i] + eps);
                xs[i] = Math.Clamp(v, ImageDataset.PixelMin, ImageDataset.PixelMax);
            }
        }
        return x;
    }

    /// <summary>Gradient of the summed cross-entropy −Σ log p(y_i | x_i) with respect to the images.</summary>
    public static Tensor LossGradient(Func<Tensor, Tensor> model, Tensor images, int[] labels)
    {
        var x = images.Detach().Clone();
        x.RequiresGrad = true;
        var loss = -model(x).PickPerRow(labels).Sum();
        loss.Backward();
        return x.Grad ?? Tensor.ZerosLike(x);
    }

    /// <summary>Fraction of images whose most probable class (under <paramref name="model"/>) is the label; evaluated in batches without gradients.</summary>
    public static double Accuracy(Func<Tensor, Tensor> model, Tensor images, int[] labels, int batch = 500)
    {
        int correct = 0, n = labels.Length;
        var workspace = new TensorWorkspace(); // one batch's tensors at a time
        using (Tensor.NoGrad())
        {
            for (int start = 0; start < n; start += batch)
            {
                int len = Math.Min(batch, n - start);
                using var scope = workspace.Enter();
                var pred = model(images.Slice(0, start, len)).ArgMaxRows();
                for (int i = 0; i < len; i++) if (pred[i] == labels[start + i]) correct++;
            }
        }
        return (double)correct / n;
    }

    /// <summary>Accuracy on adversarial examples crafted in batches of <paramref name="batch"/> against the same model.</summary>
    public static double AdversarialAccuracy(Func<Tensor, Tensor> model, Tensor images, int[] labels, AttackSpec spec, Rng rng, int batch = 100)
    {
        int correct = 0, n = labels.Length;
        var workspace = new TensorWorkspace();
        for (int start = 0; start < n; start += batch)
        {
            int len = Math.Min(batch, n - start);
            var y = labels[start..(start + len)];
            var adv = Perturb(model, images.Slice(0, start, len).Detach(), y, spec, rng);
            int[] pred;
            using (Tensor.NoGrad()) using (workspace.Enter()) pred = model(adv).ArgMaxRows();
            for (int i = 0; i < len; i++) if (pred[i] == y[i]) correct++;
        }
        return (double)correct / n;
    }
}
