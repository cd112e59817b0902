using Fuselage.Interop;
using Fuselage.Interop.Fuse;

namespace Fuselage.Samples;

/// <summary>
/// Mirrors a source directory, in the manner of libfuse's passthrough_ll: every operation is the matching *at()
/// call relative to the parent's fd, so nothing can escape the source root (names with '/' are refused, ".." of
/// the root is the root).
/// <para>
/// Inodes are keyed by (st_dev, st_ino) and do not pin an fd each. Each remembers a file handle from
/// name_to_handle_at and is re-opened with open_by_handle_at(mountFd, handle, O_PATH) when needed
/// (<see cref="InodeKeying.FileHandles"/>); when the source filesystem has no handles, or this process may not
/// open them (open_by_handle_at needs CAP_DAC_READ_SEARCH), each inode remembers its (parent inode, name)
/// and is re-opened with openat from its parent, checking (st_dev, st_ino) (<see cref="InodeKeying.ParentAndName"/>).
/// A bounded LRU of O_PATH fds keeps hot inodes open. Open files and directories hold one fd each. The inode
/// table's lock guards bookkeeping only: opening, closing and making handles happen outside it, so requests on
/// several workers do not queue behind one another's syscalls.
/// </para>
/// </summary>
public sealed class PassthroughFs : FileSystem, IDisposable
{
    public enum InodeKeying { FileHandles, ParentAndName }

    private const int PathFlags = Libc.O_PATH | Libc.O_NOFOLLOW | Libc.O_CLOEXEC;
    private const int StatFlags = Libc.AT_EMPTY_PATH | Libc.AT_SYMLINK_NOFOLLOW;
    private const uint S_IFMT = 0xF000, S_IFDIR = 0x4000, S_ISUID = 0x800, S_ISGID = 0x400, S_IXGRP = 0x08;

    private readonly object _lock = new();
    private readonly Dictionary<ulong, Inode> _byId = new();
    private readonly Dictionary<(ulong Dev, ulong Ino), Inode> _byKey = new();
    private readonly LinkedList<Inode> _lru = new();
    private readonly Dictionary<ulong, DirHandle> _dirs = new();
    // Open files by fd: the whole fh each was given (the fd, and a count of opens above it) and its backing id.
    // RELEASE closes only a handle given out and not yet released (a stray or repeated fh must never close another fd
    // of the process, such as /dev/fuse, or a later open's that got the same number), and Dispose closes those the
    // kernel never released (an aborted connection).
    private readonly Dictionary<int, (ulong Fh, int BackingId)> _openFiles = new();
    private uint _opens;
    private readonly int _rootFd;
    private readonly int _rootMountId;
    private readonly int _mountFd = -1; // open_by_handle_at wants a real (not O_PATH) fd on the mount
    private readonly int _capacity;
    private readonly bool _asRoot;
    private ulong _nextId = FuseProtocol.RootId + 1;
    private ulong _nextDirFh = 1;
    private bool _disposed;

    /// <param name="sourceDir">The directory to mirror.</param>
    /// <param name="fdCacheCapacity">How many O_PATH fds of inodes stay open at most (the root's is extra).</param>
    /// <param name="keying">Force a keying strategy; by default file handles when they work on the source.</param>
    public PassthroughFs(string sourceDir, int fdCacheCapacity = 1000, InodeKeying? keying = null)
    {
        _capacity = Math.Max(1, fdCacheCapacity);
        _rootFd = ErrnoException.Check(Libc.open(sourceDir, Libc.O_PATH | Libc.O_DIRECTORY | Libc.O_CLOEXEC, 0), $"open {sourceDir}");
        ErrnoException.Check(Libc.FStatAt(_rootFd, default, out var st, StatFlags), "fstatat source");
        var root = new Inode(FuseProtocol.RootId, st.Dev, st.Ino, st.Mode) { Fd = _rootFd, Pinned = true, Lookups = 1 };
        _byId.Add(root.Id, root);
        _byKey.Add((st.Dev, st.Ino), root);
        _asRoot = Libc.geteuid() == 0;

        // Handles are used only if both halves work here: making one, and opening it again.
        Span<byte> handle = stackalloc byte[Libc.FileHandleBufferSize];
        int length = Libc.NameToHandleAt(_rootFd, default, handle, out _rootMountId, Libc.AT_EMPTY_PATH);
        bool handlesWork = false;
        if (length > 0 && keying != InodeKeying.ParentAndName)
            _mountFd = Libc.open(sourceDir, Libc.O_RDONLY | Libc.O_DIRECTORY | Libc.O_CLOEXEC, 0);
        if (length > 0 && _mountFd >= 0)
        {
            int fd = Libc.OpenByHandleAt(_mountFd, handle[..length], PathFlags);
            if (fd >= 0) { Libc.close(fd); handlesWork = true; }
        }
        Keying = keying ?? (handlesWork ? InodeKeying.FileHandles : InodeKeying.ParentAndName);
        if (Keying == InodeKeying.FileHandles && !handlesWork)
            throw new InvalidOperationException("file handles do not work on this source (or without CAP_DAC_READ_SEARCH)");
    }

    /// <summary>How inodes are found again once their fd left the cache.</summary>
    public InodeKeying Keying { get; }

    /// <summary>Inodes the kernel knows (root included).</summary>
    public int InodeCount { get { lock (_lock) return _byId.Count; } }

    /// <summary>O_PATH fds in the LRU cache now.</summary>
    public int CachedFds { get { lock (_lock) return _lru.Count; } }

    /// <summary>Inodes other than the root holding their fd outside the cache until forgotten (removed while known).</summary>
    public int PinnedFds { get { lock (_lock) return _byId.Values.Count(n => n.Pinned && n.Id != FuseProtocol.RootId); } }

    public void Dispose()
    {
        lock (_lock)
        {
            if (_disposed) return;
            _disposed = true;
            // Every inode's fd: the cached ones, the root's, and those kept outside the cache (removed while still
            // looked up, met through "..") that the kernel did not forget before it went. One a call still uses is
            // closed by that call's lease: closed now, its number could be reused under the call by another open.
            foreach (var n in _byId.Values)
            {
                n.Pinned = false;
                if (n.Fd < 0 || n.Users > 0) continue;
                Libc.close(n.Fd);
                n.Fd = -1;
            }
            _lru.Clear();
            foreach (int fd in _openFiles.Keys) Libc.close(fd);
            _openFiles.Clear();
            foreach (var d in _dirs.Values) Libc.close(d.Fd);
            _dirs.Clear();
            if (_mountFd >= 0) Libc.close(_mountFd);
        }
    }

