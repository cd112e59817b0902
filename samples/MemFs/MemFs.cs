using Fuselage.Interop;
using Fuselage.Interop.Fuse;

namespace Fuselage.Samples;

/// <summary>
/// A complete POSIX filesystem in memory: regular files with sparse 64 KiB chunks, directories with stable
/// readdir cookies, symlinks, hard links, device nodes, xattrs, rename flags, lookup counts and
/// unlinked-but-open files. Every inode lives in one dictionary guarded by one lock.
/// </summary>
public sealed class MemFs : FileSystem
{
    public const int ChunkSize = 64 * 1024;
    private const int NameMax = 255;
    private const int PathMax = 4096;
    private const int XattrNameMax = 255;
    private const int XattrSizeMax = 64 * 1024;

    public const uint S_IFMT = 0xF000, S_IFSOCK = 0xC000, S_IFLNK = 0xA000, S_IFREG = 0x8000, S_IFBLK = 0x6000,
        S_IFDIR = 0x4000, S_IFCHR = 0x2000, S_IFIFO = 0x1000, S_ISUID = 0x800, S_ISGID = 0x400;

    private const int RENAME_NOREPLACE = 1, RENAME_EXCHANGE = 2;
    private const int XATTR_CREATE = 1, XATTR_REPLACE = 2;
    private const int FALLOC_FL_KEEP_SIZE = 1, FALLOC_FL_PUNCH_HOLE = 2;
    private const int SEEK_DATA = 3, SEEK_HOLE = 4;

    private readonly Lock _lock = new();
    private readonly Dictionary<ulong, Node> _nodes = new();
    private readonly Dictionary<ulong, Node> _handles = new();
    private ulong _nextIno = FuseProtocol.RootId + 1;
    private ulong _nextFh = 1;
    private long _allocatedChunks;

    /// <summary>A filesystem whose root belongs to the current effective user.</summary>
    public MemFs() : this(Libc.geteuid(), Libc.getegid()) { }

    public MemFs(uint rootUid, uint rootGid)
    {
        var root = new Node(FuseProtocol.RootId, S_IFDIR | 0x1ED /* 0755 */, rootUid, rootGid, 0)
        {
            Nlink = 2,
            Dir = new Directory(),
            Parent = FuseProtocol.RootId,
        };
        _nodes.Add(root.Ino, root);
    }

    /// <summary>Number of live inodes (root included): what tests check after FORGET.</summary>
    public int InodeCount { get { lock (_lock) return _nodes.Count; } }

    // ---------------------------------------------------------------- model

    private struct Time
    {
        public long Sec;
        public uint Nsec;

        public static Time Now()
        {
            long ticks = DateTime.UtcNow.Ticks - DateTime.UnixEpoch.Ticks;
            return new Time { Sec = ticks / TimeSpan.TicksPerSecond, Nsec = (uint)(ticks % TimeSpan.TicksPerSecond * 100) };
        }
    }

    private sealed class Node(ulong ino, uint mode, uint uid, uint gid, uint rdev)
    {
        public readonly ulong Ino = ino;
        public uint Mode = mode;
        public uint Uid = uid, Gid = gid;
        public readonly uint Rdev = rdev;
        public uint Nlink = 1;
        public long Size;
        public Time Atime = Time.Now(), Mtime = Time.Now(), Ctime = Time.Now();
        public ulong Lookups;
        public int Opens;
        public SortedList<long, byte[]>? Chunks;      // regular files: chunk index -> 64 KiB
        public Directory? Dir;                        // directories
        public ulong Parent;                          // directories: for ".."
        public byte[]? Target;                        // symlinks
        public Dictionary<byte[], byte[]>? Xattrs;

        public bool IsDir => (Mode & S_IFMT) == S_IFDIR;
        public bool IsReg => (Mode & S_IFMT) == S_IFREG;
        public uint Type => (Mode & S_IFMT) >> 12;
        public void Touch() { Mtime = Time.Now(); Ctime = Mtime; }
    }

    private sealed class Entry(byte[] name, ulong ino, ulong cookie)
    {
        public readonly byte[] Name = name;
        public ulong Ino = ino;
        public readonly ulong Cookie = cookie;
    }

    /// <summary>Entries by name, and in insertion order by a cookie that never repeats (3, 4, ...; 1 and 2 are "." and "..").</summary>
    private sealed class Directory
    {
        private readonly Dictionary<byte[], Entry> _byName = new(NameComparer.Instance);
        private readonly Dictionary<byte[], Entry>.AlternateLookup<ReadOnlySpan<byte>> _lookup;
        public readonly List<Entry> Ordered = new();
        private ulong _nextCookie = 3;

        public Directory() => _lookup = _byName.GetAlternateLookup<ReadOnlySpan<byte>>();

        public int Count => _byName.Count;
        public Entry? Find(ReadOnlySpan<byte> name) => _lookup.TryGetValue(name, out var e) ? e : null;

        public Entry Add(ReadOnlySpan<byte> name, ulong ino)
        {
            var e = new Entry(name.ToArray(), ino, _nextCookie++);
            _byName.Add(e.Name, e);
            Ordered.Add(e);
            return e;
        }

