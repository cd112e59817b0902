namespace Fuselage.Transport;

/// <summary>
/// Threads waiting for something other threads make available (a free request, a reply), with no lock on the way
/// when nobody waits. A waiter registers, then looks once more before it waits; a signaller makes its change visible,
/// then wakes whoever registered: one of the two always sees the other. A wake-up that finds nothing for its waiter
/// (another took it, or the waiter had already left) only sends that waiter round again.
/// </summary>
internal sealed class WaitList : IDisposable
{
    private readonly SemaphoreSlim _signal = new(0);
    private int _count;

    /// <summary>Threads registered (for tests).</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>Counts the caller as waiting until the registration is disposed; look again after this, then <see cref="Wait"/>.</summary>
    public Registration Register()
    {
        Interlocked.Increment(ref _count); // a full fence: the count is visible before the caller's second look
        return new Registration(this);
    }

    /// <summary>Sleeps until the next <see cref="Signal"/>; false on timeout. Throws when <paramref name="cancel"/> fires.</summary>
    public bool Wait(int millisecondsTimeout, CancellationToken cancel = default) => _signal.Wait(millisecondsTimeout, cancel);

    /// <summary>After a change is made: wakes every registered waiter.</summary>
    public void Signal()
    {
        Interlocked.MemoryBarrier(); // the change must be visible before the count is read (a store then a load: x86 reorders those)
        if (Volatile.Read(ref _count) is var waiting and > 0) _signal.Release(waiting);
    }

    public void Dispose() => _signal.Dispose();

    public readonly struct Registration(WaitList list) : IDisposable
    {
        public void Dispose() => Interlocked.Decrement(ref list._count);
    }
}
