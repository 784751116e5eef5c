using System.Globalization;
using MiBounds.Critics;
using MiBounds.Tensors;

namespace MiBounds.Bounds;

/// <summary>Tractable unnormalized Barber–Agakov (TUBA): 1 + mean A[pos] − exp(LMEoff(A)), A = S − b(y). A lower bound for any critic and baseline.</summary>
public sealed class Tuba : MiBound
{
    /// <summary>Creates the bound with a critic and a baseline (learned, constant or analytic).</summary>
    public Tuba(ICritic critic, IBaseline baseline) : base(critic, baseline) { }

    /// <summary>Creates a score-only bound (the baseline vector is passed with the scores).</summary>
    public Tuba() : base(null) { }

    /// <inheritdoc />
    protected override bool RequiresBaseline => true;

    /// <inheritdoc />
    protected override BoundOutput Compute(Tensor scores, Tensor? logBaseline, PositiveMask mask, bool training)
    {
        var v = ScoreMath.Tuba(scores, logBaseline, mask);
        return new BoundOutput(v, v);
    }
}

/// <summary>Nguyen–Wainwright–Jordan (NWJ, f-GAN KL): TUBA with b ≡ 1, i.e. mean S[pos] − e⁻¹·mean_neg e^S. Optimal critic 1 + log r.</summary>
public sealed class Nwj : MiBound
{
    /// <summary>Creates the bound.</summary>
    public Nwj(ICritic critic) : base(critic) { }

    /// <summary>Creates a score-only bound.</summary>
    public Nwj() : base(null) { }

    /// <inheritdoc />
    protected override BoundOutput Compute(Tensor scores, Tensor? logBaseline, PositiveMask mask, bool training)
    {
        var v = ScoreMath.Nwj(scores, mask);
        return new BoundOutput(v, v);
    }
}

/// <summary>InfoNCE (CPC): log K + mean_i (S[i,i] − logsumexp_j S[i,j]). Low variance, but never above log K.</summary>
public sealed class InfoNce : MiBound
{
    /// <summary>Creates the bound.</summary>
    public InfoNce(ICritic critic) : base(critic) { }

    /// <summary>Creates a score-only bound.</summary>
    public InfoNce() : base(null) { }

    /// <inheritdoc />
    public override double? Ceiling(int batchSize) => Math.Log(batchSize);

    /// <inheritdoc />
    protected override BoundOutput Compute(Tensor scores, Tensor? logBaseline, PositiveMask mask, bool training)
    {
        var v = ScoreMath.InfoNce(scores, mask);
        return new BoundOutput(v, v);
    }
}

/// <summary>Donsker–Varadhan: mean S[pos] − LMEoff(S). Not a lower bound on a finite batch (the log of a mean is biased). Optimal critic log r.</summary>
public sealed class DonskerVaradhan : MiBound
{
    /// <summary>Creates the bound.</summary>
    public DonskerVaradhan(ICritic critic) : base(critic) { }

    /// <summary>Creates a score-only bound.</summary>
    public DonskerVaradhan() : base(null) { }

    /// <inheritdoc />
    protected override BoundOutput Compute(Tensor scores, Tensor? logBaseline, PositiveMask mask, bool training)
    {
        var v = ScoreMath.DonskerVaradhan(scores, mask);
        return new BoundOutput(v, v);
    }
}

/// <summary>
/// MINE (Belghazi et al.): reports DV on the batch; trains on mean S[pos] − mean_neg e^S / m, where m is an exponential
/// moving average of mean_neg e^S across training steps (held constant within a step), which corrects the DV gradient's bias.
/// </summary>
public sealed class Mine : MiBound
{
    /// <summary>EMA momentum (default 0.99).</summary>
    public double Momentum { get; }

    // float32 like every checkpointed tensor, so a resumed run continues with exactly the value it stopped with.
    private readonly Tensor _movingAverage = Tensor.FromArray([float.NaN]);

    /// <summary>Current moving average of mean_neg e^S (NaN before the first training step), kept in float32.</summary>
    public double MovingAverage
    {
        get => _movingAverage.Values[0];
        set => _movingAverage.Data[0] = (float)value;
    }

    /// <inheritdoc />
    public override IEnumerable<(string Name, Tensor Tensor)> NamedState() => [("moving_average", _movingAverage)];

    /// <summary>Creates the bound (a null critic makes it score-only).</summary>
    public Mine(ICritic? critic, double momentum = 0.99) : base(critic)
    {
        if (momentum is < 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(momentum), momentum, "must be in [0, 1)");
        Momentum = momentum;
    }

