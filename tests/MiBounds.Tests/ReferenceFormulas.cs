namespace MiBounds.Tests;

/// <summary>
/// Independent double-precision, loop-by-loop transcriptions of the formulas of docs/conventions.md, for diagonal positives.
/// Deliberately naive (no shared code with the library) so they can catch its mistakes.
/// </summary>
internal static class ReferenceFormulas
{
    public static double LmeOff(double[,] a)
    {
        int k = a.GetLength(0);
        double sum = 0;
        for (int i = 0; i < k; i++) for (int j = 0; j < k; j++) if (i != j) sum += Math.Exp(a[i, j]);
        return Math.Log(sum / (k * (k - 1)));
    }

    public static double DiagMean(double[,] a)
    {
        int k = a.GetLength(0); double s = 0;
        for (int i = 0; i < k; i++) s += a[i, i];
        return s / k;
    }

    public static double Tuba(double[,] s, double[] b)
    {
        int k = s.GetLength(0);
        var a = new double[k, k];
        for (int i = 0; i < k; i++) for (int j = 0; j < k; j++) a[i, j] = s[i, j] - b[i];
        return 1 + DiagMean(a) - Math.Exp(LmeOff(a));
    }

    public static double Nwj(double[,] s)
    {
        int k = s.GetLength(0); double off = 0;
        for (int i = 0; i < k; i++) for (int j = 0; j < k; j++) if (i != j) off += Math.Exp(s[i, j]);
        return DiagMean(s) - Math.Exp(-1) * off / (k * (k - 1));
    }

    public static double InfoNce(double[,] s)
    {
        int k = s.GetLength(0); double total = 0;
        for (int i = 0; i < k; i++)
        {
            double z = 0;
            for (int j = 0; j < k; j++) z += Math.Exp(s[i, j]);
            total += s[i, i] - Math.Log(z);
        }
        return Math.Log(k) + total / k;
    }

    public static double Dv(double[,] s) => DiagMean(s) - LmeOff(s);

    public static double JsValue(double[,] s)
    {
        int k = s.GetLength(0);
        var shifted = new double[k, k];
        for (int i = 0; i < k; i++) for (int j = 0; j < k; j++) shifted[i, j] = s[i, j] + 1;
        return Nwj(shifted);
    }

    public static double JsObjective(double[,] s)
    {
        int k = s.GetLength(0); double pos = 0, neg = 0;
        for (int i = 0; i < k; i++) for (int j = 0; j < k; j++)
            if (i == j) pos += Math.Log(1 + Math.Exp(-s[i, j])); else neg += Math.Log(1 + Math.Exp(s[i, j]));
        return -pos / k - neg / (k * (k - 1));
    }

    public static double Smile(double[,] s, double tau)
    {
        int k = s.GetLength(0);
        var c = new double[k, k];
        for (int i = 0; i < k; i++) for (int j = 0; j < k; j++) c[i, j] = Math.Clamp(s[i, j], -tau, tau);
        return DiagMean(s) - LmeOff(c);
    }

    /// <summary>Iα by its definition, the leave-one-out mean computed directly (O(K³)).</summary>
    public static double Interpolated(double[,] s, double[] b, double alpha)
    {
        int k = s.GetLength(0);
        var mix = new double[k, k];
        for (int i = 0; i < k; i++)
            for (int j = 0; j < k; j++)
            {
                double mean = 0;
                for (int l = 0; l < k; l++) if (l != j) mean += Math.Exp(s[i, l]);
                mean /= k - 1;
                mix[i, j] = Math.Log(alpha * mean + (1 - alpha) * Math.Exp(b[i]));
            }
        double marg = 0, joint = 0;
        for (int i = 0; i < k; i++)
            for (int j = 0; j < k; j++)
                if (i != j)
                {
                    marg += Math.Exp(s[i, j] - mix[i, i]);
                    joint += s[i, i] - mix[i, j];
                }
        int n = k * (k - 1);
        return 1 + joint / n - marg / n;
    }
}
