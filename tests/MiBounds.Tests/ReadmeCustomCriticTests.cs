using MiBounds.Critics;
using MiBounds.Estimation;
using MiBounds.Tensors;
using MiBounds.Tensors.Nn;

namespace MiBounds.Tests;

/// <summary>The custom-critic example of docs/estimation-guide.md, as written there.</summary>
public class ReadmeCustomCriticTests
{
    private sealed class MyCritic : Module, ICritic        // S[i, j] = g(x_j)ᵀ h(y_i), with dropout in each tower
    {
        private readonly Sequential _g, _h;
        public MyCritic(int dimX, int dimY, Rng rng)
        {
            _g = RegisterModule("g", new Sequential().Add(new Linear(dimX, 64, rng)).Add(t => t.Relu()).Add(new Dropout(0.1f, rng)).Add(new Linear(64, 16, rng)));
            _h = RegisterModule("h", new Sequential().Add(new Linear(dimY, 64, rng)).Add(t => t.Relu()).Add(new Dropout(0.1f, rng)).Add(new Linear(64, 16, rng)));
        }
        public Tensor Scores(Tensor x, Tensor y) => Tensor.MatMul(_h.Forward(y), _g.Forward(x), transB: true);
    }

    [Fact]
    public void TheReadmeCustomCriticEstimatesACorrelatedGaussian()
    {
        var (x, y, mi) = EstimationKsgTests.Correlated(2000, 2, 0.6, seed: 8);
        var options = new EstimationOptions
        {
            Estimator = "infonce",
            CriticFactory = (dimX, dimY, rng) => new MyCritic(dimX, dimY, rng),
            Steps = 600,
        };
        var mine = MiEstimation.Estimate(x, y, options);
        Assert.InRange(mine.EstimateNats, mi - 0.15, mi + 3 * mine.StderrNats);
        // The guide's block and this class must not drift apart.
        string readme = File.ReadAllText(Path.Combine(RepositoryRoot(), "docs", "estimation-guide.md"));
        Assert.Contains("CriticFactory = (dimX, dimY, rng) => new MyCritic(dimX, dimY, rng),", readme);
        Assert.Contains("public Tensor Scores(Tensor x, Tensor y) => Tensor.MatMul(_h.Forward(y), _g.Forward(x), transB: true);", readme);
    }

    private static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "MiBounds.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("MiBounds.sln not found above the test folder");
    }
}
