using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using MiBounds.Tensors.Nn;
using MiBounds.Tensors.Optim;

namespace MiBounds.Tensors.Tests;

/// <summary>Safetensors I/O, module and optimizer checkpoints, SGD, schedules and parameter averaging.</summary>
public sealed class CheckpointTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "mib-ckpt-" + Guid.NewGuid().ToString("N"));

    public CheckpointTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    private string P(string name) => Path.Combine(_dir, name);

    [Fact]
    public void SafeTensorsFileFollowsTheFormat()
    {
        var a = Tensor.FromArray([1f, 2f, 3f, 4f, 5f, 6f], 2, 3);
        var b = Tensor.FromArray([-1f]);
        SafeTensors.Save(P("x.safetensors"), new Dictionary<string, Tensor> { ["b"] = b, ["a"] = a }, new Dictionary<string, string> { ["k"] = "v" });
        var bytes = File.ReadAllBytes(P("x.safetensors"));
        long n = (long)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        Assert.Equal(0, n % 8);
        Assert.Equal(8 + n + 7 * 4, bytes.Length);
        using var doc = JsonDocument.Parse(Encoding.UTF8.GetString(bytes, 8, (int)n).TrimEnd(' '));
        var h = doc.RootElement;
        Assert.Equal("v", h.GetProperty("__metadata__").GetProperty("k").GetString());
        Assert.Equal("F32", h.GetProperty("a").GetProperty("dtype").GetString());
        Assert.Equal([2, 3], h.GetProperty("a").GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal([0L, 24L], h.GetProperty("a").GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt64()));
        Assert.Equal([24L, 28L], h.GetProperty("b").GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt64()));
        Assert.Equal(6f, BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan((int)(8 + n + 20))));
        var (back, meta) = SafeTensors.LoadWithMetadata(P("x.safetensors"));
        Assert.Equal(a.ToArray(), back["a"].ToArray());
        Assert.Equal([2, 3], back["a"].Shape);
        Assert.Equal(b.ToArray(), back["b"].ToArray());
        Assert.Equal("v", meta["k"]);
        Assert.Empty(Directory.GetFiles(_dir, "*.tmp"));
    }

    [Fact]
    public void ReadsAFileWrittenOutsideTheEngine()
    {
        var (t, meta) = SafeTensors.LoadWithMetadata(Path.Combine(AppContext.BaseDirectory, "Golden", "sample.safetensors"));
        Assert.Equal("pt", meta["format"]);
        Assert.Equal([0f, 0.25f, 0.5f, 0.75f, 1f, 1.25f], t["layer.weight"].ToArray());
        Assert.Equal([2, 3], t["layer.weight"].Shape);
        Assert.Equal([1.5f, -2.25f], t["layer.bias"].ToArray());
        Assert.Equal([0.5f, -1f, 65504f], t["half"].ToArray());
        Assert.Equal([3f, -0.15625f], t["bf"].ToArray());
        Assert.Equal(0, t["scalar"].Rank);
        Assert.Equal(7f, t["scalar"].Item());
    }

    [Fact]
    public void CorruptOrTruncatedFilesGiveClearErrors()
    {
        SafeTensors.Save(P("ok.safetensors"), new Dictionary<string, Tensor> { ["w"] = Tensor.Ones(4, 4) });
        var bytes = File.ReadAllBytes(P("ok.safetensors"));
        File.WriteAllBytes(P("trunc.safetensors"), bytes[..^8]);
        var ex = Assert.Throws<InvalidDataException>(() => SafeTensors.Load(P("trunc.safetensors")));
        Assert.Contains("data_offsets", ex.Message);
        File.WriteAllBytes(P("short.safetensors"), bytes[..5]);
        Assert.Throws<InvalidDataException>(() => SafeTensors.Load(P("short.safetensors")));
        Assert.Throws<FileNotFoundException>(() => SafeTensors.Load(P("absent.safetensors")));
    }

    [Fact]
    public void SaveReplacesAtomicallyAndAFailedSaveKeepsTheOldFile()
    {
        var path = P("m.safetensors");
        SafeTensors.Save(path, new Dictionary<string, Tensor> { ["w"] = Tensor.Full(1f, 3) });
        SafeTensors.Save(path, new Dictionary<string, Tensor> { ["w"] = Tensor.Full(2f, 3) });
        Assert.Equal([2f, 2f, 2f], SafeTensors.Load(path)["w"].ToArray());
        Assert.ThrowsAny<ArgumentException>(() => SafeTensors.Save(path, new Dictionary<string, Tensor> { ["__metadata__"] = Tensor.Ones(1) }));
        Assert.Equal([2f, 2f, 2f], SafeTensors.Load(path)["w"].ToArray());
        Assert.Single(Directory.GetFiles(_dir));
    }

    private static Sequential Net(ulong seed)
    {
        var rng = new Rng(seed);
        return new Sequential().Add(new Conv2d(1, 2, 3, rng, padding: 1)).Add(new BatchNorm(2)).Add(new Flatten()).Add(new Linear(2 * 4 * 4, 3, rng));
    }

    [Fact]
    public void ModuleRoundTripsParametersAndBuffers()
    {
        var net = Net(1);
        net.Forward(Tensor.RandomNormal(new Rng(2), [5, 1, 4, 4])); // moves the running statistics
        net.Save(P("net.safetensors"));
        var names = SafeTensors.Load(P("net.safetensors")).Keys.Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(["0.bias", "0.weight", "1.bias", "1.running_mean", "1.running_var", "1.weight", "3.bias", "3.weight"], names);
        var other = Net(99);
        other.Load(P("net.safetensors"));
        foreach (var ((n1, t1), (n2, t2)) in net.NamedState().Zip(other.NamedState()))
        {
            Assert.Equal(n1, n2);
            Assert.Equal(t1.ToArray(), t2.ToArray());
        }
    }

    [Fact]
    public void LoadMismatchesNameTheTensorAndBothShapes()
    {
        var rng = new Rng(1);
        var small = new Mlp(3, 8, 1, 1, rng);
        small.Save(P("small.safetensors"));
        var wider = new Mlp(3, 9, 1, 1, rng);
        var before = wider.Parameters().Select(p => p.ToArray()).ToArray();
        var ex = Assert.Throws<InvalidDataException>(() => wider.Load(P("small.safetensors")));
        Assert.Contains("layers.0.weight", ex.Message);
        Assert.Contains("[9, 3]", ex.Message);
        Assert.Contains("[8, 3]", ex.Message);
        Assert.Equal(before, wider.Parameters().Select(p => p.ToArray()).ToArray()); // nothing copied

        var deeper = new Mlp(3, 8, 1, 2, rng);
        ex = Assert.Throws<InvalidDataException>(() => deeper.Load(P("small.safetensors")));
        Assert.Contains("missing tensor layers.2.weight", ex.Message);

        var shallow = new Mlp(3, 8, 1, 0, rng);
        ex = Assert.Throws<InvalidDataException>(() => shallow.Load(P("small.safetensors")));
        Assert.Contains("unexpected tensor layers.1.weight", ex.Message);
        Assert.Contains("expects shape [1, 3], the checkpoint holds [8, 3]", ex.Message); // layers.0 is 3→1 here, 3→8 in the file
        var partial = new Dictionary<string, Tensor>(SafeTensors.Load(P("small.safetensors")));
        partial["extra"] = Tensor.Ones(2);
        new Mlp(3, 8, 1, 1, rng).LoadStateDict(partial, strict: false); // extra names are fine when not strict
    }

    private static (Mlp net, Tensor x, Tensor y) Problem()
    {
        var rng = new Rng(5);
        var x = Tensor.RandomNormal(rng, [16, 3]);
        var y = (x.Slice(1, 0, 1) * 2f).Tanh();
        return (new Mlp(3, 8, 1, 1, rng), x, y);
    }

    private static void TrainSteps(Module net, Optimizer opt, Tensor x, Tensor y, int steps)
    {
        for (int i = 0; i < steps; i++)
        {
            opt.ZeroGrad();
            ((IForward)net).Forward(x).Sub(y).Square().Mean().Backward();
            opt.Step();
        }
    }

    [Theory]
    [InlineData("adam")]
    [InlineData("sgd")]
    public void OptimizerStateRoundTripContinuesExactly(string kind)
    {
        Optimizer Make(Mlp n) => kind == "adam" ? new Adam(n.Parameters(), 1e-2f) : new Sgd(n.Parameters(), 5e-2f, momentum: 0.9f, weightDecay: 1e-3f);
        var (a, x, y) = Problem();
        var optA = Make(a);
        TrainSteps(a, optA, x, y, 5);
        a.Save(P("net.safetensors"));
        optA.SaveState(P("opt.safetensors"));
        var names = SafeTensors.Load(P("opt.safetensors")).Keys.ToHashSet();
        Assert.Contains(kind == "adam" ? "v.3" : "velocity.3", names);
        TrainSteps(a, optA, x, y, 5);

        var (b, _, _) = Problem();
        var optB = Make(b);
        optB.LearningRate = 1f; // restored from the state
        b.Load(P("net.safetensors"));
        optB.LoadState(P("opt.safetensors"));
        Assert.Equal(optA.LearningRate, optB.LearningRate);
        TrainSteps(b, optB, x, y, 5);
        foreach (var (p, q) in a.Parameters().Zip(b.Parameters())) Assert.Equal(p.ToArray(), q.ToArray());
        if (optA is Adam adam) Assert.Equal(10, adam.StepCount);
        if (optB is Adam adamB) Assert.Equal(10, adamB.StepCount);

        // A state for another model or optimizer is refused, naming what is wrong.
        var other = new Mlp(3, 5, 1, 1, new Rng(1));
        var ex = Assert.Throws<InvalidDataException>(() => Make(other).LoadState(P("opt.safetensors")));
        Assert.Contains("[5, 3]", ex.Message); Assert.Contains("[8, 3]", ex.Message);
        Optimizer wrong = kind == "adam" ? new Sgd(b.Parameters(), 0.1f, 0.5f) : new Adam(b.Parameters());
        ex = Assert.Throws<InvalidDataException>(() => wrong.LoadState(P("opt.safetensors")));
        Assert.Contains(kind == "adam" ? "Adam" : "Sgd", ex.Message);
    }

    [Fact]
    public void AdamFollowsTheReferenceUpdateRule()
    {
        // 37 values: the SIMD body and the scalar tail are both exercised.
        var w = Tensor.Parameter(Tensor.RandomNormal(new Rng(8), [37]));
        var opt = new Adam([w], 0.05f, beta1: 0.8f, beta2: 0.95f, epsilon: 1e-6f);
        double[] ww = w.ToArray().Select(v => (double)v).ToArray(), m = new double[37], v = new double[37];
        for (int step = 1; step <= 4; step++)
        {
            opt.ZeroGrad();
            (w.Square().Sum() * 0.5f + w.Sum()).Backward(); // gradient = w + 1
            opt.Step();
            for (int j = 0; j < 37; j++)
            {
                double g = ww[j] + 1;
                m[j] = 0.8 * m[j] + 0.2 * g;
                v[j] = 0.95 * v[j] + 0.05 * g * g;
                double mh = m[j] / (1 - Math.Pow(0.8, step)), vh = v[j] / (1 - Math.Pow(0.95, step));
                ww[j] -= 0.05 * mh / (Math.Sqrt(vh) + 1e-6);
            }
        }
        for (int j = 0; j < 37; j++) Assert.Equal(ww[j], w[j], 4);
    }

    [Fact]
    public void SgdFollowsPyTorchUpdateRule()
    {
        var w = Tensor.Parameter(Tensor.FromArray([1f, -2f]));
        var opt = new Sgd([w], 0.1f, momentum: 0.5f, weightDecay: 0.01f);
        float[] v = [0, 0]; float[] ww = [1f, -2f];
        for (int step = 0; step < 3; step++)
        {
            opt.ZeroGrad();
            (w.Square().Sum() * 0.5f).Backward(); // gradient = w
            opt.Step();
            for (int j = 0; j < 2; j++)
            {
                float g = ww[j] + 0.01f * ww[j];
                v[j] = 0.5f * v[j] + g;
                ww[j] -= 0.1f * v[j];
            }
        }
        Assert.Equal(ww[0], w[0], 6); Assert.Equal(ww[1], w[1], 6);
        var nest = Tensor.Parameter(Tensor.FromArray([1f]));
        var on = new Sgd([nest], 0.1f, momentum: 0.9f, nesterov: true);
        nest.Square().Sum().Backward(); on.Step(); // g = 2, v = 2, step = g + μv = 3.8
        Assert.Equal(1f - 0.38f, nest[0], 6);
    }

    [Fact]
    public void SchedulesSetTheLearningRate()
    {
        var w = Tensor.Parameter(Tensor.Ones(1));
        var opt = new Adam([w], 0.1f);
        var exp = new ExponentialDecay(opt, 0.5f);
        exp.Step(); Assert.Equal(0.05f, opt.LearningRate, 6);
        exp.Step(); Assert.Equal(0.025f, opt.LearningRate, 6);
        var step = new StepDecay(opt, stepSize: 3, gamma: 0.1f, baseLearningRate: 1f);
        Assert.Equal(1f, opt.LearningRate);
        for (int i = 0; i < 2; i++) step.Step();
        Assert.Equal(1f, opt.LearningRate);
        step.Step(); Assert.Equal(0.1f, opt.LearningRate, 6);
        step.Count = 7; Assert.Equal(0.01f, opt.LearningRate, 6);
        Assert.Throws<ArgumentOutOfRangeException>(() => new StepDecay(opt, 0));
    }

    [Fact]
    public void ParameterAverageTracksAnEmaAndSwapsBack()
    {
        var w = Tensor.Parameter(Tensor.FromArray([0f, 10f]));
        var avg = new ParameterAverage([w], decay: 0.5f);
        avg.Update(); // copies
        w.Data[0] = 4; w.Data[1] = 2; avg.Update(); // 0.5·(0,10) + 0.5·(4,2) = (2, 6)
        w.Data[0] = 8; w.Data[1] = 2; avg.Update(); // (5, 4)
        Assert.Equal([5f, 4f], avg.Averages[0].ToArray());
        using (avg.Apply())
        {
            Assert.Equal([5f, 4f], w.ToArray());
            Assert.Throws<InvalidOperationException>(() => avg.Update());
        }
        Assert.Equal([8f, 2f], w.ToArray());
        avg.SaveState(P("ema.safetensors"));
        var again = new ParameterAverage([Tensor.Parameter(Tensor.Zeros(2))], 0.5f);
        again.LoadState(P("ema.safetensors"));
        Assert.Equal([5f, 4f], again.Averages[0].ToArray());
        Assert.Equal(3, again.UpdateCount);
        var ex = Assert.Throws<InvalidDataException>(() => new ParameterAverage([Tensor.Parameter(Tensor.Zeros(3))]).LoadState(P("ema.safetensors")));
        Assert.Contains("[3]", ex.Message); Assert.Contains("[2]", ex.Message);
        avg.CopyToParameters();
        Assert.Equal([5f, 4f], w.ToArray());
    }
}