    /// <inheritdoc />
    protected override BoundOutput Compute(Tensor scores, Tensor? logBaseline, PositiveMask mask, bool training)
    {
        var positive = ScoreMath.PositiveMean(scores, mask);
        var lme = ScoreMath.LogMeanExpNegatives(scores, mask);
        var value = positive - lme;
        double batchMean = Math.Exp(lme.Item());
        double m = double.IsNaN(MovingAverage) ? batchMean : Momentum * MovingAverage + (1 - Momentum) * batchMean;
        if (training) MovingAverage = m;
        m = (float)m; // the same value whether or not the step stores it
        // mean_neg e^S / m, written as exp(LMEoff(S) − log m) so large scores do not overflow.
        var objective = positive - (lme - (float)Math.Log(m)).Exp();
        return new BoundOutput(value, objective);
    }
}

/// <summary>
/// Jensen–Shannon: trains the critic with the JS (f-GAN) objective −mean softplus(−S[pos]) − mean_neg softplus(S), whose
/// optimum is log r; reports NWJ(S + 1), the MI lower bound that critic gives.
/// </summary>
public sealed class JensenShannon : MiBound
{
    /// <summary>Creates the bound.</summary>
    public JensenShannon(ICritic critic) : base(critic) { }

    /// <summary>Creates a score-only bound.</summary>
    public JensenShannon() : base(null) { }

    /// <inheritdoc />
    protected override BoundOutput Compute(Tensor scores, Tensor? logBaseline, PositiveMask mask, bool training)
    {
        var value = ScoreMath.Nwj(scores + 1f, mask);
        return new BoundOutput(value, ScoreMath.JensenShannonObjective(scores, mask));
    }
}

/// <summary>
/// SMILE (Song and Ermon): mean S[pos] − LMEoff(clip(S, −τ, τ)) (positives unclipped), trained with the JS objective.
/// τ = ∞ gives DV's value.
/// </summary>
public sealed class Smile : MiBound
{
    /// <summary>The clipping threshold τ (may be +∞).</summary>
    public double Tau { get; }

    /// <summary>Creates the bound (default τ = 5; a null critic makes it score-only).</summary>
    public Smile(ICritic? critic, double tau = 5.0) : base(critic)
    {
        if (!(tau > 0)) throw new ArgumentOutOfRangeException(nameof(tau), tau, "τ must be positive (or +∞)");
        Tau = tau;
    }

    /// <inheritdoc />
    public override string Name => double.IsPositiveInfinity(Tau) ? "Smile(inf)" : $"Smile({Tau.ToString(CultureInfo.InvariantCulture)})";

    /// <inheritdoc />
    protected override BoundOutput Compute(Tensor scores, Tensor? logBaseline, PositiveMask mask, bool training)
    {
        var clipped = double.IsPositiveInfinity(Tau) ? scores : scores.Clamp((float)-Tau, (float)Tau);
        var value = ScoreMath.PositiveMean(scores, mask) - ScoreMath.LogMeanExpNegatives(clipped, mask);
        return new BoundOutput(value, ScoreMath.JensenShannonObjective(scores, mask));
    }
}

/// <summary>
/// The interpolated bound Iα (Poole et al. 2019): a baseline mixing α·(leave-one-out mean of the row) with (1−α)·a(y).
/// α → 0 recovers TUBA(b); α → 1 approaches InfoNCE. Iα ≤ 1 + log K − log α. Positives must be the diagonal.
/// </summary>
public sealed class InterpolatedBound : MiBound
{
    /// <summary>α in (0, 1).</summary>
    public double Alpha => 1.0 / (1.0 + Math.Exp(-AlphaLogit));

    /// <summary>logit(α), the parameterization used in computation (log α = −softplus(−logit)).</summary>
    public double AlphaLogit { get; }

    /// <summary>Creates the bound with α given as a value in (0, 1).</summary>
    public InterpolatedBound(ICritic critic, IBaseline baseline, double alpha) : this(LogitOf(alpha), critic, baseline) { }

    /// <summary>Creates a score-only bound (the baseline vector is passed with the scores).</summary>
    public InterpolatedBound(double alpha) : this(LogitOf(alpha), null, null) { }

    private InterpolatedBound(double alphaLogit, ICritic? critic, IBaseline? baseline) : base(critic, baseline)
    {
        if (!double.IsFinite(alphaLogit)) throw new ArgumentOutOfRangeException(nameof(alphaLogit), alphaLogit, "α's logit must be finite");
        AlphaLogit = alphaLogit;
    }

    /// <summary>Creates the bound with α given by its logit (any finite real); null critic and baseline make it score-only.</summary>
    public static InterpolatedBound FromLogit(ICritic? critic, IBaseline? baseline, double alphaLogit) => new(alphaLogit, critic, baseline);

