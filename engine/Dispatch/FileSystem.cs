using Fuselage.Interop;
using Fuselage.Interop.Fuse;

namespace Fuselage;

/// <summary>
/// The low-level, inode-based filesystem interface (the shape of libfuse's <c>fuse_lowlevel_ops</c>).
/// Every method returns a <see cref="ValueTask{TResult}"/> of an int: a negative value is <c>-errno</c>; zero or a
/// positive value is success (the byte count for data replies). Answers with a fixed shape are written in
/// place through the <see cref="Request"/> (<see cref="Request.Entry"/>, <see cref="Request.Attr"/>, ...).
/// Names and data are spans over the request buffer, valid until the method returns; a method that
/// completes later copies what it needs first and writes its answer through the request before completing.
/// Every method not overridden answers ENOSYS, which for most operations tells the kernel to stop asking.
/// </summary>
public abstract class FileSystem
{
    protected static ValueTask<int> Success => new(0);
    protected static ValueTask<int> Error(int errno) => new(-errno);
    private static ValueTask<int> NotImplemented => new(-Errno.ENOSYS);

    /// <summary>Kernel passthrough of file I/O (<see cref="CacheMode.Passthrough"/>); set by <see cref="FuseServer.Start"/>, null before.</summary>
    public BackingFiles? BackingFiles { get; internal set; }

    /// <summary>Called once at INIT: ask for capabilities and limits through <paramref name="connection"/>.</summary>
    public virtual void Init(FuseConnection connection) { }

    /// <summary>
    /// The session ended: called once, after INIT, when the server is stopped or disposed (whoever unmounted) and no
    /// other method is running any more, or at DESTROY on fuseblk mounts. Release what the filesystem holds here.
    /// </summary>
    public virtual void Destroy() { }

    /// <summary>Look up <paramref name="name"/> in <paramref name="parent"/> and fill <see cref="Request.Entry"/>;
    /// success increments the inode's lookup count by one. NodeId 0 with success is a cacheable negative entry.</summary>
    public virtual ValueTask<int> Lookup(Request request, ulong parent, ReadOnlySpan<byte> name) => NotImplemented;

    /// <summary>The kernel dropped <paramref name="nlookup"/> references to <paramref name="ino"/>. No reply.</summary>
    public virtual void Forget(ulong ino, ulong nlookup) { }

    /// <summary>Fill <see cref="Request.Attr"/>. <paramref name="fh"/> is set when the call came through an open file.</summary>
    public virtual ValueTask<int> GetAttr(Request request, ulong ino, ulong? fh) => NotImplemented;

    /// <summary>Apply the fields <see cref="SetAttrArgs.Valid"/> names, then fill <see cref="Request.Attr"/>.</summary>
    public virtual ValueTask<int> SetAttr(Request request, ulong ino, in SetAttrArgs args) => NotImplemented;

    /// <summary>Write the link target into <see cref="Request.Data"/>; return its length.</summary>
    public virtual ValueTask<int> ReadLink(Request request, ulong ino) => NotImplemented;

    // MKNOD through LINK, and CREATE: the engine answers EINVAL itself for a name that is empty, "." or "..", or
    // holds a '/' (the kernel sends none), so the name a method gets can always be a directory entry.
    public virtual ValueTask<int> MkNod(Request request, ulong parent, ReadOnlySpan<byte> name, uint mode, uint rdev, uint umask) => NotImplemented;
    public virtual ValueTask<int> MkDir(Request request, ulong parent, ReadOnlySpan<byte> name, uint mode, uint umask) => NotImplemented;
    public virtual ValueTask<int> Unlink(Request request, ulong parent, ReadOnlySpan<byte> name) => NotImplemented;
    public virtual ValueTask<int> RmDir(Request request, ulong parent, ReadOnlySpan<byte> name) => NotImplemented;
    public virtual ValueTask<int> SymLink(Request request, ulong parent, ReadOnlySpan<byte> name, ReadOnlySpan<byte> target) => NotImplemented;

    /// <summary>RENAME and RENAME2; <paramref name="flags"/> holds RENAME_NOREPLACE / RENAME_EXCHANGE / RENAME_WHITEOUT.</summary>
    public virtual ValueTask<int> Rename(Request request, ulong parent, ReadOnlySpan<byte> name, ulong newParent, ReadOnlySpan<byte> newName, uint flags) => NotImplemented;

    public virtual ValueTask<int> Link(Request request, ulong ino, ulong newParent, ReadOnlySpan<byte> newName) => NotImplemented;