    public override void Destroy() => Dispose();

    // ---------------------------------------------------------------- inodes and the fd cache

    private sealed class Inode
    {
        public Inode(ulong id, ulong dev, ulong ino, uint mode)
        {
            Id = id; Dev = dev; Ino = ino; Type = mode & S_IFMT;
            LruNode = new LinkedListNode<Inode>(this);
        }

        public readonly ulong Id;
        public readonly ulong Dev, Ino;
        public readonly uint Type;
        public ulong Lookups;
        public byte[]? Handle;          // FileHandles keying; set when created, never changed
        public Inode? Parent;           // ParentAndName keying (and fallback)
        public byte[]? Name;
        public int Fd = -1;             // cached O_PATH fd, or -1
        public int Users;               // leases using Fd right now
        public bool Pinned;             // root: never evicted
        public bool Forgotten;
        public int BackingId;           // passthrough: the id its open files share (valid while BackingOpens > 0)
        public int BackingOpens;        // open files using BackingId
        public readonly LinkedListNode<Inode> LruNode;
    }

    /// <summary>An fd borrowed for one call; the cache will not close it until disposed.</summary>
    private readonly struct Lease(PassthroughFs? fs, Inode? node, int fd) : IDisposable
    {
        public readonly int Fd = fd;
        public Inode? Node => node;
        public void Dispose() => fs?.Return(node!);
    }

    private static int Err() => -Errno.Last;

    private int Acquire(ulong id, out Lease lease)
    {
        lease = default;
        return Node(id) is { } n ? Acquire(n, out lease) : -Errno.ESTALE;
    }

    /// <summary>
    /// How many uncached ancestors one reopen walks at most (each a stack frame). Past it the answer is ESTALE, which
    /// makes the kernel look the path up again by name and so repair the routes: renames made outside the mount can
    /// leave two routes pointing at each other, and a loop must not overflow the stack, which would end the process.
    /// </summary>
    private const int MaxReopenDepth = 1024;

    private int Acquire(Inode n, out Lease lease, int depth = 0)
    {
        lease = default;
        Inode? parent;
        byte[]? name;
        lock (_lock)
        {
            if (n.Fd >= 0)
            {
                Touch(n);
                n.Users++;
                lease = new Lease(this, n, n.Fd);
                return 0;
            }
            // Disposed: the fds a reopen starts from (the mount's, the parents') are closed, their numbers maybe reused.
            if (_disposed) return -Errno.EIO;
            (parent, name) = (n.Parent, n.Name); // a rename changes both: read them as one
        }
        // Not cached: opened again outside the lock, so one request's syscalls (two or three on the parent route)
        // never hold up the others' lookups of cached inodes.
        int fd = Reopen(n, parent, name, depth);
        if (fd < 0) return fd;
        int surplus;
        lock (_lock)
        {
            if (ClosedAfterDispose(fd)) return -Errno.EIO;
            surplus = Adopt(n, fd);
            n.Users++;
            lease = new Lease(this, n, n.Fd);
        }
        CloseIfOpen(surplus);
        return 0;
    }

    /// <summary>Moves a cached inode to the LRU's front (under the lock).</summary>
    private void Touch(Inode n)
    {
        if (n.Pinned || n.LruNode.List is null) return;
        _lru.Remove(n.LruNode);
        _lru.AddFirst(n.LruNode);
    }

    /// <summary>
    /// Under the lock: gives <paramref name="n"/> the O_PATH fd just opened on it, unless another request gave it one
    /// meanwhile. Returns the fd the caller closes once it left the lock (the surplus one, or one evicted), or -1.
    /// </summary>
    private int Adopt(Inode n, int fd)
    {
        if (n.Fd >= 0)
        {
            Touch(n);
            return fd;
        }
        n.Fd = fd;
        return n.Forgotten ? -1 : Cache(n); // a forgotten one is closed by its last lease
    }

    /// <summary>
    /// Puts an inode whose Fd was just set at the LRU's front (under the lock) and evicts the least recently used one
    /// if the cache is now over capacity. Returns the evicted fd for the caller to close once it left the lock, or -1.
    /// Every insertion evicts at once, so the cache is never more than one over and one eviction suffices.
    /// </summary>
    private int Cache(Inode n)
    {
        _lru.AddFirst(n.LruNode);
        if (_lru.Count <= _capacity || _lru.Last is not { } last) return -1;
        var victim = last.Value;
        _lru.Remove(last);
        if (victim.Users > 0) return -1; // closed by its last lease
        int fd = victim.Fd;
        victim.Fd = -1;
        return fd;
    }

    /// <summary>Under the lock: an fd just opened for a table that Dispose has emptied is closed here, since nothing
    /// else would close it; true when it was.</summary>
    private bool ClosedAfterDispose(int fd)
    {
        if (!_disposed) return false;
        Libc.close(fd);
        return true;
    }

    private static void CloseIfOpen(int fd)
    {
        if (fd >= 0) Libc.close(fd);
    }

    private void Return(Inode n)
    {
        int unused = -1;
        lock (_lock)
        {
            n.Users--;
            if (n.Users == 0 && n.Fd >= 0 && !n.Pinned && n.LruNode.List is null)
            {
                unused = n.Fd; // evicted or forgotten while in use
                n.Fd = -1;
            }
        }
        CloseIfOpen(unused);
    }

    /// <summary>Opens an O_PATH fd on an inode whose fd is not cached. Returns the fd or -errno.</summary>
    private int Reopen(Inode n, Inode? parent, byte[]? name, int depth)
    {
        if (n.Handle is not null)
        {
            int fd = Libc.OpenByHandleAt(_mountFd, n.Handle, PathFlags);
            if (fd >= 0) return fd;
            if (parent is null) return Err();
        }
        if (parent is null || name is null) return -Errno.ESTALE;
        if (depth >= MaxReopenDepth) return -Errno.ESTALE;
        int rc = Acquire(parent, out var parentLease, depth + 1);
        if (rc < 0) return rc;
        using (parentLease)
        {
            int fd = Libc.OpenAt(parentLease.Fd, name, PathFlags);
            if (fd < 0) return Err();
            if (Libc.FStatAt(fd, default, out var st, StatFlags) < 0 || st.Dev != n.Dev || st.Ino != n.Ino)
            {
                Libc.close(fd);
                return -Errno.ESTALE; // renamed or replaced behind our back
            }
            return fd;
        }
    }

