using System.Runtime.InteropServices;

namespace Fuselage.Interop;

/// <summary><c>struct iovec</c> (16 bytes on 64-bit).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct Iovec
{
    public nint Base;
    public nuint Length;

    public Iovec(nint @base, nuint length)
    {
        Base = @base;
        Length = length;
    }
}

public static unsafe partial class Libc
{
    // open(2) flags (x86_64/arm64 generic values).
    public const int O_RDONLY = 0x0;
    public const int O_WRONLY = 0x1;
    public const int O_RDWR = 0x2;
    public const int O_CREAT = 0x40;
    public const int O_EXCL = 0x80;
    public const int O_NOCTTY = 0x100;
    public const int O_TRUNC = 0x200;
    public const int O_APPEND = 0x400;
    public const int O_NONBLOCK = 0x800;
    public const int O_DSYNC = 0x1000;
    public const int O_DIRECT = 0x4000;
    public const int O_LARGEFILE = 0x8000;
    public const int O_DIRECTORY = 0x10000;
    public const int O_NOFOLLOW = 0x20000;
    public const int O_NOATIME = 0x40000;
    public const int O_CLOEXEC = 0x80000;
    public const int O_SYNC = 0x101000;
    public const int O_PATH = 0x200000;
    public const int O_TMPFILE = 0x410000;

    /// <summary>open(2) with a UTF-8, NUL-terminated path. Returns the fd, or -1 with errno.</summary>
    [LibraryImport(Name, SetLastError = true)]
    public static partial int open(byte* path, int flags, uint mode);

    [LibraryImport(Name, EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int open(string path, int flags, uint mode);

    [LibraryImport(Name, EntryPoint = "realpath", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial byte* realpath(string path, byte* resolved);

    /// <summary>realpath(3): the canonical absolute path (symbolic links resolved, no trailing slash); null with errno set.</summary>
    public static string? RealPath(string path)
    {
        byte* resolved = realpath(path, null);
        if (resolved == null) return null;
        try { return Marshal.PtrToStringUTF8((nint)resolved); }
        finally { NativeMemory.Free(resolved); } // malloc'd by libc
    }

    [LibraryImport(Name, SetLastError = true)]
    public static partial int close(int fd);

    [LibraryImport(Name, SetLastError = true)]
    public static partial nint read(int fd, void* buffer, nuint count);

    [LibraryImport(Name, SetLastError = true)]
    public static partial nint write(int fd, void* buffer, nuint count);

    /// <summary>writev(2): the buffers go out as one write.</summary>
    [LibraryImport(Name, SetLastError = true)]
    public static partial nint writev(int fd, Iovec* iov, int iovcnt);

    [LibraryImport(Name, SetLastError = true)]
    public static partial nint pread(int fd, void* buffer, nuint count, long offset);

    [LibraryImport(Name, SetLastError = true)]
    public static partial nint pwrite(int fd, void* buffer, nuint count, long offset);

    [LibraryImport(Name, SetLastError = true)]
    public static partial int ftruncate(int fd, long length);

    [LibraryImport(Name, SetLastError = true)]
    public static partial int fsync(int fd);

    /// <summary>pipe2(2): <paramref name="fds"/> receives [read end, write end].</summary>
    [LibraryImport(Name, SetLastError = true)]
    public static partial int pipe2(int* fds, int flags);

    /// <summary>pipe2(2) into a span of at least two ints.</summary>
    public static int pipe2(Span<int> fds, int flags)
    {
        if (fds.Length < 2)
            throw new ArgumentException("pipe2 needs room for two descriptors.", nameof(fds));
        fixed (int* p = fds)
            return pipe2(p, flags);
    }

    // ioctl is variadic; on x86_64 a pointer-sized third argument is passed like a fixed one.
    [LibraryImport(Name, SetLastError = true)]
    public static partial int ioctl(int fd, ulong request, void* argument);

    [LibraryImport(Name, EntryPoint = "ioctl", SetLastError = true)]
    public static partial int ioctl(int fd, ulong request, nint argument);
}
