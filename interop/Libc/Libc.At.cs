using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Fuselage.Interop;

/// <summary><c>struct stat</c> on x86_64 (144 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct Stat
{
    public ulong Dev;
    public ulong Ino;
    public ulong Nlink;
    public uint Mode;
    public uint Uid;
    public uint Gid;
    public int Pad0;
    public ulong Rdev;
    public long Size;
    public long Blksize;
    public long Blocks;
    public long Atime;
    public long AtimeNsec;
    public long Mtime;
    public long MtimeNsec;
    public long Ctime;
    public long CtimeNsec;
    public long Reserved0, Reserved1, Reserved2;
}

/// <summary><c>struct statvfs</c> on x86_64 (112 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct StatVfs
{
    public ulong Bsize;
    public ulong Frsize;
    public ulong Blocks;
    public ulong Bfree;
    public ulong Bavail;
    public ulong Files;
    public ulong Ffree;
    public ulong Favail;
    public ulong Fsid;
    public ulong Flag;
    public ulong Namemax;
    public int Spare0, Spare1, Spare2, Spare3, Spare4, Spare5;
}

/// <summary><c>struct timespec</c> (16 bytes); <see cref="Libc.UTIME_NOW"/> / <see cref="Libc.UTIME_OMIT"/> in Nsec for utimensat.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct Timespec
{
    public long Sec;
    public long Nsec;
}

/// <summary>The *at() family and the other calls a passthrough filesystem needs, with safe span wrappers
/// (names are copied into NUL-terminated stack buffers; results are -1 with errno in <see cref="Errno.Last"/>).</summary>
public static unsafe partial class Libc
{
    public const int AT_FDCWD = -100;
    public const int AT_SYMLINK_NOFOLLOW = 0x100;
    public const int AT_REMOVEDIR = 0x200;
    public const int AT_SYMLINK_FOLLOW = 0x400;
    public const int AT_EMPTY_PATH = 0x1000;
    public const long UTIME_NOW = (1L << 30) - 1;
    public const long UTIME_OMIT = (1L << 30) - 2;
    public const int SEEK_SET = 0, SEEK_CUR = 1, SEEK_END = 2, SEEK_DATA = 3, SEEK_HOLE = 4;
    /// <summary>MAX_HANDLE_SZ plus the 8-byte struct file_handle header.</summary>
    public const int FileHandleBufferSize = 8 + 128;
    private const int PathMax = 4096;

    [LibraryImport(Name, SetLastError = true)] public static partial int openat(int dirFd, byte* path, int flags, uint mode);
    [LibraryImport(Name, SetLastError = true)] public static partial int fstatat(int dirFd, byte* path, Stat* buf, int flags);
    [LibraryImport(Name, SetLastError = true)] public static partial int mkdirat(int dirFd, byte* path, uint mode);
    [LibraryImport(Name, SetLastError = true)] public static partial int mknodat(int dirFd, byte* path, uint mode, ulong dev);
    [LibraryImport(Name, SetLastError = true)] public static partial int symlinkat(byte* target, int dirFd, byte* path);
    [LibraryImport(Name, SetLastError = true)] public static partial nint readlinkat(int dirFd, byte* path, byte* buf, nuint size);
    [LibraryImport(Name, SetLastError = true)] public static partial int unlinkat(int dirFd, byte* path, int flags);
    [LibraryImport(Name, SetLastError = true)] public static partial int renameat2(int oldDirFd, byte* oldPath, int newDirFd, byte* newPath, uint flags);
    [LibraryImport(Name, SetLastError = true)] public static partial int linkat(int oldDirFd, byte* oldPath, int newDirFd, byte* newPath, int flags);
    [LibraryImport(Name, SetLastError = true)] public static partial int fchmodat(int dirFd, byte* path, uint mode, int flags);
    [LibraryImport(Name, SetLastError = true)] public static partial int fchownat(int dirFd, byte* path, uint owner, uint group, int flags);
    [LibraryImport(Name, SetLastError = true)] public static partial int utimensat(int dirFd, byte* path, Timespec* times, int flags);
    [LibraryImport(Name, SetLastError = true)] public static partial int truncate(byte* path, long length);
    [LibraryImport(Name, SetLastError = true)] public static partial int fallocate(int fd, int mode, long offset, long length);
    [LibraryImport(Name, SetLastError = true)] public static partial long lseek(int fd, long offset, int whence);
    [LibraryImport(Name, SetLastError = true)] public static partial int fdatasync(int fd);
    [LibraryImport(Name, SetLastError = true)] public static partial int dup(int fd);
    [LibraryImport(Name, SetLastError = true)] public static partial int dup3(int oldFd, int newFd, int flags);
    [LibraryImport(Name, SetLastError = true)] public static partial int fstatvfs(int fd, StatVfs* buf);
    [LibraryImport(Name, SetLastError = true)] public static partial nint copy_file_range(int fdIn, long* offIn, int fdOut, long* offOut, nuint length, uint flags);
    [LibraryImport(Name, SetLastError = true)] public static partial int name_to_handle_at(int dirFd, byte* path, void* handle, int* mountId, int flags);
    [LibraryImport(Name, SetLastError = true)] public static partial int open_by_handle_at(int mountFd, void* handle, int flags);
    [LibraryImport(Name, SetLastError = true)] public static partial nint getdents64(int fd, void* buf, nuint count);
    [LibraryImport(Name, SetLastError = true)] public static partial nint getxattr(byte* path, byte* name, void* value, nuint size);
    [LibraryImport(Name, SetLastError = true)] public static partial int setxattr(byte* path, byte* name, void* value, nuint size, int flags);
    [LibraryImport(Name, SetLastError = true)] public static partial nint listxattr(byte* path, byte* list, nuint size);
    [LibraryImport(Name, SetLastError = true)] public static partial int removexattr(byte* path, byte* name);

