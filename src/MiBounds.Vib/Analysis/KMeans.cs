using MiBounds.Tensors;

namespace MiBounds.Vib.Analysis;

/// <summary>A k-means clustering: the centres, each point's cluster and the within-cluster sum of squares.</summary>
/// <param name="Centers">The k centres, [k][dimensions].</param>
/// <param name="Assignments">Per point, the index of its nearest centre.</param>
/// <param name="Inertia">Σ over points of the squared distance to their centre.</param>
/// <param name="Iterations">Lloyd iterations run by the best restart.</param>
public sealed record KMeansResult(double[][] Centers, int[] Assignments, double Inertia, int Iterations);

/// <summary>
/// Lloyd's k-means with k-means++ seeding (Arthur and Vassilvitskii 2007), seeded and deterministic: the same points,
/// k and seed give the same clustering. With several restarts the one of least inertia is kept.
/// </summary>
public static class KMeans
{
    /// <summary>Clusters <paramref name="points"/> (rows of equal length) into <paramref name="k"/> groups.</summary>
    public static KMeansResult Fit(IReadOnlyList<double[]> points, int k, ulong seed, int restarts = 1, int maxIterations = 300, double tolerance = 1e-8)
    {
        ArgumentNullException.ThrowIfNull(points);
        if (k < 1) throw new ArgumentOutOfRangeException(nameof(k), k, "k must be ≥ 1");
        if (points.Count < k) throw new ArgumentException($"k-means: {points.Count} points cannot make {k} clusters");
        if (restarts < 1) throw new ArgumentOutOfRangeException(nameof(restarts), restarts, "must be ≥ 1");
        int d = points[0].Length;
        if (points.Any(p => p.Length != d)) throw new ArgumentException("k-means: points of different lengths");
        var rng = new Rng(seed);
        KMeansResult? best = null;
        for (int r = 0; r < restarts; r++)
        {
            var result = Lloyd(points, PlusPlus(points, k, rng), maxIterations, tolerance);
            if (best is null || result.Inertia < best.Inertia) best = result;
        }
        return best!;
    }

    /// <summary>k-means++: the first centre uniformly, each next one with probability ∝ squared distance to the nearest chosen centre.</summary>
    public static double[][] PlusPlus(IReadOnlyList<double[]> points, int k, Rng rng)
    {
        int n = points.Count;
        var centers = new double[k][];
        centers[0] = (double[])points[(int)(rng.NextDouble() * n) % n].Clone();
        var nearest = new double[n];
        for (int i = 0; i < n; i++) nearest[i] = Squared(points[i], centers[0]);
        for (int c = 1; c < k; c++)
        {
            double total = nearest.Sum();
            int pick;
            if (total <= 0) pick = (int)(rng.NextDouble() * n) % n; // all points coincide with centres: any point will do
            else
            {
                double u = rng.NextDouble() * total, acc = 0;
                pick = n - 1;
                for (int i = 0; i < n; i++) { acc += nearest[i]; if (acc >= u) { pick = i; break; } }
            }
            centers[c] = (double[])points[pick].Clone();
            for (int i = 0; i < n; i++) nearest[i] = Math.Min(nearest[i], Squared(points[i], centers[c]));
        }
        return centers;
    }

    private static KMeansResult Lloyd(IReadOnlyList<double[]> points, double[][] centers, int maxIterations, double tolerance)
    {
        int n = points.Count, k = centers.Length, d = centers[0].Length;
        var assign = new int[n];
        double inertia = double.PositiveInfinity;
        int it = 0;
        while (it < maxIterations)
        {
            it++;
            double next = 0;
            for (int i = 0; i < n; i++)
            {
                int bestC = 0; double bestD = double.PositiveInfinity;
                for (int c = 0; c < k; c++)
                {
                    double dist = Squared(points[i], centers[c]);
                    if (dist < bestD) { bestD = dist; bestC = c; }
                }
                assign[i] = bestC; next += bestD;
            }
            var sums = new double[k][];
            var counts = new int[k];
            for (int c = 0; c < k; c++) sums[c] = new double[d];
            for (int i = 0; i < n; i++) { counts[assign[i]]++; for (int j = 0; j < d; j++) sums[assign[i]][j] += points[i][j]; }
            for (int c = 0; c < k; c++)
                if (counts[c] > 0) for (int j = 0; j < d; j++) centers[c][j] = sums[c][j] / counts[c];
                // An empty cluster keeps its centre (k-means++ seeds make this rare).
            bool converged = inertia - next <= tolerance * Math.Max(1, next);
            inertia = next;
            if (converged) break;
        }
        // Final assignment and inertia with the last centres.
        inertia = 0;
        for (int i = 0; i < n; i++)
        {
            int bestC = 0; double bestD = double.PositiveInfinity;
            for (int c = 0; c < k; c++) { double dist = Squared(points[i], centers[c]); if (dist < bestD) { bestD = dist; bestC = c; } }
            assign[i] = bestC; inertia += bestD;
        }
        return new KMeansResult(centers, assign, inertia, it);
    }

    private static double Squared(double[] a, double[] b)
    {
        double s = 0;
        for (int j = 0; j < a.Length; j++) { double t = a[j] - b[j]; s += t * t; }
        return s;
    }
}