    /// <summary>Fill <see cref="Request.Open"/> (file handle, FOPEN_* flags). <paramref name="flags"/> are open(2) flags.</summary>
    public virtual ValueTask<int> Open(Request request, ulong ino, int flags) => NotImplemented;

    /// <summary>Read into <paramref name="buffer"/> (the reply buffer, sized to the request); return bytes read.</summary>
    public virtual ValueTask<int> Read(Request request, ulong ino, ulong fh, long offset, Span<byte> buffer) => NotImplemented;

    /// <summary>Write <paramref name="data"/>; return bytes written.</summary>
    public virtual ValueTask<int> Write(Request request, ulong ino, ulong fh, long offset, ReadOnlySpan<byte> data, FuseWriteFlags writeFlags) => NotImplemented;

    public virtual ValueTask<int> Flush(Request request, ulong ino, ulong fh, ulong lockOwner) => NotImplemented;
    public virtual ValueTask<int> Release(Request request, ulong ino, ulong fh, int flags) => Success;
    public virtual ValueTask<int> Fsync(Request request, ulong ino, ulong fh, bool dataOnly) => NotImplemented;

    public virtual ValueTask<int> OpenDir(Request request, ulong ino, int flags) => Success;

    /// <summary>Add records with <see cref="Request.AddDirEntry"/> from <paramref name="offset"/> until it returns false or the directory ends.</summary>
    public virtual ValueTask<int> ReadDir(Request request, ulong ino, ulong fh, long offset) => NotImplemented;

    /// <summary>Add records with <see cref="Request.AddDirEntryPlus"/>; each with a non-zero NodeId (other than "." and "..") counts as a lookup.</summary>
    public virtual ValueTask<int> ReadDirPlus(Request request, ulong ino, ulong fh, long offset) => NotImplemented;

    public virtual ValueTask<int> ReleaseDir(Request request, ulong ino, ulong fh) => Success;
    public virtual ValueTask<int> FsyncDir(Request request, ulong ino, ulong fh, bool dataOnly) => NotImplemented;

    /// <summary>Fill <see cref="Request.StatFs"/>.</summary>
    public virtual ValueTask<int> StatFs(Request request, ulong ino) => NotImplemented;

    /// <summary><paramref name="flags"/>: XATTR_CREATE (1) / XATTR_REPLACE (2).</summary>
    public virtual ValueTask<int> SetXattr(Request request, ulong ino, ReadOnlySpan<byte> name, ReadOnlySpan<byte> value, int flags) => NotImplemented;

    /// <summary>With an empty <paramref name="value"/> return the value's size; otherwise copy it and return its length (-ERANGE if it does not fit).</summary>
    public virtual ValueTask<int> GetXattr(Request request, ulong ino, ReadOnlySpan<byte> name, Span<byte> value) => NotImplemented;

    /// <summary>Names as NUL-terminated strings; same size protocol as <see cref="GetXattr"/>.</summary>
    public virtual ValueTask<int> ListXattr(Request request, ulong ino, Span<byte> list) => NotImplemented;

    public virtual ValueTask<int> RemoveXattr(Request request, ulong ino, ReadOnlySpan<byte> name) => NotImplemented;

    /// <summary><paramref name="mask"/>: R_OK 4, W_OK 2, X_OK 1, F_OK 0.</summary>
    public virtual ValueTask<int> Access(Request request, ulong ino, int mask) => NotImplemented;

    /// <summary>Create and open: fill <see cref="Request.Entry"/> and <see cref="Request.Open"/>.</summary>
    public virtual ValueTask<int> Create(Request request, ulong parent, ReadOnlySpan<byte> name, uint mode, uint umask, int flags) => NotImplemented;

    /// <summary>Fill <see cref="Request.Lock"/> with a conflicting lock, or its Type with F_UNLCK.</summary>
    public virtual ValueTask<int> GetLk(Request request, ulong ino, ulong fh, ulong owner, in FuseFileLock lk) => NotImplemented;

    /// <summary>SETLK/SETLKW (<paramref name="wait"/>); <paramref name="flock"/> for BSD flock().</summary>
    public virtual ValueTask<int> SetLk(Request request, ulong ino, ulong fh, ulong owner, in FuseFileLock lk, bool wait, bool flock) => NotImplemented;

    /// <summary>Fill <see cref="Request.BmapBlock"/> (fuseblk mounts).</summary>
    public virtual ValueTask<int> Bmap(Request request, ulong ino, uint blockSize, ulong block) => NotImplemented;

