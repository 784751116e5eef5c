using MiBounds.Tensors;
using MiBounds.Tensors.Nn;
using MiBounds.Tensors.Optim;
using MiBounds.Training;

namespace MiBounds.Tests;

/// <summary>The example of docs/training-loop.md ("A model of your own"), as written there.</summary>
public sealed class TrainingLoopDocTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("mib-doc-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private sealed class Regression(Tensor x, Tensor y, Rng rng) : ITrainable
    {
        private readonly Mlp _net = new(x.Dim(1), 64, y.Dim(1), hiddenLayers: 2, rng);
        public IReadOnlyList<(string Name, Module Module)> Modules => [("net", _net)];
        public Tensor Loss(in TrainingBatch b) => (_net.Forward(x.GatherRows(b.Rows)) - y.GatherRows(b.Rows)).Square().Mean();
        public Evaluation Evaluate() => new((_net.Forward(x) - y).Square().Mean().Item());
        public Goal Goal => Goal.Minimize;
    }

    [Fact]
    public void TheDocumentedModelTrainsChecksPointsAndResumes()
    {
        var data = new Rng(9);
        var x = Tensor.RandomNormal(data, [256, 3]);
        var y = Tensor.Zeros(256, 1);
        for (int i = 0; i < 256; i++) y[i] = x[i, 0] * x[i, 1] - x[i, 2];
        string folder = Path.Combine(_dir, "runs", "regression");

        var rng = new Rng(1);
        var model = new Regression(x, y, rng);
        var trainer = new Trainer(model, new Adam(model.Modules[0].Module.Parameters(), 1e-3f), rng, new TrainerOptions
        {
            Epochs = 20, DatasetRows = x.Dim(0), BatchSize = 64,
            EvaluateEveryEpoch = true, EarlyStopping = new EarlyStopping(Patience: 3),
            Checkpoint = CheckpointTarget.InFolder(folder, "regression", """{"hidden":64}"""),
        });
        Assert.False(trainer.TryResume());
        double before = trainer.Evaluate().Score;
        var result = trainer.Fit();
        Assert.Contains(result.Reason, new[] { StopReason.Completed, StopReason.EarlyStopped });
        Assert.True(result.Best!.Score < 0.5 * before, $"mse {before} → {result.Best.Score}");
        Assert.True(File.Exists(Path.Combine(folder, TrainingCheckpoint.FileName)));

        // The same run built again on the same folder resumes where the first stopped, with its best state.
        var rng2 = new Rng(1);
        var model2 = new Regression(x, y, rng2);
        var again = new Trainer(model2, new Adam(model2.Modules[0].Module.Parameters(), 1e-3f), rng2, new TrainerOptions
        {
            Epochs = 20, DatasetRows = x.Dim(0), BatchSize = 64,
            EvaluateEveryEpoch = true, EarlyStopping = new EarlyStopping(Patience: 3),
            Checkpoint = CheckpointTarget.InFolder(folder, "regression", """{"hidden":64}"""),
        });
        Assert.True(again.TryResume());
        Assert.Equal(result.Steps, again.Step);
        Assert.Equal(result.Best.Score, again.Best!.Score);
        string text = File.ReadAllText(Path.Combine(RepositoryRoot(), "docs", "training-loop.md"));
        Assert.Contains("public Tensor Loss(in TrainingBatch b) => (_net.Forward(x.GatherRows(b.Rows)) - y.GatherRows(b.Rows)).Square().Mean();", text);
        Assert.Contains("EvaluateEveryEpoch = true, EarlyStopping = new EarlyStopping(Patience: 3),", text);
    }

    private static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "MiBounds.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("MiBounds.sln not found above the test folder");
    }
}
