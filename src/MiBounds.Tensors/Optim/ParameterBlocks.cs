namespace MiBounds.Tensors.Optim;

/// <summary>
/// A fixed list of parameters cut into blocks of at most <see cref="BlockSize"/> values of one parameter each, so an
/// elementwise update (Adam, Polyak averaging) is split across the engine's threads. The update is elementwise, so the
/// split, and which thread runs which block, never changes a value.
/// </summary>
internal sealed class ParameterBlocks
{
    /// <summary>Values per block (a multiple of every vector width, so blocks keep the lanes of one whole pass).</summary>
    public const int BlockSize = 1 << 16;

    // Below this many values the update runs on the calling thread: waking a worker costs more than it saves.
    private const long ParallelThreshold = 1 << 18;

    private readonly (int Parameter, int Start, int Length)[] _blocks;
    private readonly long _totalSize;

    public ParameterBlocks(IReadOnlyList<Tensor> parameters)
    {
        var blocks = new List<(int, int, int)>();
        for (int i = 0; i < parameters.Count; i++)
        {
            int size = parameters[i].Size;
            _totalSize += size;
            for (int start = 0; start < size; start += BlockSize) blocks.Add((i, start, Math.Min(BlockSize, size - start)));
        }
        _blocks = [.. blocks];
    }

    /// <summary>Block <paramref name="part"/>: its parameter's index, first value and length.</summary>
    public (int Parameter, int Start, int Length) this[int part] => _blocks[part];

    /// <summary>Runs <paramref name="work"/> over every block, on up to <see cref="Engine.MaxThreads"/> threads when the parameters are large.</summary>
    public void Run(IPartWork work) => PartRunner.Run(work, _blocks.Length, _totalSize >= ParallelThreshold ? Engine.MaxThreads : 1);
}
