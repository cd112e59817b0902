using Fuselage.Interop;

namespace Fuselage.Buffers;

/// <summary>
/// One page-aligned block of native memory, carved into equal buffers. Native memory never moves,
/// so the kernel (io_uring, O_DIRECT, registered buffers) may keep its address for the slab's lifetime.
/// The block is a private anonymous mapping of its own: the kernel hands it out zero-filled and commits a page
/// only when it is first touched, so a pool sized for its busiest moment (depth x max_write per worker) costs
/// memory only for the buffers that requests actually reach.
/// </summary>
public sealed unsafe class NativeSlab : IDisposable
{
    public const int PageSize = 4096;

    /// <summary>Slabs of at least this size ask for transparent huge pages (and are aligned to them).</summary>
    public const int HugePageSize = 2 << 20;

    private byte* _base;
    private readonly nuint _mapped; // Length, or for a huge slab Length rounded up to whole huge pages

    /// <param name="bufferSize">Rounded up to a whole number of pages so every buffer stays page-aligned (O_DIRECT needs that).</param>
    public NativeSlab(int bufferSize, int bufferCount)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bufferSize);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bufferCount);
        BufferSize = (bufferSize + PageSize - 1) / PageSize * PageSize;
        BufferCount = bufferCount;
        Length = (nuint)BufferSize * (nuint)bufferCount;
        bool huge = Length >= HugePageSize;
        // A huge slab maps whole huge pages: a tail shorter than one would be backed by 4K pages, and the buffer
        // reaching into it could not be one block request (a uring entry's 1 MiB payload there was split in two,
        // 254 + 2 pages, on every write it carried). The slack is only committed when that buffer is touched.
        _mapped = huge ? (Length + HugePageSize - 1) / HugePageSize * HugePageSize : Length;
        _base = Map(_mapped, huge ? HugePageSize : PageSize);
        // Before the first touch, so the faults take huge pages. A 1 MiB I/O from 4K pages rarely physically
        // contiguous is ~256 segments; virtio-blk takes 254 per request, so every 1 MiB O_DIRECT read was split in
        // two and the halves merged with their neighbours' (sequential 1 MiB reads at QD4: -15..-30%). Best effort:
        // with THP off this does nothing.
        if (huge) Libc.madvise(_base, _mapped, Libc.MADV_HUGEPAGE);
    }

    /// <summary>Maps <paramref name="length"/> bytes at an address aligned to <paramref name="alignment"/>: maps the
    /// slack too, then unmaps what lies before and after the aligned part.</summary>
    private static byte* Map(nuint length, int alignment)
    {
        nuint slack = (nuint)(alignment - PageSize);
        byte* mapped = (byte*)Libc.mmap(null, length + slack, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_PRIVATE | Libc.MAP_ANONYMOUS, -1, 0);
        if (mapped == Libc.MAP_FAILED) throw new OutOfMemoryException($"mmap of {length + slack} bytes failed: errno {Errno.Last}");
        byte* aligned = (byte*)(((nuint)mapped + (nuint)alignment - 1) & ~((nuint)alignment - 1));
        nuint before = (nuint)(aligned - mapped);
        if (before > 0) Libc.munmap(mapped, before);
        if (slack - before > 0) Libc.munmap(aligned + length, slack - before);
        return aligned;
    }

    public int BufferSize { get; }
    public int BufferCount { get; }
    public nuint Length { get; }
    public bool IsDisposed => _base == null;

    /// <summary>Address of the whole slab (for registration with a ring).</summary>
    public nint Address => (nint)Base;

    private byte* Base => _base != null ? _base : throw new ObjectDisposedException(nameof(NativeSlab));

    /// <summary>Address of buffer <paramref name="index"/>.</summary>
    public nint AddressOf(int index)
    {
        if ((uint)index >= (uint)BufferCount) throw new ArgumentOutOfRangeException(nameof(index));
        return (nint)(Base + (nint)index * BufferSize);
    }

    public Span<byte> GetSpan(int index) => new((void*)AddressOf(index), BufferSize);

    /// <summary>The <paramref name="length"/> bytes at <paramref name="offset"/>; for leases, which checked their place when made.</summary>
    internal Span<byte> SpanAt(nint offset, int length) => new(Base + offset, length);

    /// <summary>How many of the slab's bytes the kernel holds in memory now (pages touched so far), from mincore.</summary>
    public nuint ResidentBytes
    {
        get
        {
            nuint pages = Length / PageSize;
            byte[] residency = new byte[pages];
            fixed (byte* r = residency)
                if (Libc.mincore(Base, Length, r) != 0) throw new ErrnoException("mincore", Errno.Last);
            nuint resident = 0;
            foreach (byte page in residency) resident += (nuint)(page & 1);
            return resident * PageSize;
        }
    }

    public void Dispose()
    {
        if (_base == null) return;
        Libc.munmap(_base, _mapped);
        _base = null;
    }
}