    // ---- safe wrappers ----

    /// <summary>Copies <paramref name="name"/> into <paramref name="buffer"/> with a NUL; false if it contains NUL or does not fit.</summary>
    private static bool Terminate(ReadOnlySpan<byte> name, Span<byte> buffer)
    {
        if (name.Length >= buffer.Length || name.Contains((byte)0)) return false;
        name.CopyTo(buffer);
        buffer[name.Length] = 0;
        return true;
    }

    private static int Fail(int errno)
    {
        Marshal.SetLastPInvokeError(errno);
        return -1;
    }

    /// <summary>"/proc/self/fd/N" for <paramref name="fd"/>, NUL-terminated, into <paramref name="buffer"/> (32 bytes suffice).</summary>
    public static ReadOnlySpan<byte> ProcFdPath(int fd, Span<byte> buffer)
    {
        "/proc/self/fd/"u8.CopyTo(buffer);
        fd.TryFormat(buffer[14..], out int written, provider: System.Globalization.CultureInfo.InvariantCulture);
        buffer[14 + written] = 0;
        return buffer[..(14 + written)];
    }

    public static int OpenAt(int dirFd, ReadOnlySpan<byte> name, int flags, uint mode = 0)
    {
        Span<byte> n = stackalloc byte[PathMax + 1];
        if (!Terminate(name, n)) return Fail(Errno.ENAMETOOLONG);
        fixed (byte* p = n) return openat(dirFd, p, flags, mode);
    }

    public static int FStatAt(int dirFd, ReadOnlySpan<byte> name, out Stat st, int flags)
    {
        Span<byte> n = stackalloc byte[PathMax + 1];
        st = default;
        if (!Terminate(name, n)) return Fail(Errno.ENAMETOOLONG);
        fixed (byte* p = n) fixed (Stat* s = &st) return fstatat(dirFd, p, s, flags);
    }

    public static int MkDirAt(int dirFd, ReadOnlySpan<byte> name, uint mode)
    {
        Span<byte> n = stackalloc byte[PathMax + 1];
        if (!Terminate(name, n)) return Fail(Errno.ENAMETOOLONG);
        fixed (byte* p = n) return mkdirat(dirFd, p, mode);
    }

    public static int MkNodAt(int dirFd, ReadOnlySpan<byte> name, uint mode, ulong dev)
    {
        Span<byte> n = stackalloc byte[PathMax + 1];
        if (!Terminate(name, n)) return Fail(Errno.ENAMETOOLONG);
        fixed (byte* p = n) return mknodat(dirFd, p, mode, dev);
    }

    public static int SymLinkAt(ReadOnlySpan<byte> target, int dirFd, ReadOnlySpan<byte> name)
    {
        Span<byte> n = stackalloc byte[PathMax + 1];
        Span<byte> t = stackalloc byte[PathMax + 1];
        if (!Terminate(name, n) || !Terminate(target, t)) return Fail(Errno.ENAMETOOLONG);
        fixed (byte* p = n) fixed (byte* q = t) return symlinkat(q, dirFd, p);
    }

