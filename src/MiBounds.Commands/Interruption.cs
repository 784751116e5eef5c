using System.Runtime.InteropServices;

namespace MiBounds.Commands;

/// <summary>
/// The request to stop a running command: SIGINT (Ctrl-C) and SIGTERM cancel <see cref="Token"/> instead of killing the
/// process, so the command can checkpoint and return; a second signal kills at once. The host maps the command's
/// "interrupted" outcome to <see cref="ExitCode"/> (130 after SIGINT, 143 after SIGTERM).
/// </summary>
public sealed class Interruption : IDisposable
{
    private readonly CancellationTokenSource _source = new();
    private readonly List<PosixSignalRegistration> _registrations = [];
    private readonly TextWriter? _notice;
    private int _signal; // 0 = none; PosixSignal values are negative (SIGTERM = -4) or raw signal numbers

    /// <summary>An interruption that only <see cref="Request"/> triggers (tests, embedding).</summary>
    public Interruption() { }

    private Interruption(TextWriter notice) => _notice = notice;

    /// <summary>Handles SIGINT and SIGTERM alike until disposed; <paramref name="notice"/> gets one line when the first arrives.</summary>
    public static Interruption FromSignals(TextWriter notice)
    {
        var interruption = new Interruption(notice);
        foreach (var signal in new[] { PosixSignal.SIGINT, PosixSignal.SIGTERM })
            interruption._registrations.Add(PosixSignalRegistration.Create(signal, interruption.OnSignal));
        return interruption;
    }

    /// <summary>Cancelled when a signal (or <see cref="Request"/>) asks the command to stop.</summary>
    public CancellationToken Token => _source.Token;

    /// <summary>The first signal that arrived, or null.</summary>
    public PosixSignal? Signal => _signal == 0 ? null : (PosixSignal)_signal;

    /// <summary>Whether a stop was requested.</summary>
    public bool IsRequested => _source.IsCancellationRequested;

    /// <summary>The process exit code for a command stopped by this interruption: 143 after SIGTERM, otherwise 130.</summary>
    public int ExitCode => Signal == PosixSignal.SIGTERM ? 143 : 130;

    /// <summary>Asks the command to stop as if <paramref name="signal"/> had arrived; returns false if a stop was already requested.</summary>
    public bool Request(PosixSignal signal)
    {
        if (Interlocked.CompareExchange(ref _signal, (int)signal, 0) != 0) return false;
        _source.Cancel();
        return true;
    }

    private void OnSignal(PosixSignalContext context)
    {
        // The second signal keeps its default action, which ends the process at once.
        if (!Request(context.Signal)) return;
        context.Cancel = true;
        _notice?.WriteLine($"interrupted ({context.Signal}): saving checkpoints and stopping (send it again to abort at once)");
    }

    /// <summary>Restores the signals' default handling.</summary>
    public void Dispose()
    {
        foreach (var r in _registrations) r.Dispose();
        _registrations.Clear();
        _source.Dispose();
    }
}
