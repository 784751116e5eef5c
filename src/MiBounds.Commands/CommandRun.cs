using System.CommandLine;
using Spectre.Console;

namespace MiBounds.Commands;

/// <summary>What a command's action gets from the host: the parsed options, its writers, the interruption token and the output mode.</summary>
public sealed class CommandRun
{
    private IAnsiConsole? _console;

    internal CommandRun(ParseResult parse, TextWriter output, TextWriter error, CancellationToken cancellation)
    {
        Parse = parse;
        Out = output;
        Error = error;
        Cancellation = cancellation;
    }

    /// <summary>The parse result (for <see cref="ParseResult.GetValue{T}(Option{T})"/>).</summary>
    public ParseResult Parse { get; }

    /// <summary>Where results and progress go.</summary>
    public TextWriter Out { get; }

    /// <summary>Where warnings go.</summary>
    public TextWriter Error { get; }

    /// <summary>Cancelled on SIGINT or SIGTERM: checkpoint, then return <see cref="CommandHost.Interrupted"/> (or throw <see cref="OperationCanceledException"/>).</summary>
    public CancellationToken Cancellation { get; }

    /// <summary>Whether <see cref="Out"/> is a terminal: live tables and progress bars only then (<see cref="ConsoleOutput.IsInteractive"/>).</summary>
    public bool Interactive => ConsoleOutput.IsInteractive(Out);

    /// <summary>A Spectre.Console console on <see cref="Out"/> that follows the plain-output rule (<see cref="ConsoleOutput.Create"/>).</summary>
    public IAnsiConsole Console => _console ??= ConsoleOutput.Create(Out);

    /// <summary>The option's value: its default when absent, or null (default of <typeparamref name="T"/>) for an absent option without one.</summary>
    public T Get<T>(Option<T> option) => !option.HasDefaultValue && !Has(option) ? default! : Parse.GetValue(option)!; // lists would read as empty arrays

    /// <summary>Whether the option was given on the command line.</summary>
    public bool Has(Option option) => Parse.GetResult(option) is { Implicit: false };
}
