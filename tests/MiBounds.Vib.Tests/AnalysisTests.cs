using MiBounds.Tensors;
using MiBounds.Vib.Analysis;

namespace MiBounds.Vib.Tests;

public class AnalysisTests
{
    [Fact]
    public void AdjustedRandIndexMatchesHandComputedCases()
    {
        // Identical partitions up to renaming.
        Assert.Equal(1.0, ClusteringScores.AdjustedRandIndex([0, 0, 1, 1, 2], [5, 5, 3, 3, 9]), 12);
        // Contingency all ones: index 0, E = 2·2/6, max 2 → (0 − 2/3)/(2 − 2/3) = −1/2.
        Assert.Equal(-0.5, ClusteringScores.AdjustedRandIndex([0, 0, 1, 1], [0, 1, 0, 1]), 12);
        // index 1, Σa = 2, Σb = 1, E = 1/3, max 3/2 → (2/3)/(7/6) = 4/7 (scikit-learn's documented 0.57).
        Assert.Equal(4.0 / 7, ClusteringScores.AdjustedRandIndex([0, 0, 1, 1], [0, 0, 1, 2]), 12);
        Assert.Equal(4.0 / 7, ClusteringScores.AdjustedRandIndex([0, 0, 1, 2], [0, 0, 1, 1]), 12); // symmetric
    }

    [Fact]
    public void PurityNamesEachClusterByItsMajorityLabel()
    {
        // Cluster 0 holds labels {1,1,2}, cluster 1 holds {3,3,3,1}: (2 + 3) / 7.
        Assert.Equal(5.0 / 7, ClusteringScores.Purity([0, 0, 0, 1, 1, 1, 1], [1, 1, 2, 3, 3, 3, 1]), 12);
    }

    [Fact]
    public void HoyerSparsityOfKnownVectors()
    {
        Assert.Equal(1.0, ClusteringScores.Hoyer([0, 0, -3, 0]), 12);
        Assert.Equal(0.0, ClusteringScores.Hoyer([2, -2, 2, 2]), 12);
        Assert.Equal(2 - Math.Sqrt(2), ClusteringScores.Hoyer([1, 1, 0, 0]), 12); // (√4 − 2/√2)/(√4 − 1)
        Assert.True(double.IsNaN(ClusteringScores.Hoyer([0, 0])));
        Assert.Equal(ClusteringScores.Hoyer([1, 2, 3]), ClusteringScores.MeanHoyer([[2, 4, 6]], scale: 2), 12);
    }

    private static (double[][] Points, int[] Labels) Blobs(int perBlob, ulong seed)
    {
        var rng = new Rng(seed);
        double[][] centres = [[0, 0], [10, 0], [0, 10]];
        var pts = new List<double[]>(); var labels = new List<int>();
        for (int c = 0; c < centres.Length; c++)
            for (int i = 0; i < perBlob; i++) { pts.Add([centres[c][0] + rng.NextNormal(), centres[c][1] + rng.NextNormal()]); labels.Add(c); }
        return (pts.ToArray(), labels.ToArray());
    }

    [Fact]
    public void KMeansRecoversWellSeparatedBlobsDeterministically()
    {
        var (pts, labels) = Blobs(40, 3);
        var a = KMeans.Fit(pts, 3, seed: 7, restarts: 3);
        var b = KMeans.Fit(pts, 3, seed: 7, restarts: 3);
        Assert.Equal(1.0, ClusteringScores.AdjustedRandIndex(a.Assignments, labels), 12);
        Assert.Equal(a.Assignments, b.Assignments);
        Assert.Equal(a.Inertia, b.Inertia);
        // Inertia is the within-cluster sum of squares of the returned assignment.
        double check = pts.Select((p, i) => Math.Pow(p[0] - a.Centers[a.Assignments[i]][0], 2) + Math.Pow(p[1] - a.Centers[a.Assignments[i]][1], 2)).Sum();
        Assert.Equal(check, a.Inertia, 9);
        // With one cluster the centre is the mean.
        var one = KMeans.Fit(pts, 1, seed: 1);
        Assert.Equal(pts.Average(p => p[0]), one.Centers[0][0], 9);
    }
}
