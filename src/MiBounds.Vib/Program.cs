using MiBounds.Vib.Commands;
namespace MiBounds.Vib;

/// <summary>
/// Entry point: `dotnet run --project src/MiBounds.Vib -c Release -- &lt;command&gt; [options]`.
/// Commands live in their own files as `Commands.Register*(CommandSet)` methods, so adding one never touches this file.
/// </summary>
internal static class Program
{
    private static int Main(string[] args) => VibCommands.Dispatch(args, Console.Out, Console.Error);
}