    private static double LogitOf(double alpha)
    {
        if (!(alpha > 0 && alpha < 1)) throw new ArgumentOutOfRangeException(nameof(alpha), alpha, "α must lie strictly between 0 and 1");
        return Math.Log(alpha) - Math.Log(1 - alpha);
    }

    /// <inheritdoc />
    protected override bool RequiresBaseline => true;

    /// <inheritdoc />
    public override string Name => $"InterpolatedBound({Alpha.ToString("G4", CultureInfo.InvariantCulture)})";

    /// <inheritdoc />
    public override double? Ceiling(int batchSize) => 1 + Math.Log(batchSize) - LogAlpha;

    private double LogAlpha => -Softplus(-AlphaLogit);
    private double LogOneMinusAlpha => -Softplus(AlphaLogit);
    private static double Softplus(double x) => x > 0 ? x + Math.Log(1 + Math.Exp(-x)) : Math.Log(1 + Math.Exp(x));

    /// <inheritdoc />
    protected override BoundOutput Compute(Tensor scores, Tensor? logBaseline, PositiveMask mask, bool training)
    {
        if (!mask.IsDiagonal) throw new ArgumentException("the interpolated bound needs a square score matrix with positives on the diagonal");
        int k = mask.Rows;
        var loo = ScoreMath.LeaveOneOutLogMeanExp(scores);                               // [K, K]
        var b = logBaseline!.Reshape(k, 1) + (float)LogOneMinusAlpha;                  // [K, 1]
        var mix = Tensor.LogAddExp(loo + (float)LogAlpha, b);                           // B[i, j]
        var mixDiag = mix.Diagonal().Reshape(k, 1);
        var marg = (scores - mixDiag).Exp().MaskedMean(mask.Negatives);                 // mean_{i≠j} e^{S[i,j] − B[i,i]}
        var joint = (scores.Diagonal().Reshape(k, 1) - mix).MaskedMean(mask.Negatives); // mean_{i≠j} (S[i,i] − B[i,j])
        var value = joint - marg + 1f;
        return new BoundOutput(value, value);
    }
}

/// <summary>
/// Barber–Agakov: mean_i log q(x_i | y_i) + h(X) with a tractable decoder q and the known entropy h(X). A lower bound
/// for any decoder; exact when q = p(x | y).
/// </summary>
public sealed class BarberAgakov : IMiEstimator
{
    /// <summary>The decoder q(x | y).</summary>
    public IConditionalLogDensity Decoder { get; }

    /// <summary>The entropy h(X) in nats (differential for continuous X, Shannon for discrete X).</summary>
    public double EntropyX { get; }

    /// <summary>Creates the bound.</summary>
    public BarberAgakov(IConditionalLogDensity decoder, double entropyX)
    {
        Decoder = decoder ?? throw new ArgumentNullException(nameof(decoder));
        if (!double.IsFinite(entropyX)) throw new ArgumentOutOfRangeException(nameof(entropyX), entropyX, "h(X) must be finite");
        EntropyX = entropyX;
    }

    /// <summary>h(X) of a d-dimensional standard normal: (d/2)·log(2πe).</summary>
    public static double StandardNormalEntropy(int dim) => 0.5 * dim * Math.Log(2 * Math.PI * Math.E);

    /// <summary>Shannon entropy (nats) of the empirical label distribution.</summary>
    public static double LabelEntropy(IEnumerable<int> labels)
    {
        var counts = new Dictionary<int, long>();
        long n = 0;
        foreach (int l in labels) { counts[l] = counts.GetValueOrDefault(l) + 1; n++; }
        if (n == 0) throw new ArgumentException("no labels given");
        double h = 0;
        foreach (var c in counts.Values) { double p = (double)c / n; h -= p * Math.Log(p); }
        return h;
    }

    /// <inheritdoc />
    public string Name => nameof(BarberAgakov);

    /// <inheritdoc />
    public double? Ceiling(int batchSize) => null;

    /// <inheritdoc />
    public IEnumerable<Tensor> Parameters() => Decoder.Parameters();

    /// <inheritdoc />
    public IEnumerable<(string Name, Tensors.Nn.Module Module)> Modules() => Decoder is Tensors.Nn.Module m ? [("decoder", m)] : [];

    /// <inheritdoc />
    public double Estimate(Batch batch) => EstimatorEvaluation.Value(this, batch);

    /// <summary>The bound from per-sample decoder log-likelihoods log q(x_i | y_i) ([K]).</summary>
    public Tensor FromLogLikelihoods(Tensor logLikelihoods) => logLikelihoods.Mean() + (float)EntropyX;

    /// <inheritdoc />
    public BoundOutput Forward(Batch batch, bool training)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var v = FromLogLikelihoods(Decoder.LogDensity(batch.X, batch.Y));
        return new BoundOutput(v, v);
    }
}
