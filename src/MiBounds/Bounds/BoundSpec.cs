using System.Globalization;
using MiBounds.Critics;

namespace MiBounds.Bounds;

/// <summary>Kinds of bound that <see cref="BoundSpec"/> can name.</summary>
public enum BoundKind
{
    /// <summary><see cref="Bounds.Nwj"/>.</summary>
    Nwj,
    /// <summary><see cref="Bounds.Tuba"/>.</summary>
    Tuba,
    /// <summary><see cref="Bounds.InfoNce"/>.</summary>
    InfoNce,
    /// <summary><see cref="Bounds.JensenShannon"/>.</summary>
    JensenShannon,
    /// <summary><see cref="Bounds.InterpolatedBound"/>.</summary>
    Interpolated,
    /// <summary><see cref="Bounds.Smile"/>.</summary>
    Smile,
    /// <summary><see cref="Bounds.Mine"/>.</summary>
    Mine,
    /// <summary><see cref="Bounds.DonskerVaradhan"/>.</summary>
    DonskerVaradhan,
}

/// <summary>
/// A bound named as on the command line: nwj, tuba, infonce, js, alpha&lt;α&gt; (e.g. alpha0.5), smile&lt;τ&gt; (e.g. smile5,
/// smileinf), mine, dv. Parses, validates and builds the bound for a critic and baseline.
/// </summary>
public sealed record BoundSpec(BoundKind Kind, double Parameter, string Text)
{
    /// <summary>The names accepted, for help and error messages.</summary>
    public const string Accepted = "nwj, tuba, infonce, js, alpha<α in (0,1)> (e.g. alpha0.5), smile<τ> (e.g. smile5, smileinf), mine, dv";

    /// <summary>Whether the bound needs a baseline b(y).</summary>
    public bool UsesBaseline => Kind is BoundKind.Tuba or BoundKind.Interpolated;

    /// <summary>Parses one name; throws <see cref="FormatException"/> with the accepted names otherwise.</summary>
    public static BoundSpec Parse(string text)
    {
        string t = text.Trim().ToLowerInvariant();
        switch (t)
        {
            case "nwj": return new(BoundKind.Nwj, double.NaN, t);
            case "tuba": return new(BoundKind.Tuba, double.NaN, t);
            case "infonce": return new(BoundKind.InfoNce, double.NaN, t);
            case "js": return new(BoundKind.JensenShannon, double.NaN, t);
            case "mine": return new(BoundKind.Mine, 0.99, t);
            case "dv": return new(BoundKind.DonskerVaradhan, double.NaN, t);
        }
        if (t.StartsWith("alpha", StringComparison.Ordinal)
            && double.TryParse(t.AsSpan(5), NumberStyles.Float, CultureInfo.InvariantCulture, out double alpha))
        {
            if (!(alpha > 0 && alpha < 1)) throw new FormatException($"'{text}': α must lie strictly between 0 and 1");
            return new(BoundKind.Interpolated, alpha, t);
        }
        if (t.StartsWith("smile", StringComparison.Ordinal))
        {
            var rest = t.AsSpan(5);
            double tau = rest is "inf" ? double.PositiveInfinity
                : double.TryParse(rest, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) ? v : double.NaN;
            if (!(tau > 0)) throw new FormatException($"'{text}': SMILE needs a positive τ, e.g. smile5 or smileinf");
            return new(BoundKind.Smile, tau, t);
        }
        throw new FormatException($"unknown estimator '{text}'; accepted: {Accepted}");
    }

    /// <summary>Parses a comma-separated list.</summary>
    public static IReadOnlyList<BoundSpec> ParseList(string list) =>
        list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(Parse).ToArray();

    /// <summary>The bound's type name (as reported in JSON: Tuba, Nwj, InfoNce, ...).</summary>
    public string TypeName => Kind switch
    {
        BoundKind.Interpolated => nameof(InterpolatedBound),
        _ => Kind.ToString(),
    };

    /// <summary>α for the interpolated bound, else null.</summary>
    public double? Alpha => Kind == BoundKind.Interpolated ? Parameter : null;

    /// <summary>Builds the bound. <paramref name="baseline"/> is required when <see cref="UsesBaseline"/>.</summary>
    public MiBound Create(ICritic critic, IBaseline? baseline = null)
    {
        ArgumentNullException.ThrowIfNull(critic);
        if (UsesBaseline && baseline is null) throw new ArgumentNullException(nameof(baseline), $"{Text} needs a baseline");
        return Build(critic, baseline);
    }

    /// <summary>Builds a score-only bound, fed score matrices (and baseline vectors) computed elsewhere.</summary>
    public MiBound CreateScoreOnly() => Build(null, null);

    private MiBound Build(ICritic? critic, IBaseline? baseline) => Kind switch
    {
        BoundKind.Nwj => critic is null ? new Nwj() : new Nwj(critic),
        BoundKind.Tuba => critic is null ? new Tuba() : new Tuba(critic, baseline!),
        BoundKind.InfoNce => critic is null ? new InfoNce() : new InfoNce(critic),
        BoundKind.JensenShannon => critic is null ? new JensenShannon() : new JensenShannon(critic),
        BoundKind.Interpolated => critic is null ? new InterpolatedBound(Parameter) : new InterpolatedBound(critic, baseline!, Parameter),
        BoundKind.Smile => new Smile(critic, Parameter),
        BoundKind.Mine => new Mine(critic, Parameter),
        _ => critic is null ? new DonskerVaradhan() : new DonskerVaradhan(critic),
    };

    /// <inheritdoc />
    public override string ToString() => Text;
}
