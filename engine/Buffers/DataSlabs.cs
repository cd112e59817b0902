namespace Fuselage.Buffers;

/// <summary>
/// The slabs a transport's requests move file data through, published to the rings that do that file I/O, which
/// register them as fixed buffers (<see cref="Fuselage.Ring.FixedBufferTable"/>). Append-only: a slab stays listed
/// until the transport ends. Adding takes a lock (rare: at start and when a worker grows); readers take a volatile
/// read of an array that is never changed once published.
/// </summary>
public sealed class DataSlabs
{
    private readonly Lock _lock = new();
    private NativeSlab[] _slabs = [];

    public void Add(BufferPool pool)
    {
        lock (_lock)
        {
            var slabs = new NativeSlab[_slabs.Length + 1];
            _slabs.CopyTo(slabs, 0);
            slabs[^1] = pool.Slab;
            Volatile.Write(ref _slabs, slabs);
        }
    }

    /// <summary>Every slab added so far, in the order added.</summary>
    public NativeSlab[] Current => Volatile.Read(ref _slabs);
}