    private static bool IsDot(ReadOnlySpan<byte> name) => name.Length == 1 && name[0] == '.';
    private static bool IsDotDot(ReadOnlySpan<byte> name) => name.Length == 2 && name[0] == '.' && name[1] == '.';

    /// <summary>A new or removed entry's name: the engine refuses empty, ".", ".." and '/' names before they get
    /// here, so what is left to check is the source filesystem's length limit.</summary>
    private static int CheckName(ReadOnlySpan<byte> name) => name.Length > 255 ? -Errno.ENAMETOOLONG : 0;

    private static void FillAttr(in Stat st, ref FuseAttr a)
    {
        a = default;
        a.Ino = st.Ino;
        a.Size = (ulong)st.Size;
        a.Blocks = (ulong)st.Blocks;
        a.Atime = (ulong)st.Atime; a.AtimeNsec = (uint)st.AtimeNsec;
        a.Mtime = (ulong)st.Mtime; a.MtimeNsec = (uint)st.MtimeNsec;
        a.Ctime = (ulong)st.Ctime; a.CtimeNsec = (uint)st.CtimeNsec;
        a.Mode = st.Mode;
        a.Nlink = (uint)Math.Min(st.Nlink, uint.MaxValue);
        a.Uid = st.Uid;
        a.Gid = st.Gid;
        a.Rdev = (uint)st.Rdev; // glibc's dev_t low 32 bits = the kernel's new_encode_dev for majors < 4096
        a.Blksize = (uint)st.Blksize;
    }

    /// <summary>Looks <paramref name="name"/> up under the parent fd, registers the inode (lookup count + 1) and fills the entry.</summary>
    private int DoLookup(int parentFd, Inode parent, ReadOnlySpan<byte> name, ref FuseEntryOut e)
    {
        int fd = Libc.OpenAt(parentFd, name, PathFlags);
        if (fd < 0) return Err();
        if (Libc.FStatAt(fd, default, out var st, StatFlags) < 0)
        {
            int err = Err();
            Libc.close(fd);
            return err;
        }
        // A new inode's file handle is made before taking the lock (a syscall); a known one needs none.
        byte[]? handle = null;
        if (Keying == InodeKeying.FileHandles)
        {
            bool known;
            lock (_lock) known = _byKey.ContainsKey((st.Dev, st.Ino));
            if (!known) handle = MakeHandle(fd);
        }
        int surplus, evicted = -1;
        lock (_lock)
        {
            if (ClosedAfterDispose(fd)) return -Errno.EIO;
            if (!_byKey.TryGetValue((st.Dev, st.Ino), out var n))
            {
                // Without a handle (forgotten between the two looks), the (parent, name) route below serves.
                n = new Inode(_nextId++, st.Dev, st.Ino, st.Mode) { Handle = handle };
                _byId.Add(n.Id, n);
                _byKey.Add((st.Dev, st.Ino), n);
            }
            // The (parent, name) route: always kept as the fallback of a handle that stopped working. Never ".." of a
            // child: reopening the child needs this inode's fd, so the two would reopen each other without end.
            bool viaDotDot = IsDotDot(name);
            if (!viaDotDot && (n.Handle is null || n.Parent is null))
            {
                n.Parent = parent;
                n.Name = name.ToArray();
            }
            surplus = Adopt(n, fd);
            if (!viaDotDot && n.Pinned && n.Id != FuseProtocol.RootId && n.Fd >= 0 && n.LruNode.List is null)
            {
                // Kept outside the LRU for want of a route (met through "..", or its route was removed): it has one
                // again, so its fd goes back to the cache.
                n.Pinned = false;
                evicted = Cache(n);
            }
            if (viaDotDot && n.Handle is null && n.Parent is null && !n.Pinned)
            {
                // First met through "..", with no route back: it keeps its fd, outside the LRU, until forgotten.
                if (n.LruNode.List is not null) _lru.Remove(n.LruNode);
                n.Pinned = true;
            }
            n.Lookups++;
            e.NodeId = n.Id;
            e.Generation = 0;
            FillAttr(st, ref e.Attr);
        }
        CloseIfOpen(surplus);
        CloseIfOpen(evicted);
        return 0;
    }

    /// <summary>The inode's file handle, if it has one on the source's own mount (a mount point inside has others).</summary>
    private byte[]? MakeHandle(int fd)
    {
        Span<byte> handle = stackalloc byte[Libc.FileHandleBufferSize];
        int length = Libc.NameToHandleAt(fd, default, handle, out int mountId, Libc.AT_EMPTY_PATH);
        return length > 0 && mountId == _rootMountId ? handle[..length].ToArray() : null;
    }

    private void UpdateName(int parentFd, Inode parent, ReadOnlySpan<byte> name)
    {
        if (Libc.FStatAt(parentFd, name, out var st, Libc.AT_SYMLINK_NOFOLLOW) < 0) return;
        lock (_lock)
        {
            if (_byKey.TryGetValue((st.Dev, st.Ino), out var n) && n.Parent is not null)
            {
                n.Parent = parent;
                n.Name = name.ToArray();
            }
        }
    }

    private Inode? Node(ulong id)
    {
        lock (_lock) return _byId.TryGetValue(id, out var n) ? n : null;
    }

    // ---------------------------------------------------------------- names

    public override ValueTask<int> Lookup(Request request, ulong parent, ReadOnlySpan<byte> name)
    {
        if (name.Length > 255) return Error(Errno.ENAMETOOLONG);
        if (name.Contains((byte)'/')) return Error(Errno.EINVAL);
        if (Node(parent) is not { } p) return Error(Errno.ESTALE);
        // ".." of the root is the root; "." is the directory itself.
        if (IsDot(name) || (IsDotDot(name) && parent == FuseProtocol.RootId))
            return new(LookupSelf(request, p));
        int rc = Acquire(p, out var pf);
        if (rc < 0) return new(rc);
        using (pf) return new(DoLookup(pf.Fd, p, name, ref request.Entry));
    }

