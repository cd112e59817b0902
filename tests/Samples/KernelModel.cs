using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using Fuselage.Interop.Fuse;
using Fuselage.Transport;

namespace Fuselage.Tests;

/// <summary>One directory record as the kernel would parse it.</summary>
public readonly record struct DirRecord(string Name, ulong Ino, ulong NextOffset, uint Type, FuseEntryOut Entry);

/// <summary>
/// Plays the kernel against a <see cref="FileSystem"/> through the <see cref="InMemoryTransport"/>: builds request
/// bytes (fuse_in_header + arguments), sends them, and returns (error, payload) of the reply. Error is the
/// reply header's error field (0 or -errno).
/// </summary>
public sealed class KernelModel : IDisposable
{
    private readonly InMemoryTransport _transport;
    private readonly byte[] _reply;
    private ulong _unique;

    public KernelModel(FileSystem fs, FuseServerOptions? options = null)
    {
        _transport = new InMemoryTransport(fs, options);
        _reply = new byte[_transport.MaxRequestLength + 4096 + (1 << 20)];
    }

    public InMemoryTransport Transport => _transport;
    public uint Uid { get; set; } = 1000;
    public uint Gid { get; set; } = 1000;
    public uint Pid { get; set; } = 4242;

    public void Dispose() => _transport.Dispose();

    // ---- encoding ----

    public static byte[] Bytes<T>(in T value) where T : unmanaged
    {
        var b = new byte[Unsafe.SizeOf<T>()];
        MemoryMarshal.Write(b, in value);
        return b;
    }

    public static byte[] Name(string name) => [.. Encoding.UTF8.GetBytes(name), 0];

    public static T Read<T>(byte[] payload, int offset = 0) where T : unmanaged => MemoryMarshal.Read<T>(payload.AsSpan(offset));

    /// <summary>A request as the kernel writes it: fuse_in_header (its length filled in), then the arguments.</summary>
    public static byte[] Message(FuseOpcode opcode, ulong nodeId, ulong unique, ReadOnlySpan<byte> args, uint uid = 0, uint gid = 0, uint pid = 0)
    {
        var request = new byte[40 + args.Length];
        MemoryMarshal.Write(request, new FuseInHeader
        {
            Len = (uint)request.Length, Opcode = (uint)opcode, Unique = unique, NodeId = nodeId, Uid = uid, Gid = gid, Pid = pid,
        });
        args.CopyTo(request.AsSpan(40));
        return request;
    }

    /// <summary>Sends one request and returns its reply; requests without a reply (FORGET) return (0, empty).</summary>
    public (int Error, byte[] Payload) Call(FuseOpcode opcode, ulong nodeId, params byte[][] args)
    {
        ulong unique = ++_unique * 2;
        var request = Message(opcode, nodeId, unique, args.SelectMany(a => a).ToArray(), Uid, Gid, Pid);
        if (!_transport.Send(request)) throw new InvalidOperationException($"{opcode}: request not accepted");
        if (!_transport.TryReceive(_reply, out int length))
            return (0, []);
        var outHeader = MemoryMarshal.Read<FuseOutHeader>(_reply);
        if (outHeader.Len != length) throw new InvalidOperationException($"{opcode}: reply header says {outHeader.Len}, got {length}");
        if (outHeader.Unique != unique) throw new InvalidOperationException($"{opcode}: reply for {outHeader.Unique}, expected {unique}");
        if (outHeader.Error != 0 && length != 16) throw new InvalidOperationException($"{opcode}: error reply with payload");
        return (outHeader.Error, _reply.AsSpan(16, length - 16).ToArray());
    }

    // ---- operations ----

    public (int Error, FuseInitOut Out) Init(uint flags = uint.MaxValue, uint flags2 = uint.MaxValue)
    {
        var init = new FuseInitIn { Major = 7, Minor = 45, MaxReadahead = 131072, Flags = flags, Flags2 = flags2 };
        var (e, p) = Call(FuseOpcode.Init, 0, Bytes(init));
        return (e, e == 0 ? Read<FuseInitOut>(p) : default);
    }

    private static (int, FuseEntryOut) Entry((int Error, byte[] Payload) r) => (r.Error, r.Error == 0 ? Read<FuseEntryOut>(r.Payload) : default);

    public (int Error, FuseEntryOut Entry) Lookup(ulong parent, string name) => Entry(Call(FuseOpcode.Lookup, parent, Name(name)));

    public void Forget(ulong ino, ulong nlookup) => Call(FuseOpcode.Forget, ino, Bytes(new FuseForgetIn { Nlookup = nlookup }));