        public void Remove(Entry e)
        {
            _byName.Remove(e.Name);
            int i = FirstAfter(e.Cookie - 1);
            if (i < Ordered.Count && Ordered[i] == e) Ordered.RemoveAt(i);
        }

        /// <summary>Index of the first entry whose cookie is greater than <paramref name="offset"/>.</summary>
        public int FirstAfter(ulong offset)
        {
            int lo = 0, hi = Ordered.Count;
            while (lo < hi)
            {
                int mid = (lo + hi) >>> 1;
                if (Ordered[mid].Cookie <= offset) lo = mid + 1; else hi = mid;
            }
            return lo;
        }
    }

    /// <summary>Byte-string keys, looked up by span without allocating.</summary>
    private sealed class NameComparer : IEqualityComparer<byte[]>, IAlternateEqualityComparer<ReadOnlySpan<byte>, byte[]>
    {
        public static readonly NameComparer Instance = new();
        public bool Equals(byte[]? x, byte[]? y) => x is null ? y is null : y is not null && x.AsSpan().SequenceEqual(y);
        public int GetHashCode(byte[] obj) => GetHashCode((ReadOnlySpan<byte>)obj);
        public bool Equals(ReadOnlySpan<byte> alternate, byte[] other) => alternate.SequenceEqual(other);
        public int GetHashCode(ReadOnlySpan<byte> alternate)
        {
            var h = new HashCode();
            h.AddBytes(alternate);
            return h.ToHashCode();
        }
        public byte[] Create(ReadOnlySpan<byte> alternate) => alternate.ToArray();
    }

    // ---------------------------------------------------------------- helpers (call under the lock)

    private Node? Get(ulong ino) => _nodes.TryGetValue(ino, out var n) ? n : null;

    private void FillAttr(Node n, ref FuseAttr a)
    {
        a = default;
        a.Ino = n.Ino;
        a.Size = (ulong)n.Size;
        a.Blocks = n.Chunks is null ? 0 : (ulong)n.Chunks.Count * (ChunkSize / 512);
        a.Atime = (ulong)n.Atime.Sec; a.AtimeNsec = n.Atime.Nsec;
        a.Mtime = (ulong)n.Mtime.Sec; a.MtimeNsec = n.Mtime.Nsec;
        a.Ctime = (ulong)n.Ctime.Sec; a.CtimeNsec = n.Ctime.Nsec;
        a.Mode = n.Mode;
        a.Nlink = n.Nlink;
        a.Uid = n.Uid;
        a.Gid = n.Gid;
        a.Rdev = n.Rdev;
        a.Blksize = 4096;
    }

    private void FillEntry(Node n, ref FuseEntryOut e)
    {
        e.NodeId = n.Ino;
        e.Generation = 1;
        FillAttr(n, ref e.Attr);
    }

    /// <summary>An entry reply is being sent: the kernel now holds one more reference.</summary>
    private void Reply(Request request, Node n)
    {
        FillEntry(n, ref request.Entry);
        n.Lookups++;
    }

    private void MaybeFree(Node n)
    {
        if (n.Nlink != 0 || n.Lookups != 0 || n.Opens != 0 || n.Ino == FuseProtocol.RootId) return;
        if (n.Chunks is not null) _allocatedChunks -= n.Chunks.Count;
        _nodes.Remove(n.Ino);
    }

    /// <summary>Checks the parent of an entry change: exists, is a directory, name fits (the engine refuses
    /// empty, ".", ".." and '/' names before they get here).</summary>
    private int CheckParent(ulong parent, ReadOnlySpan<byte> name, out Node dir)
    {
        dir = null!;
        var p = Get(parent);
        if (p is null) return -Errno.ENOENT;
        if (p.Dir is null) return -Errno.ENOTDIR;
        if (name.Length > NameMax) return -Errno.ENAMETOOLONG;
        dir = p;
        return 0;
    }

    private Node NewNode(Request request, Node parent, uint mode, uint umask, uint rdev = 0)
    {
        uint type = mode & S_IFMT;
        uint perm = mode & 0xFFF & ~umask;
        uint gid = request.Gid;
        if ((parent.Mode & S_ISGID) != 0)
        {
            gid = parent.Gid;
            if (type == S_IFDIR) perm |= S_ISGID;
        }
        var n = new Node(_nextIno++, type | perm, request.Uid, gid, rdev);
        _nodes.Add(n.Ino, n);
        return n;
    }

    private static void Link(Node dir, ReadOnlySpan<byte> name, Node child)
    {
        dir.Dir!.Add(name, child.Ino);
        if (child.IsDir) dir.Nlink++;
        dir.Touch();
    }

    private static bool IsDot(ReadOnlySpan<byte> name) => name.Length == 1 && name[0] == '.';
    private static bool IsDotDot(ReadOnlySpan<byte> name) => name.Length == 2 && name[0] == '.' && name[1] == '.';

    // ---------------------------------------------------------------- names

