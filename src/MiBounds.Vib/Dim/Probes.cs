using MiBounds.Vib.Attacks;
using MiBounds.Tensors;
using MiBounds.Tensors.Nn;
using MiBounds.Tensors.Optim;

namespace MiBounds.Vib.Dim;

/// <summary>The classifier trained on frozen features.</summary>
public enum ProbeKind
{
    /// <summary>A linear softmax classifier.</summary>
    Linear,
    /// <summary>One hidden layer (ReLU) then a softmax classifier.</summary>
    Mlp,
}

/// <summary>How probes are trained: Adam, mini-batches, a fixed number of epochs over the probe's training set.</summary>
/// <param name="Epochs">Passes over the training features.</param>
/// <param name="BatchSize">Mini-batch size.</param>
/// <param name="LearningRate">Adam learning rate.</param>
/// <param name="Hidden">Hidden units of the MLP probe.</param>
public sealed record ProbeSettings(int Epochs = 20, int BatchSize = 128, double LearningRate = 1e-3, int Hidden = 200);

/// <summary>
/// Linear and MLP probes on frozen features: the features are standardized with the training set's per-column mean and
/// standard deviation, a classifier is trained with cross-entropy, and its test accuracy is the probe's score.
/// </summary>
public static class Probes
{
    /// <summary>Trains a probe on (<paramref name="trainX"/>, <paramref name="trainY"/>) and returns its accuracy on the test features.</summary>
    public static double Accuracy(Tensor trainX, int[] trainY, Tensor testX, int[] testY, int classes, ProbeKind kind, ProbeSettings settings, Rng rng)
    {
        if (trainX.Rank != 2 || testX.Rank != 2 || trainX.Dim(1) != testX.Dim(1))
            throw new ArgumentException($"probe features must be [N, d] with the same d, got train {Tensor.ShapeString(trainX.Shape)} and test {Tensor.ShapeString(testX.Shape)}");
        if (trainX.Dim(0) != trainY.Length || testX.Dim(0) != testY.Length)
            throw new ArgumentException($"probe features and labels disagree: {trainX.Dim(0)} train rows for {trainY.Length} labels, {testX.Dim(0)} test rows for {testY.Length} labels");
        if (trainY.Length == 0 || testY.Length == 0) throw new ArgumentException("probe needs non-empty training and test sets");
        var (train, test) = Standardize(trainX.EnsureFinite("probe training features"), testX.EnsureFinite("probe test features"));
        int d = train.Dim(1), n = trainY.Length, batch = Math.Min(settings.BatchSize, n);
        Module model = kind == ProbeKind.Linear ? new Linear(d, classes, rng) : new Mlp(d, settings.Hidden, classes, 1, rng);
        var forward = (IForward)model;
        var adam = new Adam(model.Parameters(), (float)settings.LearningRate);
        var order = Enumerable.Range(0, n).ToArray();
        var workspace = new TensorWorkspace();
        for (int epoch = 0; epoch < settings.Epochs; epoch++)
        {
            rng.Shuffle(order.AsSpan());
            for (int start = 0; start + batch <= n; start += batch)
            {
                using var scope = workspace.Enter(); // the step's graph; the probe's parameters and Adam's state live outside it
                var idx = order[start..(start + batch)];
                var loss = Tensor.CrossEntropy(forward.Forward(train.GatherRows(idx)), idx.Select(i => trainY[i]).ToArray());
                adam.ZeroGrad();
                loss.Backward();
                adam.Step();
            }
        }
        return AdversarialAttacks.Accuracy(x => forward.Forward(x), test, testY);
    }

    /// <summary>Both sets standardized with the training set's column means and standard deviations (constant columns are only centred).</summary>
    public static (Tensor Train, Tensor Test) Standardize(Tensor train, Tensor test)
    {
        int n = train.Dim(0), d = train.Dim(1);
        var mean = new double[d];
        var sq = new double[d];
        var v = train.Values;
        for (int i = 0; i < n; i++)
            for (int j = 0; j < d; j++) { double x = v[i * d + j]; mean[j] += x; sq[j] += x * x; }
        var scale = new float[d];
        var shift = new float[d];
        for (int j = 0; j < d; j++)
        {
            mean[j] /= n;
            double std = Math.Sqrt(Math.Max(0, sq[j] / n - mean[j] * mean[j]));
            scale[j] = std > 1e-6 ? (float)(1 / std) : 1f;
            shift[j] = (float)mean[j];
        }
        Tensor Apply(Tensor t)
        {
            var r = t.Detach().Clone();
            var data = r.Data;
            int rows = t.Dim(0);
            for (int i = 0; i < rows; i++)
                for (int j = 0; j < d; j++) data[i * d + j] = (data[i * d + j] - shift[j]) * scale[j];
            return r;
        }
        return (Apply(train), Apply(test));
    }
}
