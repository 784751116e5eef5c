using System.Globalization;
using MiBounds.Cli;
using MiBounds.Toy.Sweep;
using MiBounds.Toy.Tasks;

namespace MiBounds.Toy;

internal static partial class Program
{
    internal static void RegisterTasks(CommandSet c) => c.Add("tasks", "list the tasks with known MI and their parameters at each level (--dim 20, --levels 2,4,6,8,10)", o => Tasks(o, Console.Out));

    /// <summary>Prints each task with the true MI it reaches at every requested level.</summary>
    internal static int Tasks(ParsedOptions o, TextWriter output)
    {
        int dim = o.Int("dim", 20, min: 1, max: 100_000);
        var levels = o.Doubles("levels", SweepConfig.DefaultLevels, min: 0, max: 1e6);
        o.EnsureAllUsed();
        foreach (var factory in TaskRegistry.All)
        {
            output.WriteLine($"{factory.Name}: {factory.Summary}");
            foreach (var mi in levels)
            {
                string line;
                try
                {
                    var task = factory.Create(dim, mi);
                    line = $"  requested {FormatMi(mi)} nats -> true MI {FormatMi(task.TrueMi)} nats: {task.Description}";
                }
                catch (ArgumentException e) { line = $"  requested {FormatMi(mi)} nats -> not available: {e.Message.Split('\n')[0]}"; }
                output.WriteLine(line);
            }
        }
        var fixedTasks = TaskRegistry.FixedTasks;
        if (fixedTasks.Count > 0)
        {
            output.WriteLine("tasks with a fixed MI:");
            foreach (var task in fixedTasks) output.WriteLine($"  {task.Name}: true MI {FormatMi(task.TrueMi)} nats: {task.Description}");
        }
        return 0;
    }

    private static string FormatMi(double v) => v.ToString("0.###", CultureInfo.InvariantCulture);
}
