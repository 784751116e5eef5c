using MiBounds.Tensors;
using MiBounds.Vib;
using MiBounds.Vib.Data;

namespace MiBounds.Vib.Tests;

/// <summary>Small labelled image sets for tests: each class lights a different block of pixels, plus noise.</summary>
internal static class Synthetic
{
    public static (byte[] Pixels, byte[] Labels) Bytes(int count, int side, int classes, ulong seed)
    {
        var rng = new Rng(seed);
        var pixels = new byte[count * side * side];
        var labels = new byte[count];
        int block = side * side / classes;
        for (int i = 0; i < count; i++)
        {
            int y = i % classes;
            labels[i] = (byte)y;
            for (int p = 0; p < side * side; p++)
            {
                double v = (p / block == y ? 180 : 40) + 60 * (rng.NextDouble() - 0.5);
                pixels[i * side * side + p] = (byte)Math.Clamp(v, 0, 255);
            }
        }
        return (pixels, labels);
    }

    public static ImageDataset Dataset(int count, int side = 6, int classes = 3, ulong seed = 1)
    {
        var (px, lb) = Bytes(count, side, classes, seed);
        return ImageDataset.FromIdx(new IdxArray([count, side, side], px), new IdxArray([count], lb), "images", "labels");
    }

    public static ImageData Data(int train = 120, int test = 60) => new(Dataset(train, seed: 1), Dataset(test, seed: 2), "synthetic");

    /// <summary>Writes an MNIST-named IDX directory (gzipped) and returns its path.</summary>
    public static string WriteIdxDirectory(int train = 100, int test = 40, int side = 6, int classes = 3)
    {
        var dir = Path.Combine(Path.GetTempPath(), "vibtest-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        var (tx, ty) = Bytes(train, side, classes, 1);
        var (vx, vy) = Bytes(test, side, classes, 2);
        Idx.Write(Path.Combine(dir, "train-images-idx3-ubyte.gz"), [train, side, side], tx);
        Idx.Write(Path.Combine(dir, "train-labels-idx1-ubyte.gz"), [train], ty);
        Idx.Write(Path.Combine(dir, "t10k-images-idx3-ubyte"), [test, side, side], vx);
        Idx.Write(Path.Combine(dir, "t10k-labels-idx1-ubyte"), [test], vy);
        return dir;
    }
}