    /// <summary>Restricted ioctl: write output into <paramref name="output"/>, set <see cref="Request.IoctlOutputLength"/>, return the ioctl's result.</summary>
    public virtual ValueTask<int> Ioctl(Request request, ulong ino, ulong fh, uint flags, uint cmd, ulong arg, ReadOnlySpan<byte> input, Span<byte> output) => NotImplemented;

    /// <summary>Return the ready events (revents).</summary>
    public virtual ValueTask<int> Poll(Request request, ulong ino, ulong fh, ulong kernelHandle, uint flags, uint events) => NotImplemented;

    public virtual ValueTask<int> Fallocate(Request request, ulong ino, ulong fh, long offset, long length, int mode) => NotImplemented;

    /// <summary>SEEK_DATA (3) / SEEK_HOLE (4): fill <see cref="Request.SeekOffset"/>.</summary>
    public virtual ValueTask<int> Lseek(Request request, ulong ino, ulong fh, long offset, int whence) => NotImplemented;

    /// <summary>Fill <see cref="Request.BytesCopied"/>.</summary>
    public virtual ValueTask<int> CopyFileRange(Request request, ulong inoIn, ulong fhIn, long offsetIn, ulong inoOut, ulong fhOut, long offsetOut, ulong length, ulong flags) => NotImplemented;

    public virtual ValueTask<int> SyncFs(Request request, ulong ino) => NotImplemented;

    /// <summary>O_TMPFILE: an unnamed file in <paramref name="parent"/>; fill Entry and Open.</summary>
    public virtual ValueTask<int> TmpFile(Request request, ulong parent, uint mode, uint umask, int flags) => NotImplemented;

    /// <summary>Fill <see cref="Request.Statx"/>; ENOSYS makes the kernel fall back to GETATTR.</summary>
    public virtual ValueTask<int> Statx(Request request, ulong ino, ulong? fh, uint statxFlags, uint mask) => NotImplemented;

    /// <summary>The kernel's answer to <see cref="Notifications.Retrieve"/> (sent with <paramref name="notifyUnique"/>):
    /// cached data of <paramref name="ino"/> from <paramref name="offset"/>, possibly empty. No reply.</summary>
    public virtual void RetrieveReply(ulong notifyUnique, ulong ino, long offset, ReadOnlySpan<byte> data) { }
}

/// <summary>SETATTR arguments: only the fields named by <see cref="Valid"/> carry meaning.</summary>
public readonly struct SetAttrArgs
{
    internal SetAttrArgs(in FuseSetattrIn a) => In = a;

    internal readonly FuseSetattrIn In;
    public FuseSetattrValid Valid => (FuseSetattrValid)In.Valid;
    public bool Has(FuseSetattrValid field) => (Valid & field) != 0;
    public ulong? Fh => Has(FuseSetattrValid.Fh) ? In.Fh : null;
    public ulong Size => In.Size;
    public uint Mode => In.Mode;
    public uint Uid => In.Uid;
    public uint Gid => In.Gid;
    /// <summary><see cref="Atime"/> as a DateTime, clamped to its range (years 1 to 9999; utimensat(2) takes any 64-bit second).</summary>
    public DateTime AtimeUtc => ToDateTime((long)In.Atime, In.AtimeNsec);
    /// <summary><see cref="Mtime"/> as a DateTime, clamped to its range.</summary>
    public DateTime MtimeUtc => ToDateTime((long)In.Mtime, In.MtimeNsec);

    private static readonly long MinSeconds = (long)Math.Ceiling((DateTime.MinValue - DateTime.UnixEpoch).TotalSeconds);
    private static readonly long MaxSeconds = (long)Math.Floor((DateTime.MaxValue - DateTime.UnixEpoch).TotalSeconds);

    private static DateTime ToDateTime(long seconds, uint nanoseconds)
    {
        if (seconds < MinSeconds) return DateTime.SpecifyKind(DateTime.MinValue, DateTimeKind.Utc);
        if (seconds >= MaxSeconds) return DateTime.SpecifyKind(DateTime.MaxValue, DateTimeKind.Utc);
        return DateTime.UnixEpoch.AddTicks(seconds * TimeSpan.TicksPerSecond + Math.Min(nanoseconds, 999_999_999u) / 100);
    }
    public (long Sec, uint Nsec) Atime => ((long)In.Atime, In.AtimeNsec);
    public (long Sec, uint Nsec) Mtime => ((long)In.Mtime, In.MtimeNsec);
    public (long Sec, uint Nsec) Ctime => ((long)In.Ctime, In.CtimeNsec);
}