    public override ValueTask<int> Lookup(Request request, ulong parent, ReadOnlySpan<byte> name)
    {
        lock (_lock)
        {
            var p = Get(parent);
            if (p is null) return Error(Errno.ENOENT);
            if (p.Dir is null) return Error(Errno.ENOTDIR);
            if (name.Length > NameMax) return Error(Errno.ENAMETOOLONG);
            Node? n;
            if (IsDot(name)) n = p;
            else if (IsDotDot(name)) n = Get(p.Parent);
            else n = p.Dir.Find(name) is { } e ? Get(e.Ino) : null;
            if (n is null) return Error(Errno.ENOENT);
            Reply(request, n);
            return Success;
        }
    }

    public override void Forget(ulong ino, ulong nlookup)
    {
        lock (_lock)
        {
            if (Get(ino) is not { } n) return;
            n.Lookups = n.Lookups > nlookup ? n.Lookups - nlookup : 0;
            MaybeFree(n);
        }
    }

    public override ValueTask<int> GetAttr(Request request, ulong ino, ulong? fh)
    {
        lock (_lock)
        {
            if (Get(ino) is not { } n) return Error(Errno.ENOENT);
            FillAttr(n, ref request.Attr);
            return Success;
        }
    }

    public override ValueTask<int> SetAttr(Request request, ulong ino, in SetAttrArgs args)
    {
        lock (_lock)
        {
            if (Get(ino) is not { } n) return Error(Errno.ENOENT);
            var now = Time.Now();
            bool changed = false;
            if (args.Has(FuseSetattrValid.Size))
            {
                if (n.IsDir) return Error(Errno.EISDIR);
                if (!n.IsReg) return Error(Errno.EINVAL);
                if (args.Size > long.MaxValue) return Error(Errno.EFBIG);
                Resize(n, (long)args.Size);
                n.Mtime = now;
                changed = true;
            }
            if (args.Has(FuseSetattrValid.Mode)) { n.Mode = (n.Mode & S_IFMT) | (args.Mode & 0xFFF); changed = true; }
            if (args.Has(FuseSetattrValid.Uid)) { n.Uid = args.Uid; changed = true; }
            if (args.Has(FuseSetattrValid.Gid)) { n.Gid = args.Gid; changed = true; }
            if (args.Has(FuseSetattrValid.AtimeNow)) { n.Atime = now; changed = true; }
            else if (args.Has(FuseSetattrValid.Atime)) { n.Atime = new Time { Sec = args.Atime.Sec, Nsec = args.Atime.Nsec }; changed = true; }
            if (args.Has(FuseSetattrValid.MtimeNow)) { n.Mtime = now; changed = true; }
            else if (args.Has(FuseSetattrValid.Mtime)) { n.Mtime = new Time { Sec = args.Mtime.Sec, Nsec = args.Mtime.Nsec }; changed = true; }
            if (args.Has(FuseSetattrValid.Ctime)) n.Ctime = new Time { Sec = args.Ctime.Sec, Nsec = args.Ctime.Nsec };
            else if (changed) n.Ctime = now;
            FillAttr(n, ref request.Attr);
            return Success;
        }
    }

    public override ValueTask<int> ReadLink(Request request, ulong ino)
    {
        lock (_lock)
        {
            if (Get(ino) is not { } n) return Error(Errno.ENOENT);
            if (n.Target is null) return Error(Errno.EINVAL);
            int len = Math.Min(n.Target.Length, request.Data.Length);
            n.Target.AsSpan(0, len).CopyTo(request.Data);
            return new ValueTask<int>(len);
        }
    }

    public override ValueTask<int> MkNod(Request request, ulong parent, ReadOnlySpan<byte> name, uint mode, uint rdev, uint umask)
    {
        uint type = mode & S_IFMT;
        if (type == 0) mode |= S_IFREG;
        else if (type == S_IFDIR) return Error(Errno.EPERM);
        else if (type is not (S_IFREG or S_IFCHR or S_IFBLK or S_IFIFO or S_IFSOCK)) return Error(Errno.EINVAL);
        lock (_lock)
        {
            int rc = CheckParent(parent, name, out var dir);
            if (rc != 0) return new(rc);
            if (dir.Nlink == 0) return Error(Errno.ENOENT);
            if (dir.Dir!.Find(name) is not null) return Error(Errno.EEXIST);
            var n = NewNode(request, dir, mode, umask, rdev);
            if (n.IsReg) n.Chunks = new SortedList<long, byte[]>();
            Link(dir, name, n);
            Reply(request, n);
            return Success;
        }
    }

    public override ValueTask<int> MkDir(Request request, ulong parent, ReadOnlySpan<byte> name, uint mode, uint umask)
    {
        lock (_lock)
        {
            int rc = CheckParent(parent, name, out var dir);
            if (rc != 0) return new(rc);
            if (dir.Nlink == 0) return Error(Errno.ENOENT);
            if (dir.Dir!.Find(name) is not null) return Error(Errno.EEXIST);
            var n = NewNode(request, dir, S_IFDIR | (mode & 0xFFF), umask);
            n.Dir = new Directory();
            n.Nlink = 2;
            n.Parent = dir.Ino;
            Link(dir, name, n);
            Reply(request, n);
            return Success;
        }
    }

