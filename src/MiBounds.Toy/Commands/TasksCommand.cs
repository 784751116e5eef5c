using System.CommandLine;
using System.Globalization;
using MiBounds.Commands;
using MiBounds.Toy.Sweep;
using MiBounds.Toy.Tasks;
using static MiBounds.Commands.CommandOptions;

namespace MiBounds.Toy.Commands;

/// <summary>`tasks`: each task with the true MI it reaches at every requested level.</summary>
internal static class TasksCommand
{
    internal static Command Create()
    {
        var dim = Int("--dim", "dimension of X and Y", 20, min: 1, max: 100_000);
        var levels = Doubles("--levels", "requested MI levels in nats", SweepConfig.DefaultLevels, min: 0, max: 1e6);
        return new Command("tasks", "list the tasks with known MI and their parameters at each level") { dim, levels }
            .WithAction(run => Run(run.Get(dim), run.Get(levels), run.Out));
    }

    private static int Run(int dim, double[] levels, TextWriter output)
    {
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
