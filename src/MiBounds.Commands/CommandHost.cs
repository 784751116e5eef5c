using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;

namespace MiBounds.Commands;

/// <summary>
/// Runs a System.CommandLine root with the project's conventions: --help/-h everywhere (exit 0); usage and bad-data
/// errors as one line on stderr with exit code 2; unexpected exceptions with their stack trace and exit code 1;
/// SIGINT/SIGTERM cancel the command's token and end with exit code 130/143.
/// </summary>
public static class CommandHost
{
    /// <summary>What an action returns when it stopped because of the interruption (after checkpointing); the host turns it into 130 or 143.</summary>
    public const int Interrupted = 130;

    /// <summary>Exit code of usage and bad-data errors.</summary>
    public const int UsageError = 2;

    /// <summary>Sets <paramref name="command"/>'s action; the action gets a <see cref="CommandRun"/> and returns the exit code.</summary>
    public static Command WithAction(this Command command, Func<CommandRun, int> action)
    {
        ArgumentNullException.ThrowIfNull(command);
        ArgumentNullException.ThrowIfNull(action);
        command.SetAction((parse, cancellation) =>
        {
            var config = parse.InvocationConfiguration;
            return Task.FromResult(action(new CommandRun(parse, config.Output, config.Error, cancellation)));
        });
        return command;
    }

    /// <summary>Runs the command line on the console, with SIGINT and SIGTERM handled as an <see cref="Interruption"/>; returns the process exit code.</summary>
    public static int Run(Command root, string[] args) => Run(root, args, Console.Out, Console.Error);

    /// <summary>Runs the command line with SIGINT and SIGTERM handled as an <see cref="Interruption"/>; returns the process exit code.</summary>
    public static int Run(Command root, string[] args, TextWriter output, TextWriter error)
    {
        using var interruption = Interruption.FromSignals(error);
        return Run(root, args, output, error, interruption);
    }

    /// <summary>Runs the command line with a given <paramref name="interruption"/> (no signal handlers); returns the exit code.</summary>
    public static int Run(Command root, string[] args, TextWriter output, TextWriter error, Interruption interruption)
    {
        ArgumentNullException.ThrowIfNull(root);
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(interruption);
        var parse = root.Parse(args);
        string where = CommandPath(parse);
        var config = new InvocationConfiguration
        {
            Output = output,
            Error = error,
            EnableDefaultExceptionHandler = false, // the host reports exceptions itself (one line or a stack trace)
            ProcessTerminationTimeout = null, // signals are the Interruption's
        };
        if (parse.Action is HelpAction help)
        {
            if (!ConsoleOutput.IsInteractive(output)) help.MaxWidth = ConsoleOutput.PlainWidth;
            return parse.Invoke(config);
        }
        if (parse.Action is CommandLineAction { ClearsParseErrors: true }) return parse.Invoke(config); // --version and the like
        if (ParseErrorLine(parse) is { } line)
        {
            error.WriteLine($"{where}: {line}");
            return UsageError;
        }
        if (parse.Action is null)
        {
            error.WriteLine($"{where}: no command given (commands: {string.Join(", ", root.Subcommands.Select(c => c.Name).Order(StringComparer.Ordinal))}; --help for more)");
            return UsageError;
        }
        int code;
        try
        {
            code = parse.InvokeAsync(config, interruption.Token).GetAwaiter().GetResult();
        }
        catch (OperationCanceledException) when (interruption.IsRequested)
        {
            code = Interrupted;
        }
        catch (Exception e) when (IsUsageOrDataError(e))
        {
            error.WriteLine($"{where}: {OneLine(e.Message)}");
            return UsageError;
        }
        catch (Exception e)
        {
            error.WriteLine($"{where}: unexpected error");
            error.WriteLine(e.ToString());
            return 1;
        }
        return interruption.IsRequested || code == Interrupted ? interruption.ExitCode : code;
    }

    /// <summary>
    /// Exceptions that mean a bad command line or bad input data (a file that cannot be read, a malformed or
    /// mismatched checkpoint), reported on one line with exit code 2.
    /// </summary>
    public static bool IsUsageOrDataError(Exception e) =>
        e is UsageException or InvalidDataException or FormatException or IOException or UnauthorizedAccessException
            or ArgumentException;

    private static string CommandPath(ParseResult parse)
    {
        var names = new List<string>();
        for (var c = parse.CommandResult; c is not null; c = c.Parent as System.CommandLine.Parsing.CommandResult)
            names.Add(c.Command.Name);
        names.Reverse();
        return string.Join(" ", names);
    }

    private static string? ParseErrorLine(ParseResult parse)
    {
        if (parse.UnmatchedTokens.Count > 0 && parse.CommandResult.Command.TreatUnmatchedTokensAsErrors)
        {
            string first = parse.UnmatchedTokens[0];
            // The top command (a RootCommand, or a named Command for a host whose program name is not its assembly's).
            if (parse.CommandResult.Parent is null && parse.CommandResult.Command is { Subcommands.Count: > 0 } root)
                return $"unknown command '{first}' (commands: {string.Join(", ", root.Subcommands.Select(c => c.Name).Order(StringComparer.Ordinal))})";
            var options = parse.UnmatchedTokens.Where(t => t.StartsWith('-')).ToArray();
            if (options.Length > 0) return $"unknown option{(options.Length > 1 ? "s" : "")} {string.Join(", ", options)}";
            return $"unexpected argument '{first}' (options look like --name value)";
        }
        return parse.Errors.Count > 0 ? OneLine(parse.Errors[0].Message) : null;
    }

    private static string OneLine(string message) => message.Split('\n')[0].TrimEnd('\r');
}