    private int LookupSelf(Request request, Inode n)
    {
        int rc = Acquire(n, out var f);
        if (rc < 0) return rc;
        using (f)
        {
            if (Libc.FStatAt(f.Fd, default, out var st, StatFlags) < 0) return Err();
            lock (_lock) n.Lookups++;
            request.Entry.NodeId = n.Id;
            FillAttr(st, ref request.Entry.Attr);
            return 0;
        }
    }

    public override void Forget(ulong ino, ulong nlookup)
    {
        int unused = -1;
        lock (_lock)
        {
            if (ino == FuseProtocol.RootId || !_byId.TryGetValue(ino, out var n)) return;
            n.Lookups = n.Lookups > nlookup ? n.Lookups - nlookup : 0;
            if (n.Lookups != 0) return;
            n.Forgotten = true;
            _byId.Remove(ino);
            _byKey.Remove((n.Dev, n.Ino));
            if (n.LruNode.List is not null) _lru.Remove(n.LruNode);
            n.Pinned = false;
            if (n.Users == 0 && n.Fd >= 0) { unused = n.Fd; n.Fd = -1; }
        }
        CloseIfOpen(unused);
    }

    public override ValueTask<int> GetAttr(Request request, ulong ino, ulong? fh)
    {
        if (fh is ulong f && ino != FuseProtocol.RootId && Libc.FStatAt((int)f, default, out var fst, StatFlags) >= 0)
        {
            FillAttr(fst, ref request.Attr);
            return Success;
        }
        int rc = Acquire(ino, out var l);
        if (rc < 0) return new(rc);
        using (l)
        {
            if (Libc.FStatAt(l.Fd, default, out var st, StatFlags) < 0) return new(Err());
            FillAttr(st, ref request.Attr);
            return Success;
        }
    }

    public override ValueTask<int> SetAttr(Request request, ulong ino, in SetAttrArgs args)
    {
        int rc = Acquire(ino, out var l);
        if (rc < 0) return new(rc);
        using (l)
        {
            Span<byte> proc = stackalloc byte[32];
            var path = Libc.ProcFdPath(l.Fd, proc);
            int fileFd = args.Fh is ulong fh ? (int)fh : -1;
            if (args.Has(FuseSetattrValid.Mode) && Libc.FChmodAt(Libc.AT_FDCWD, path, args.Mode & 0xFFF, 0) < 0) return new(Err());
            if (args.Has(FuseSetattrValid.Uid) || args.Has(FuseSetattrValid.Gid))
            {
                uint uid = args.Has(FuseSetattrValid.Uid) ? args.Uid : uint.MaxValue;
                uint gid = args.Has(FuseSetattrValid.Gid) ? args.Gid : uint.MaxValue;
                if (Libc.FChownAt(l.Fd, default, uid, gid, StatFlags) < 0) return new(Err());
            }
            if (args.Has(FuseSetattrValid.Size))
            {
                int r = fileFd >= 0 ? Libc.ftruncate(fileFd, (long)args.Size) : Libc.Truncate(path, (long)args.Size);
                if (r < 0) return new(Err());
            }
            // KILLPRIV_V2: an unprivileged caller's truncate (or O_TRUNC); as root, truncate itself would keep the bits.
            if (args.Has(FuseSetattrValid.KillSuidgid) && !args.Has(FuseSetattrValid.Mode)) KillSuidgid(l.Fd);
            bool a = args.Has(FuseSetattrValid.Atime) || args.Has(FuseSetattrValid.AtimeNow);
            bool m = args.Has(FuseSetattrValid.Mtime) || args.Has(FuseSetattrValid.MtimeNow);
            if (a || m)
            {
                var at = new Timespec { Nsec = Libc.UTIME_OMIT };
                var mt = new Timespec { Nsec = Libc.UTIME_OMIT };
                if (args.Has(FuseSetattrValid.AtimeNow)) at.Nsec = Libc.UTIME_NOW;
                else if (a) at = new Timespec { Sec = args.Atime.Sec, Nsec = args.Atime.Nsec };
                if (args.Has(FuseSetattrValid.MtimeNow)) mt.Nsec = Libc.UTIME_NOW;
                else if (m) mt = new Timespec { Sec = args.Mtime.Sec, Nsec = args.Mtime.Nsec };
                int r = fileFd >= 0
                    ? Libc.UtimensAt(fileFd, default, at, mt, Libc.AT_EMPTY_PATH)
                    : Libc.UtimensAt(l.Fd, default, at, mt, Libc.AT_EMPTY_PATH);
                if (r < 0 && Errno.Last is Errno.EBADF or Errno.EINVAL or Errno.ENOENT)
                    r = Libc.UtimensAt(Libc.AT_FDCWD, path, at, mt, 0);
                if (r < 0) return new(Err());
            }
            if (Libc.FStatAt(l.Fd, default, out var st, StatFlags) < 0) return new(Err());
            FillAttr(st, ref request.Attr);
            return Success;
        }
    }

    public override ValueTask<int> ReadLink(Request request, ulong ino)
    {
        int rc = Acquire(ino, out var l);
        if (rc < 0) return new(rc);
        using (l)
        {
            nint n = Libc.ReadLinkAt(l.Fd, default, request.Data);
            return new(n < 0 ? Err() : (int)n);
        }
    }

