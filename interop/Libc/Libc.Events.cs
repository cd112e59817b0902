using System.Runtime.InteropServices;

namespace Fuselage.Interop;

public static unsafe partial class Libc
{
    public const int EFD_SEMAPHORE = 0x1;
    public const int EFD_NONBLOCK = 0x800;
    public const int EFD_CLOEXEC = 0x80000;

    /// <summary>eventfd(2): returns the fd, or -1 with errno. Reads and writes are 8-byte counters.</summary>
    [LibraryImport(Name, SetLastError = true)]
    public static partial int eventfd(uint initialValue, int flags);

    /// <summary>Adds <paramref name="value"/> to an eventfd counter (an 8-byte write). Returns 0 or -1 with errno.</summary>
    public static int eventfd_write(int fd, ulong value) => write(fd, &value, sizeof(ulong)) == sizeof(ulong) ? 0 : -1;

    /// <summary>Reads and resets an eventfd counter (an 8-byte read). Returns 0 or -1 with errno.</summary>
    public static int eventfd_read(int fd, out ulong value)
    {
        ulong counter = 0;
        nint result = read(fd, &counter, sizeof(ulong));
        value = counter;
        return result == sizeof(ulong) ? 0 : -1;
    }
}
