namespace MiBounds.Toy.Tasks.Synthetic;

/// <summary>A task whose densities are known, so log p(x, y) − log p(x) − log p(y) can be evaluated per sample (its mean is the MI).</summary>
public interface IPointwiseMiTask : IMiTask
{
    /// <summary>log p(x, y) − log p(x) − log p(y) at one pair.</summary>
    double PointwiseMi(ReadOnlySpan<float> x, ReadOnlySpan<float> y);
}
