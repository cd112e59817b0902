namespace Fuselage.Buffers;

/// <summary>
/// A fixed set of page-aligned native buffers of one size. Leasing and returning allocate nothing.
/// Thread-safe; a worker normally keeps its own pool so the kernel-visible addresses stay per ring.
/// </summary>
public sealed class BufferPool : IDisposable
{
    private readonly NativeSlab _slab;
    // 0 = free, 1 = leased. A scan with CompareExchange keeps rent/return lock-free and allocation-free.
    private readonly int[] _leased;
    private int _available;
    private int _scanHint;

    public BufferPool(int bufferSize, int bufferCount)
    {
        _slab = new NativeSlab(bufferSize, bufferCount);
        _leased = new int[bufferCount];
        _available = bufferCount;
    }

    public int BufferSize => _slab.BufferSize;
    public int Capacity => _slab.BufferCount;
    public int Available => Volatile.Read(ref _available);

    /// <summary>The slab behind the pool, e.g. to register it with a ring as fixed buffers.</summary>
    public NativeSlab Slab => _slab;

    public bool TryRent(out BufferLease lease)
    {
        if (Interlocked.Decrement(ref _available) < 0)
        {
            Interlocked.Increment(ref _available);
            lease = default;
            return false;
        }
        // A slot is guaranteed to be free (we reserved one above); find it.
        int n = _leased.Length;
        for (int i = Volatile.Read(ref _scanHint); ; i = i + 1 == n ? 0 : i + 1)
        {
            if (Interlocked.CompareExchange(ref _leased[i], 1, 0) == 0)
            {
                Volatile.Write(ref _scanHint, i + 1 == n ? 0 : i + 1);
                lease = new BufferLease(this, i);
                return true;
            }
        }
    }

    public BufferLease Rent() => TryRent(out var lease) ? lease : throw new InvalidOperationException("buffer pool exhausted");

    internal void Return(int index)
    {
        if (Interlocked.Exchange(ref _leased[index], 0) != 1)
            throw new InvalidOperationException($"buffer {index} returned twice");
        Interlocked.Increment(ref _available);
    }

    public void Dispose() => _slab.Dispose();
}

/// <summary>A buffer taken from a <see cref="BufferPool"/>; its memory is pinned native memory until returned.</summary>
public readonly struct BufferLease
{
    private readonly BufferPool? _pool;
    // The slab and the buffer's place in it, kept so a request's many span accesses go straight to the memory
    // (the slab still refuses, once disposed) instead of through pool, slab and index each time.
    private readonly NativeSlab? _slab;
    private readonly nint _offset;
    private readonly int _length;

    internal BufferLease(BufferPool pool, int index)
    {
        _pool = pool;
        Index = index;
        _slab = pool.Slab;
        _offset = (nint)index * _slab.BufferSize;
        _length = _slab.BufferSize;
    }

    /// <summary>Position in the slab: the fixed-buffer index when the slab is registered with a ring.</summary>
    public int Index { get; }
    public bool IsValid => _pool is not null;
    public nint Address => Slab.Address + _offset;
    public int Length => _length;
    public Span<byte> Span => Slab.SpanAt(_offset, _length);

    private BufferPool Pool => _pool ?? throw new InvalidOperationException("empty lease");
    private NativeSlab Slab => _slab ?? throw new InvalidOperationException("empty lease");

    public void Return() => Pool.Return(Index);
}

/// <summary>Registration of pools with a ring as fixed buffers (READ_FIXED/WRITE_FIXED on regular files and block devices).</summary>
public static class BufferRegistration
{
    /// <summary>Registers each pool's slab as one fixed buffer; the buffer index of pool i is i.</summary>
    public static void RegisterWith(this Fuselage.Ring.Ring ring, params BufferPool[] pools)
    {
        var slabs = new Fuselage.Interop.Iovec[pools.Length];
        for (int i = 0; i < pools.Length; i++) slabs[i] = new Fuselage.Interop.Iovec(pools[i].Slab.Address, pools[i].Slab.Length);
        ring.RegisterBuffers(slabs);
    }
}
