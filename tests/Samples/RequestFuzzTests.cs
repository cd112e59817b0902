using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using Fuselage.Interop;
using Fuselage.Interop.Fuse;
using Fuselage.Samples;
using Fuselage.Transport;

namespace Fuselage.Tests.Samples;

/// <summary>
/// Seeded random requests, near-valid and garbage, against the sample filesystems through the in-memory transport.
/// Every request that takes a reply gets exactly one well-formed reply (its unique, a header length that matches,
/// an errno the kernel accepts, the payload size its opcode has), no method throws, and what the fuzzer cannot name
/// stays as it was: a canary directory in MemFs, everything beside the source directory for PassthroughFs.
/// A failure names the seed and the request number; the same seed replays the same requests.
/// </summary>
public sealed class RequestFuzzTests
{
    private const ulong Root = 1;
    private const uint DT_DIR = 4;

    /// <summary>Requests per seed; FUSELAGE_FUZZ_REQUESTS raises it for a longer soak.</summary>
    private static int Requests => int.TryParse(Environment.GetEnvironmentVariable("FUSELAGE_FUZZ_REQUESTS"), out int n) && n > 0 ? n : 20_000;

    /// <summary>The seed, moved by FUSELAGE_FUZZ_SEED for a soak over other sequences.</summary>
    private static Random Seeded(int seed) => new(seed + (int.TryParse(Environment.GetEnvironmentVariable("FUSELAGE_FUZZ_SEED"), out int add) ? add : 0));

    private static readonly FuseOpcode[] CoreOperations =
    [
        FuseOpcode.Lookup, FuseOpcode.Getattr, FuseOpcode.Setattr, FuseOpcode.Mknod, FuseOpcode.Mkdir, FuseOpcode.Symlink,
        FuseOpcode.Link, FuseOpcode.Unlink, FuseOpcode.Rmdir, FuseOpcode.Rename, FuseOpcode.Rename2, FuseOpcode.Create,
        FuseOpcode.Open, FuseOpcode.Read, FuseOpcode.Write, FuseOpcode.Release, FuseOpcode.Opendir, FuseOpcode.Readdir,
        FuseOpcode.Readdirplus, FuseOpcode.Setxattr, FuseOpcode.Getxattr, FuseOpcode.Listxattr, FuseOpcode.Fallocate,
        FuseOpcode.CopyFileRange, FuseOpcode.Lseek, FuseOpcode.Statfs,
    ];

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void MemFs_answers_every_random_request_and_keeps_what_it_was_not_asked_to_change(int seed)
    {
        var threw = new ConcurrentQueue<string>();
        using var k = new KernelModel(new MemFs(0, 0), LogThrows(threw)) { Uid = 0, Gid = 0 };
        Assert.Equal(0, k.Init().Error);

        // The canary: reachable only through names and node ids the fuzzer is never given.
        var dir = k.Mkdir(Root, "canary-dir").Entry.NodeId;
        var (_, file, fh) = k.Create(dir, "keep");
        byte[] content = RandomNumberGenerator.GetBytes(10_000);
        Assert.Equal((0, (uint)content.Length), k.Write(file.NodeId, fh, 0, content));
        Assert.Equal(0, k.Release(file.NodeId, fh));
        Assert.Equal(0, k.SetXattr(file.NodeId, "user.keep", "kept"u8.ToArray()));
        var dirBefore = k.GetAttr(dir).Attr;
        var fileBefore = k.GetAttr(file.NodeId).Attr;

        var fuzz = new Fuzzer(Seeded(seed), fdHandles: false, [dir, file.NodeId]);
        fuzz.Run(k.Transport, Requests, threw);
        fuzz.AssertReached(CoreOperations);

        // Re-INIT after whatever the fuzzer sent (a DESTROY, an INIT it refused).
        Assert.Equal(0, k.Init().Error);
        var dirAgain = k.Lookup(Root, "canary-dir");
        var fileAgain = k.Lookup(dir, "keep");
        Assert.Equal((0, dir), (dirAgain.Error, dirAgain.Entry.NodeId));
        Assert.Equal((0, file.NodeId), (fileAgain.Error, fileAgain.Entry.NodeId));
        AssertSameAttr(dirBefore, k.GetAttr(dir).Attr);
        AssertSameAttr(fileBefore, k.GetAttr(file.NodeId).Attr);
        var (e, reopened) = k.Open(file.NodeId, Libc.O_RDONLY);
        Assert.Equal(0, e);
        Assert.Equal(content, k.Read(file.NodeId, reopened, 0, content.Length + 100).Data);
        Assert.Equal("kept", Encoding.ASCII.GetString(k.GetXattr(file.NodeId, "user.keep", 100).Data));
        Assert.Equal(["keep"], k.ListAll(dir).Select(r => r.Name).Where(n => n is not ("." or "..")));

        AssertTreeIsConsistent(k, Root, Root, []);
    }

