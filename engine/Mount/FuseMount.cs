using Fuselage.Interop;
using Fuselage.Interop.Fuse;
using Microsoft.Win32.SafeHandles;

namespace Fuselage;

/// <summary>
/// One mounted FUSE connection: the /dev/fuse fd, where it is mounted, and its connection number in fusectl.
/// Mounts with mount(2) as root; otherwise through fusermount3, which passes the fd back over a socket.
/// </summary>
public sealed class FuseMount : IDisposable
{
    public const string FuseControlDir = "/sys/fs/fuse/connections";
    private int _fd;
    // Owns _fd and closes it only once no borrower holds it (see TryBorrowFd): a write racing Dispose must not land
    // in whatever file the process opens next under the same number.
    private readonly SafeFileHandle _fdOwner;
    private int _unmounted;
    // This connection's fusectl directory, held open from the mount on. The number names the connection only while
    // it lives: once it ends, the kernel frees the number and the next mount anywhere may get it. Through the held
    // directory, a late abort finds the directory dead (ENOENT) instead of aborting a stranger.
    private readonly SafeFileHandle? _control;

    private FuseMount(int fd, string mountpoint, MountOptions options, bool viaFusermount)
    {
        _fd = fd;
        _fdOwner = new SafeFileHandle(fd, ownsHandle: true);
        Mountpoint = mountpoint;
        Options = options;
        ViaFusermount = viaFusermount;
        ConnectionId = FindConnectionId(mountpoint);
        _control = OpenControlDirectory(ConnectionId);
    }

    public int Fd => _fd;

    /// <summary>
    /// The mount's fd, held open until <see cref="ReturnFd"/> even if the mount is disposed meanwhile; false once
    /// disposed. For writes and ioctls from threads other than the workers (notifications, backing files).
    /// </summary>
    internal bool TryBorrowFd(out int fd)
    {
        fd = -1;
        bool added = false;
        try { _fdOwner.DangerousAddRef(ref added); }
        catch (ObjectDisposedException) { return false; }
        if (Volatile.Read(ref _fd) < 0)
        {
            _fdOwner.DangerousRelease();
            return false;
        }
        fd = (int)_fdOwner.DangerousGetHandle();
        return true;
    }

    internal void ReturnFd() => _fdOwner.DangerousRelease();
    public string Mountpoint { get; }
    public MountOptions Options { get; }
    public bool ViaFusermount { get; }
    /// <summary>The connection's number under /sys/fs/fuse/connections (the minor of the mount's device); null if not found.</summary>
    public uint? ConnectionId { get; }
    public bool IsUnmounted => Volatile.Read(ref _unmounted) != 0;

    /// <summary>Opens /dev/fuse and mounts it on <paramref name="mountpoint"/>. The kernel's INIT arrives on <see cref="Fd"/> afterwards.</summary>
    public static FuseMount Mount(string mountpoint, MountOptions options)
    {
        // As the kernel will name it in mountinfo (symbolic links resolved, no trailing slash), where the mount is
        // looked for again: for its fusectl connection, and before unmounting.
        string full = Libc.RealPath(Path.GetFullPath(mountpoint)) is { } real && Directory.Exists(real) ? real
            : throw new DirectoryNotFoundException($"mountpoint {mountpoint} does not exist or is not a directory");
        if (Libc.geteuid() != 0) return MountWithFusermount(full, options);

        int fd = ErrnoException.Check(Libc.open("/dev/fuse", Libc.O_RDWR | Libc.O_CLOEXEC, 0), "open /dev/fuse");
        try
        {
            string data = options.KernelData(fd, Libc.geteuid(), Libc.getegid());
            ErrnoException.Check(Libc.mount(options.FsName, full, options.FsType, options.Flags, data), $"mount {full}");
        }
        catch
        {
            Libc.close(fd);
            throw;
        }
        return new FuseMount(fd, full, options, viaFusermount: false);
    }

    private static FuseMount MountWithFusermount(string mountpoint, MountOptions options)
    {
        int fd = Fusermount.Mount(mountpoint, options.FusermountOptions());
        return new FuseMount(fd, mountpoint, options, viaFusermount: true);
    }

