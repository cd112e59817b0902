using System.Text;
using Fuselage.Interop;
using Fuselage.Interop.Fuse;

namespace Fuselage.Tests;

/// <summary>The engine against the real kernel with the smallest possible filesystem: one read-only file.</summary>
[Collection("real mounts")]
public class EngineSmokeTests
{
    private sealed class HelloFs : FileSystem
    {
        public static readonly byte[] Content = Encoding.UTF8.GetBytes("hello from fuselage\n");
        public long Forgotten;

        private static void FillAttr(ref FuseAttr attr, ulong ino)
        {
            attr.Ino = ino;
            attr.Mode = ino == 1 ? 0x4000u | 0x1ED : 0x8000u | 0x124;
            attr.Nlink = ino == 1 ? 2u : 1u;
            attr.Size = ino == 1 ? 0 : (ulong)Content.Length;
            attr.Blksize = 4096;
        }

        public override ValueTask<int> Lookup(Request request, ulong parent, ReadOnlySpan<byte> name)
        {
            if (parent != 1 || !name.SequenceEqual("hello"u8)) return Error(Errno.ENOENT);
            request.Entry.NodeId = 2;
            FillAttr(ref request.Entry.Attr, 2);
            return Success;
        }

        public override void Forget(ulong ino, ulong nlookup) => Interlocked.Add(ref Forgotten, (long)nlookup);

        public override ValueTask<int> GetAttr(Request request, ulong ino, ulong? fh)
        {
            if (ino > 2) return Error(Errno.ENOENT);
            FillAttr(ref request.Attr, ino);
            return Success;
        }

        public override ValueTask<int> Open(Request request, ulong ino, int flags)
        {
            if ((flags & 3) != Libc.O_RDONLY) return Error(Errno.EACCES);
            request.Open.Fh = 42;
            return Success;
        }

        public override ValueTask<int> Read(Request request, ulong ino, ulong fh, long offset, Span<byte> buffer)
        {
            if (fh != 42) return Error(Errno.EBADF);
            if (offset >= Content.Length) return new(0);
            int n = Math.Min(buffer.Length, Content.Length - (int)offset);
            Content.AsSpan((int)offset, n).CopyTo(buffer);
            return new(n);
        }

        public override ValueTask<int> ReadDir(Request request, ulong ino, ulong fh, long offset)
        {
            if (offset < 1 && !request.AddDirEntry("."u8, 1, 4, 1)) return Success;
            if (offset < 2 && !request.AddDirEntry(".."u8, 1, 4, 2)) return Success;
            if (offset < 3) request.AddDirEntry("hello"u8, 2, 8, 3);
            return Success;
        }
    }

    [Theory]
    [InlineData(TransportKind.Ring)]
    [InlineData(TransportKind.Threads)]
    public void Serves_lookup_read_readdir_and_errors(TransportKind transport)
    {
        var fs = new HelloFs();
        using var m = new MountedFs(fs, transport);
        m.Run(() =>
        {
            Assert.Equal(HelloFs.Content, File.ReadAllBytes(m.PathOf("hello")));
            Assert.Equal(["hello"], Directory.GetFileSystemEntries(m.Root).Select(Path.GetFileName));
            Assert.False(File.Exists(m.PathOf("missing")));
            var e = Assert.Throws<UnauthorizedAccessException>(() => File.OpenWrite(m.PathOf("hello")).Dispose());
            Assert.Equal(new FileInfo(m.PathOf("hello")).Length, HelloFs.Content.Length);
            // mkdir is not implemented: ENOSYS reaches the caller.
            Assert.Throws<IOException>(() => Directory.CreateDirectory(m.PathOf("dir")));
        });
        var stats = m.Server.Stats!;
        Assert.True(stats.CountOf(FuseOpcode.Lookup) > 0);
        Assert.True(stats.CountOf(FuseOpcode.Read) > 0);
    }

    /// <summary>Asks for idmapped mounts (FUSE_ALLOW_IDMAP) at INIT.</summary>
    private sealed class IdmapFs : FileSystem
    {
        public override void Init(FuseConnection connection) => connection.Requested |= FuseInitFlags.AllowIdmap;

        public override ValueTask<int> GetAttr(Request request, ulong ino, ulong? fh)
        {
            if (ino != 1) return Error(Errno.ENOENT);
            request.Attr.Ino = 1;
            request.Attr.Mode = 0x41ED;
            request.Attr.Nlink = 2;
            return Success;
        }
    }

    [Fact]
    public async Task Idmapped_mounts_are_granted_only_with_default_permissions_and_the_mount_works_either_way()
    {
        // process_init_reply() fails the whole connection (every call then ECONNREFUSED) when the reply has
        // FUSE_ALLOW_IDMAP and the mount has no default_permissions (nor FUSE_POSIX_ACL, which implies it).
        using (var m = new MountedFs(new IdmapFs(), TransportKind.Threads))
        {
            m.Run(() => Assert.Equal(0, Posix.LStat(m.Root, out _)));
            var conn = await m.Server.Ready;
            Assert.Equal(FuseInitFlags.None, conn.Granted & FuseInitFlags.AllowIdmap);
            Assert.Contains(conn.Refusals, r => r.StartsWith("AllowIdmap") && r.Contains("default_permissions"));
        }
        using (var m = new MountedFs(new IdmapFs(), TransportKind.Threads, "default_permissions"))
        {
            m.Run(() => Assert.Equal(0, Posix.LStat(m.Root, out _)));
            Assert.Equal(FuseInitFlags.AllowIdmap, (await m.Server.Ready).Granted & FuseInitFlags.AllowIdmap);
        }
    }
}
