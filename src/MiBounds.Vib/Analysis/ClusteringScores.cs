namespace MiBounds.Vib.Analysis;

/// <summary>Agreement between a clustering and the true labels, and the Hoyer sparsity of vectors.</summary>
public static class ClusteringScores
{
    /// <summary>
    /// The adjusted Rand index (Hubert and Arabie 1985) of two labellings of the same points: 1 for identical partitions
    /// (up to renaming), about 0 in expectation for independent ones, negative below chance.
    /// ARI = (Σ_ij C(n_ij,2) − E) / (½[Σ_i C(a_i,2) + Σ_j C(b_j,2)] − E), E = Σ_i C(a_i,2)·Σ_j C(b_j,2) / C(n,2).
    /// </summary>
    public static double AdjustedRandIndex(IReadOnlyList<int> a, IReadOnlyList<int> b)
    {
        if (a.Count != b.Count) throw new ArgumentException($"ARI: {a.Count} and {b.Count} labels");
        int n = a.Count;
        if (n < 2) throw new ArgumentException("ARI needs at least 2 points");
        var table = new Dictionary<(int, int), long>();
        var rows = new Dictionary<int, long>();
        var cols = new Dictionary<int, long>();
        for (int i = 0; i < n; i++)
        {
            table[(a[i], b[i])] = table.GetValueOrDefault((a[i], b[i])) + 1;
            rows[a[i]] = rows.GetValueOrDefault(a[i]) + 1;
            cols[b[i]] = cols.GetValueOrDefault(b[i]) + 1;
        }
        static double Pairs(long m) => m * (m - 1) / 2.0;
        double index = table.Values.Sum(Pairs), sumA = rows.Values.Sum(Pairs), sumB = cols.Values.Sum(Pairs);
        double expected = sumA * sumB / Pairs(n), max = 0.5 * (sumA + sumB);
        // Both partitions trivial (all one cluster, or all singletons on both sides): they agree perfectly.
        if (max == expected) return 1.0;
        return (index - expected) / (max - expected);
    }

    /// <summary>
    /// Cluster purity: each cluster is named by its most frequent label and the fraction of points whose label is
    /// their cluster's name is returned (1 = every cluster holds one class). This is how we read the VIM paper's
    /// "clustering index" of k-means with 10 clusters against the labels.
    /// </summary>
    public static double Purity(IReadOnlyList<int> clusters, IReadOnlyList<int> labels)
    {
        if (clusters.Count != labels.Count) throw new ArgumentException($"purity: {clusters.Count} clusters and {labels.Count} labels");
        if (clusters.Count == 0) throw new ArgumentException("purity of no points");
        int majority = clusters.Select((c, i) => (c, l: labels[i])).GroupBy(p => p.c).Sum(g => g.GroupBy(p => p.l).Max(h => h.Count()));
        return (double)majority / clusters.Count;
    }

    /// <summary>
    /// The Hoyer (2004) sparsity of a vector of length n > 1: (√n − ‖v‖₁/‖v‖₂) / (√n − 1), 1 for a single non-zero
    /// entry, 0 when all entries have the same magnitude. The zero vector gives NaN.
    /// </summary>
    public static double Hoyer(ReadOnlySpan<double> v)
    {
        if (v.Length < 2) throw new ArgumentException("Hoyer sparsity needs at least 2 entries");
        double l1 = 0, l2 = 0;
        foreach (double x in v) { l1 += Math.Abs(x); l2 += x * x; }
        if (l2 == 0) return double.NaN;
        double sqrtN = Math.Sqrt(v.Length);
        return (sqrtN - l1 / Math.Sqrt(l2)) / (sqrtN - 1);
    }

    /// <summary>The mean Hoyer sparsity of the rows (zero rows skipped); each row divided by <paramref name="scale"/> first (it does not change the index).</summary>
    public static double MeanHoyer(IReadOnlyList<double[]> rows, double scale = 1)
    {
        double sum = 0; int count = 0;
        foreach (var r in rows)
        {
            double h = Hoyer(r.Select(x => x / scale).ToArray());
            if (double.IsFinite(h)) { sum += h; count++; }
        }
        return count > 0 ? sum / count : double.NaN;
    }
}
