namespace Fuselage;

/// <summary>
/// Requests whose method completes asynchronously, so an INTERRUPT (read by any worker) can find them.
/// Fixed slots claimed with CompareExchange: no locks, no allocation. Synchronous requests are never registered.
/// An INTERRUPT can overtake its request (another worker reads it while the method is still starting): it is
/// remembered, and applied when the request registers. Answering it EAGAIN instead does not work with cloned
/// fds: the kernel looks for the original on the fd the EAGAIN is written to, and drops the interrupt.
/// </summary>
internal sealed class InFlightTable(int capacity)
{
    private readonly Request?[] _slots = new Request?[capacity];
    // Uniques of interrupts that found nothing, in a ring overwritten oldest first (those of requests that
    // completed synchronously simply age out; the kernel never reuses a unique soon).
    private readonly ulong[] _early = new ulong[64];
    private int _nextEarly;

    /// <summary>Interrupts the request <paramref name="unique"/> now if it is waiting, or as soon as it registers.</summary>
    public void Interrupt(ulong unique)
    {
        if (Find(unique) is { } now) { now.Interrupt(unique); return; }
        int slot = (Interlocked.Increment(ref _nextEarly) & int.MaxValue) % _early.Length;
        Interlocked.Exchange(ref _early[slot], unique); // full fence: the Find below sees a registration made before it
        if (Find(unique) is { } raced && Interlocked.CompareExchange(ref _early[slot], 0, unique) == unique) raced.Interrupt(unique);
    }

    /// <summary>After registering: applies an interrupt that arrived first.</summary>
    private void ApplyEarlyInterrupt(Request request)
    {
        ulong unique = request.Unique;
        for (int i = 0; i < _early.Length; i++)
        {
            if (Volatile.Read(ref _early[i]) == unique && Interlocked.CompareExchange(ref _early[i], 0, unique) == unique)
            {
                request.Interrupt();
                return;
            }
        }
    }

    public bool TryRegister(Request request)
    {
        for (int i = 0; i < _slots.Length; i++)
        {
            if (Volatile.Read(ref _slots[i]) is null && Interlocked.CompareExchange(ref _slots[i], request, null) is null)
            {
                request.InFlightSlot = i;
                ApplyEarlyInterrupt(request);
                return true;
            }
        }
        return false;
    }

    public void Unregister(Request request)
    {
        int slot = request.InFlightSlot;
        if (slot < 0) return;
        request.InFlightSlot = -1;
        Volatile.Write(ref _slots[slot], null);
    }

    public void CancelAll()
    {
        for (int i = 0; i < _slots.Length; i++) Volatile.Read(ref _slots[i])?.Interrupt();
    }

    public Request? Find(ulong unique)
    {
        for (int i = 0; i < _slots.Length; i++)
        {
            var r = Volatile.Read(ref _slots[i]);
            if (r is not null && r.Unique == unique) return r;
        }
        return null;
    }
}
