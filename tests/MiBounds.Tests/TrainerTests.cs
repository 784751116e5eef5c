using MiBounds.Bounds;
using MiBounds.Critics;
using MiBounds.Tensors;
using MiBounds.Tensors.Nn;
using MiBounds.Tensors.Optim;
using MiBounds.Training;

namespace MiBounds.Tests;

/// <summary>The one training loop: resume, modes, early stopping, the non-finite guard, optimizers and checkpoint refusal.</summary>
public sealed class TrainerTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "mib-trainer-" + Guid.NewGuid().ToString("N"));

    public TrainerTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    /// <summary>Regression of y on x with a dropout MLP; records every mode it was called in.</summary>
    private sealed class Regression : Module, ITrainable
    {
        private readonly Tensor _x, _y;
        public Sequential Net { get; }
        public List<bool> StepModes { get; } = [];
        public List<bool> EvaluationModes { get; } = [];
        public Func<int, double>? ScriptedScore { get; init; }
        public Goal Goal { get; init; } = Goal.Minimize;
        public double NanAtStep { get; init; } = -1;
        private int _evaluations;

        public Regression(Rng rng, int rows = 40)
        {
            _x = Tensor.RandomNormal(rng, [rows, 3]);
            _y = Tensor.Zeros(rows, 1);
            for (int i = 0; i < rows; i++) _y[i] = (float)(_x[i, 0] - 0.5 * _x[i, 1] + 0.1 * rng.NextNormal());
            Net = RegisterModule("net", new Sequential().Add(new Linear(3, 16, rng)).Add(t => t.Relu()).Add(new Dropout(0.2f, rng)).Add(new Linear(16, 1, rng)));
        }

        public IReadOnlyList<(string Name, Module Module)> Modules => [("regression", this)];

        public Tensor Loss(in TrainingBatch batch)
        {
            StepModes.Add(Net.Training);
            var pred = Net.Forward(_x.GatherRows(batch.Rows));
            var loss = (pred - _y.GatherRows(batch.Rows)).Square().Mean();
            return batch.Step == NanAtStep ? loss * float.NaN : loss;
        }

        public Evaluation Evaluate()
        {
            EvaluationModes.Add(Net.Training);
            int i = _evaluations++;
            if (ScriptedScore is not null) return new Evaluation(ScriptedScore(i));
            double mse = (Net.Forward(_x) - _y).Square().Mean().Item();
            return new Evaluation(mse, new Dictionary<string, double> { ["mse"] = mse });
        }
    }

    private static float[][] Values(Module m) => m.Parameters().Select(p => p.ToArray()).ToArray();

    /// <summary>
    /// A 4-epoch run over 40 rows in batches of 8 (5 steps per epoch) with Adam, a per-epoch schedule, Polyak averaging,
    /// an evaluation per epoch, a checkpoint every 7 steps and a per-step CSV; cancelled after <paramref name="cancelAfter"/>
    /// steps, or crashing (an exception out of the loop, no final checkpoint) after <paramref name="crashAfter"/>.
    /// </summary>
    private (Trainer Trainer, Regression Model, MetricsLog Log) Build(string name, int? cancelAfter = null, int? crashAfter = null, string configuration = "{\"lr\":0.01}", string kind = "test-regression")
    {
        var cancel = new CancellationTokenSource();
        var rng = new Rng(5);
        var model = new Regression(rng);
        var adam = new Adam(model.Parameters(), 0.01f);
        var log = new MetricsLog(Path.Combine(_dir, name + ".csv"), LogUnit.Step, "step", "loss");
        var trainer = new Trainer(model, adam, rng, new TrainerOptions
        {
            Epochs = 4,
            DatasetRows = 40,
            BatchSize = 8,
            Schedule = new StepDecay(adam, 3, 0.5f),
            ScheduleUnit = ScheduleUnit.Epoch,
            Average = new ParameterAverage(model.Parameters(), 0.9f),
            EvaluateEveryEpoch = true,
            Checkpoint = new CheckpointTarget(Path.Combine(_dir, name + ".safetensors"), kind, configuration),
            CheckpointEverySteps = 7,
            Logs = [log],
            Cancellation = cancel.Token,
            OnStep = s =>
            {
                log.Append(s.Step, s.Loss);
                if (s.Step == cancelAfter) cancel.Cancel();
                if (s.Step == crashAfter) throw new IOException("simulated crash");
            },
        });
        return (trainer, model, log);
    }

    [Fact]
    public void InterruptedMidEpochAndResumedEqualsUninterrupted()
    {
        var (full, fullModel, fullLog) = Build("full");
        var done = full.Fit();
        Assert.Equal(StopReason.Completed, done.Reason);
        Assert.Equal(20, done.Steps);
        Assert.Equal(4, done.Epochs);

        // Cancelled after 13 steps: mid-epoch (5 steps per epoch) and between the every-7-steps checkpoints.
        var (cut, _, cutLog) = Build("cut", cancelAfter: 13);
        var partial = cut.Fit();
        Assert.Equal(StopReason.Interrupted, partial.Reason);
        Assert.Equal(13, partial.Steps);
        // A run killed without a final checkpoint leaves rows past its last checkpoint: the resume must drop them.
        File.AppendAllText(cutLog.Path, "14,999\n15,999\n");

        var (resumed, resumedModel, _) = Build("cut");
        Assert.True(resumed.TryResume());
        Assert.Equal((13L, 2, 3), (resumed.Step, resumed.Epoch, resumed.StepInEpoch));
        Assert.Equal(StopReason.Completed, resumed.Fit().Reason);
        Assert.Equal(Values(fullModel), Values(resumedModel));
        Assert.Equal(File.ReadAllText(fullLog.Path), File.ReadAllText(cutLog.Path));
    }

    [Fact]
    public void InterruptedAtAnEpochBoundaryAndResumedEqualsUninterrupted()
    {
        var (full, fullModel, fullLog) = Build("full");
        full.Fit();
        // Cancelled after step 10, the end of epoch 2: the checkpoint holds no mid-epoch order, the next epoch's shuffle must still match.
        var (cut, _, cutLog) = Build("boundary", cancelAfter: 10);
        Assert.Equal(StopReason.Interrupted, cut.Fit().Reason);
        var (resumed, resumedModel, _) = Build("boundary");
        Assert.True(resumed.TryResume());
        Assert.Equal((10L, 2, 0), (resumed.Step, resumed.Epoch, resumed.StepInEpoch));
        resumed.Fit();
        Assert.Equal(Values(fullModel), Values(resumedModel));
        Assert.Equal(File.ReadAllText(fullLog.Path), File.ReadAllText(cutLog.Path));
    }

    [Fact]
    public void CrashedRunResumesFromItsLastCheckpoint()
    {
        var (full, fullModel, fullLog) = Build("full");
        full.Fit();
        // A crash at step 10 (no final checkpoint, as with kill -9): the checkpoint of step 7 is what remains.
        var (crashing, _, crashingLog) = Build("crash", crashAfter: 10);
        Assert.Throws<IOException>(() => crashing.Fit());
        Assert.Equal(11, File.ReadAllLines(crashingLog.Path).Length);
        var (resumed, resumedModel, _) = Build("crash");
        Assert.True(resumed.TryResume());
        Assert.Equal(7, resumed.Step);
        resumed.Fit();
        Assert.Equal(Values(fullModel), Values(resumedModel));
        Assert.Equal(File.ReadAllText(fullLog.Path), File.ReadAllText(crashingLog.Path));
    }

    [Fact]
    public void StepsRunInTrainingModeAndEvaluationsInEvaluationMode()
    {
        var (trainer, model, _) = Build("modes");
        trainer.Fit();
        Assert.Equal(20, model.StepModes.Count);
        Assert.All(model.StepModes, Assert.True);
        Assert.Equal(4, model.EvaluationModes.Count);
        Assert.All(model.EvaluationModes, Assert.False);
        Assert.False(model.Net.Training); // left in evaluation mode for the caller
    }

    [Theory]
    [InlineData(Goal.Maximize)] // scores 1, 5, 2, 9, 3, 4, 0: best 9 (evaluation 3), then 3 without a new best
    [InlineData(Goal.Minimize)] // best 1 (evaluation 0), then 5, 2, 9
    public void EarlyStoppingRestoresTheBestEvaluationsParameters(Goal goal)
    {
        double[] scores = [1, 5, 2, 9, 3, 4, 0, 8];
        var rng = new Rng(3);
        var model = new Regression(rng) { ScriptedScore = i => scores[i], Goal = goal };
        var snapshots = new List<float[][]>();
        var trainer = new Trainer(model, new Sgd(model.Parameters(), 0.05f), rng, new TrainerOptions
        {
            Steps = 100, DatasetRows = 40, BatchSize = 10,
            EvaluateEverySteps = 2, EarlyStopping = new EarlyStopping(Patience: 3),
            OnEvaluation = e => snapshots.Add(Values(model)),
        });
        var result = trainer.Fit();
        int best = goal == Goal.Maximize ? 3 : 0;
        Assert.Equal(StopReason.EarlyStopped, result.Reason);
        Assert.Equal(best + 4, result.Evaluations);
        Assert.Equal(scores[best], result.Best!.Score);
        Assert.Equal(2L * (best + 1), result.BestStep);
        Assert.Equal(snapshots[best], Values(model));
        Assert.NotEqual(snapshots[^1], Values(model));
    }

    [Fact]
    public void ANonFiniteLossStopsTheRunNamingTheStepWithoutACheckpoint()
    {
        var rng = new Rng(4);
        var model = new Regression(rng) { NanAtStep = 6 };
        string path = Path.Combine(_dir, "nan.safetensors");
        var trainer = new Trainer(model, new Adam(model.Parameters(), 0.01f), rng, new TrainerOptions
        {
            Epochs = 3, DatasetRows = 40, BatchSize = 8,
            Checkpoint = new CheckpointTarget(path, "test", "{}"), CheckpointEveryEpoch = true,
        });
        var before = Values(model);
        var result = trainer.Fit();
        Assert.Equal(StopReason.Diverged, result.Reason);
        Assert.Equal(6, result.Steps);
        Assert.Contains("at step 6 (epoch 2)", result.Error);
        Assert.Contains("NaN", result.Error);
        var e = Assert.Throws<NonFiniteObjectiveException>(() => result.ThrowIfDiverged());
        Assert.Equal(6, e.Step);
        // The epoch-1 checkpoint (step 5) stays the last one: nothing of the diverged step is saved.
        var saved = TrainingCheckpoint.Load(path, "test", "{}");
        Assert.Equal(5, saved.GetLong("loop.step"));
        Assert.NotEqual(before, Values(model));
    }

    [Fact]
    public void SgdTrainsThroughTheLoop()
    {
        var rng = new Rng(6);
        var model = new Regression(rng);
        var trainer = new Trainer(model, new Sgd(model.Parameters(), 0.05f, momentum: 0.9f), rng, new TrainerOptions { Epochs = 30, DatasetRows = 40, BatchSize = 8 });
        double before = trainer.Evaluate().Score;
        trainer.Fit();
        double after = trainer.Evaluate().Score;
        Assert.True(after < 0.5 * before, $"mse {before} → {after}");
    }

    [Fact]
    public void CheckpointsOfAnotherRunAreRefusedInOneLineNamingTheDifference()
    {
        var (first, _, _) = Build("refuse", configuration: "{\"lr\":0.01,\"batch\":8,\"hidden\":{\"width\":16}}");
        first.Fit();
        string path = Path.Combine(_dir, "refuse.safetensors");

        var (other, _, _) = Build("refuse", configuration: "{\"lr\":0.01,\"batch\":8,\"hidden\":{\"width\":32}}");
        var e = Assert.Throws<InvalidDataException>(() => other.TryResume());
        Assert.DoesNotContain('\n', e.Message);
        Assert.Contains("hidden.width: 16 in the checkpoint, 32 now", e.Message);
        Assert.Contains(path, e.Message);

        var (kind, _, _) = Build("refuse", configuration: "{\"lr\":0.01,\"batch\":8,\"hidden\":{\"width\":16}}", kind: "other-kind");
        Assert.Contains("not of a other-kind run", Assert.Throws<InvalidDataException>(() => kind.TryResume()).Message);

        // An older format: a plain safetensors file without the format entries, and a file that is not safetensors at all.
        SafeTensors.Save(path, new Dictionary<string, Tensor> { ["w"] = Tensor.Zeros(2) }, new Dictionary<string, string> { ["epochs"] = "3" });
        var (old, _, _) = Build("refuse");
        Assert.Contains("older or foreign format", Assert.Throws<InvalidDataException>(() => old.TryResume()).Message);
        File.WriteAllText(path, "MIBOUNDS-TOY-RUN-1 binary");
        var garbage = Assert.Throws<InvalidDataException>(() => old.TryResume());
        Assert.Contains("is not a MiBounds training checkpoint", garbage.Message);
        Assert.DoesNotContain('\n', garbage.Message);
    }

    [Fact]
    public void MineMovingAverageIsCheckpointedAndResumesExactly()
    {
        double[] Run(string name, int? cancelAfter)
        {
            var rng = new Rng(11);
            var mine = new Mine(new SeparableCritic(2, 2, rng, hidden: 8, embed: 4));
            var values = new List<double>();
            var cancel = new CancellationTokenSource();
            var model = new EstimatorModel(mine, _ => TestData.Gaussian(16, 2, 0.8, rng));
            var trainer = new Trainer(model, new Adam(mine.Parameters(), 1e-3f), rng, new TrainerOptions
            {
                Steps = 30, Checkpoint = new CheckpointTarget(Path.Combine(_dir, name + ".safetensors"), "mine", "{}"),
                Cancellation = cancel.Token,
                OnStep = s => { values.Add(model.LastValue); if (s.Step == cancelAfter) cancel.Cancel(); },
            });
            trainer.TryResume();
            trainer.Fit();
            return [.. values];
        }
        var full = Run("mine-full", null);
        var first = Run("mine-cut", 12);
        Assert.Equal(12, first.Length);
        var rest = Run("mine-cut", null);
        Assert.Equal(full, first.Concat(rest).ToArray());
        var state = TrainingCheckpoint.Load(Path.Combine(_dir, "mine-cut.safetensors"), "mine", "{}");
        Assert.True(state.HasTensor("bound.moving_average"));
        Assert.True(state.HasTensor("module.critic.g.layers.0.weight") || state.Tensors.Keys.Any(k => k.StartsWith("module.critic.", StringComparison.Ordinal)));
    }
}
