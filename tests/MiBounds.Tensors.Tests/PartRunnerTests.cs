namespace MiBounds.Tensors.Tests;

/// <summary>The engine's part runner: every part runs once, parts see one kernel thread, errors reach the caller.</summary>
public class PartRunnerTests
{
    private sealed class CountingWork(int parts, int throwAt = -1) : IPartWork
    {
        public readonly int[] Runs = new int[parts];
        public readonly int[] ThreadLimitSeen = new int[parts];
        public readonly HashSet<int> Threads = [];

        public void RunPart(int part)
        {
            Interlocked.Increment(ref Runs[part]);
            ThreadLimitSeen[part] = Engine.MaxThreads;
            lock (Threads) Threads.Add(Environment.CurrentManagedThreadId);
            if (part == throwAt) throw new InvalidOperationException($"part {part} failed");
            Thread.SpinWait(20_000); // long enough that a worker usually claims some parts
        }
    }

    [Theory]
    [InlineData(1, 7)]
    [InlineData(2, 7)]
    [InlineData(8, 3)]
    public void EveryPartRunsExactlyOnceWithOneKernelThreadInside(int threads, int parts)
    {
        for (int round = 0; round < 20; round++)
        {
            var work = new CountingWork(parts);
            PartRunner.Run(work, parts, threads);
            Assert.All(work.Runs, r => Assert.Equal(1, r));
            Assert.All(work.ThreadLimitSeen, t => Assert.Equal(1, t));
            if (threads == 1) Assert.Single(work.Threads);
        }
        Assert.True(Engine.MaxThreads >= 1); // the caller's limit is restored after the parts
    }

    [Fact]
    public void APartsExceptionReachesTheCallerAfterTheOtherPartsRan()
    {
        var work = new CountingWork(6, throwAt: 3);
        var e = Assert.Throws<InvalidOperationException>(() => PartRunner.Run(work, 6, 2));
        Assert.Equal("part 3 failed", e.Message);
        Assert.All(work.Runs, r => Assert.Equal(1, r));
        var next = new CountingWork(4); // the runner (and its workers) still work afterwards
        PartRunner.Run(next, 4, 2);
        Assert.All(next.Runs, r => Assert.Equal(1, r));
    }

    [Fact]
    public void ConcurrentCallersAllFinish()
    {
        // Several callers compete for the workers; a caller that finds none idle runs its parts itself.
        Parallel.For(0, 4, new ParallelOptions { MaxDegreeOfParallelism = 4 }, _ =>
        {
            for (int round = 0; round < 10; round++)
            {
                var w = new CountingWork(5);
                PartRunner.Run(w, 5, 2);
                Assert.All(w.Runs, r => Assert.Equal(1, r));
            }
        });
    }
}
