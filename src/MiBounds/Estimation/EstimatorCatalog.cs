using MiBounds.Bounds;
using MiBounds.Critics;
using MiBounds.Tensors;

namespace MiBounds.Estimation;

/// <summary>Names the estimators that <see cref="MiEstimation"/> and the command line accept, and builds them.</summary>
public static class EstimatorCatalog
{
    /// <summary>Every accepted name, for help and error messages.</summary>
    public const string Accepted = "auto (default), " + BoundSpec.Accepted + ", club, l1out (upper bounds), ksg (k-NN), gcmi (Gaussian copula), cca (canonical correlations), bmi-infonce (BMI's neural protocol)";

    /// <summary>The critics accepted.</summary>
    public static readonly string[] Critics = ["separable", "concat"];

    /// <summary>Whether <paramref name="name"/> is the KSG estimator.</summary>
    public static bool IsKsg(string name) => Normalize(name) == "ksg";

    /// <summary>Whether <paramref name="name"/> is a closed-form Gaussian estimator (GCMI, CCA): no training, no split.</summary>
    public static bool IsGaussian(string name) => Normalize(name) is "gcmi" or "cca";

    /// <summary>Whether <paramref name="name"/> is the default combination "auto".</summary>
    public static bool IsAuto(string name) => Normalize(name) == "auto";

    /// <summary>Whether <paramref name="name"/> is the BMI benchmark's neural protocol.</summary>
    public static bool IsBmiProtocol(string name) => Normalize(name) == "bmi-infonce";

    /// <summary>Whether <paramref name="name"/> is an upper bound (CLUB, L1Out).</summary>
    public static bool IsUpperBound(string name) => Normalize(name) is "club" or "l1out";

    /// <summary>"lower bound", "upper bound" or "estimate" (neither: KSG, DV, MINE, SMILE).</summary>
    public static string KindOf(string name)
    {
        if (IsKsg(name) || IsGaussian(name) || IsAuto(name)) return "estimate";
        if (IsBmiProtocol(name)) return "lower bound";
        if (IsUpperBound(name)) return "upper bound";
        return BoundSpec.Parse(name).Kind is BoundKind.DonskerVaradhan or BoundKind.Mine or BoundKind.Smile ? "estimate" : "lower bound";
    }

    /// <summary>Throws <see cref="FormatException"/> listing the accepted names if <paramref name="name"/> is unknown.</summary>
    public static string Validate(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (IsKsg(name) || IsUpperBound(name) || IsGaussian(name) || IsAuto(name) || IsBmiProtocol(name)) return Normalize(name);
        try { return BoundSpec.Parse(name).Text; }
        catch (FormatException) { throw new FormatException($"unknown estimator '{name}'; accepted: {Accepted}"); }
    }

    /// <summary>Builds a trainable estimator (not KSG) for data of widths <paramref name="dimX"/>, <paramref name="dimY"/>.</summary>
    public static IMiEstimator Create(string name, int dimX, int dimY, EstimationOptions options, Rng rng)
    {
        ArgumentNullException.ThrowIfNull(options);
        string n = Validate(name);
        if (n is "ksg" or "gcmi" or "cca" or "auto") throw new ArgumentException($"{n} has no trainable estimator of its own: use MiEstimation.Estimate");
        if (n == "bmi-infonce") return new InfoNce(new BmiCritic(dimX, dimY, rng));
        if (n is "club" or "l1out")
        {
            var decoder = new GaussianDecoder(dimX, dimY, rng, options.Hidden, options.Layers);
            return n == "club" ? new Club(decoder) : new L1Out(decoder);
        }
        ICritic critic = Normalize(options.Critic) switch
        {
            "separable" => new SeparableCritic(dimX, dimY, rng, options.Hidden, options.Layers, options.Embed),
            "concat" => new ConcatCritic(dimX, dimY, rng, options.Hidden, options.Layers),
            _ => throw new FormatException($"unknown critic '{options.Critic}'; accepted: {string.Join(", ", Critics)}"),
        };
        return Create(n, critic, dimY, options, rng);
    }

    /// <summary>
    /// Builds the critic-based bound <paramref name="name"/> around your <paramref name="critic"/> (with a learned
    /// baseline on y, of width <paramref name="dimY"/>, for TUBA and Iα). KSG and the upper bounds take no critic.
    /// </summary>
    public static IMiEstimator Create(string name, ICritic critic, int dimY, EstimationOptions options, Rng rng)
    {
        ArgumentNullException.ThrowIfNull(critic);
        ArgumentNullException.ThrowIfNull(options);
        string n = Validate(name);
        if (n is "ksg" or "club" or "l1out" or "gcmi" or "cca" or "auto" or "bmi-infonce") throw new ArgumentException($"{n} takes no critic: a critic factory works with the critic-based bounds ({BoundSpec.Accepted})");
        var spec = BoundSpec.Parse(n);
        return spec.Create(critic, spec.UsesBaseline ? new LearnedBaseline(dimY, rng, options.Hidden, options.Layers) : null);
    }

    private static string Normalize(string name) => name.Trim().ToLowerInvariant();
}
