using System.Diagnostics;
using Fuselage.Interop;

namespace Fuselage.Bench.E2e;

/// <summary>Stalls seen over some interval: how many, and the lateness they add up to (a lower bound of the time lost).</summary>
public readonly record struct StallReading(long Stalls, double LateMilliseconds)
{
    public static StallReading operator -(StallReading after, StallReading before) =>
        new(after.Stalls - before.Stalls, after.LateMilliseconds - before.LateMilliseconds);
}

/// <summary>
/// Counts a sleep's wake-ups that come late by more than <see cref="Threshold"/>; pure arithmetic, so the rule the
/// probe applies can be tested without a clock.
/// </summary>
public sealed class StallCounter
{
    /// <summary>Later than any scheduling delay of the guest's own (a real-time thread preempts whatever runs), far below
    /// the ~18 ms pauses this VM's host makes about every 100 ms when both vCPUs and its disk emulation are busy.</summary>
    public static readonly TimeSpan Threshold = TimeSpan.FromMilliseconds(5);

    private long _stalls;
    private double _lateMilliseconds;

    /// <summary>One wake-up: the sleep asked for, and the time that actually passed.</summary>
    public void Record(TimeSpan asked, TimeSpan elapsed)
    {
        var late = elapsed - asked;
        if (late <= Threshold) return;
        _stalls++;
        _lateMilliseconds += late.TotalMilliseconds;
    }

    public StallReading Reading => new(_stalls, _lateMilliseconds);
}

/// <summary>
/// A thread that only sleeps, <see cref="Period"/> at a time, at real-time priority where it may, and counts the
/// wake-ups that come more than <see cref="StallCounter.Threshold"/> late. Nothing in the guest holds it back that
/// long, so such a wake-up is time the VM did not run: the host descheduled it. The guest reports no steal time here,
/// so this is how a run tells a throttled host from a slow daemon. It costs one short wake-up every 10 ms; a stall of 15 ms or more is always
/// seen, wherever in a sleep it falls.
/// </summary>
public sealed class HostStallProbe : IDisposable
{
    public static readonly TimeSpan Period = TimeSpan.FromMilliseconds(10);

    private readonly StallCounter _counter = new();
    private readonly Lock _lock = new();
    private readonly Thread _thread;
    private readonly ManualResetEventSlim _stop = new(false, spinCount: 0); // a wait that only sleeps
    private readonly ManualResetEventSlim _started = new();

    public HostStallProbe()
    {
        _thread = new Thread(Loop) { IsBackground = true, Name = "host-stall-probe" };
        _thread.Start();
        _started.Wait();
    }

    /// <summary>False where the process may not use SCHED_FIFO: the probe then also counts the guest's own delays.</summary>
    public bool RealTime { get; private set; }

    /// <summary>True from construction until <see cref="Dispose"/> has ended the thread.</summary>
    public bool Running => _thread.IsAlive;

    /// <summary>Everything counted since the probe started; subtract two readings for an interval.</summary>
    public StallReading Read()
    {
        lock (_lock) return _counter.Reading;
    }

    private void Loop()
    {
        RealTime = Libc.SetCurrentThreadFifo(priority: 1) == 0; // the lowest real-time priority is enough
        _started.Set();
        while (true)
        {
            long before = Stopwatch.GetTimestamp();
            if (_stop.Wait(Period)) return;
            var elapsed = Stopwatch.GetElapsedTime(before);
            lock (_lock) _counter.Record(Period, elapsed);
        }
    }

    public void Dispose()
    {
        _stop.Set();
        _thread.Join();
        _stop.Dispose();
        _started.Dispose();
    }
}