    [Theory]
    [InlineData(11, false)]
    [InlineData(12, false)]
    [InlineData(13, true)]
    public void PassthroughFs_answers_every_random_request_and_changes_nothing_beside_its_source(int seed, bool keyedByParentAndName)
    {
        string parent = Directory.CreateTempSubdirectory("fuselage-fuzz-").FullName;
        try
        {
            string source = Directory.CreateDirectory(Path.Combine(parent, "src")).FullName;
            File.WriteAllBytes(Path.Combine(parent, "canary.bin"), RandomNumberGenerator.GetBytes(5000));
            Directory.CreateDirectory(Path.Combine(parent, "canary-dir"));
            File.WriteAllText(Path.Combine(parent, "canary-dir", "keep"), "kept");
            var before = Snapshot(parent, skip: source);

            var threw = new ConcurrentQueue<string>();
            var fs = new PassthroughFs(source, fdCacheCapacity: 64, keyedByParentAndName ? PassthroughFs.InodeKeying.ParentAndName : null);
            using (fs)
            using (var k = new KernelModel(fs, LogThrows(threw)) { Uid = 0, Gid = 0 })
            {
                Assert.Equal(0, k.Init().Error);
                var fuzz = new Fuzzer(Seeded(seed), fdHandles: true, []);
                fuzz.Run(k.Transport, Requests, threw);
                fuzz.AssertReached(CoreOperations);
                fuzz.ReleaseAll(k.Transport);
                Assert.True(fs.CachedFds <= 64, $"{fs.CachedFds} cached fds, capacity 64");
                Assert.NotEmpty(OpenFiles.Under(source)); // the root's fd at least: the check below can see them
            }
            Assert.Equal(before, Snapshot(parent, skip: source));
            // Disposed, the filesystem holds nothing open under its source (removed files and ".." parents included).
            Assert.Empty(OpenFiles.Under(source));
        }
        finally
        {
            // rm, not Directory.Delete: .NET cannot name the files the fuzzer gave names that are not UTF-8.
            using var rm = System.Diagnostics.Process.Start("rm", ["-rf", parent]);
            rm.WaitForExit();
        }
    }

    /// <summary>Keeps the log lines of methods that threw (malformed requests are logged too, and expected).</summary>
    private static FuseServerOptions LogThrows(ConcurrentQueue<string> threw)
        => new() { Log = line => { if (line.Contains(" threw ")) threw.Enqueue(line); } };

    private static void AssertSameAttr(FuseAttr before, FuseAttr after)
        => Assert.Equal((before.Ino, before.Mode, before.Nlink, before.Size, before.Uid, before.Gid, before.Mtime, before.MtimeNsec),
                        (after.Ino, after.Mode, after.Nlink, after.Size, after.Uid, after.Gid, after.Mtime, after.MtimeNsec));

    /// <summary>Every listed name is one a directory may hold, looks up to the node listed, and each directory's
    /// link count is 2 plus its subdirectories.</summary>
    private static void AssertTreeIsConsistent(KernelModel k, ulong ino, ulong parentIno, HashSet<ulong> seen)
    {
        if (!seen.Add(ino)) return;
        var records = k.ListAll(ino);
        Assert.Equal([".", ".."], records.Take(2).Select(r => r.Name));
        int subdirs = 0;
        foreach (var r in records.Skip(2))
        {
            Assert.True(r.Name.Length is > 0 and <= 255 && !r.Name.Contains('/') && r.Name is not ("." or ".."), $"directory {ino} lists \"{r.Name}\"");
            if (r.Type == DT_DIR) subdirs++;
            if (r.Name.Contains('\uFFFD')) continue; // not UTF-8: the listing's string cannot name it again
            var (e, entry) = k.Lookup(ino, r.Name);
            Assert.True(e == 0, $"\"{r.Name}\" in directory {ino} is listed but LOOKUP says {e}");
            Assert.Equal(r.Ino, entry.Attr.Ino);
            Assert.Equal(r.Type, (entry.Attr.Mode & MemFs.S_IFMT) >> 12);
            if (r.Type == DT_DIR) AssertTreeIsConsistent(k, entry.NodeId, ino, seen);
        }
        Assert.Equal(2 + subdirs, (int)k.GetAttr(ino).Attr.Nlink);
        Assert.Equal(parentIno, k.Lookup(ino, "..").Entry.NodeId);
    }