    /// <summary>After a create: honour the caller's mode exactly (this process's umask may have cut more) and,
    /// when running as root, give the node to the caller like the kernel would.</summary>
    private void FixNew(int parentFd, Inode parent, ReadOnlySpan<byte> name, Request request, uint wantedPerm, ref FuseEntryOut e)
    {
        // The set-ID and sticky bits as made, the permission bits as asked. The owner changes first: a chown drops
        // a file's set-user-ID and set-group-ID bits, even root's, so a mode set before it would lose them.
        uint mode = (e.Attr.Mode & 0xE00) | (wantedPerm & 0x1FF);
        bool chowned = false;
        if (_asRoot && (e.Attr.Uid != request.Uid || e.Attr.Gid != request.Gid))
        {
            uint gid = (Dir(parent) & S_ISGID) != 0 ? uint.MaxValue : request.Gid;
            chowned = Libc.FChownAt(parentFd, name, request.Uid, gid, Libc.AT_SYMLINK_NOFOLLOW) == 0;
        }
        // After a chown the mode is set again whatever it was: the chown may have dropped the set-ID bits.
        bool chmodded = (chowned || (e.Attr.Mode & 0xFFF) != mode) && (e.Attr.Mode & S_IFMT) != 0xA000
            && Libc.FChmodAt(parentFd, name, mode, 0) == 0;
        if ((chowned || chmodded) && Libc.FStatAt(parentFd, name, out var st, Libc.AT_SYMLINK_NOFOLLOW) == 0) FillAttr(st, ref e.Attr);

        uint Dir(Inode p) => Libc.FStatAt(parentFd, default, out var ps, StatFlags) == 0 ? ps.Mode : 0;
    }

    private ValueTask<int> MakeAndLookup(Request request, ulong parent, ReadOnlySpan<byte> name, int kind, uint mode, uint rdev, ReadOnlySpan<byte> target)
    {
        int rc = CheckName(name);
        if (rc < 0) return new(rc);
        if (Node(parent) is not { } p) return Error(Errno.ESTALE);
        rc = Acquire(p, out var pf);
        if (rc < 0) return new(rc);
        using (pf)
        {
            int r = kind switch
            {
                0 => Libc.MkDirAt(pf.Fd, name, mode),
                1 => Libc.MkNodAt(pf.Fd, name, mode, rdev),
                _ => Libc.SymLinkAt(target, pf.Fd, name),
            };
            if (r < 0) return new(Err());
            rc = DoLookup(pf.Fd, p, name, ref request.Entry);
            if (rc < 0) return new(rc);
            FixNew(pf.Fd, p, name, request, kind == 2 ? 0x1FF : mode, ref request.Entry);
            return Success;
        }
    }

    public override ValueTask<int> MkDir(Request request, ulong parent, ReadOnlySpan<byte> name, uint mode, uint umask)
        => MakeAndLookup(request, parent, name, 0, mode & ~umask & 0xFFF, 0, default);

    public override ValueTask<int> MkNod(Request request, ulong parent, ReadOnlySpan<byte> name, uint mode, uint rdev, uint umask)
        => MakeAndLookup(request, parent, name, 1, (mode & S_IFMT) | (mode & ~umask & 0xFFF), rdev, default);

    public override ValueTask<int> SymLink(Request request, ulong parent, ReadOnlySpan<byte> name, ReadOnlySpan<byte> target)
        => MakeAndLookup(request, parent, name, 2, 0x1FF, 0, target);

    public override ValueTask<int> Link(Request request, ulong ino, ulong newParent, ReadOnlySpan<byte> newName)
    {
        int rc = CheckName(newName);
        if (rc < 0) return new(rc);
        if (Node(newParent) is not { } p) return Error(Errno.ESTALE);
        rc = Acquire(ino, out var l);
        if (rc < 0) return new(rc);
        using (l)
        {
            rc = Acquire(p, out var pf);
            if (rc < 0) return new(rc);
            using (pf)
            {
                Span<byte> proc = stackalloc byte[32];
                // Through /proc/self/fd: linkat(AT_EMPTY_PATH) would need CAP_DAC_READ_SEARCH.
                if (Libc.LinkAt(Libc.AT_FDCWD, Libc.ProcFdPath(l.Fd, proc), pf.Fd, newName, Libc.AT_SYMLINK_FOLLOW) < 0) return new(Err());
                return new(DoLookup(pf.Fd, p, newName, ref request.Entry));
            }
        }
    }

    private ValueTask<int> Remove(ulong parent, ReadOnlySpan<byte> name, int flags)
    {
        int rc = CheckName(name);
        if (rc < 0) return new(rc);
        rc = Acquire(parent, out var pf);
        if (rc < 0) return new(rc);
        using (pf)
        {
            var victim = HoldVictim(pf.Fd, name);
            int result = Libc.UnlinkAt(pf.Fd, name, flags) < 0 ? Err() : 0;
            ReleaseVictim(victim, removed: result == 0, pf.Node!, name);
            return new(result);
        }
    }

    /// <summary>
    /// Holds the inode a name leads to (its fd open) while that name is removed or replaced: the removal may take the
    /// last route to it with it (neither a handle of an unlinked inode nor its old (parent, name) opens again).
    /// </summary>
    private Lease HoldVictim(int parentFd, ReadOnlySpan<byte> name)
    {
        if (Libc.FStatAt(parentFd, name, out var st, Libc.AT_SYMLINK_NOFOLLOW) < 0) return default;
        Inode? n;
        lock (_lock) if (!_byKey.TryGetValue((st.Dev, st.Ino), out n) || n.Pinned) return default;
        return Acquire(n, out var lease) < 0 ? default : lease;
    }

    /// <summary>
    /// After the removal of <paramref name="name"/> in <paramref name="parent"/>: an inode it left unreachable (no
    /// link left, or no handle to reopen it by and that name was its route) keeps its fd, outside the LRU, until the
    /// kernel forgets it. Any other goes back to the cache: a failed rmdir or the unlink of one of several links must
    /// not hold an fd per inode (the process may open only 20,000 files).
    /// </summary>
    private void ReleaseVictim(Lease lease, bool removed, Inode parent, ReadOnlySpan<byte> name)
    {
        if (lease.Node is not { } n) return;
        if (removed && (Libc.FStatAt(lease.Fd, default, out var st, StatFlags) < 0 || st.Nlink == 0
            || (n.Handle is null && RouteIs(n, parent, name))))
        {
            lock (_lock)
            {
                if (!n.Forgotten) // a forgotten one is closed by its last lease
                {
                    if (n.LruNode.List is not null) _lru.Remove(n.LruNode);
                    n.Pinned = true;
                }
            }
        }
        lease.Dispose();
    }

    /// <summary>Whether <paramref name="name"/> in <paramref name="parent"/> is the (parent, name) route <paramref name="n"/> is reopened by (or it has none).</summary>
    private bool RouteIs(Inode n, Inode parent, ReadOnlySpan<byte> name)
    {
        lock (_lock)
            return n.Parent is not { } p || n.Name is null
                || (p.Dev == parent.Dev && p.Ino == parent.Ino && name.SequenceEqual(n.Name));
    }

