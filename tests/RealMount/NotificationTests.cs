using System.Text;
using Fuselage.Interop;

namespace Fuselage.Tests;

/// <summary>Notifications reach the kernel on every transport: cached names and attributes are dropped on request.</summary>
[Collection("real mounts")]
public class NotificationTests
{
    /// <summary>A root with named files whose set and sizes the test changes behind the kernel's back.</summary>
    private sealed class ChangingFs : FileSystem
    {
        public readonly Dictionary<string, (ulong Ino, ulong Size)> Files = new() { ["a"] = (2, 5) };

        private static void Fill(ref Fuselage.Interop.Fuse.FuseAttr attr, ulong ino, ulong size)
        {
            attr.Ino = ino;
            attr.Mode = ino == 1 ? 0x41EDu : 0x81A4u;
            attr.Nlink = ino == 1 ? 2u : 1u;
            attr.Size = size;
        }

        public override ValueTask<int> Lookup(Request request, ulong parent, ReadOnlySpan<byte> name)
        {
            lock (Files)
            {
                if (parent != 1 || !Files.TryGetValue(Encoding.UTF8.GetString(name), out var f)) return Error(Errno.ENOENT);
                request.Entry.NodeId = f.Ino;
                Fill(ref request.Entry.Attr, f.Ino, f.Size);
            }
            return Success;
        }

        public override ValueTask<int> GetAttr(Request request, ulong ino, ulong? fh)
        {
            lock (Files)
            {
                if (ino == 1) { Fill(ref request.Attr, 1, 0); return Success; }
                foreach (var f in Files.Values)
                    if (f.Ino == ino) { Fill(ref request.Attr, ino, f.Size); return Success; }
            }
            return Error(Errno.ENOENT);
        }
    }

    public static TheoryData<TransportKind> Transports => [TransportKind.Ring, TransportKind.Threads, TransportKind.Uring];

    private static MountedFs MountLongCaching(ChangingFs fs, TransportKind transport) => new(fs, transport, configure: o =>
        o.Policy = new CoherencyPolicy(CacheMode.Classic, TimeSpan.FromHours(1), TimeSpan.FromHours(1), TimeSpan.Zero));

    [Theory]
    [MemberData(nameof(Transports))]
    public void Invalidating_an_entry_makes_the_kernel_look_the_name_up_again(TransportKind transport)
    {
        var fs = new ChangingFs();
        using var m = MountLongCaching(fs, transport);
        string a = m.PathOf("a");
        m.Run(() => Assert.Equal(0, Posix.LStat(a, out _)));
        lock (fs.Files) fs.Files.Remove("a");
        m.Run(() => Assert.Equal(0, Posix.LStat(a, out _))); // still cached for an hour
        Assert.Equal(0, m.Server.Notify.InvalidateEntry(1, "a"u8));
        m.Run(() => Assert.Equal(-Errno.ENOENT, Posix.LStat(a, out _)));
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public void Invalidating_an_inode_refreshes_its_attributes(TransportKind transport)
    {
        var fs = new ChangingFs();
        using var m = MountLongCaching(fs, transport);
        string a = m.PathOf("a");
        m.Run(() => { Posix.LStat(a, out var st); Assert.Equal(5, st.Size); });
        lock (fs.Files) fs.Files["a"] = (2, 10);
        m.Run(() => { Posix.LStat(a, out var st); Assert.Equal(5, st.Size); }); // cached
        Assert.Equal(0, m.Server.Notify.InvalidateInode(2, offset: -1));
        m.Run(() => { Posix.LStat(a, out var st); Assert.Equal(10, st.Size); });
        // An inode the kernel never saw: ENOENT, nothing else happens.
        Assert.Equal(-Errno.ENOENT, m.Server.Notify.InvalidateInode(999));
    }
}