    public override ValueTask<int> SymLink(Request request, ulong parent, ReadOnlySpan<byte> name, ReadOnlySpan<byte> target)
    {
        if (target.Length >= PathMax) return Error(Errno.ENAMETOOLONG);
        lock (_lock)
        {
            int rc = CheckParent(parent, name, out var dir);
            if (rc != 0) return new(rc);
            if (dir.Nlink == 0) return Error(Errno.ENOENT);
            if (dir.Dir!.Find(name) is not null) return Error(Errno.EEXIST);
            var n = NewNode(request, dir, S_IFLNK | 0x1FF, 0);
            n.Target = target.ToArray();
            n.Size = target.Length;
            Link(dir, name, n);
            Reply(request, n);
            return Success;
        }
    }

    public override ValueTask<int> Link(Request request, ulong ino, ulong newParent, ReadOnlySpan<byte> newName)
    {
        lock (_lock)
        {
            if (Get(ino) is not { } n) return Error(Errno.ENOENT);
            if (n.IsDir) return Error(Errno.EPERM);
            int rc = CheckParent(newParent, newName, out var dir);
            if (rc != 0) return new(rc);
            if (dir.Nlink == 0) return Error(Errno.ENOENT);
            if (dir.Dir!.Find(newName) is not null) return Error(Errno.EEXIST);
            n.Nlink++;
            n.Ctime = Time.Now();
            Link(dir, newName, n);
            Reply(request, n);
            return Success;
        }
    }

    public override ValueTask<int> Unlink(Request request, ulong parent, ReadOnlySpan<byte> name)
    {
        lock (_lock)
        {
            int rc = CheckParent(parent, name, out var dir);
            if (rc != 0) return new(rc);
            if (dir.Dir!.Find(name) is not { } e || Get(e.Ino) is not { } n) return Error(Errno.ENOENT);
            if (n.IsDir) return Error(Errno.EISDIR);
            dir.Dir.Remove(e);
            dir.Touch();
            n.Nlink--;
            n.Ctime = Time.Now();
            MaybeFree(n);
            return Success;
        }
    }

    public override ValueTask<int> RmDir(Request request, ulong parent, ReadOnlySpan<byte> name)
    {
        lock (_lock)
        {
            int rc = CheckParent(parent, name, out var dir);
            if (rc != 0) return new(rc);
            if (dir.Dir!.Find(name) is not { } e || Get(e.Ino) is not { } n) return Error(Errno.ENOENT);
            if (!n.IsDir) return Error(Errno.ENOTDIR);
            if (n.Dir!.Count != 0) return Error(Errno.ENOTEMPTY);
            dir.Dir.Remove(e);
            dir.Nlink--;
            dir.Touch();
            n.Nlink = 0;
            n.Ctime = Time.Now();
            MaybeFree(n);
            return Success;
        }
    }

    /// <summary>True when <paramref name="dir"/> is <paramref name="ancestor"/> or lies below it.</summary>
    private bool IsInSubtree(Node dir, ulong ancestor)
    {
        for (var d = dir; ; d = Get(d.Parent)!)
        {
            if (d.Ino == ancestor) return true;
            if (d.Ino == FuseProtocol.RootId || d.Nlink == 0) return false;
        }
    }

    public override ValueTask<int> Rename(Request request, ulong parent, ReadOnlySpan<byte> name, ulong newParent, ReadOnlySpan<byte> newName, uint flags)
    {
        if ((flags & ~(uint)(RENAME_NOREPLACE | RENAME_EXCHANGE)) != 0) return Error(Errno.EINVAL);
        if (flags == (RENAME_NOREPLACE | RENAME_EXCHANGE)) return Error(Errno.EINVAL);
        lock (_lock)
        {
            int rc = CheckParent(parent, name, out var src);
            if (rc != 0) return new(rc);
            rc = CheckParent(newParent, newName, out var dst);
            if (rc != 0) return new(rc);
            if (dst.Nlink == 0) return Error(Errno.ENOENT); // removed while still looked up: nothing may move in
            if (src.Dir!.Find(name) is not { } se || Get(se.Ino) is not { } node) return Error(Errno.ENOENT);
            var te = dst.Dir!.Find(newName);
            var target = te is null ? null : Get(te.Ino);
            var now = Time.Now();

            if (flags == RENAME_EXCHANGE)
            {
                if (te is null || target is null) return Error(Errno.ENOENT);
                if (se == te) return Success;
                if (node.IsDir && src != dst && IsInSubtree(dst, node.Ino)) return Error(Errno.EINVAL);
                if (target.IsDir && src != dst && IsInSubtree(src, target.Ino)) return Error(Errno.EINVAL);
                se.Ino = target.Ino;
                te.Ino = node.Ino;
                if (src != dst)
                {
                    if (node.IsDir) { node.Parent = dst.Ino; src.Nlink--; dst.Nlink++; }
                    if (target.IsDir) { target.Parent = src.Ino; dst.Nlink--; src.Nlink++; }
                }
                node.Ctime = now; target.Ctime = now;
                src.Touch(); dst.Touch();
                return Success;
            }

            if (target is not null)
            {
                if ((flags & RENAME_NOREPLACE) != 0) return Error(Errno.EEXIST);
                if (target == node) return Success; // two links to one inode: POSIX says do nothing
                if (node.IsDir && !target.IsDir) return Error(Errno.ENOTDIR);
                if (!node.IsDir && target.IsDir) return Error(Errno.EISDIR);
                if (target.IsDir && target.Dir!.Count != 0) return Error(Errno.ENOTEMPTY);
            }
            if (node.IsDir && IsInSubtree(dst, node.Ino)) return Error(Errno.EINVAL);

            if (target is not null)
            {
                dst.Dir.Remove(te!);
                if (target.IsDir) { target.Nlink = 0; dst.Nlink--; }
                else target.Nlink--;
                target.Ctime = now;
                MaybeFree(target);
            }
            src.Dir.Remove(se);
            dst.Dir.Add(newName, node.Ino);
            if (node.IsDir && src != dst) { src.Nlink--; dst.Nlink++; node.Parent = dst.Ino; }
            node.Ctime = now;
            src.Touch(); dst.Touch();
            return Success;
        }
    }

