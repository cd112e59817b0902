using Fuselage.Interop;
using Fuselage.Interop.Fuse;

namespace Fuselage;

/// <summary>
/// FUSE passthrough (<see cref="CacheMode.Passthrough"/>, Linux 6.9+, CAP_SYS_ADMIN): a file of the server's own,
/// registered here, is read and written by the kernel directly — READ and WRITE never reach the server. An OPEN or
/// CREATE reply names it with <see cref="Request.PassThroughTo"/>; the id stays valid until <see cref="Close"/>,
/// which the filesystem calls at RELEASE (the kernel keeps its own reference for the open file).
/// </summary>
public sealed class BackingFiles
{
    private readonly FuseMount _mount;
    private readonly Func<bool> _granted;
    private readonly Action<string> _log;
    private int _failureLogged;

    internal BackingFiles(FuseMount mount, Func<bool> granted, Action<string> log)
    {
        _mount = mount;
        _granted = granted;
        _log = log;
    }

    /// <summary>True once INIT granted FUSE_PASSTHROUGH (the policy declared it and the kernel offered it).</summary>
    public bool Enabled => _granted();

    /// <summary>Registers <paramref name="fd"/> (a regular file); returns its backing id (&gt; 0) or <c>-errno</c>.</summary>
    public int Open(int fd)
    {
        if (!Enabled) return -Errno.EOPNOTSUPP;
        var map = new FuseBackingMap { Fd = fd };
        if (!_mount.TryBorrowFd(out int device)) return -Errno.ENOTCONN;
        int id = Libc.IoctlStruct(device, FuseDeviceIoctl.BackingOpen, ref map);
        int error = id > 0 ? 0 : id == 0 ? Errno.EIO : Errno.Last;
        _mount.ReturnFd();
        if (id > 0) return id;
        // Once: a filesystem that falls back to serving the I/O itself still works, only slower; say why.
        if (Interlocked.Exchange(ref _failureLogged, 1) == 0)
            _log($"fuselage: passthrough: FUSE_DEV_IOC_BACKING_OPEN failed (errno {error}{(error == Errno.EPERM ? ": needs CAP_SYS_ADMIN" : "")}); further failures are not logged");
        return -error;
    }

    /// <summary>Releases a backing id; 0 or <c>-errno</c>.</summary>
    public int Close(int backingId)
    {
        uint id = (uint)backingId;
        if (!_mount.TryBorrowFd(out int device)) return -Errno.ENOTCONN;
        int result = Libc.IoctlInt(device, FuseDeviceIoctl.BackingClose, ref id) < 0 ? -Errno.Last : 0;
        _mount.ReturnFd();
        return result;
    }
}
