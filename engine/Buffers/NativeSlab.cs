using System.Runtime.InteropServices;

namespace Fuselage.Buffers;

/// <summary>
/// One page-aligned block of native memory, carved into equal buffers. Native memory never moves,
/// so the kernel (io_uring, O_DIRECT, registered buffers) may keep its address for the slab's lifetime.
/// </summary>
public sealed unsafe class NativeSlab : IDisposable
{
    public const int PageSize = 4096;

    private byte* _base;

    /// <param name="bufferSize">Rounded up to a whole number of pages so every buffer stays page-aligned (O_DIRECT needs that).</param>
    public NativeSlab(int bufferSize, int bufferCount)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bufferSize);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bufferCount);
        BufferSize = (bufferSize + PageSize - 1) / PageSize * PageSize;
        BufferCount = bufferCount;
        Length = (nuint)BufferSize * (nuint)bufferCount;
        _base = (byte*)NativeMemory.AlignedAlloc(Length, PageSize);
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

    public void Dispose()
    {
        if (_base == null) return;
        NativeMemory.AlignedFree(_base);
        _base = null;
    }
}
