using System.Runtime.InteropServices;

namespace Fuselage.Bench.Micro;

/// <summary>
/// Managed memory that starts on a page boundary, as page-cache pages and the kernel's buffers do. A large copy's
/// speed depends on how its source and destination sit against each other: the Fuselage and libfuse sides of the
/// micro benchmarks place their data alike, so the copies they make cost alike.
/// </summary>
public static class PageAligned
{
    private const int PageSize = 4096;

    public static Memory<byte> Allocate(int length)
    {
        var array = GC.AllocateArray<byte>(length + PageSize, pinned: true);
        long address = Marshal.UnsafeAddrOfPinnedArrayElement(array, 0);
        int skip = (int)((PageSize - address % PageSize) % PageSize);
        return array.AsMemory(skip, length);
    }
}
