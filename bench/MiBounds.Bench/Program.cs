using BenchmarkDotNet.Running;

namespace MiBounds.Bench;

/// <summary>
/// Entry point. `dotnet run -c Release --project bench/MiBounds.Bench -- &lt;command&gt;` runs one of the
/// command-line measurements registered in <see cref="Commands"/>; anything else goes to BenchmarkDotNet's switcher
/// (e.g. `-- --filter '*Gemm*'`).
/// </summary>
internal static class Program
{
    /// <summary>Command-line measurements outside BenchmarkDotNet: name → (description, action returning an exit code).</summary>
    internal static readonly Dictionary<string, (string Description, Func<string[], int> Run)> Commands = new(StringComparer.Ordinal);

    private static int Main(string[] args)
    {
        CommandRegistry.RegisterAll();
        if (args.Length > 0 && Commands.TryGetValue(args[0], out var command)) return command.Run(args[1..]);
        if (args.Length > 0 && args[0] is "list" or "--help" or "-h")
        {
            foreach (var (name, (desc, _)) in Commands.OrderBy(c => c.Key)) Console.WriteLine($"{name,-20} {desc}");
            Console.WriteLine("anything else: BenchmarkDotNet (e.g. --filter '*')");
            return 0;
        }
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
        return 0;
    }
}