    public static nint ReadLinkAt(int dirFd, ReadOnlySpan<byte> name, Span<byte> buffer)
    {
        Span<byte> n = stackalloc byte[PathMax + 1];
        if (!Terminate(name, n)) return Fail(Errno.ENAMETOOLONG);
        fixed (byte* p = n) fixed (byte* b = buffer) return readlinkat(dirFd, p, b, (nuint)buffer.Length);
    }

    public static int UnlinkAt(int dirFd, ReadOnlySpan<byte> name, int flags)
    {
        Span<byte> n = stackalloc byte[PathMax + 1];
        if (!Terminate(name, n)) return Fail(Errno.ENAMETOOLONG);
        fixed (byte* p = n) return unlinkat(dirFd, p, flags);
    }

    public static int RenameAt2(int oldDirFd, ReadOnlySpan<byte> oldName, int newDirFd, ReadOnlySpan<byte> newName, uint flags)
    {
        Span<byte> a = stackalloc byte[PathMax + 1];
        Span<byte> b = stackalloc byte[PathMax + 1];
        if (!Terminate(oldName, a) || !Terminate(newName, b)) return Fail(Errno.ENAMETOOLONG);
        fixed (byte* p = a) fixed (byte* q = b) return renameat2(oldDirFd, p, newDirFd, q, flags);
    }

    public static int LinkAt(int oldDirFd, ReadOnlySpan<byte> oldName, int newDirFd, ReadOnlySpan<byte> newName, int flags)
    {
        Span<byte> a = stackalloc byte[PathMax + 1];
        Span<byte> b = stackalloc byte[PathMax + 1];
        if (!Terminate(oldName, a) || !Terminate(newName, b)) return Fail(Errno.ENAMETOOLONG);
        fixed (byte* p = a) fixed (byte* q = b) return linkat(oldDirFd, p, newDirFd, q, flags);
    }

    public static int FChmodAt(int dirFd, ReadOnlySpan<byte> name, uint mode, int flags)
    {
        Span<byte> n = stackalloc byte[PathMax + 1];
        if (!Terminate(name, n)) return Fail(Errno.ENAMETOOLONG);
        fixed (byte* p = n) return fchmodat(dirFd, p, mode, flags);
    }

    public static int FChownAt(int dirFd, ReadOnlySpan<byte> name, uint owner, uint group, int flags)
    {
        Span<byte> n = stackalloc byte[PathMax + 1];
        if (!Terminate(name, n)) return Fail(Errno.ENAMETOOLONG);
        fixed (byte* p = n) return fchownat(dirFd, p, owner, group, flags);
    }

    public static int UtimensAt(int dirFd, ReadOnlySpan<byte> name, Timespec atime, Timespec mtime, int flags)
    {
        Span<byte> n = stackalloc byte[PathMax + 1];
        if (!Terminate(name, n)) return Fail(Errno.ENAMETOOLONG);
        Timespec* times = stackalloc Timespec[2];
        times[0] = atime;
        times[1] = mtime;
        fixed (byte* p = n) return utimensat(dirFd, p, times, flags);
    }

    public static int Truncate(ReadOnlySpan<byte> path, long length)
    {
        Span<byte> n = stackalloc byte[PathMax + 1];
        if (!Terminate(path, n)) return Fail(Errno.ENAMETOOLONG);
        fixed (byte* p = n) return truncate(p, length);
    }

    public static int FStatVfs(int fd, out StatVfs st)
    {
        st = default;
        fixed (StatVfs* s = &st) return fstatvfs(fd, s);
    }

    public static nint CopyFileRange(int fdIn, ref long offIn, int fdOut, ref long offOut, nuint length, uint flags)
    {
        fixed (long* a = &offIn) fixed (long* b = &offOut) return copy_file_range(fdIn, a, fdOut, b, length, flags);
    }

