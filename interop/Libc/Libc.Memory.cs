using System.Runtime.InteropServices;

namespace Fuselage.Interop;

public static unsafe partial class Libc
{
    public const int PROT_NONE = 0x0;
    public const int PROT_READ = 0x1;
    public const int PROT_WRITE = 0x2;

    public const int MAP_SHARED = 0x01;
    public const int MAP_PRIVATE = 0x02;
    public const int MAP_ANONYMOUS = 0x20;
    public const int MAP_POPULATE = 0x8000;

    /// <summary>mmap's failure value, <c>(void*)-1</c>.</summary>
    public static readonly void* MAP_FAILED = (void*)-1;

    public const int MADV_NORMAL = 0;
    public const int MADV_DONTNEED = 4;
    public const int MADV_DONTFORK = 10;
    public const int MADV_HUGEPAGE = 14;

    [LibraryImport(Name, SetLastError = true)]
    public static partial void* mmap(void* address, nuint length, int protection, int flags, int fd, long offset);

    [LibraryImport(Name, SetLastError = true)]
    public static partial int munmap(void* address, nuint length);

    [LibraryImport(Name, SetLastError = true)]
    public static partial int madvise(void* address, nuint length, int advice);

    /// <summary>One byte per page of [address, address + length): bit 0 set when the page is resident.</summary>
    [LibraryImport(Name, SetLastError = true)]
    public static partial int mincore(void* address, nuint length, byte* residency);
}