    // ---------------------------------------------------------------- files

    private ulong NewHandle(Node n)
    {
        ulong fh = _nextFh++;
        _handles.Add(fh, n);
        n.Opens++;
        return fh;
    }

    public override ValueTask<int> Open(Request request, ulong ino, int flags)
    {
        lock (_lock)
        {
            if (Get(ino) is not { } n) return Error(Errno.ENOENT);
            if (n.IsDir) return Error(Errno.EISDIR);
            if ((flags & Libc.O_TRUNC) != 0 && n.IsReg && (flags & 3) != Libc.O_RDONLY && n.Size != 0)
            {
                Resize(n, 0);
                n.Touch();
            }
            request.Open.Fh = NewHandle(n);
            request.Open.OpenFlags = 0;
            return Success;
        }
    }

    public override ValueTask<int> Create(Request request, ulong parent, ReadOnlySpan<byte> name, uint mode, uint umask, int flags)
    {
        lock (_lock)
        {
            int rc = CheckParent(parent, name, out var dir);
            if (rc != 0) return new(rc);
            if (dir.Nlink == 0) return Error(Errno.ENOENT);
            Node n;
            if (dir.Dir!.Find(name) is { } e && Get(e.Ino) is { } existing)
            {
                if ((flags & Libc.O_EXCL) != 0) return Error(Errno.EEXIST);
                if (existing.IsDir) return Error(Errno.EISDIR);
                n = existing;
                if ((flags & Libc.O_TRUNC) != 0 && n.IsReg && n.Size != 0) { Resize(n, 0); n.Touch(); }
            }
            else
            {
                n = NewNode(request, dir, S_IFREG | (mode & 0xFFF), umask);
                n.Chunks = new SortedList<long, byte[]>();
                Link(dir, name, n);
            }
            Reply(request, n);
            request.Open.Fh = NewHandle(n);
            request.Open.OpenFlags = 0;
            return Success;
        }
    }

    public override ValueTask<int> Release(Request request, ulong ino, ulong fh, int flags)
    {
        lock (_lock)
        {
            if (_handles.Remove(fh, out var n))
            {
                n.Opens--;
                MaybeFree(n);
            }
            return Success;
        }
    }

    public override ValueTask<int> Read(Request request, ulong ino, ulong fh, long offset, Span<byte> buffer)
    {
        lock (_lock)
        {
            if (Get(ino) is not { } n) return Error(Errno.ENOENT);
            if (n.IsDir) return Error(Errno.EISDIR);
            if (n.Chunks is null) return Error(Errno.EINVAL);
            if (offset < 0) return Error(Errno.EINVAL);
            if (offset >= n.Size) return new(0);
            int count = (int)Math.Min(buffer.Length, n.Size - offset);
            int done = 0;
            while (done < count)
            {
                long pos = offset + done;
                long index = pos / ChunkSize;
                int within = (int)(pos % ChunkSize);
                int len = Math.Min(ChunkSize - within, count - done);
                var dest = buffer.Slice(done, len);
                if (n.Chunks.TryGetValue(index, out var chunk)) chunk.AsSpan(within, len).CopyTo(dest);
                else dest.Clear();
                done += len;
            }
            return new(count);
        }
    }

