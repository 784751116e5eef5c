using System.Text.Json;

namespace MiBounds.Tensors.Tests;

/// <summary>Forward values and gradients against fixtures computed once with PyTorch (Golden/make_golden.py).</summary>
public class GoldenTests
{
    private sealed record Case(Dictionary<string, Tensor> T, JsonElement? Meta);

    private static Dictionary<string, Case> Load(string file)
    {
        string path = Path.Combine(AppContext.BaseDirectory, "Golden", file);
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        var result = new Dictionary<string, Case>();
        foreach (var c in doc.RootElement.GetProperty("cases").EnumerateObject())
        {
            var tensors = new Dictionary<string, Tensor>();
            foreach (var t in c.Value.GetProperty("tensors").EnumerateObject())
            {
                int[] shape = t.Value.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()).ToArray();
                float[] data = t.Value.GetProperty("data").EnumerateArray().Select(e => (float)e.GetDouble()).ToArray();
                tensors[t.Name] = shape.Length == 0 ? Tensor.Scalar(data[0]) : Tensor.FromArray(data, shape);
            }
            JsonElement? meta = c.Value.TryGetProperty("meta", out var m) ? m.Clone() : null;
            result[c.Name] = new Case(tensors, meta);
        }
        return result;
    }

    private static void Close(Tensor expected, Tensor? actual, string what, double tol = 1e-4)
    {
        Assert.NotNull(actual);
        Assert.Equal(expected.Shape, actual!.Shape);
        for (int i = 0; i < expected.Size; i++)
        {
            double e = expected[i], a = actual[i];
            Assert.True(Math.Abs(e - a) <= tol * Math.Max(1, Math.Abs(e)), $"{what}[{i}]: PyTorch {e:G9}, engine {a:G9}");
        }
    }

    /// <summary>Runs <paramref name="f"/> on the case's inputs, back-propagates its "g", and compares output and gradients.</summary>
    private static void Run(Case c, string[] inputs, Func<Tensor[], Tensor> f, string label, double tol = 1e-4)
    {
        var xs = inputs.Select(n => { var t = c.T[n].Clone(); t.RequiresGrad = true; return t; }).ToArray();
        var y = f(xs);
        Close(c.T["out"], y, $"{label} out", tol);
        (y * c.T["g"]).Sum().Backward();
        for (int i = 0; i < xs.Length; i++) Close(c.T["grad_" + inputs[i]], xs[i].Grad, $"{label} d{inputs[i]}", tol);
    }

    [Fact]
    public void MatMulMatchesPyTorch()
    {
        var cases = Load("matmul.json");
        foreach (var (name, ta, tb) in new[] { ("nn", false, false), ("tn", true, false), ("nt", false, true), ("tt", true, true), ("batched", false, false) })
            Run(cases[name], ["a", "b"], x => Tensor.MatMul(x[0], x[1], ta, tb), "matmul " + name);
    }

    [Fact]
    public void LogSumExpFamilyMatchesPyTorch()
    {
        var cases = Load("logsumexp.json");
        Run(cases["axis1"], ["x"], x => x[0].LogSumExp(1), "logsumexp axis 1");
        Run(cases["axis0"], ["x"], x => x[0].LogSumExp(0), "logsumexp axis 0");
        Run(cases["all"], ["x"], x => x[0].LogSumExp(), "logsumexp all");
        Run(cases["log_softmax1"], ["x"], x => x[0].LogSoftmax(1), "log_softmax");
        var ce = cases["cross_entropy"];
        int[] labels = ce.Meta!.Value.GetProperty("labels").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        Run(ce, ["x"], x => Tensor.CrossEntropy(x[0], labels), "cross_entropy");
    }

    [Fact]
    public void SoftplusMatchesPyTorch() => Run(Load("softplus.json")["softplus"], ["x"], x => x[0].Softplus(), "softplus", 1e-5);

    [Fact]
    public void Conv2dMatchesPyTorch()
    {
        foreach (var (name, c) in Load("conv2d.json"))
        {
            int stride = c.Meta!.Value.GetProperty("stride").GetInt32(), padding = c.Meta.Value.GetProperty("padding").GetInt32();
            Run(c, ["x", "w", "b"], x => Tensor.Conv2d(x[0], x[1], x[2], stride, padding), "conv2d " + name);
        }
    }

    [Fact]
    public void BatchNormMatchesPyTorch()
    {
        foreach (var (name, c) in Load("batchnorm.json"))
        {
            bool training = name.StartsWith("train", StringComparison.Ordinal);
            var rm = c.T["running_mean"].Clone(); var rv = c.T["running_var"].Clone();
            Run(c, ["x", "gamma", "beta"], x => Tensor.BatchNorm(x[0], x[1], x[2], rm, rv, training, 0.1f, 1e-5f), "batchnorm " + name, 2e-4);
            if (training)
            {
                Close(c.T["running_mean_after"], rm, name + " running mean");
                Close(c.T["running_var_after"], rv, name + " running var");
            }
            else
            {
                Close(c.T["running_mean"], rm, name + " running mean unchanged", 0);
            }
        }
    }
}