    public override ValueTask<int> Unlink(Request request, ulong parent, ReadOnlySpan<byte> name) => Remove(parent, name, 0);
    public override ValueTask<int> RmDir(Request request, ulong parent, ReadOnlySpan<byte> name) => Remove(parent, name, Libc.AT_REMOVEDIR);

    public override ValueTask<int> Rename(Request request, ulong parent, ReadOnlySpan<byte> name, ulong newParent, ReadOnlySpan<byte> newName, uint flags)
    {
        int rc = CheckName(name);
        if (rc == 0) rc = CheckName(newName);
        if (rc < 0) return new(rc);
        if (Node(parent) is not { } p || Node(newParent) is not { } np) return Error(Errno.ESTALE);
        rc = Acquire(p, out var a);
        if (rc < 0) return new(rc);
        using (a)
        {
            rc = Acquire(np, out var b);
            if (rc < 0) return new(rc);
            using (b)
            {
                var victim = (flags & 2) == 0 ? HoldVictim(b.Fd, newName) : default; // the target may be replaced
                int result = Libc.RenameAt2(a.Fd, name, b.Fd, newName, flags) < 0 ? Err() : 0;
                ReleaseVictim(victim, removed: result == 0, np, newName);
                if (result < 0) return new(result);
                UpdateName(b.Fd, np, newName);
                if ((flags & 2) != 0) UpdateName(a.Fd, p, name); // RENAME_EXCHANGE moved the other one too
                return Success;
            }
        }
    }

    // ---------------------------------------------------------------- files (fh = the open fd)

    public override ValueTask<int> Open(Request request, ulong ino, int flags)
    {
        int rc = Acquire(ino, out var l);
        if (rc < 0) return new(rc);
        using (l)
        {
            Span<byte> proc = stackalloc byte[32];
            int fd = Libc.OpenAt(Libc.AT_FDCWD, Libc.ProcFdPath(l.Fd, proc), (flags & ~Libc.O_NOFOLLOW) | Libc.O_CLOEXEC);
            if (fd < 0) return new(Err());
            request.Open.Fh = HandleFor(request, ino, fd);
            BypassPageCacheIfDirect(request, flags);
            return Success;
        }
    }

    public override ValueTask<int> Create(Request request, ulong parent, ReadOnlySpan<byte> name, uint mode, uint umask, int flags)
    {
        int rc = CheckName(name);
        if (rc < 0) return new(rc);
        if (Node(parent) is not { } p) return Error(Errno.ESTALE);
        rc = Acquire(p, out var pf);
        if (rc < 0) return new(rc);
        using (pf)
        {
            uint perm = mode & ~umask & 0xFFF;
            // Exclusive: FixNew gives the file to the caller, so it must be one this call made. The kernel sends
            // CREATE for a name it found free; one made in the source since then is the caller's to open as open(2)
            // would, not ours to hand over. ESTALE makes the kernel look the name up again and open what it finds.
            int fd = Libc.OpenAt(pf.Fd, name, flags & ~Libc.O_NOFOLLOW | Libc.O_CREAT | Libc.O_EXCL | Libc.O_CLOEXEC, perm);
            if (fd < 0)
            {
                int err = Err();
                return new(err == -Errno.EEXIST && (flags & Libc.O_EXCL) == 0 ? -Errno.ESTALE : err);
            }
            rc = DoLookup(pf.Fd, p, name, ref request.Entry);
            if (rc < 0) { Libc.close(fd); return new(rc); }
            FixNew(pf.Fd, p, name, request, perm, ref request.Entry);
            request.Open.Fh = HandleFor(request, request.Entry.NodeId, fd);
            BypassPageCacheIfDirect(request, flags);
            return Success;
        }
    }

    /// <summary>
    /// An O_DIRECT open is answered FOPEN_DIRECT_IO and FOPEN_PARALLEL_DIRECT_WRITES (unless the kernel does this
    /// file's I/O itself: FOPEN_DIRECT_IO would override that). Its data skips the page cache either way, but on the
    /// page-cache path the kernel (6.18) still asks for the file's attributes before every read that follows a write
    /// (AUTO_INVAL_DATA; the write left the size unknown), then for security.capability before the next write (the
    /// fresh attributes cleared its S_NOSEC), and holds the inode lock for a writer's whole round trip, so writers of
    /// one file take turns. The unprivileged writer's lost set-ID bits still reach <see cref="Write"/> (as
    /// FUSE_WRITE_KILL_SUIDGID), and <see cref="Init"/> asks for DIRECT_IO_ALLOW_MMAP so such a file can still be mapped.
    /// </summary>
    private static void BypassPageCacheIfDirect(Request request, int flags)
    {
        if ((flags & Libc.O_DIRECT) == 0 || (request.Open.OpenFlags & (uint)FuseOpenReplyFlags.Passthrough) != 0) return;
        request.Open.OpenFlags |= (uint)(FuseOpenReplyFlags.DirectIo | FuseOpenReplyFlags.ParallelDirectWrites);
    }

    /// <summary>
    /// fh = the open fd, and in passthrough mode (<see cref="CacheMode.Passthrough"/>) the backing id above it: the
    /// kernel then reads and writes the file itself. The kernel allows one backing file per inode at a time (a second
    /// one fails the open with EIO), so concurrent opens of an inode share the id registered by the first; the kernel
    /// still opens its own backing file per open, with that open's flags. Should registering fail, the file is
    /// served here instead.
    /// </summary>
    private ulong HandleFor(Request request, ulong ino, int fd)
    {
        int id = BackingIdFor(request, ino, fd);
        lock (_lock)
        {
            // READ, WRITE and the rest use the low half, the fd; RELEASE checks the whole.
            ulong fh = (uint)fd | (ulong)++_opens << 32;
            _openFiles[fd] = (fh, id);
            return fh;
        }
    }

