using System.Runtime.InteropServices;

namespace Fuselage.Tests;

/// <summary>The client side of real-mount tests: plain libc calls, each returning 0/-errno (or a value).</summary>
internal static class Posix
{
    private const string C = "libc";

    [DllImport(C, SetLastError = true)] private static extern int open(string path, int flags, uint mode);
    [DllImport(C, SetLastError = true)] private static extern int close(int fd);
    [DllImport(C, SetLastError = true)] private static extern nint pread(int fd, byte[] buf, nuint count, long offset);
    [DllImport(C, SetLastError = true)] private static extern nint pwrite(int fd, byte[] buf, nuint count, long offset);
    [DllImport(C, SetLastError = true)] private static extern nint write(int fd, byte[] buf, nuint count);
    [DllImport(C, SetLastError = true)] private static extern int mkdir(string path, uint mode);
    [DllImport(C, SetLastError = true)] private static extern int rmdir(string path);
    [DllImport(C, SetLastError = true)] private static extern int unlink(string path);
    [DllImport(C, SetLastError = true)] private static extern int rename(string from, string to);
    [DllImport(C, SetLastError = true)] private static extern int renameat2(int olddirfd, string from, int newdirfd, string to, uint flags);
    [DllImport(C, SetLastError = true)] private static extern int link(string from, string to);
    [DllImport(C, SetLastError = true)] private static extern int symlink(string target, string path);
    [DllImport(C, SetLastError = true)] private static extern nint readlink(string path, byte[] buf, nuint size);
    [DllImport(C, SetLastError = true)] private static extern int truncate(string path, long length);
    [DllImport(C, SetLastError = true)] private static extern int fsync(int fd);
    [DllImport(C, SetLastError = true)] private static extern int ftruncate(int fd, long length);
    [DllImport(C, SetLastError = true)] private static extern int chmod(string path, uint mode);
    [DllImport(C, SetLastError = true)] private static extern int lstat(string path, byte[] statbuf);
    [DllImport(C, SetLastError = true)] private static extern int statfs(string path, byte[] buf);
    [DllImport(C, SetLastError = true)] private static extern int utimensat(int dirfd, string path, long[] times, int flags);
    [DllImport(C, SetLastError = true)] private static extern int setxattr(string path, string name, byte[] value, nuint size, int flags);
    [DllImport(C, SetLastError = true)] private static extern nint getxattr(string path, string name, byte[]? value, nuint size);
    [DllImport(C, SetLastError = true)] private static extern nint listxattr(string path, byte[]? list, nuint size);
    [DllImport(C, SetLastError = true)] private static extern int removexattr(string path, string name);
    [DllImport(C, SetLastError = true)] private static extern long lseek(int fd, long offset, int whence);
    [DllImport(C, SetLastError = true)] private static extern int kill(int pid, int sig);
    [DllImport(C, SetLastError = true)] private static extern int fallocate(int fd, int mode, long offset, long length);
    [DllImport(C)] private static extern int setfsuid(uint fsuid);
    [DllImport(C)] private static extern int setfsgid(uint fsgid);

    public const int O_RDONLY = 0, O_WRONLY = 1, O_RDWR = 2, O_CREAT = 0x40, O_EXCL = 0x80, O_TRUNC = 0x200, O_APPEND = 0x400, O_DIRECT = 0x4000, O_DIRECTORY = 0x10000, O_CLOEXEC = 0x80000;
    public const uint RENAME_NOREPLACE = 1, RENAME_EXCHANGE = 2;
    public const int SIGHUP = 1, SIGINT = 2, SIGKILL = 9, SIGTERM = 15;
    private const int AT_FDCWD = -100;

    /// <summary>Sends <paramref name="sig"/> to process <paramref name="pid"/>; 0 or -errno.</summary>
    public static int Kill(int pid, int sig) => R(kill(pid, sig));

    private static int R(int rc) => rc < 0 ? -Marshal.GetLastPInvokeError() : rc;
    private static long R(long rc) => rc < 0 ? -Marshal.GetLastPInvokeError() : rc;

    // Close-on-exec always: a process another test spawns meanwhile would otherwise inherit the fd and keep the
    // mount busy past its test (unmount then only detaches it).
    public static int Open(string path, int flags, uint mode = 0x1A4) => R(open(path, flags | O_CLOEXEC, mode));
    public static int Close(int fd) => R(close(fd));
    public static long PRead(int fd, byte[] buf, long offset) => R((long)pread(fd, buf, (nuint)buf.Length, offset));
    public static long PWrite(int fd, byte[] buf, long offset) => R((long)pwrite(fd, buf, (nuint)buf.Length, offset));
    public static long Write(int fd, byte[] buf) => R((long)write(fd, buf, (nuint)buf.Length));

