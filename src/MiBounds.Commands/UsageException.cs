namespace MiBounds.Commands;

/// <summary>A command-line mistake found by a command's action; the host prints its message on one line and exits with code 2.</summary>
public sealed class UsageException(string message) : Exception(message);
