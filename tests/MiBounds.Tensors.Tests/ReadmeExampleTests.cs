using MiBounds.Tensors;
using MiBounds.Tensors.Nn;
using MiBounds.Tensors.Optim;

namespace MiBounds.Tensors.Tests;

/// <summary>The tour in docs/engine.md, kept compiling and passing here (keep the two in sync).</summary>
public class ReadmeExampleTests
{
    [Fact]
    public void EngineTourRuns()
    {
        string path = Path.Combine(Path.GetTempPath(), $"mib-readme-{Guid.NewGuid():N}.safetensors");
        try
        {
            // --- README example starts ---
            var rng = new Rng(42);
            var x = Tensor.RandomNormal(rng, [64, 1, 8, 8]);            // NCHW images
            int[] labels = Enumerable.Range(0, 64).Select(i => i % 10).ToArray();

            var net = new Sequential()
                .Add(new Conv2d(1, 8, 3, rng, padding: 1)).Add(new BatchNorm(8)).Add(t => t.Relu())
                .Add(new MaxPool2x2()).Add(new Flatten()).Add(new Dropout(0.1f, new Rng(1)))
                .Add(new Linear(8 * 4 * 4, 10, rng));
            var opt = new Adam(net.Parameters(), 1e-3f);
            var schedule = new ExponentialDecay(opt, gamma: 0.99f);
            var average = new ParameterAverage(net.Parameters(), decay: 0.99f);
            var workspace = new TensorWorkspace();                    // pooled storage for op results

            for (int step = 0; step < 20; step++)
            {
                using (workspace.Enter())
                {
                    opt.ZeroGrad();
                    var loss = Tensor.CrossEntropy(net.Forward(x), labels);   // mean, nats
                    loss.Backward();
                    opt.Step();
                }
                schedule.Step();
                average.Update();
            }

            net.Eval();                                               // batch-norm uses running stats, dropout is off
            using (average.Apply())                                   // evaluate with the averaged weights
            using (Tensor.NoGrad())
                Console.WriteLine(Tensor.Accuracy(net.Forward(x), labels));

            net.Save(path);                                           // parameters + running stats, safetensors
            net.Load(path);                                           // throws, naming tensor and shapes, on a mismatch
            // --- README example ends ---
            Assert.Contains("1.running_mean", SafeTensors.Load(path).Keys);
        }
        finally { File.Delete(path); }
    }
}