    public (int Error, FuseAttr Attr) GetAttr(ulong ino)
    {
        var (e, p) = Call(FuseOpcode.Getattr, ino, Bytes(new FuseGetattrIn()));
        return (e, e == 0 ? Read<FuseAttrOut>(p).Attr : default);
    }

    public (int Error, FuseAttr Attr) SetAttr(ulong ino, FuseSetattrIn args)
    {
        var (e, p) = Call(FuseOpcode.Setattr, ino, Bytes(args));
        return (e, e == 0 ? Read<FuseAttrOut>(p).Attr : default);
    }

    public (int Error, FuseAttr Attr) Truncate(ulong ino, ulong size)
        => SetAttr(ino, new FuseSetattrIn { Valid = (uint)FuseSetattrValid.Size, Size = size });

    public (int Error, FuseEntryOut Entry) Mkdir(ulong parent, string name, uint mode = 0x1ED, uint umask = 0x12)
        => Entry(Call(FuseOpcode.Mkdir, parent, Bytes(new FuseMkdirIn { Mode = mode, Umask = umask }), Name(name)));

    public (int Error, FuseEntryOut Entry) Mknod(ulong parent, string name, uint mode, uint rdev = 0, uint umask = 0x12)
        => Entry(Call(FuseOpcode.Mknod, parent, Bytes(new FuseMknodIn { Mode = mode, Rdev = rdev, Umask = umask }), Name(name)));

    public (int Error, FuseEntryOut Entry) Symlink(ulong parent, string name, string target)
        => Entry(Call(FuseOpcode.Symlink, parent, Name(name), Name(target)));

    public (int Error, FuseEntryOut Entry) Link(ulong ino, ulong newParent, string newName)
        => Entry(Call(FuseOpcode.Link, newParent, Bytes(new FuseLinkIn { OldNodeId = ino }), Name(newName)));

    public (int Error, string Target) ReadLink(ulong ino)
    {
        var (e, p) = Call(FuseOpcode.Readlink, ino);
        return (e, Encoding.UTF8.GetString(p));
    }

    public (int Error, FuseEntryOut Entry, ulong Fh) Create(ulong parent, string name, uint mode = 0x81A4, int flags = 0x42 /* O_RDWR|O_CREAT */, uint umask = 0x12)
    {
        var (e, entry, open) = CreateReply(parent, name, mode, flags, umask);
        return (e, entry, open.Fh);
    }

    /// <summary>CREATE, with the whole fuse_open_out (its FOPEN_* flags).</summary>
    public (int Error, FuseEntryOut Entry, FuseOpenOut Open) CreateReply(ulong parent, string name, uint mode = 0x81A4, int flags = 0x42, uint umask = 0x12)
    {
        var (e, p) = Call(FuseOpcode.Create, parent, Bytes(new FuseCreateIn { Flags = (uint)flags, Mode = mode, Umask = umask }), Name(name));
        if (e != 0) return (e, default, default);
        return (e, Read<FuseEntryOut>(p), Read<FuseOpenOut>(p, Unsafe.SizeOf<FuseEntryOut>()));
    }

    public (int Error, ulong Fh) Open(ulong ino, int flags = 2)
    {
        var (e, open) = OpenReply(ino, flags);
        return (e, open.Fh);
    }

    /// <summary>OPEN, with the whole fuse_open_out (its FOPEN_* flags).</summary>
    public (int Error, FuseOpenOut Open) OpenReply(ulong ino, int flags = 2)
    {
        var (e, p) = Call(FuseOpcode.Open, ino, Bytes(new FuseOpenIn { Flags = (uint)flags }));
        return (e, e == 0 ? Read<FuseOpenOut>(p) : default);
    }

    public int Release(ulong ino, ulong fh) => Call(FuseOpcode.Release, ino, Bytes(new FuseReleaseIn { Fh = fh })).Error;

    public (int Error, ulong Fh) OpenDir(ulong ino)
    {
        var (e, p) = Call(FuseOpcode.Opendir, ino, Bytes(new FuseOpenIn()));
        return (e, e == 0 ? Read<FuseOpenOut>(p).Fh : 0);
    }

    public int ReleaseDir(ulong ino, ulong fh) => Call(FuseOpcode.Releasedir, ino, Bytes(new FuseReleaseIn { Fh = fh })).Error;

    public (int Error, byte[] Data) Read(ulong ino, ulong fh, long offset, int size)
        => Call(FuseOpcode.Read, ino, Bytes(new FuseReadIn { Fh = fh, Offset = (ulong)offset, Size = (uint)size }));