    /// <summary>preads <paramref name="block"/> bytes at a time from offset 0 until a read comes back short; returns all it read.</summary>
    public static byte[] PReadUntilShort(int fd, int block)
    {
        var all = new List<byte>();
        var buffer = new byte[block];
        for (long offset = 0; ; offset += block)
        {
            long n = PRead(fd, buffer, offset);
            Assert.True(n >= 0, $"pread at {offset}: {n}");
            all.AddRange(buffer.AsSpan(0, (int)n));
            if (n < block) return all.ToArray();
        }
    }
    public static int Mkdir(string path, uint mode = 0x1ED) => R(mkdir(path, mode));
    public static int Rmdir(string path) => R(rmdir(path));
    public static int Unlink(string path) => R(unlink(path));
    public static int Rename(string from, string to) => R(rename(from, to));
    public static int Rename2(string from, string to, uint flags) => R(renameat2(AT_FDCWD, from, AT_FDCWD, to, flags));
    public static int Link(string from, string to) => R(link(from, to));
    public static int Symlink(string target, string path) => R(symlink(target, path));
    public static int Truncate(string path, long length) => R(truncate(path, length));
    public static int Fsync(int fd) => R(fsync(fd));
    public static int Ftruncate(int fd, long length) => R(ftruncate(fd, length));
    public static int Chmod(string path, uint mode) => R(chmod(path, mode));
    public static long Lseek(int fd, long offset, int whence) => R(lseek(fd, offset, whence));
    public static int Fallocate(int fd, int mode, long offset, long length) => R(fallocate(fd, mode, offset, length));

    /// <summary>
    /// Runs <paramref name="client"/> on a thread of its own whose filesystem uid and gid are
    /// <paramref name="uid"/>/<paramref name="gid"/> (setfsuid is per thread, unlike setuid): its creates reach a
    /// filesystem as that user's, while the process stays root.
    /// </summary>
    public static void AsFsUser(uint uid, uint gid, Action client)
    {
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            int oldGid = setfsgid(gid);
            int oldUid = setfsuid(uid);
            try { client(); }
            catch (Exception e) { failure = e; }
            finally { setfsuid((uint)oldUid); setfsgid((uint)oldGid); }
        });
        thread.Start();
        thread.Join();
        if (failure is not null) throw new ClientCallFailedException(failure.Message, failure);
    }

    public static string? ReadLink(string path)
    {
        var buf = new byte[4096];
        long n = R((long)readlink(path, buf, (nuint)buf.Length));
        return n < 0 ? null : System.Text.Encoding.UTF8.GetString(buf, 0, (int)n);
    }

    /// <summary>x86_64 struct stat: st_ino at 8, st_nlink at 16 (u64), st_mode at 24, st_size at 48, st_mtim at 88.</summary>
    public readonly record struct Stat(ulong Nlink, uint Mode, long Size, long MtimeSec, long MtimeNsec, ulong Ino);

    public static int LStat(string path, out Stat st)
    {
        var b = new byte[144];
        int rc = R(lstat(path, b));
        st = rc < 0 ? default : new Stat(BitConverter.ToUInt64(b, 16), BitConverter.ToUInt32(b, 24), BitConverter.ToInt64(b, 48), BitConverter.ToInt64(b, 88), BitConverter.ToInt64(b, 96), BitConverter.ToUInt64(b, 8));
        return rc;
    }

    /// <summary>struct statfs (x86_64): f_type 0, f_bsize 8, f_blocks 16, f_bfree 24, f_bavail 32, f_files 40, f_ffree 48, f_namelen 64.</summary>
    public static int StatFs(string path, out (long Bsize, ulong Blocks, ulong Files, long NameLen) fs)
    {
        var b = new byte[120];
        int rc = R(statfs(path, b));
        fs = (BitConverter.ToInt64(b, 8), BitConverter.ToUInt64(b, 16), BitConverter.ToUInt64(b, 40), BitConverter.ToInt64(b, 64));
        return rc;
    }

    public static int Utimens(string path, long atimeSec, long mtimeSec) => R(utimensat(AT_FDCWD, path, [atimeSec, 0, mtimeSec, 0], 0));

    public static int SetXattr(string path, string name, byte[] value, int flags) => R(setxattr(path, name, value, (nuint)value.Length, flags));

    public static byte[]? GetXattr(string path, string name, out int error)
    {
        long size = R((long)getxattr(path, name, null, 0));
        if (size < 0) { error = (int)-size; return null; }
        var buf = new byte[size];
        long n = R((long)getxattr(path, name, buf, (nuint)buf.Length));
        error = n < 0 ? (int)-n : 0;
        return n < 0 ? null : buf[..(int)n];
    }

    public static string[] ListXattr(string path)
    {
        long size = R((long)listxattr(path, null, 0));
        if (size <= 0) return [];
        var buf = new byte[size];
        long n = R((long)listxattr(path, buf, (nuint)buf.Length));
        return System.Text.Encoding.UTF8.GetString(buf, 0, (int)Math.Max(0, n)).Split('\0', StringSplitOptions.RemoveEmptyEntries);
    }

    public static int RemoveXattr(string path, string name) => R(removexattr(path, name));
}
