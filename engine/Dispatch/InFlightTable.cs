namespace Fuselage;

/// <summary>
/// Requests whose method completes asynchronously, so an INTERRUPT (read by any worker) can find them.
/// Fixed slots claimed with CompareExchange: no locks, no allocation. Synchronous requests are never
/// registered; an INTERRUPT that finds nothing is answered EAGAIN and the kernel sends it again later.
/// </summary>
internal sealed class InFlightTable(int capacity)
{
    private readonly Request?[] _slots = new Request?[capacity];

    public bool TryRegister(Request request)
    {
        for (int i = 0; i < _slots.Length; i++)
        {
            if (Volatile.Read(ref _slots[i]) is null && Interlocked.CompareExchange(ref _slots[i], request, null) is null)
            {
                request.InFlightSlot = i;
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
