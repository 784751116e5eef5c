using MiBounds.Tensors;

namespace MiBounds.Vib.Data;

/// <summary>Labelled images: pixels flattened to rows and scaled from [0, 255] to [−1, 1].</summary>
public sealed class ImageDataset
{
    /// <summary>Pixels, [N, height·width], in [−1, 1].</summary>
    public Tensor Images { get; }
    /// <summary>Class labels, one per image.</summary>
    public int[] Labels { get; }
    /// <summary>Image height.</summary>
    public int Height { get; }
    /// <summary>Image width.</summary>
    public int Width { get; }
    /// <summary>Number of classes (largest label + 1, at least 10 for MNIST-style data).</summary>
    public int Classes { get; }

    /// <summary>Number of images.</summary>
    public int Count => Labels.Length;

    /// <summary>Pixels per image.</summary>
    public int Features => Height * Width;

    /// <summary>Wraps images already scaled to [−1, 1].</summary>
    public ImageDataset(Tensor images, int[] labels, int height, int width, int classes)
    {
        if (images.Rank != 2 || images.Dim(0) != labels.Length || images.Dim(1) != height * width)
            throw new ArgumentException($"images {Tensor.ShapeString(images.Shape)} do not fit {labels.Length} labels of {height}×{width} images");
        if (labels.Length == 0) throw new ArgumentException("empty dataset");
        Images = images; Labels = labels; Height = height; Width = width; Classes = classes;
    }

    /// <summary>The first <paramref name="count"/> images (or all, if fewer).</summary>
    public ImageDataset Take(int count)
    {
        int n = Math.Min(count, Count);
        return new ImageDataset(Images.Slice(0, 0, n).Detach(), Labels[..n], Height, Width, Classes);
    }

    /// <summary>Maps a [0, 255] pixel to [−1, 1].</summary>
    public static float Scale(byte pixel) => pixel / 127.5f - 1f;

    /// <summary>Lower end of the scaled pixel range.</summary>
    public const float PixelMin = -1f;

    /// <summary>Upper end of the scaled pixel range.</summary>
    public const float PixelMax = 1f;

    /// <summary>Converts an L∞ radius in [0, 1] pixel units to the scaled [−1, 1] range (it doubles).</summary>
    public static float EpsilonToScaled(double epsilon) => (float)(2 * epsilon);

    /// <summary>Builds a dataset from an IDX image array [N, H, W] and a label array [N].</summary>
    public static ImageDataset FromIdx(IdxArray images, IdxArray labels, string imagesName, string labelsName)
    {
        if (images.Dims.Length != 3) throw new DataException($"{imagesName}: expected a rank-3 image array [N, H, W], got dimensions [{string.Join(", ", images.Dims)}]");
        if (labels.Dims.Length != 1) throw new DataException($"{labelsName}: expected a rank-1 label array, got dimensions [{string.Join(", ", labels.Dims)}]");
        if (images.Count != labels.Count) throw new DataException($"{imagesName} holds {images.Count} images but {labelsName} holds {labels.Count} labels");
        if (images.Count == 0) throw new DataException($"{imagesName}: no images");
        int n = images.Count, h = images.Dims[1], w = images.Dims[2];
        var pixels = Tensor.Zeros(n, h * w);
        var dst = pixels.Data;
        for (int i = 0; i < dst.Length; i++) dst[i] = Scale(images.Data[i]);
        var y = labels.Data.Select(b => (int)b).ToArray();
        return new ImageDataset(pixels, y, h, w, Math.Max(10, y.Max() + 1));
    }
}

/// <summary>A train and a test split read from an IDX directory (MNIST file names).</summary>
public sealed record ImageData(ImageDataset Train, ImageDataset Test, string Directory)
{
    /// <summary>Where the Debian package dataset-fashion-mnist installs Fashion-MNIST.</summary>
    public const string DefaultDirectory = "/usr/share/datasets/fashion-mnist";

    /// <summary>The command that installs the default dataset.</summary>
    public const string InstallHint = "apt-get install -y dataset-fashion-mnist";

    private static readonly string[] Stems = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"];

    /// <summary>
    /// Loads the four MNIST-named files (each gzipped or not) from <paramref name="directory"/>, or from
    /// <see cref="DefaultDirectory"/> when null. Errors name the file, and for the default location the install command.
    /// </summary>
    public static ImageData Load(string? directory = null) => Load(directory ?? DefaultDirectory, isDefault: directory is null);

    internal static ImageData Load(string dir, bool isDefault)
    {
        try
        {
            var files = Stems.Select(s => Locate(dir, s)).ToArray();
            var arrays = files.Select(Idx.Read).ToArray();
            return new ImageData(ImageDataset.FromIdx(arrays[0], arrays[1], files[0], files[1]),
                ImageDataset.FromIdx(arrays[2], arrays[3], files[2], files[3]), dir);
        }
        catch (DataException e) when (isDefault)
        {
            throw new DataException($"{e.Message} (Fashion-MNIST is expected in {DefaultDirectory}: install it with `{InstallHint}`, or point --data at an IDX directory)", e);
        }
    }

    private static string Locate(string dir, string stem)
    {
        foreach (var name in new[] { stem + ".gz", stem })
        {
            var p = Path.Combine(dir, name);
            if (File.Exists(p)) return p;
        }
        if (!System.IO.Directory.Exists(dir)) throw new DataException($"{Path.Combine(dir, stem)}[.gz]: file not found (directory {dir} does not exist)");
        throw new DataException($"{Path.Combine(dir, stem)}[.gz]: file not found");
    }
}