    /// <summary>name_to_handle_at into <paramref name="handle"/> (at least <see cref="FileHandleBufferSize"/> bytes):
    /// returns the number of bytes used (struct file_handle with its payload), or -1 with errno.</summary>
    public static int NameToHandleAt(int dirFd, ReadOnlySpan<byte> name, Span<byte> handle, out int mountId, int flags)
    {
        Span<byte> n = stackalloc byte[PathMax + 1];
        mountId = 0;
        if (handle.Length < FileHandleBufferSize) return Fail(Errno.EINVAL);
        if (!Terminate(name, n)) return Fail(Errno.ENAMETOOLONG);
        Unsafe.WriteUnaligned(ref handle[0], (uint)(handle.Length - 8));
        int id;
        int rc;
        fixed (byte* p = n) fixed (byte* h = handle) rc = name_to_handle_at(dirFd, p, h, &id, flags);
        if (rc < 0) return rc;
        mountId = id;
        return 8 + (int)Unsafe.ReadUnaligned<uint>(ref handle[0]);
    }

    /// <summary>open_by_handle_at with a handle made by <see cref="NameToHandleAt"/> (needs CAP_DAC_READ_SEARCH).</summary>
    public static int OpenByHandleAt(int mountFd, ReadOnlySpan<byte> handle, int flags)
    {
        fixed (byte* h = handle) return open_by_handle_at(mountFd, h, flags);
    }

    public static nint GetDents64(int fd, Span<byte> buffer)
    {
        fixed (byte* b = buffer) return getdents64(fd, b, (nuint)buffer.Length);
    }

    /// <summary>One linux_dirent64 record at the start of <paramref name="buffer"/>: returns its length (0 when none).</summary>
    public static int ParseDirent64(ReadOnlySpan<byte> buffer, out ulong ino, out long nextOffset, out byte type, out ReadOnlySpan<byte> name)
    {
        ino = 0; nextOffset = 0; type = 0; name = default;
        if (buffer.Length < 19) return 0;
        ino = Unsafe.ReadUnaligned<ulong>(ref MemoryMarshal.GetReference(buffer));
        nextOffset = Unsafe.ReadUnaligned<long>(ref Unsafe.AsRef(in buffer[8]));
        int reclen = Unsafe.ReadUnaligned<ushort>(ref Unsafe.AsRef(in buffer[16]));
        type = buffer[18];
        if (reclen < 19 || reclen > buffer.Length) return 0;
        var raw = buffer[19..reclen];
        int nul = raw.IndexOf((byte)0);
        name = nul < 0 ? raw : raw[..nul];
        return reclen;
    }

    public static nint GetXattr(ReadOnlySpan<byte> path, ReadOnlySpan<byte> name, Span<byte> value)
    {
        Span<byte> p = stackalloc byte[PathMax + 1];
        Span<byte> n = stackalloc byte[256 + 1];
        if (!Terminate(path, p)) return Fail(Errno.ENAMETOOLONG);
        if (!Terminate(name, n)) return Fail(Errno.ERANGE);
        fixed (byte* pp = p) fixed (byte* nn = n) fixed (byte* v = value) return getxattr(pp, nn, v, (nuint)value.Length);
    }

    public static int SetXattr(ReadOnlySpan<byte> path, ReadOnlySpan<byte> name, ReadOnlySpan<byte> value, int flags)
    {
        Span<byte> p = stackalloc byte[PathMax + 1];
        Span<byte> n = stackalloc byte[256 + 1];
        if (!Terminate(path, p)) return Fail(Errno.ENAMETOOLONG);
        if (!Terminate(name, n)) return Fail(Errno.ERANGE);
        byte dummy = 0;
        fixed (byte* pp = p) fixed (byte* nn = n) fixed (byte* v = value)
            return setxattr(pp, nn, v == null ? &dummy : v, (nuint)value.Length, flags);
    }

    public static nint ListXattr(ReadOnlySpan<byte> path, Span<byte> list)
    {
        Span<byte> p = stackalloc byte[PathMax + 1];
        if (!Terminate(path, p)) return Fail(Errno.ENAMETOOLONG);
        fixed (byte* pp = p) fixed (byte* l = list) return listxattr(pp, l, (nuint)list.Length);
    }

    public static int RemoveXattr(ReadOnlySpan<byte> path, ReadOnlySpan<byte> name)
    {
        Span<byte> p = stackalloc byte[PathMax + 1];
        Span<byte> n = stackalloc byte[256 + 1];
        if (!Terminate(path, p)) return Fail(Errno.ENAMETOOLONG);
        if (!Terminate(name, n)) return Fail(Errno.ERANGE);
        fixed (byte* pp = p) fixed (byte* nn = n) return removexattr(pp, nn);
    }
}
