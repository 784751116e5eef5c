using MiBounds.Bounds;

namespace MiBounds.Vib.Dim;

/// <summary>
/// The library's bounds for callers that only have score matrices (DIM, the label-hypothesis classifier): score-only
/// bounds from <see cref="BoundSpec.CreateScoreOnly"/>, trained through <see cref="MiBound.FromScores"/>.
/// </summary>
public static class ScoreBounds
{
    /// <summary>The estimator names DIM accepts.</summary>
    public static readonly string[] DimEstimators = ["js", "infonce", "dv"];

    /// <summary>The score-only bound named <paramref name="name"/> (js, infonce, dv, or any other baseline-free name of <see cref="BoundSpec"/>).</summary>
    public static MiBound Create(string name)
    {
        var spec = BoundSpec.Parse(name);
        if (spec.UsesBaseline) throw new ArgumentException($"'{name}' needs a baseline b(y); score-only callers use baseline-free bounds (js, infonce, dv, nwj, mine, smile)");
        return spec.CreateScoreOnly();
    }
}