    public override ValueTask<int> Write(Request request, ulong ino, ulong fh, long offset, ReadOnlySpan<byte> data, FuseWriteFlags writeFlags)
    {
        lock (_lock)
        {
            if (Get(ino) is not { } n) return Error(Errno.ENOENT);
            if (n.IsDir) return Error(Errno.EISDIR);
            if (n.Chunks is null) return Error(Errno.EINVAL);
            if (offset < 0) return Error(Errno.EINVAL);
            if (data.Length > long.MaxValue - offset) return Error(Errno.EFBIG);
            int done = 0;
            while (done < data.Length)
            {
                long pos = offset + done;
                long index = pos / ChunkSize;
                int within = (int)(pos % ChunkSize);
                int len = Math.Min(ChunkSize - within, data.Length - done);
                data.Slice(done, len).CopyTo(ChunkFor(n, index).AsSpan(within, len));
                done += len;
            }
            if (offset + data.Length > n.Size) n.Size = offset + data.Length;
            n.Touch();
            if ((writeFlags & FuseWriteFlags.KillSuidgid) != 0) n.Mode &= ~(S_ISUID | S_ISGID);
            return new(data.Length);
        }
    }

    private byte[] ChunkFor(Node n, long index)
    {
        if (!n.Chunks!.TryGetValue(index, out var chunk))
        {
            chunk = new byte[ChunkSize];
            n.Chunks.Add(index, chunk);
            _allocatedChunks++;
        }
        return chunk;
    }

    /// <summary>Zeroes [from, to) inside existing chunks and drops chunks the range covers entirely.</summary>
    private void Zero(Node n, long from, long to)
    {
        if (from >= to) return; // a hole punched past the end of file: [from, Size) is empty
        var chunks = n.Chunks!;
        for (int i = LowerBound(chunks, from / ChunkSize); i < chunks.Count;)
        {
            long start = chunks.Keys[i] * ChunkSize;
            if (start >= to) break;
            // [a, b) within the chunk, from its start: start + ChunkSize overflows for the last chunk below 2^63.
            long a = Math.Max(from - start, 0), b = Math.Min(to - start, ChunkSize);
            if (a == 0 && b == ChunkSize)
            {
                chunks.RemoveAt(i);
                _allocatedChunks--;
                continue;
            }
            chunks.Values[i].AsSpan((int)a, (int)(b - a)).Clear();
            i++;
        }
    }

    private void Resize(Node n, long size)
    {
        if (size < n.Size) Zero(n, size, long.MaxValue);
        n.Size = size;
    }