    /// <summary>Opens another /dev/fuse fd attached to this connection (FUSE_DEV_IOC_CLONE), with its own processing queue.</summary>
    /// <param name="nonBlocking">O_NONBLOCK: a read with nothing queued returns EAGAIN instead of sleeping (io_uring then polls).</param>
    public int CloneFd(bool nonBlocking = false)
    {
        int flags = Libc.O_RDWR | Libc.O_CLOEXEC | (nonBlocking ? Libc.O_NONBLOCK : 0);
        int clone = ErrnoException.Check(Libc.open("/dev/fuse", flags, 0), "open /dev/fuse");
        if (!TryBorrowFd(out int fd))
        {
            Libc.close(clone);
            throw new ObjectDisposedException(nameof(FuseMount));
        }
        uint source = (uint)fd;
        int result = Libc.IoctlInt(clone, FuseDeviceIoctl.Clone, ref source);
        int errno = Errno.Last;
        ReturnFd();
        if (result < 0)
        {
            Libc.close(clone);
            throw new ErrnoException("ioctl FUSE_DEV_IOC_CLONE", errno);
        }
        return clone;
    }

    /// <summary>Unmounts (lazily when asked: the mount disappears now, the connection ends when the last user leaves).</summary>
    public void Unmount(bool lazy = false)
    {
        if (Interlocked.Exchange(ref _unmounted, 1) != 0) return;
        // umount2 and fusermount3 -u take whatever is mounted on top of the path: act only when that is this connection.
        if (ConnectionId is uint id)
        {
            // Ended (unmounted from outside): its number may already name the next mount there, a stranger's.
            if (_control is not null && WaitingRequests() is null) return;
            var devices = DevicesMountedAt(Mountpoint);
            if (!devices.Contains(id)) return; // someone unmounted it already (and maybe mounted something else there)
            if (devices[^1] != id)
            {
                Abort(); // unreachable under the other mount: end the session, so no caller waits on it
                throw new IOException($"{Mountpoint} is covered by another mount; this connection was aborted and stays mounted beneath it");
            }
        }
        else if (ViaFusermount && !IsMounted(Mountpoint)) return; // someone ran fusermount3 -u already
        if (ViaFusermount)
        {
            try
            {
                Fusermount.Unmount(Mountpoint, lazy);
                DetachedWhileBusy = lazy;
            }
            catch (IOException) when (!lazy)
            {
                Fusermount.Unmount(Mountpoint, lazy: true); // busy (EBUSY): detach it, as libfuse always does
                DetachedWhileBusy = true;
            }
            return;
        }
        if (Libc.umount2(Mountpoint, lazy ? Libc.MNT_DETACH : 0) < 0)
        {
            int errno = Errno.Last;
            // Someone already unmounted it (umount from a shell ends the session that way).
            if (errno is Errno.EINVAL or Errno.ENOENT) return;
            if (errno == Errno.EBUSY && !lazy)
            {
                DetachedWhileBusy = Libc.umount2(Mountpoint, Libc.MNT_DETACH) == 0;
                return;
            }
            throw new ErrnoException($"umount {Mountpoint}", errno);
        }
        DetachedWhileBusy = lazy;
    }

    /// <summary>The mount was detached while in use: the connection lives on until its last user leaves.</summary>
    public bool DetachedWhileBusy { get; private set; }

    /// <summary>
    /// Aborts this connection through fusectl: every waiter fails with ENOTCONN, reads on the fd end. False when the
    /// connection has already ended (or fusectl was out of reach at mount). Never touches another mount, even one
    /// that now has this connection's number.
    /// </summary>
    public bool Abort() => AbortThrough(_control);

    /// <summary>Requests the kernel has sent or queued and not seen answered (fusectl's waiting); null once the connection has ended.</summary>
    public int? WaitingRequests()
    {
        if (OpenControlFile(_control, "waiting"u8, Libc.O_RDONLY) is not { } waiting) return null;
        using (waiting)
        {
            Span<byte> text = stackalloc byte[32];
            nint n = Libc.Read((int)waiting.DangerousGetHandle(), text);
            return n > 0 && System.Buffers.Text.Utf8Parser.TryParse(text[..(int)n], out int count, out _) ? count : null;
        }
    }

    /// <summary>
    /// Aborts the connection mounted at <paramref name="mountpoint"/>, for a mount this process did not make (a
    /// child's). False when nothing is mounted there, or the mount went while we looked.
    /// </summary>
    public static bool AbortMountedAt(string mountpoint)
    {
        string full = Path.GetFullPath(mountpoint);
        if (FindConnectionId(full) is not uint id) return false;
        using var control = OpenControlDirectory(id);
        // The directory opened is this mount's only if the mount still has the number after the open.
        return FindConnectionId(full) == id && AbortThrough(control);
    }

