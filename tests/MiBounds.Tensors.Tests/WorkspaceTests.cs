using MiBounds.Tensors.Nn;
using MiBounds.Tensors.Optim;
using MiBounds.TestSupport;

namespace MiBounds.Tensors.Tests;

/// <summary>Pooled storage: results identical to plain runs, buffers returned, far fewer bytes allocated.</summary>
[Collection(AllocationMeasurements.Name)]
public class WorkspaceTests
{
    private static (Mlp, Adam, Tensor, Tensor) Setup()
    {
        var rng = new Rng(3);
        var mlp = new Mlp(6, 32, 4, 2, rng);
        return (mlp, new Adam(mlp.Parameters(), 1e-2f), Tensor.RandomNormal(rng, [16, 6]), Tensor.RandomNormal(rng, [16, 4]));
    }

    private static float Step(Mlp mlp, Adam opt, Tensor x, Tensor y)
    {
        opt.ZeroGrad();
        var loss = (mlp.Forward(x) - y).Square().Mean() + mlp.Forward(x).LogSoftmax(1).Mean() * 0.1f;
        loss.Backward();
        opt.Step();
        return loss.Item();
    }

    [Fact]
    public void TrainingInAWorkspaceMatchesPlainTrainingExactly()
    {
        var (m1, o1, x, y) = Setup();
        var (m2, o2, _, _) = Setup();
        var ws = new TensorWorkspace();
        for (int i = 0; i < 20; i++)
        {
            float a = Step(m1, o1, x, y);
            float b;
            using (ws.Enter())
            {
                b = Step(m2, o2, x, y);
                Assert.True(ws.BuffersInUse > 0);
            }
            Assert.Equal(0, ws.BuffersInUse);
            Assert.Equal(a, b);
        }
        foreach (var (p, q) in m1.Parameters().Zip(m2.Parameters())) Assert.Equal(p.ToArray(), q.ToArray());
        Assert.Throws<InvalidOperationException>(() => { using var s1 = ws.Enter(); using var s2 = ws.Enter(); });
    }

    [Fact]
    public void AStepInAWorkspaceAllocatesLittle()
    {
        var (mlp, opt, x, y) = Setup();
        var ws = new TensorWorkspace();
        using var _ = Engine.LimitThreads(1);
        long Measure(bool pooled)
        {
            for (int i = 0; i < 5; i++) Run();
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 10; i++) Run();
            return (GC.GetAllocatedBytesForCurrentThread() - before) / 10;
            void Run()
            {
                if (!pooled) { Step(mlp, opt, x, y); return; }
                using (ws.Enter()) Step(mlp, opt, x, y);
            }
        }
        long plain = Measure(false), pooledBytes = Measure(true);
        // The step's tensors hold ~20 KB of floats; pooled, only small bookkeeping objects remain.
        Assert.True(plain > 15_000, $"plain step allocated {plain} B");
        Assert.True(pooledBytes < plain / 3, $"pooled step allocated {pooledBytes} B vs {plain} B plain");
    }
}
