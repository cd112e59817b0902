using System.Runtime.InteropServices;
using Fuselage.Bench.E2e;

namespace Fuselage.Tests.Bench;

/// <summary>
/// How the e2e runner takes signals: the first goes to the run (which stops and cleans up), a second exits at once after
/// its last words. Tried with SIGWINCH, whose default action is to ignore it, so the test host survives either way.
/// </summary>
public class SignalHandlersTests
{
    private const int SIGWINCH = 28;
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);

    [Fact]
    public void The_first_signal_reaches_the_handler_and_the_second_the_last_words_only()
    {
        using var handled = new SemaphoreSlim(0);
        using var lastWords = new SemaphoreSlim(0);
        var seen = new List<PosixSignal>();
        using (new SignalHandlers([PosixSignal.SIGWINCH], s => { lock (seen) seen.Add(s); handled.Release(); }, () => lastWords.Release()))
        {
            Assert.Equal(0, Posix.Kill(Environment.ProcessId, SIGWINCH));
            Assert.True(handled.Wait(Deadline), "the first signal did not reach the handler");
            Assert.Equal(0, lastWords.CurrentCount);

            Assert.Equal(0, Posix.Kill(Environment.ProcessId, SIGWINCH));
            Assert.True(lastWords.Wait(Deadline), "the second signal did not run the last words");
            Assert.Equal(0, handled.CurrentCount); // not handled a second time
        }
        Assert.Equal([PosixSignal.SIGWINCH], seen);
    }

    [Fact]
    public void Once_disposed_it_takes_no_more_signals()
    {
        int calls = 0;
        new SignalHandlers([PosixSignal.SIGWINCH], _ => Interlocked.Increment(ref calls), () => Interlocked.Increment(ref calls)).Dispose();
        using var probe = new SemaphoreSlim(0);
        // A registration of our own sees the signal arrive, so the test knows when the disposed one would have run.
        using (PosixSignalRegistration.Create(PosixSignal.SIGWINCH, c => { c.Cancel = true; probe.Release(); }))
        {
            Assert.Equal(0, Posix.Kill(Environment.ProcessId, SIGWINCH));
            Assert.True(probe.Wait(Deadline));
        }
        Assert.Equal(0, Volatile.Read(ref calls));
    }
}