    /// <summary>Path, type, mode, owner, size, modification time and content of everything under
    /// <paramref name="root"/> except <paramref name="skip"/>.</summary>
    private static List<string> Snapshot(string root, string skip)
    {
        var lines = new List<string>();
        void Walk(string dir)
        {
            foreach (var path in Directory.EnumerateFileSystemEntries(dir).Order(StringComparer.Ordinal))
            {
                if (path == skip) continue;
                Assert.Equal(0, Libc.FStatAt(Libc.AT_FDCWD, Encoding.UTF8.GetBytes(path), out var st, Libc.AT_SYMLINK_NOFOLLOW));
                uint type = st.Mode & MemFs.S_IFMT;
                string hash = type == MemFs.S_IFREG ? Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path))) : "";
                lines.Add($"{path} mode={st.Mode:x} uid={st.Uid} gid={st.Gid} size={st.Size} mtime={st.Mtime}.{st.MtimeNsec} nlink={st.Nlink} {hash}");
                if (type == MemFs.S_IFDIR) Walk(path);
            }
        }
        Walk(root);
        Assert.Equal(0, Libc.FStatAt(Libc.AT_FDCWD, Encoding.UTF8.GetBytes(root), out var top, 0));
        lines.Add($"{root} mode={top.Mode:x} uid={top.Uid} gid={top.Gid}");
        return lines;
    }

    /// <summary>
    /// Builds requests for every opcode from a seeded generator: fields drawn from values that matter (zero, the
    /// largest, near the edges, ids and handles it was given back), names that are valid, too long, empty, "." and
    /// "..", with a '/', not UTF-8; and some of them mutated: cut short, a header length or extension length that
    /// lies, flipped bytes, trailing junk, or nothing but noise.
    /// </summary>
    private sealed class Fuzzer(Random rng, bool fdHandles, HashSet<ulong> forbidden)
    {
        // PassthroughFs's file handles are its own file descriptors: a made-up one could be any fd of this
        // process (xunit's pipes, another test's file). With fdHandles the fuzzer passes only handles it was given
        // (or numbers no fd can have) and never flips bytes; a kernel never invents a handle either.
        private readonly List<ulong> _nodes = [Root];
        private readonly List<ulong> _directories = [Root];
        private readonly List<ulong> _nonDirectories = [];
        private readonly List<(ulong Parent, byte[] Name)> _madeDirectories = [];
        private readonly List<ulong> _files = [];
        private readonly List<ulong> _dirs = [];
        private readonly byte[] _reply = new byte[(4 << 20) + 4096];
        private readonly List<byte> _args = [];
        private readonly List<(int At, int Length)> _protected = []; // node ids in the arguments: never flipped
        private readonly Queue<string> _recent = new();
        private ulong _unique = 1;

        /// <summary>Successful replies by opcode: a run whose requests all fail tests nothing.</summary>
        public readonly Dictionary<FuseOpcode, int> Succeeded = [];
        public readonly Dictionary<string, int> Errors = [];

        /// <summary>Fails unless each of <paramref name="ops"/> succeeded at least once.</summary>
        public void AssertReached(params FuseOpcode[] ops)
        {
            var missed = ops.Where(op => !Succeeded.ContainsKey(op)).ToList();
            Assert.True(missed.Count == 0, $"never succeeded: {string.Join(", ", missed)}; {string.Join(", ", Errors.OrderByDescending(p => p.Value).Take(40).Select(p => $"{p.Key}: {p.Value}"))} succeeded: {string.Join(", ", Succeeded.Select(p => $"{p.Key} {p.Value}"))}");
        }

        private static readonly FuseOpcode[] Opcodes = Enum.GetValues<FuseOpcode>();

        private static readonly byte[][] GoodNames = [.. new[] { "a", "b", "c", "sub", "f.txt", "ü", "sp ace" }.Select(Encoding.UTF8.GetBytes)];

        private static readonly byte[][] Names =
        [
            .. GoodNames, "."u8.ToArray(), ".."u8.ToArray(), [], "a/b"u8.ToArray(), "/"u8.ToArray(), [0xFF, 0xFE],
            Encoding.ASCII.GetBytes(new string('n', 255)), Encoding.ASCII.GetBytes(new string('n', 256)),
            Encoding.ASCII.GetBytes(new string('n', 5000)),
        ];

        private static readonly byte[][] XattrNames =
        [
            .. new[] { "user.a", "user.b", "trusted.t", "security.capability", "system.posix_acl_access", "bogus", "user." }
                .Select(Encoding.ASCII.GetBytes),
            [], Encoding.ASCII.GetBytes("user." + new string('x', 251)), Encoding.ASCII.GetBytes("user." + new string('x', 300)),
        ];

        public void Run(InMemoryTransport transport, int count, ConcurrentQueue<string> threw)
        {
            for (int i = 0; i < count; i++)
            {
                var (request, op, unique, expectReply, releasedFh) = Next();
                Remember($"#{i} {op} unique={unique} {request.Length} bytes");
                Assert.True(transport.Send(request), Trail($"{op} not accepted"));
                int? error = null;
                if (expectReply != Reply.None)
                {
                    if (expectReply == Reply.Exactly) Assert.True(transport.WaitForReply(TimeSpan.FromSeconds(30)), Trail("no reply"));
                    if (transport.TryReceive(_reply, out int length)) error = Check(op, unique, request, length);
                }
                // A release refused as malformed closed nothing: its handle stays open, to be released later.
                if (releasedFh is { } gone && error == 0) (op == FuseOpcode.Release ? _files : _dirs).Remove(gone);
                Assert.True(transport.PendingReplies == 0, Trail("more than one reply"));
                if (threw.TryPeek(out var line)) Assert.Fail(Trail(line));
            }
        }

        /// <summary>Releases every handle still open, so the filesystem closes its descriptors.</summary>
        public void ReleaseAll(InMemoryTransport transport)
        {
            foreach (var (list, op) in new[] { (_files, FuseOpcode.Release), (_dirs, FuseOpcode.Releasedir) })
            {
                foreach (var fh in list)
                {
                    Assert.True(transport.Send(Request(op, Root, KernelModel.Bytes(new FuseReleaseIn { Fh = fh }))));
                    Assert.True(transport.TryReceive(_reply, out _));
                }
                list.Clear();
            }
        }

        private enum Reply { None, AtMostOne, Exactly }

        private void Remember(string what)
        {
            if (_recent.Count == 8) _recent.Dequeue();
            _recent.Enqueue(what);
        }

        private string Trail(string failure) => $"{failure}; the last requests: {string.Join(" | ", _recent)}";

        private byte[] Request(FuseOpcode op, ulong nodeId, ReadOnlySpan<byte> args) => KernelModel.Message(op, nodeId, _unique += 2, args);

        // ---- the request ----

        private (byte[] Request, FuseOpcode Op, ulong Unique, Reply Expect, ulong? ReleasedFh) Next()
        {
            if (!fdHandles && rng.Next(50) == 0) return Noise();
            var op = Pick(Opcodes);
            if (op == FuseOpcode.Init && rng.Next(8) != 0) op = FuseOpcode.Getattr; // mostly keep the session
            if (op == FuseOpcode.Destroy && (fdHandles || rng.Next(8) != 0)) op = FuseOpcode.Statfs; // PassthroughFs closes its root at DESTROY
            _args.Clear();
            _protected.Clear();
            ulong nodeId = NodeId(op switch
            {
                FuseOpcode.Lookup or FuseOpcode.Mknod or FuseOpcode.Mkdir or FuseOpcode.Symlink or FuseOpcode.Link or FuseOpcode.Unlink
                    or FuseOpcode.Rmdir or FuseOpcode.Rename or FuseOpcode.Rename2 or FuseOpcode.Create or FuseOpcode.Tmpfile
                    or FuseOpcode.Opendir or FuseOpcode.Readdir or FuseOpcode.Readdirplus or FuseOpcode.Fsyncdir => _directories,
                FuseOpcode.Open or FuseOpcode.Read or FuseOpcode.Write or FuseOpcode.Fallocate or FuseOpcode.Lseek
                    or FuseOpcode.CopyFileRange or FuseOpcode.CopyFileRange64 or FuseOpcode.Readlink => _nonDirectories,
                _ => _nodes,
            });
            ulong? released = null;
            if (op == FuseOpcode.Rmdir && _madeDirectories.Count > 0 && rng.Next(2) == 0)
            {
                // A directory it made, by its parent and name: most others are not empty, or not there.
                (nodeId, var name) = Pick(_madeDirectories.ToArray());
                AddName(name);
            }
            else released = Arguments(op);
            var request = Request(op, nodeId, CollectionsMarshal.AsSpan(_args));
            ulong unique = _unique;
            bool mutated = rng.Next(5) == 0 && Mutate(ref request);
            bool noReply = op is FuseOpcode.Forget or FuseOpcode.BatchForget or FuseOpcode.Interrupt or FuseOpcode.NotifyReply;
            return (request, op, unique, noReply ? Reply.None : mutated ? Reply.AtMostOne : Reply.Exactly, released);
        }

        /// <summary>A known opcode and nothing else but random bytes.</summary>
        private (byte[], FuseOpcode, ulong, Reply, ulong?) Noise()
        {
            var request = new byte[rng.Next(0, 300)];
            rng.NextBytes(request);
            var op = Pick(Opcodes);
            if (request.Length >= 8) MemoryMarshal.Write(request.AsSpan(4), (uint)op);
            if (request.Length >= 4 && rng.Next(2) == 0) MemoryMarshal.Write(request, (uint)request.Length);
            ulong unique = request.Length >= 16 ? MemoryMarshal.Read<ulong>(request.AsSpan(8)) : 0;
            return (request, op, unique, Reply.AtMostOne, null);
        }

        private bool Mutate(ref byte[] request)
        {
            switch (rng.Next(fdHandles ? 3 : 6))
            {
                case 0 when request.Length > 40: // arguments cut short
                    Array.Resize(ref request, rng.Next(40, request.Length));
                    MemoryMarshal.Write(request, (uint)request.Length);
                    return true;
                case 1: // the header's length lies
                    MemoryMarshal.Write(request, (uint)(request.Length + rng.Next(-40, 40)));
                    return true;
                case 2: // an extension length that lies
                    MemoryMarshal.Write(request.AsSpan(36), (ushort)rng.Next(0, 1 << 16));
                    return true;
                case 3: // trailing junk
                    int at = request.Length;
                    Array.Resize(ref request, at + rng.Next(1, 64));
                    rng.NextBytes(request.AsSpan(at));
                    MemoryMarshal.Write(request, (uint)request.Length);
                    return true;
                case 4 or 5: // flipped bytes, past the header's length, opcode and unique, never in a node id
                    for (int flips = rng.Next(1, 6); flips > 0; flips--)
                    {
                        int i = rng.Next(16, request.Length);
                        if (i is >= 16 and < 24 || _protected.Any(p => i - 40 >= p.At && i - 40 < p.At + p.Length)) continue;
                        request[i] ^= (byte)rng.Next(1, 256);
                    }
                    return true;
                default:
                    return false;
            }
        }

        private ulong? Arguments(FuseOpcode op)
        {
            switch (op)
            {
                case FuseOpcode.Lookup or FuseOpcode.Unlink or FuseOpcode.Rmdir:
                    Name();
                    break;
                case FuseOpcode.Forget:
                    Add(new FuseForgetIn { Nlookup = Pick<ulong>([0, 1, 2, 1000, ulong.MaxValue]) });
                    break;
                case FuseOpcode.BatchForget:
                    int n = rng.Next(0, 5);
                    Add(new FuseBatchForgetIn { Count = rng.Next(4) == 0 ? (uint)rng.Next(0, 100) : (uint)n });
                    for (int i = 0; i < n; i++)
                    {
                        Protect(NodeId(_nodes));
                        Add(Pick<ulong>([1, 2, ulong.MaxValue]));
                    }
                    break;
                case FuseOpcode.Getattr:
                    Add(new FuseGetattrIn { GetattrFlags = (uint)rng.Next(0, 3), Fh = FileHandle() });
                    break;
                case FuseOpcode.Statx:
                    Add(new FuseStatxIn { GetattrFlags = (uint)rng.Next(0, 3), Fh = FileHandle(), SxFlags = U32(), SxMask = U32() });
                    break;
                case FuseOpcode.Setattr:
                    Add(new FuseSetattrIn
                    {
                        Valid = (uint)rng.Next(0, 1 << 12), Fh = FileHandle(), Size = Offset(), LockOwner = U64(),
                        Atime = U64(), Mtime = U64(), Ctime = U64(), AtimeNsec = U32(), MtimeNsec = U32(), CtimeNsec = U32(),
                        Mode = Mode(), Uid = Pick<uint>([0, 1000, uint.MaxValue]), Gid = Pick<uint>([0, 1000, uint.MaxValue]),
                    });
                    break;
                case FuseOpcode.Symlink:
                    Name();
                    // A target with '/' or a "..": PassthroughFs's symlink would lead out of the source for whoever follows it.
                    AddName(Pick(Names) is var t && (t.Contains((byte)'/') || t.AsSpan().SequenceEqual(".."u8)) ? "t"u8.ToArray() : t);
                    break;
                case FuseOpcode.Mknod:
                    Add(new FuseMknodIn { Mode = Mode(), Rdev = U32(), Umask = Pick<uint>([0, 0x12, 0xFFF]) });
                    Name();
                    break;
                case FuseOpcode.Mkdir:
                    Add(new FuseMkdirIn { Mode = rng.Next(2) == 0 ? 0x41ED : U32(), Umask = Pick<uint>([0, 0x12, 0xFFF]) });
                    Name();
                    break;
                case FuseOpcode.Rename:
                    Protect(NodeId(_directories));
                    Name();
                    Name();
                    break;
                case FuseOpcode.Rename2:
                    Protect(NodeId(_directories));
                    Add(Pick<uint>([0, 1, 2, 4, 3, U32()]));
                    Add(0u);
                    Name();
                    Name();
                    break;
                case FuseOpcode.Link:
                    Protect(NodeId(_nonDirectories));
                    Name();
                    break;
                case FuseOpcode.Open or FuseOpcode.Opendir:
                    Add(new FuseOpenIn { Flags = OpenFlags(), OpenFlags = U32() });
                    break;
                case FuseOpcode.Create or FuseOpcode.Tmpfile:
                    Add(new FuseCreateIn { Flags = OpenFlags() | (uint)Libc.O_CREAT, Mode = Mode(), Umask = Pick<uint>([0, 0x12]), OpenFlags = U32() });
                    Name();
                    break;
                case FuseOpcode.Read:
                    Add(new FuseReadIn { Fh = FileHandle(), Offset = Offset(), Size = Size(), ReadFlags = U32(), LockOwner = U64(), Flags = U32() });
                    break;
                case FuseOpcode.Readdir or FuseOpcode.Readdirplus:
                    Add(new FuseReadIn { Fh = DirHandle(), Offset = Pick<ulong>([0, 1, 2, 3, 5, 1000, long.MaxValue, ulong.MaxValue]), Size = Size() });
                    break;
                case FuseOpcode.Write:
                    int length = Pick([0, 1, 100, 4096, 70_000]);
                    bool honest = rng.Next(4) != 0;
                    Add(new FuseWriteIn { Fh = FileHandle(), Offset = Offset(), Size = honest ? (uint)length : Size(), WriteFlags = (uint)rng.Next(0, 8), LockOwner = U64(), Flags = OpenFlags() });
                    var data = new byte[length];
                    rng.NextBytes(data);
                    _args.AddRange(data);
                    break;
                case FuseOpcode.Release:
                    ulong file = FileHandle();
                    Add(new FuseReleaseIn { Fh = file, Flags = OpenFlags(), ReleaseFlags = (uint)rng.Next(0, 8), LockOwner = U64() });
                    return file;
                case FuseOpcode.Releasedir:
                    ulong dir = DirHandle();
                    Add(new FuseReleaseIn { Fh = dir, Flags = OpenFlags() });
                    return dir;
                case FuseOpcode.Flush:
                    Add(new FuseFlushIn { Fh = FileHandle(), LockOwner = U64() });
                    break;
                case FuseOpcode.Fsync:
                    Add(new FuseFsyncIn { Fh = FileHandle(), FsyncFlags = (uint)rng.Next(0, 3) });
                    break;
                case FuseOpcode.Fsyncdir:
                    Add(new FuseFsyncIn { Fh = DirHandle(), FsyncFlags = (uint)rng.Next(0, 3) });
                    break;
                case FuseOpcode.Setxattr:
                    var value = new byte[Pick([0, 1, 20, 300, 70_000])];
                    rng.NextBytes(value);
                    Add(new FuseSetxattrIn { Size = rng.Next(4) != 0 ? (uint)value.Length : Size(), Flags = (uint)rng.Next(0, 4), SetxattrFlags = (uint)rng.Next(0, 2) });
                    AddName(XattrName());
                    _args.AddRange(value);
                    break;
                case FuseOpcode.Getxattr:
                    Add(new FuseGetxattrIn { Size = Pick<uint>([0, 1, 4, 100, 65536, 65536, 1 << 20, uint.MaxValue]) });
                    AddName(XattrName());
                    break;
                case FuseOpcode.Listxattr:
                    Add(new FuseGetxattrIn { Size = Pick<uint>([0, 1, 4, 100, 65536, 1 << 20, uint.MaxValue]) });
                    break;
                case FuseOpcode.Removexattr:
                    AddName(XattrName());
                    break;
                case FuseOpcode.Init:
                    Add(new FuseInitIn { Major = Pick<uint>([7, 7, 6, 8]), Minor = Pick<uint>([45, 0, 31, 99]), MaxReadahead = U32(), Flags = U32(), Flags2 = U32() });
                    break;
                case FuseOpcode.Getlk or FuseOpcode.Setlk or FuseOpcode.Setlkw:
                    Add(new FuseLkIn
                    {
                        Fh = FileHandle(), Owner = U64(), LkFlags = (uint)rng.Next(0, 2),
                        Lk = new FuseFileLock { Start = Offset(), End = Offset(), Type = (uint)rng.Next(0, 4), Pid = U32() },
                    });
                    break;
                case FuseOpcode.Access:
                    Add(new FuseAccessIn { Mask = (uint)rng.Next(0, 9) });
                    break;
                case FuseOpcode.Interrupt:
                    Add(new FuseInterruptIn { Unique = rng.Next(2) == 0 ? _unique : U64() });
                    break;
                case FuseOpcode.Bmap:
                    Add(new FuseBmapIn { Block = U64(), Blocksize = U32() });
                    break;
                case FuseOpcode.Ioctl:
                    Add(new FuseIoctlIn { Fh = FileHandle(), Flags = (uint)rng.Next(0, 64), Cmd = U32(), Arg = U64(), InSize = Size(), OutSize = Size() });
                    _args.AddRange(new byte[rng.Next(0, 64)]);
                    break;
                case FuseOpcode.Poll:
                    Add(new FusePollIn { Fh = FileHandle(), Kh = U64(), Flags = (uint)rng.Next(0, 2), Events = U32() });
                    break;
                case FuseOpcode.NotifyReply:
                    Add(new FuseNotifyRetrieveIn { Offset = Offset(), Size = Size() });
                    _args.AddRange(new byte[rng.Next(0, 100)]);
                    break;
                case FuseOpcode.Fallocate:
                    Add(new FuseFallocateIn { Fh = FileHandle(), Offset = Offset(), Length = Length(), Mode = Pick<uint>([0, 1, 3, 8, 0x10, 0x20, 0x40, U32()]) });
                    break;
                case FuseOpcode.Lseek:
                    Add(new FuseLseekIn { Fh = FileHandle(), Offset = Offset(), Whence = (uint)rng.Next(0, 6) });
                    break;
                case FuseOpcode.CopyFileRange or FuseOpcode.CopyFileRange64:
                    Add(FileHandle());
                    Add(Offset());
                    Protect(NodeId(_nonDirectories));
                    Add(FileHandle());
                    Add(Offset());
                    Add(Length());
                    Add(rng.Next(4) == 0 ? U64() : 0);
                    break;
                case FuseOpcode.Syncfs:
                    Add(new FuseSyncfsIn());
                    break;
                case FuseOpcode.SetupMapping or FuseOpcode.RemoveMapping or FuseOpcode.CuseInit:
                    _args.AddRange(new byte[rng.Next(0, 64)]);
                    break;
            }
            return null;
        }

        // ---- field values ----

        private T Pick<T>(T[] values) => values[rng.Next(values.Length)];
        private uint U32() => rng.Next(3) == 0 ? Pick<uint>([0, 1, uint.MaxValue, 0x80000000]) : (uint)rng.NextInt64(0, 1L << 32);
        private ulong U64() => rng.Next(3) == 0 ? Pick<ulong>([0, 1, ulong.MaxValue, long.MaxValue, 1ul << 63]) : (ulong)rng.NextInt64();

        // PassthroughFs's calls reach a real disk: offsets and lengths stay where a sparse file costs nothing.
        private ulong Offset() => rng.Next(3) != 0 ? Pick<ulong>([0, 0, 1, 100, 4096, 10_000])
            : fdHandles ? Pick<ulong>([0, 1, 4095, 4096, 65536, 1 << 20, ulong.MaxValue, 1ul << 63])
            : Pick<ulong>([0, 1, 4095, 4096, 65536, 1 << 20, long.MaxValue, long.MaxValue - 4096, (ulong)long.MaxValue + 1, ulong.MaxValue, 1ul << 40]);

        private ulong Length() => fdHandles
            ? Pick<ulong>([0, 1, 4096, 1 << 20, ulong.MaxValue])
            : Pick<ulong>([0, 1, 4096, 1 << 20, 1ul << 40, long.MaxValue, ulong.MaxValue]);

        private uint Size() => Pick<uint>([0, 1, 24, 100, 4096, 131072, 1 << 20, (1 << 20) + 1, 64 << 20, uint.MaxValue]);

        private uint Mode()
        {
            // No devices (PassthroughFs would create real ones) and no FIFOs (opening one waits for a writer).
            uint type = Pick([MemFs.S_IFREG, MemFs.S_IFREG, MemFs.S_IFDIR, MemFs.S_IFLNK, MemFs.S_IFSOCK, 0u]);
            if (!fdHandles) type = rng.Next(4) == 0 ? (uint)rng.Next(0, 16) << 12 : type;
            return type | (uint)rng.Next(0, 1 << 12);
        }

        private uint OpenFlags()
        {
            uint flags = (uint)rng.Next(0, 3);
            foreach (int f in (int[])[Libc.O_TRUNC, Libc.O_APPEND, Libc.O_DIRECT, Libc.O_EXCL, 0x800 /* O_NONBLOCK */, 0x40000 /* O_NOATIME */, 0x101000 /* O_SYNC */])
                if (rng.Next(6) == 0) flags |= (uint)f;
            if (!fdHandles && rng.Next(10) == 0) flags = U32();
            return flags;
        }

        /// <summary>Mostly a node of the kind the operation wants, sometimes any node, rarely one that never was.</summary>
        private ulong NodeId(List<ulong> kind)
        {
            int r = rng.Next(20);
            ulong id = r < 14 && kind.Count > 0 ? Pick(kind.ToArray())
                : r < 18 ? Pick(_nodes.ToArray())
                : Pick<ulong>([0, ulong.MaxValue, 1ul << 40, (ulong)rng.NextInt64(1L << 33, long.MaxValue)]);
            return forbidden.Contains(id) ? 0 : id;
        }

        // A handle the filesystem gave out, one it gave out for the other kind, or (without fdHandles) anything.
        // With fdHandles a made-up one is a number no fd has: (int)uint.MaxValue is -1, 0x7FFFFFF0 is past any fd limit.
        private ulong FileHandle() => Handle(_files, _dirs);
        private ulong DirHandle() => Handle(_dirs, _files);

        private ulong Handle(List<ulong> kind, List<ulong> other)
        {
            int r = rng.Next(10);
            if (r < 7 && kind.Count > 0) return Pick(kind.ToArray());
            if (r == 7 && other.Count > 0 && !fdHandles) return Pick(other.ToArray());
            return fdHandles ? Pick<ulong>([uint.MaxValue, 0x7FFFFFF0]) : U64();
        }

        private byte[] XattrName() => rng.Next(3) == 0 ? Pick(XattrNames) : rng.Next(2) == 0 ? "user.a"u8.ToArray() : "user.b"u8.ToArray();

        private void Name() => AddName(Pick(rng.Next(4) == 0 ? Names : GoodNames));

        private void AddName(byte[] name)
        {
            _args.AddRange(name);
            _args.Add(0);
        }

        private void Add<T>(T value) where T : unmanaged => _args.AddRange(KernelModel.Bytes(value));

        private void Protect(ulong nodeId)
        {
            _protected.Add((_args.Count, 8));
            Add(nodeId);
        }

        // ---- the reply ----

        /// <summary>Checks one reply and learns from it; returns its error.</summary>
        private int Check(FuseOpcode op, ulong unique, byte[] request, int length)
        {
            Assert.True(length >= 16, Trail($"reply of {length} bytes"));
            var header = MemoryMarshal.Read<FuseOutHeader>(_reply);
            Assert.True(header.Len == length, Trail($"reply header says {header.Len}, {length} bytes came"));
            Assert.True(header.Unique == unique, Trail($"reply to {header.Unique}"));
            Assert.True(header.Error is > -512 and <= 0, Trail($"error {header.Error}"));
            if (header.Error != 0)
            {
                Errors[$"{op} {header.Error}"] = Errors.GetValueOrDefault($"{op} {header.Error}") + 1;
                Assert.True(length == 16, Trail($"error {header.Error} with {length - 16} bytes"));
                // A node the filesystem has forgotten stays forgotten: ask about it less (a LOOKUP brings it back).
                if (header.Error == -Errno.ESTALE && request.Length >= 40 && MemoryMarshal.Read<ulong>(request.AsSpan(16)) is var node && node != Root)
                {
                    _nodes.Remove(node);
                    _directories.Remove(node);
                    _nonDirectories.Remove(node);
                }
                return header.Error;
            }
            // Only an unmutated request says truthfully what it asked for; noise may be any opcode.
            if (MemoryMarshal.Read<uint>(request.AsSpan(4)) != (uint)op) return 0;
            Succeeded[op] = Succeeded.GetValueOrDefault(op) + 1;
            var payload = _reply.AsSpan(16, length - 16);
            var args = request.AsSpan(40);
            int? size = op switch
            {
                FuseOpcode.Lookup or FuseOpcode.Mknod or FuseOpcode.Mkdir or FuseOpcode.Symlink or FuseOpcode.Link => Unsafe.SizeOf<FuseEntryOut>(),
                FuseOpcode.Create or FuseOpcode.Tmpfile => Unsafe.SizeOf<FuseEntryOut>() + Unsafe.SizeOf<FuseOpenOut>(),
                FuseOpcode.Getattr or FuseOpcode.Setattr => Unsafe.SizeOf<FuseAttrOut>(),
                FuseOpcode.Open or FuseOpcode.Opendir => Unsafe.SizeOf<FuseOpenOut>(),
                FuseOpcode.Init => Unsafe.SizeOf<FuseInitOut>(),
                FuseOpcode.Write or FuseOpcode.CopyFileRange or FuseOpcode.CopyFileRange64 or FuseOpcode.Lseek or FuseOpcode.Bmap or FuseOpcode.Poll => 8,
                FuseOpcode.Statfs => Unsafe.SizeOf<FuseKstatfs>(),
                FuseOpcode.Getlk => Unsafe.SizeOf<FuseLkOut>(),
                FuseOpcode.Statx => Unsafe.SizeOf<FuseStatxOut>(),
                FuseOpcode.Read or FuseOpcode.Readdir or FuseOpcode.Readdirplus or FuseOpcode.Readlink or FuseOpcode.Getxattr
                    or FuseOpcode.Listxattr or FuseOpcode.Ioctl => null,
                _ => 0,
            };
            if (size is { } exact) Assert.True(payload.Length == exact, Trail($"{op} replied {payload.Length} bytes, not {exact}"));
            switch (op)
            {
                case FuseOpcode.Read or FuseOpcode.Readdir or FuseOpcode.Readdirplus:
                    uint asked = MemoryMarshal.Read<FuseReadIn>(args).Size;
                    Assert.True((uint)payload.Length <= asked, Trail($"{op} replied {payload.Length} bytes for {asked}"));
                    break;
                case FuseOpcode.Getxattr or FuseOpcode.Listxattr:
                    uint limit = MemoryMarshal.Read<uint>(args);
                    Assert.True(limit == 0 ? payload.Length == 8 : (uint)payload.Length <= limit, Trail($"{op} replied {payload.Length} bytes for {limit}"));
                    break;
                case FuseOpcode.Write:
                    uint written = MemoryMarshal.Read<uint>(payload);
                    Assert.True(written <= MemoryMarshal.Read<FuseWriteIn>(args).Size, Trail($"WRITE says {written} bytes written"));
                    break;
                case FuseOpcode.Mknod or FuseOpcode.Mkdir or FuseOpcode.Symlink or FuseOpcode.Link or FuseOpcode.Create or FuseOpcode.Tmpfile or FuseOpcode.Lookup:
                    ulong id = MemoryMarshal.Read<FuseEntryOut>(payload).NodeId;
                    Assert.True(id != 0 || op == FuseOpcode.Lookup, Trail($"{op} made node id 0"));
                    Assert.True(!forbidden.Contains(id), Trail($"{op} reached the canary, node {id}"));
                    if (id != 0 && !_nodes.Contains(id))
                    {
                        _nodes.Add(id);
                        bool isDirectory = (MemoryMarshal.Read<FuseEntryOut>(payload).Attr.Mode & MemFs.S_IFMT) == MemFs.S_IFDIR;
                        (isDirectory ? _directories : _nonDirectories).Add(id);
                    }
                    if (op == FuseOpcode.Mkdir && _madeDirectories.Count < 100)
                    {
                        var name = args[Unsafe.SizeOf<FuseMkdirIn>()..];
                        _madeDirectories.Add((MemoryMarshal.Read<ulong>(request.AsSpan(16)), name[..name.IndexOf((byte)0)].ToArray()));
                    }
                    if (op is FuseOpcode.Create or FuseOpcode.Tmpfile) _files.Add(MemoryMarshal.Read<FuseOpenOut>(payload[Unsafe.SizeOf<FuseEntryOut>()..]).Fh);
                    break;
                case FuseOpcode.Open:
                    _files.Add(MemoryMarshal.Read<FuseOpenOut>(payload).Fh);
                    break;
                case FuseOpcode.Opendir:
                    _dirs.Add(MemoryMarshal.Read<FuseOpenOut>(payload).Fh);
                    break;
            }
            return 0;
        }
    }
}
