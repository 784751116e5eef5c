using Spectre.Console;

namespace MiBounds.Commands;

/// <summary>
/// The one rule for plain versus live output: live tables, progress bars, colours and wrapping only when writing to the
/// console's own stdout on a terminal; anything else (a file, a pipe, a test's StringWriter, CI) gets plain lines.
/// </summary>
public static class ConsoleOutput
{
    /// <summary>The width given to plain consoles: wide enough that Spectre.Console never wraps a line.</summary>
    public const int PlainWidth = 100_000;

    /// <summary>Whether <paramref name="output"/> is an interactive terminal (live displays allowed).</summary>
    public static bool IsInteractive(TextWriter output) =>
        ReferenceEquals(output, Console.Out) && !Console.IsOutputRedirected
        && string.IsNullOrEmpty(Environment.GetEnvironmentVariable("CI"));

    /// <summary>A Spectre.Console console writing to <paramref name="output"/>: detected capabilities on a terminal, otherwise no ANSI, no colours, not interactive, no wrapping.</summary>
    public static IAnsiConsole Create(TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(output);
        if (IsInteractive(output)) return AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(output) });
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(output),
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
        });
        console.Profile.Width = PlainWidth;
        return console;
    }
}