    private static bool AbortThrough(SafeFileHandle? control)
    {
        if (OpenControlFile(control, "abort"u8, Libc.O_WRONLY) is not { } abort) return false;
        using (abort) return Libc.Write((int)abort.DangerousGetHandle(), "1"u8) > 0;
    }

    /// <summary>Opens a file of a connection's fusectl directory; null when the directory is gone with its connection.</summary>
    private static SafeFileHandle? OpenControlFile(SafeFileHandle? control, ReadOnlySpan<byte> name, int flags)
    {
        if (control is null) return null;
        bool referenced = false;
        try
        {
            control.DangerousAddRef(ref referenced); // a concurrent Dispose must not close (and recycle) the fd under us
            int fd = Libc.OpenAt((int)control.DangerousGetHandle(), name, flags | Libc.O_CLOEXEC);
            return fd < 0 ? null : new SafeFileHandle(fd, ownsHandle: true);
        }
        catch (ObjectDisposedException) { return null; }
        finally { if (referenced) control.DangerousRelease(); }
    }

    private static SafeFileHandle? OpenControlDirectory(uint? connectionId)
    {
        if (connectionId is not uint id) return null;
        try { EnsureFuseControlMounted(); }
        catch (ErrnoException) { return null; } // not root: fusectl can't be mounted by us; abort stays unavailable
        int fd = Libc.open(Path.Combine(FuseControlDir, id.ToString()), Libc.O_RDONLY | Libc.O_DIRECTORY | Libc.O_CLOEXEC, 0);
        return fd < 0 ? null : new SafeFileHandle(fd, ownsHandle: true);
    }

    /// <summary>fusectl is not mounted on a fresh machine.</summary>
    public static void EnsureFuseControlMounted()
    {
        if (File.ReadAllText("/proc/self/mounts").Contains(" " + FuseControlDir + " fusectl ")) return;
        if (Libc.mount("none", FuseControlDir, "fusectl", 0, null) < 0 && Errno.Last != Errno.EBUSY)
            throw new ErrnoException("mount fusectl", Errno.Last);
    }

    /// <summary>Reads /proc/self/mountinfo (never the mount itself: a stat from the serving thread could deadlock).</summary>
    public static uint? FindConnectionId(string mountpoint)
    {
        uint? found = null;
        foreach (var (device, fuse) in MountsAt(mountpoint))
            if (fuse) found = device; // the last match is the topmost mount
        return found;
    }

    /// <summary>The devices mounted on <paramref name="mountpoint"/>, bottom to top (a FUSE mount's is its connection id).</summary>
    private static List<uint> DevicesMountedAt(string mountpoint) => [.. MountsAt(mountpoint).Select(m => m.Device)];

    private static IEnumerable<(uint Device, bool Fuse)> MountsAt(string mountpoint)
    {
        foreach (var line in File.ReadLines("/proc/self/mountinfo"))
        {
            var fields = line.Split(' ');
            if (fields.Length < 10) continue;
            int sep = Array.IndexOf(fields, "-");
            if (sep < 0 || sep + 1 >= fields.Length) continue;
            if (Unescape(fields[4]) != mountpoint) continue;
            string fstype = fields[sep + 1];
            bool fuse = fstype == "fuse" || fstype.StartsWith("fuse.", StringComparison.Ordinal) || fstype == "fuseblk";
            var dev = fields[2].Split(':');
            if (dev.Length == 2 && uint.TryParse(dev[1], out uint minor) && uint.TryParse(dev[0], out uint major))
                yield return (major == 0 ? minor : (major << 20) | minor, fuse);
        }
    }

    private static string Unescape(string s) => s.Contains('\\')
        ? System.Text.RegularExpressions.Regex.Replace(s, @"\\([0-7]{3})", m => ((char)Convert.ToInt32(m.Groups[1].Value, 8)).ToString())
        : s;

    /// <summary>Whether <paramref name="mountpoint"/> is currently a FUSE mount.</summary>
    public static bool IsMounted(string mountpoint) => FindConnectionId(Path.TrimEndingDirectorySeparator(Path.GetFullPath(mountpoint))) is not null;

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _fd, -1) >= 0) _fdOwner.Dispose(); // closes it now, or when the last borrower returns it
        _control?.Dispose();
    }
}