    public (int Error, uint Written) Write(ulong ino, ulong fh, long offset, byte[] data)
    {
        var (e, p) = Call(FuseOpcode.Write, ino, Bytes(new FuseWriteIn { Fh = fh, Offset = (ulong)offset, Size = (uint)data.Length }), data);
        return (e, e == 0 ? Read<FuseWriteOut>(p).Size : 0);
    }

    public int Unlink(ulong parent, string name) => Call(FuseOpcode.Unlink, parent, Name(name)).Error;
    public int Rmdir(ulong parent, string name) => Call(FuseOpcode.Rmdir, parent, Name(name)).Error;

    public int Rename(ulong parent, string name, ulong newParent, string newName, uint flags = 0)
        => Call(FuseOpcode.Rename2, parent, Bytes(new FuseRename2In { NewDir = newParent, Flags = flags }), Name(name), Name(newName)).Error;

    public int SetXattr(ulong ino, string name, byte[] value, int flags = 0)
        => Call(FuseOpcode.Setxattr, ino, Bytes(new FuseSetxattrIn { Size = (uint)value.Length, Flags = (uint)flags }), Name(name), value).Error;

    /// <summary>size 0 = size probe: Data is then the 8-byte fuse_getxattr_out.</summary>
    public (int Error, byte[] Data) GetXattr(ulong ino, string name, uint size)
        => Call(FuseOpcode.Getxattr, ino, Bytes(new FuseGetxattrIn { Size = size }), Name(name));

    public (int Error, byte[] Data) ListXattr(ulong ino, uint size)
        => Call(FuseOpcode.Listxattr, ino, Bytes(new FuseGetxattrIn { Size = size }));

    public int RemoveXattr(ulong ino, string name) => Call(FuseOpcode.Removexattr, ino, Name(name)).Error;

    public (int Error, long Offset) Lseek(ulong ino, ulong fh, long offset, int whence)
    {
        var (e, p) = Call(FuseOpcode.Lseek, ino, Bytes(new FuseLseekIn { Fh = fh, Offset = (ulong)offset, Whence = (uint)whence }));
        return (e, e == 0 ? (long)Read<FuseLseekOut>(p).Offset : -1);
    }

    public int Fallocate(ulong ino, ulong fh, long offset, long length, int mode)
        => Call(FuseOpcode.Fallocate, ino, Bytes(new FuseFallocateIn { Fh = fh, Offset = (ulong)offset, Length = (ulong)length, Mode = (uint)mode })).Error;

    public (int Error, FuseKstatfs St) StatFs(ulong ino)
    {
        var (e, p) = Call(FuseOpcode.Statfs, ino);
        return (e, e == 0 ? Read<FuseKstatfs>(p) : default);
    }

    /// <summary>One READDIR or READDIRPLUS call of <paramref name="size"/> bytes, parsed.</summary>
    public (int Error, List<DirRecord> Records) ReadDir(ulong ino, ulong fh, long offset, int size = 4096, bool plus = false)
    {
        var (e, p) = Call(plus ? FuseOpcode.Readdirplus : FuseOpcode.Readdir, ino,
            Bytes(new FuseReadIn { Fh = fh, Offset = (ulong)offset, Size = (uint)size }));
        var records = new List<DirRecord>();
        if (e != 0) return (e, records);
        if (p.Length > size) throw new InvalidOperationException($"directory reply of {p.Length} bytes exceeds {size}");
        int at = 0;
        int header = plus ? 152 : 24;
        while (at < p.Length)
        {
            var entry = plus ? Read<FuseEntryOut>(p, at) : default;
            var d = Read<FuseDirent>(p, at + header - 24);
            string name = Encoding.UTF8.GetString(p, at + header, (int)d.Namelen);
            records.Add(new DirRecord(name, d.Ino, d.Off, d.Type, entry));
            at += (header + (int)d.Namelen + 7) & ~7;
        }
        return (e, records);
    }

    /// <summary>Lists a whole directory with repeated calls, continuing from the last record's offset.</summary>
    public List<DirRecord> ListAll(ulong ino, int size = 4096, bool plus = false)
    {
        var (e, fh) = OpenDir(ino);
        if (e != 0) throw new InvalidOperationException($"OPENDIR failed: {e}");
        var all = new List<DirRecord>();
        long offset = 0;
        while (true)
        {
            var (err, records) = ReadDir(ino, fh, offset, size, plus);
            if (err != 0) throw new InvalidOperationException($"READDIR failed: {err}");
            if (records.Count == 0) break;
            all.AddRange(records);
            offset = (long)records[^1].NextOffset;
        }
        ReleaseDir(ino, fh);
        return all;
    }
}
