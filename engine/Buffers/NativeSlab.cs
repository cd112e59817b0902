using System.Runtime.InteropServices;
using Fuselage.Interop;

namespace Fuselage.Buffers;

/// <summary>
/// One page-aligned block of native memory, carved into equal buffers. Native memory never moves,
/// so the kernel (io_uring, O_DIRECT, registered buffers) may keep its address for the slab's lifetime.
/// </summary>
public sealed unsafe class NativeSlab : IDisposable
{
    public const int PageSize = 4096;

    /// <summary>Slabs of at least this size ask for transparent huge pages (and are aligned to them).</summary>
    public const int HugePageSize = 2 << 20;

    private byte* _base;

    /// <param name="bufferSize">Rounded up to a whole number of pages so every buffer stays page-aligned (O_DIRECT needs that).</param>
    public NativeSlab(int bufferSize, int bufferCount)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bufferSize);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bufferCount);
        BufferSize = (bufferSize + PageSize - 1) / PageSize * PageSize;
        BufferCount = bufferCount;
        Length = (nuint)BufferSize * (nuint)bufferCount;
        bool huge = Length >= HugePageSize;
        _base = (byte*)NativeMemory.AlignedAlloc(Length, (nuint)(huge ? HugePageSize : PageSize));
        // Before the first touch, so the faults take huge pages. A 1 MiB I/O from 4K pages rarely physically
        // contiguous is ~256 segments; virtio-blk takes 254 per request, so every 1 MiB O_DIRECT read was split in
        // two and the halves merged with their neighbours' (sequential 1 MiB reads at QD4: -15..-30%). Best effort:
        // with THP off this does nothing.
        if (huge) Libc.madvise(_base, Length, Libc.MADV_HUGEPAGE);
        NativeMemory.Clear(_base, Length);
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

    public void Dispose()
    {
        if (_base == null) return;
        NativeMemory.AlignedFree(_base);
        _base = null;
    }
}