    /// <summary>Passthrough: the backing id the kernel reads and writes this open file through (0 when none).</summary>
    private int BackingIdFor(Request request, ulong ino, int fd)
    {
        if (BackingFiles is not { Enabled: true } backing) return 0;
        if (Node(ino) is not { } node) return 0;
        int id;
        // The node's own lock keeps registering (an ioctl) atomic with its open count without holding up the table.
        lock (node)
        {
            if (node.BackingOpens == 0)
            {
                id = backing.Open(fd);
                if (id <= 0) return 0;
                node.BackingId = id;
                Interlocked.Increment(ref _backingIds);
            }
            node.BackingOpens++;
            id = node.BackingId;
        }
        request.PassThroughTo(id);
        return id;
    }

    private void ReleaseBacking(ulong ino, int id)
    {
        if (id <= 0 || BackingFiles is not { } backing) return;
        // The kernel holds the inode while a file is open, so its node is still here; its opens share one id.
        if (Node(ino) is not { } node) { CloseBacking(backing, id); return; }
        lock (node)
            if (--node.BackingOpens == 0) CloseBacking(backing, id);
    }

    private void CloseBacking(BackingFiles backing, int id)
    {
        if (backing.Close(id) == 0) Interlocked.Decrement(ref _backingIds);
    }

    private int _backingIds;

    /// <summary>Backing ids registered for open files and not yet released.</summary>
    public int OpenBackingIds => Volatile.Read(ref _backingIds);

    // Data moves between the file and the request's pinned buffers through the worker's own ring: the worker
    // keeps serving other requests while the disk works (a blocking pread would idle it), and nothing is copied.
    public override ValueTask<int> Read(Request request, ulong ino, ulong fh, long offset, Span<byte> buffer)
        => request.ReadFileAsync((int)fh, offset, buffer.Length);

    public override ValueTask<int> Write(Request request, ulong ino, ulong fh, long offset, ReadOnlySpan<byte> data, FuseWriteFlags writeFlags)
    {
        // KILLPRIV_V2: the kernel asks us to drop set-user/group-ID as an unprivileged writer's write would.
        if ((writeFlags & FuseWriteFlags.KillSuidgid) != 0) KillSuidgid((int)fh);
        return request.WritePayloadAsync((int)fh, offset);
    }

    /// <summary>
    /// Drops set-user-ID, and set-group-ID where the group may execute (without it, the bit marks mandatory locking),
    /// as the kernel does when an unprivileged caller writes or truncates: a server running as root keeps them itself.
    /// </summary>
    private static void KillSuidgid(int fd)
    {
        if (Libc.FStatAt(fd, default, out var st, StatFlags) < 0) return;
        uint kill = S_ISUID | ((st.Mode & S_IXGRP) != 0 ? S_ISGID : 0);
        if ((st.Mode & kill) == 0) return;
        Span<byte> path = stackalloc byte[32];
        Libc.FChmodAt(Libc.AT_FDCWD, Libc.ProcFdPath(fd, path), st.Mode & 0xFFF & ~kill, 0);
    }

    /// <summary>
    /// Without KILLPRIV_V2 the kernel sends GETXATTR("security.capability") before every WRITE to decide whether
    /// to drop privileges (one extra request per write); with it the WRITE carries FUSE_WRITE_KILL_SUIDGID instead.
    /// DIRECT_IO_ALLOW_MMAP: files opened O_DIRECT get FOPEN_DIRECT_IO (<see cref="BypassPageCacheIfDirect"/>), which
    /// without it makes mmap of them fail with ENODEV.
    /// </summary>
    public override void Init(FuseConnection connection) => connection.Requested |= FuseInitFlags.HandleKillprivV2 | FuseInitFlags.DirectIoAllowMmap;

    public override ValueTask<int> Flush(Request request, ulong ino, ulong fh, ulong lockOwner)
    {
        // close(dup(fd)) reports the errors close would (NFS and friends flush on close).
        int d = Libc.dup((int)fh);
        if (d < 0) return new(Err());
        return new(Libc.close(d) < 0 ? Err() : 0);
    }

    public override ValueTask<int> Release(Request request, ulong ino, ulong fh, int flags)
    {
        (ulong Fh, int BackingId) open;
        lock (_lock)
        {
            // Not a handle of ours, or one released already (the kernel releases each it was given once).
            if (!_openFiles.TryGetValue((int)fh, out open) || open.Fh != fh) return Error(Errno.EBADF);
            _openFiles.Remove((int)fh);
        }
        Libc.close((int)fh);
        ReleaseBacking(ino, open.BackingId);
        return Success;
    }

    public override ValueTask<int> Fsync(Request request, ulong ino, ulong fh, bool dataOnly)
        => new((dataOnly ? Libc.fdatasync((int)fh) : Libc.fsync((int)fh)) < 0 ? Err() : 0);

    public override ValueTask<int> Fallocate(Request request, ulong ino, ulong fh, long offset, long length, int mode)
        => new(Libc.fallocate((int)fh, mode, offset, length) < 0 ? Err() : 0);

    public override ValueTask<int> Lseek(Request request, ulong ino, ulong fh, long offset, int whence)
    {
        long r = Libc.lseek((int)fh, offset, whence);
        if (r < 0) return new(Err());
        request.SeekOffset = (ulong)r;
        return Success;
    }

    public override ValueTask<int> CopyFileRange(Request request, ulong inoIn, ulong fhIn, long offsetIn, ulong inoOut, ulong fhOut, long offsetOut, ulong length, ulong flags)
    {
        nint n = Libc.CopyFileRange((int)fhIn, ref offsetIn, (int)fhOut, ref offsetOut, (nuint)length, (uint)flags);
        if (n < 0) return new(Err());
        request.BytesCopied = (ulong)n;
        return Success;
    }

    public override ValueTask<int> StatFs(Request request, ulong ino)
    {
        int rc = Acquire(ino, out var l);
        if (rc < 0) return new(rc);
        using (l)
        {
            // fstatvfs needs a real fd on some filesystems; O_PATH works on Linux >= 3.x for most.
            if (Libc.FStatVfs(l.Fd, out var s) < 0) return new(Err());
            ref var o = ref request.StatFs;
            o = default;
            o.Blocks = s.Blocks; o.Bfree = s.Bfree; o.Bavail = s.Bavail;
            o.Files = s.Files; o.Ffree = s.Ffree;
            o.Bsize = (uint)s.Bsize; o.Frsize = (uint)s.Frsize; o.Namelen = (uint)s.Namemax;
            return Success;
        }
    }