    private static int LowerBound(SortedList<long, byte[]> chunks, long index)
    {
        var keys = chunks.Keys;
        int lo = 0, hi = keys.Count;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (keys[mid] < index) lo = mid + 1; else hi = mid;
        }
        return lo;
    }

    public override ValueTask<int> Fallocate(Request request, ulong ino, ulong fh, long offset, long length, int mode)
    {
        if (offset < 0 || length <= 0) return Error(Errno.EINVAL);
        if (length > long.MaxValue - offset) return Error(Errno.EFBIG);
        lock (_lock)
        {
            if (Get(ino) is not { } n) return Error(Errno.ENOENT);
            if (n.IsDir) return Error(Errno.EISDIR);
            if (n.Chunks is null) return Error(Errno.ENODEV);
            long end = offset + length;
            switch (mode)
            {
                case 0:
                    if (end > n.Size) { n.Size = end; n.Touch(); }
                    return Success;
                case FALLOC_FL_KEEP_SIZE:
                    return Success;
                case FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE:
                    Zero(n, offset, Math.Min(end, n.Size));
                    n.Touch();
                    return Success;
                default:
                    return Error(Errno.EOPNOTSUPP);
            }
        }
    }

    public override ValueTask<int> Lseek(Request request, ulong ino, ulong fh, long offset, int whence)
    {
        lock (_lock)
        {
            if (Get(ino) is not { } n) return Error(Errno.ENOENT);
            if (whence is not (SEEK_DATA or SEEK_HOLE)) return Error(Errno.EINVAL);
            if (offset < 0 || offset >= n.Size) return Error(Errno.ENXIO);
            if (n.Chunks is null) { request.SeekOffset = (ulong)(whence == SEEK_DATA ? offset : n.Size); return Success; }
            var chunks = n.Chunks;
            long index = offset / ChunkSize;
            int i = LowerBound(chunks, index);
            if (whence == SEEK_DATA)
            {
                if (i >= chunks.Count) return Error(Errno.ENXIO);
                long at = chunks.Keys[i] == index ? offset : chunks.Keys[i] * ChunkSize;
                if (at >= n.Size) return Error(Errno.ENXIO);
                request.SeekOffset = (ulong)at;
                return Success;
            }
            long hole = index;
            while (i < chunks.Count && chunks.Keys[i] == hole) { i++; hole++; }
            // Past the last chunk below 2^63 (hole * ChunkSize would overflow), the hole is the end of file.
            long holeAt = hole > long.MaxValue / ChunkSize ? long.MaxValue : Math.Max(offset, hole * ChunkSize);
            request.SeekOffset = (ulong)Math.Min(holeAt, n.Size);
            return Success;
        }
    }

    public override ValueTask<int> CopyFileRange(Request request, ulong inoIn, ulong fhIn, long offsetIn, ulong inoOut, ulong fhOut, long offsetOut, ulong length, ulong flags)
    {
        if (flags != 0 || offsetIn < 0 || offsetOut < 0) return Error(Errno.EINVAL);
        lock (_lock)
        {
            if (Get(inoIn) is not { } src || Get(inoOut) is not { } dst) return Error(Errno.ENOENT);
            if (src.Chunks is null || dst.Chunks is null) return Error(Errno.EINVAL);
            long count = (long)Math.Min(length, (ulong)Math.Max(0, src.Size - offsetIn));
            count = Math.Min(count, int.MaxValue);
            if (count > long.MaxValue - offsetOut) return Error(Errno.EFBIG);
            if (src == dst && offsetIn < offsetOut + count && offsetOut < offsetIn + count) return Error(Errno.EINVAL);
            // Piece by piece within one source chunk and one destination chunk (the ranges do not overlap). A hole
            // copies as a hole: it clears what the destination holds there and allocates nothing.
            for (long done = 0; done < count;)
            {
                long from = offsetIn + done, to = offsetOut + done;
                int fromWithin = (int)(from % ChunkSize), toWithin = (int)(to % ChunkSize);
                int len = (int)Math.Min(count - done, Math.Min(ChunkSize - fromWithin, ChunkSize - toWithin));
                if (src.Chunks.TryGetValue(from / ChunkSize, out var c)) c.AsSpan(fromWithin, len).CopyTo(ChunkFor(dst, to / ChunkSize).AsSpan(toWithin));
                else if (dst.Chunks.TryGetValue(to / ChunkSize, out var d)) d.AsSpan(toWithin, len).Clear();
                done += len;
            }
            if (count > 0)
            {
                if (offsetOut + count > dst.Size) dst.Size = offsetOut + count;
                dst.Touch();
            }
            request.BytesCopied = (ulong)count;
            return Success;
        }
    }

    public override ValueTask<int> Flush(Request request, ulong ino, ulong fh, ulong lockOwner) => Success;
    public override ValueTask<int> Fsync(Request request, ulong ino, ulong fh, bool dataOnly) => Success;
    public override ValueTask<int> FsyncDir(Request request, ulong ino, ulong fh, bool dataOnly) => Success;

    public override ValueTask<int> Access(Request request, ulong ino, int mask)
    {
        lock (_lock)
        {
            if (Get(ino) is not { } n) return Error(Errno.ENOENT);
            if (mask == 0) return Success;
            uint perm;
            if (request.Uid == 0)
            {
                // root may read and write anything; it may execute when any x bit is set (or it is a directory).
                if ((mask & 1) == 0 || n.IsDir || (n.Mode & 0x49) != 0) return Success;
                return Error(Errno.EACCES);
            }
            if (request.Uid == n.Uid) perm = (n.Mode >> 6) & 7;
            else if (request.Gid == n.Gid) perm = (n.Mode >> 3) & 7;
            else perm = n.Mode & 7;
            return ((uint)mask & ~perm & 7) == 0 ? Success : Error(Errno.EACCES);
        }
    }

    public override ValueTask<int> StatFs(Request request, ulong ino)
    {
        const ulong blocks = 1UL << 30; // 4 TiB of 4 KiB blocks
        const ulong files = 1UL << 32;
        lock (_lock)
        {
            ref var s = ref request.StatFs;
            s = default;
            ulong used = (ulong)_allocatedChunks * (ChunkSize / 4096);
            s.Blocks = blocks;
            s.Bfree = used >= blocks ? 0 : blocks - used;
            s.Bavail = s.Bfree;
            s.Files = files;
            s.Ffree = files - (ulong)_nodes.Count;
            s.Bsize = 4096;
            s.Frsize = 4096;
            s.Namelen = NameMax;
            return Success;
        }
    }

    // ---------------------------------------------------------------- directories

    public override ValueTask<int> OpenDir(Request request, ulong ino, int flags)
    {
        lock (_lock)
        {
            if (Get(ino) is not { } n) return Error(Errno.ENOENT);
            if (n.Dir is null) return Error(Errno.ENOTDIR);
            request.Open.Fh = NewHandle(n);
            return Success;
        }
    }

    public override ValueTask<int> ReleaseDir(Request request, ulong ino, ulong fh) => Release(request, ino, fh, 0);

    private static ReadOnlySpan<byte> DotName => "."u8;
    private static ReadOnlySpan<byte> DotDotName => ".."u8;

    public override ValueTask<int> ReadDir(Request request, ulong ino, ulong fh, long offset)
    {
        lock (_lock)
        {
            if (Get(ino) is not { } n) return Error(Errno.ENOENT);
            if (n.Dir is null) return Error(Errno.ENOTDIR);
            if (offset < 1 && !request.AddDirEntry(DotName, n.Ino, S_IFDIR >> 12, 1)) return Success;
            if (offset < 2 && !request.AddDirEntry(DotDotName, n.Parent, S_IFDIR >> 12, 2)) return Success;
            var list = n.Dir.Ordered;
            for (int i = n.Dir.FirstAfter((ulong)Math.Max(offset, 2)); i < list.Count; i++)
            {
                var e = list[i];
                uint type = Get(e.Ino)?.Type ?? 0;
                if (!request.AddDirEntry(e.Name, e.Ino, type, e.Cookie)) break;
            }
            return Success;
        }
    }

    public override ValueTask<int> ReadDirPlus(Request request, ulong ino, ulong fh, long offset)
    {
        lock (_lock)
        {
            if (Get(ino) is not { } n) return Error(Errno.ENOENT);
            if (n.Dir is null) return Error(Errno.ENOTDIR);
            FuseEntryOut entry = default;
            if (offset < 1)
            {
                // "." and ".." carry no node id: they are not lookups.
                entry.Attr.Ino = n.Ino; entry.Attr.Mode = S_IFDIR;
                if (!request.AddDirEntryPlus(DotName, entry, 1)) return Success;
            }
            if (offset < 2)
            {
                entry.Attr.Ino = n.Parent; entry.Attr.Mode = S_IFDIR;
                if (!request.AddDirEntryPlus(DotDotName, entry, 2)) return Success;
            }
            var list = n.Dir.Ordered;
            for (int i = n.Dir.FirstAfter((ulong)Math.Max(offset, 2)); i < list.Count; i++)
            {
                var e = list[i];
                if (Get(e.Ino) is not { } child) continue;
                FillEntry(child, ref entry);
                if (!request.AddDirEntryPlus(e.Name, entry, e.Cookie)) break;
                child.Lookups++;
            }
            return Success;
        }
    }

    // ---------------------------------------------------------------- xattrs

    public override ValueTask<int> SetXattr(Request request, ulong ino, ReadOnlySpan<byte> name, ReadOnlySpan<byte> value, int flags)
    {
        if (name.Length == 0 || name.Length > XattrNameMax) return Error(Errno.ERANGE);
        if (XattrNamespace(name) is not int prefix) return Error(Errno.EOPNOTSUPP); // as tmpfs: user., trusted., security.
        if (prefix == name.Length) return Error(Errno.EINVAL);
        if (value.Length > XattrSizeMax) return Error(Errno.E2BIG);
        if ((flags & ~(XATTR_CREATE | XATTR_REPLACE)) != 0) return Error(Errno.EINVAL);
        lock (_lock)
        {
            if (Get(ino) is not { } n) return Error(Errno.ENOENT);
            n.Xattrs ??= new Dictionary<byte[], byte[]>(NameComparer.Instance);
            var lookup = n.Xattrs.GetAlternateLookup<ReadOnlySpan<byte>>();
            bool exists = lookup.TryGetValue(name, out var key, out _);
            if (exists && (flags & XATTR_CREATE) != 0) return Error(Errno.EEXIST);
            if (!exists && (flags & XATTR_REPLACE) != 0) return Error(Errno.ENODATA);
            if (exists) n.Xattrs[key!] = value.ToArray();
            else n.Xattrs.Add(name.ToArray(), value.ToArray());
            n.Ctime = Time.Now();
            return Success;
        }
    }

    /// <summary>The length of the namespace prefix <paramref name="name"/> starts with; null for one MemFs does not keep.</summary>
    private static int? XattrNamespace(ReadOnlySpan<byte> name) =>
        name.StartsWith("user."u8) ? 5 : name.StartsWith("trusted."u8) ? 8 : name.StartsWith("security."u8) ? 9 : null;

    public override ValueTask<int> GetXattr(Request request, ulong ino, ReadOnlySpan<byte> name, Span<byte> value)
    {
        lock (_lock)
        {
            if (Get(ino) is not { } n) return Error(Errno.ENOENT);
            if (n.Xattrs is null || !n.Xattrs.GetAlternateLookup<ReadOnlySpan<byte>>().TryGetValue(name, out var v)) return Error(Errno.ENODATA);
            if (value.Length == 0) return new(v.Length);
            if (value.Length < v.Length) return Error(Errno.ERANGE);
            v.CopyTo(value);
            return new(v.Length);
        }
    }

    public override ValueTask<int> ListXattr(Request request, ulong ino, Span<byte> list)
    {
        lock (_lock)
        {
            if (Get(ino) is not { } n) return Error(Errno.ENOENT);
            int total = 0;
            if (n.Xattrs is not null) foreach (var k in n.Xattrs.Keys) total += k.Length + 1;
            if (list.Length == 0) return new(total);
            if (list.Length < total) return Error(Errno.ERANGE);
            int at = 0;
            if (n.Xattrs is not null)
                foreach (var k in n.Xattrs.Keys)
                {
                    k.CopyTo(list[at..]);
                    at += k.Length;
                    list[at++] = 0;
                }
            return new(total);
        }
    }

    public override ValueTask<int> RemoveXattr(Request request, ulong ino, ReadOnlySpan<byte> name)
    {
        lock (_lock)
        {
            if (Get(ino) is not { } n) return Error(Errno.ENOENT);
            if (n.Xattrs is null || !n.Xattrs.GetAlternateLookup<ReadOnlySpan<byte>>().Remove(name)) return Error(Errno.ENODATA);
            n.Ctime = Time.Now();
            return Success;
        }
    }
}