    // ---------------------------------------------------------------- directories

    /// <summary>An open directory: its fd, and the inode it was opened on (READDIRPLUS records its entries' routes
    /// through that inode, whatever node id the request names).</summary>
    private sealed class DirHandle(int fd, Inode node)
    {
        public readonly int Fd = fd;
        public readonly Inode Node = node;
        public readonly byte[] Buffer = new byte[32 * 1024];
        public int Position, Length;
        /// <summary>Directory offset (d_off cookie) of the record at <see cref="Position"/>.</summary>
        public long Offset;
        public readonly object Gate = new();
    }

    public override ValueTask<int> OpenDir(Request request, ulong ino, int flags)
    {
        int rc = Acquire(ino, out var l);
        if (rc < 0) return new(rc);
        using (l)
        {
            int fd = Libc.OpenAt(l.Fd, "."u8, Libc.O_RDONLY | Libc.O_DIRECTORY | Libc.O_CLOEXEC);
            if (fd < 0) return new(Err());
            lock (_lock)
            {
                if (ClosedAfterDispose(fd)) return Error(Errno.EIO);
                ulong fh = _nextDirFh++;
                _dirs.Add(fh, new DirHandle(fd, l.Node!));
                request.Open.Fh = fh;
            }
            return Success;
        }
    }

    public override ValueTask<int> ReleaseDir(Request request, ulong ino, ulong fh)
    {
        DirHandle? d;
        lock (_lock) _dirs.Remove(fh, out d);
        if (d is not null) Libc.close(d.Fd);
        return Success;
    }

    public override ValueTask<int> FsyncDir(Request request, ulong ino, ulong fh, bool dataOnly)
    {
        DirHandle? d;
        lock (_lock) _dirs.TryGetValue(fh, out d);
        if (d is null) return Error(Errno.EBADF);
        return new((dataOnly ? Libc.fdatasync(d.Fd) : Libc.fsync(d.Fd)) < 0 ? Err() : 0);
    }

    public override ValueTask<int> ReadDir(Request request, ulong ino, ulong fh, long offset) => List(request, fh, offset, plus: false);
    public override ValueTask<int> ReadDirPlus(Request request, ulong ino, ulong fh, long offset) => List(request, fh, offset, plus: true);

    private ValueTask<int> List(Request request, ulong fh, long offset, bool plus)
    {
        DirHandle? d;
        lock (_lock) _dirs.TryGetValue(fh, out d);
        if (d is null) return Error(Errno.EBADF);
        var parent = d.Node;
        lock (d.Gate)
        {
            if (offset != d.Offset)
            {
                if (Libc.lseek(d.Fd, offset, Libc.SEEK_SET) < 0) return new(Err());
                d.Position = d.Length = 0;
                d.Offset = offset;
            }
            while (true)
            {
                if (d.Position >= d.Length)
                {
                    nint n = Libc.GetDents64(d.Fd, d.Buffer);
                    if (n < 0) return new(Err());
                    if (n == 0) break;
                    d.Position = 0;
                    d.Length = (int)n;
                }
                int reclen = Libc.ParseDirent64(d.Buffer.AsSpan(d.Position, d.Length - d.Position), out ulong dIno, out long next, out byte type, out var name);
                if (reclen == 0) return Error(Errno.EIO);
                bool added;
                if (!plus)
                    added = request.AddDirEntry(name, dIno, type, (ulong)next);
                else if (IsDot(name) || IsDotDot(name))
                {
                    var e = new FuseEntryOut();
                    e.Attr.Ino = dIno;
                    e.Attr.Mode = (uint)type << 12;
                    added = request.AddDirEntryPlus(name, e, (ulong)next);
                }
                else
                {
                    var e = new FuseEntryOut();
                    int rc = DoLookup(d.Fd, parent, name, ref e);
                    if (rc < 0)
                    {
                        // Gone since getdents: list it without attributes (nodeid 0 is not a lookup).
                        e = default;
                        e.Attr.Ino = dIno;
                        e.Attr.Mode = (uint)type << 12;
                    }
                    added = request.AddDirEntryPlus(name, e, (ulong)next);
                    if (!added && e.NodeId != 0) Forget(e.NodeId, 1);
                }
                if (!added) break;
                d.Position += reclen;
                d.Offset = next;
            }
            return Success;
        }
    }

    // ---------------------------------------------------------------- xattrs (through /proc/self/fd, like passthrough_ll)

    public override ValueTask<int> GetXattr(Request request, ulong ino, ReadOnlySpan<byte> name, Span<byte> value)
    {
        int rc = Acquire(ino, out var l);
        if (rc < 0) return new(rc);
        using (l)
        {
            Span<byte> proc = stackalloc byte[32];
            nint n = Libc.GetXattr(Libc.ProcFdPath(l.Fd, proc), name, value);
            return new(n < 0 ? Err() : (int)n);
        }
    }

    public override ValueTask<int> ListXattr(Request request, ulong ino, Span<byte> list)
    {
        int rc = Acquire(ino, out var l);
        if (rc < 0) return new(rc);
        using (l)
        {
            Span<byte> proc = stackalloc byte[32];
            nint n = Libc.ListXattr(Libc.ProcFdPath(l.Fd, proc), list);
            return new(n < 0 ? Err() : (int)n);
        }
    }

    public override ValueTask<int> SetXattr(Request request, ulong ino, ReadOnlySpan<byte> name, ReadOnlySpan<byte> value, int flags)
    {
        int rc = Acquire(ino, out var l);
        if (rc < 0) return new(rc);
        using (l)
        {
            Span<byte> proc = stackalloc byte[32];
            return new(Libc.SetXattr(Libc.ProcFdPath(l.Fd, proc), name, value, flags) < 0 ? Err() : 0);
        }
    }

    public override ValueTask<int> RemoveXattr(Request request, ulong ino, ReadOnlySpan<byte> name)
    {
        int rc = Acquire(ino, out var l);
        if (rc < 0) return new(rc);
        using (l)
        {
            Span<byte> proc = stackalloc byte[32];
            return new(Libc.RemoveXattr(Libc.ProcFdPath(l.Fd, proc), name) < 0 ? Err() : 0);
        }
    }
}
