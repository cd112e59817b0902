using Fuselage.Interop;
using Fuselage.Interop.Fuse;
using Fuselage.Samples;

namespace Fuselage.Tests.RealMount;

/// <summary>
/// CacheMode.Passthrough on the running kernel: PassthroughFs registers each opened file as a backing file, the
/// kernel then reads and writes it without a READ or WRITE request, and every backing id is released at RELEASE.
/// </summary>
[Collection("real mounts")]
public class KernelPassthroughTests
{
    internal static void Declare(FuseServerOptions options) => options.Policy = CoherencyPolicy.Classic.WithMode(CacheMode.Passthrough);

    [Theory]
    [InlineData(TransportKind.Ring)]
    [InlineData(TransportKind.Threads)]
    [InlineData(TransportKind.Uring)]
    public void File_data_moves_without_READ_or_WRITE_requests(TransportKind transport)
    {
        string source = Directory.CreateTempSubdirectory("fuselage-src-").FullName;
        var fs = new PassthroughFs(source);
        try
        {
            using (var m = new MountedFs(fs, transport, configure: Declare))
            {
                Assert.True(fs.BackingFiles!.Enabled, "INIT did not grant FUSE_PASSTHROUGH");
                var data = new byte[3 << 20];
                new Random(7).NextBytes(data);
                m.Run(() =>
                {
                    File.WriteAllBytes(m.PathOf("data"), data);
                    Assert.Equal(data, File.ReadAllBytes(m.PathOf("data")));
                    // O_DIRECT too: the caller's buffer goes to the backing file as it is, so it must be aligned
                    // as the source filesystem wants (page-aligned here), exactly as without FUSE.
                    int fd = Posix.Open(m.PathOf("data"), Posix.O_RDONLY | Posix.O_DIRECT);
                    Assert.True(fd >= 0, $"open O_DIRECT: {fd}");
                    using var aligned = new Fuselage.Buffers.BufferPool(4096, 1);
                    var buffer = aligned.Rent().Span;
                    try
                    {
                        Assert.Equal(4096, (int)Libc.PRead(fd, buffer, 1 << 20));
                        Assert.True(buffer.SequenceEqual(data.AsSpan(1 << 20, 4096)));
                    }
                    finally { Posix.Close(fd); }
                });
                Assert.Equal(data, File.ReadAllBytes(Path.Combine(source, "data"))); // it reached the source itself
                var stats = m.Server.Stats!;
                Assert.Equal(0, stats.CountOf(FuseOpcode.Read));
                Assert.Equal(0, stats.CountOf(FuseOpcode.Write));
                Assert.True(stats.CountOf(FuseOpcode.Open) + stats.CountOf(FuseOpcode.Create) >= 3);
                // RELEASE is sent after close() returns: wait for it (bounded), then no backing id may be left.
                Assert.True(SpinWait.SpinUntil(() => fs.OpenBackingIds == 0, MountedFs.Watchdog), $"{fs.OpenBackingIds} backing ids never released");
            }
        }
        finally
        {
            fs.Dispose();
            Directory.Delete(source, recursive: true);
        }
    }

    [Fact]
    public void Concurrent_opens_of_one_file_share_its_backing_file()
    {
        string source = Directory.CreateTempSubdirectory("fuselage-src-").FullName;
        var fs = new PassthroughFs(source);
        try
        {
            using (var m = new MountedFs(fs, TransportKind.Ring, configure: Declare))
            {
                m.Run(() =>
                {
                    File.WriteAllBytes(m.PathOf("f"), [1, 2, 3, 4]);
                    // The kernel takes one backing file per inode: a second, different one would fail this open (EIO).
                    int reader = Posix.Open(m.PathOf("f"), Posix.O_RDONLY);
                    int writer = Posix.Open(m.PathOf("f"), Posix.O_RDWR);
                    Assert.True(reader >= 0 && writer >= 0, $"open: {reader}, {writer}");
                    try
                    {
                        Assert.Equal(1, fs.OpenBackingIds);
                        Assert.Equal(1, Posix.PWrite(writer, [9], 0));
                        var buffer = new byte[4];
                        Assert.Equal(4, Posix.PRead(reader, buffer, 0));
                        Assert.Equal(new byte[] { 9, 2, 3, 4 }, buffer);
                    }
                    finally
                    {
                        Posix.Close(reader);
                        Posix.Close(writer);
                    }
                });
                Assert.Equal(0, m.Server.Stats!.CountOf(FuseOpcode.Read));
                Assert.True(SpinWait.SpinUntil(() => fs.OpenBackingIds == 0, MountedFs.Watchdog), $"{fs.OpenBackingIds} backing ids never released");
            }
        }
        finally
        {
            fs.Dispose();
            Directory.Delete(source, recursive: true);
        }
    }

    [Fact]
    public void Opens_and_closes_racing_on_one_file_never_fail_and_release_every_backing_id()
    {
        string source = Directory.CreateTempSubdirectory("fuselage-src-").FullName;
        File.WriteAllBytes(Path.Combine(source, "f"), [1, 2, 3, 4]);
        var fs = new PassthroughFs(source);
        try
        {
            using (var m = new MountedFs(fs, TransportKind.Ring, configure: Declare))
            {
                // Two workers serve OPEN and RELEASE of one inode at once: the first open registers the backing file, the
                // last release closes it. Were the count and the registration not one step, an open would find a second
                // backing file registered (EIO), read through a closed one, or an id would stay behind.
                const int Clients = 4, Rounds = 300;
                var failures = new System.Collections.Concurrent.ConcurrentQueue<string>();
                m.Run(() => Parallel.For(0, Clients, new ParallelOptions { MaxDegreeOfParallelism = Clients }, _ =>
                {
                    var buffer = new byte[4];
                    for (int i = 0; i < Rounds; i++)
                    {
                        int fd = Posix.Open(m.PathOf("f"), Posix.O_RDONLY);
                        if (fd < 0) { failures.Enqueue($"open: {fd}"); return; }
                        long read = Posix.PRead(fd, buffer, 0);
                        Posix.Close(fd);
                        if (read != 4 || buffer[3] != 4) { failures.Enqueue($"read {read}: [{string.Join(",", buffer)}]"); return; }
                    }
                }));
                Assert.Empty(failures);
                Assert.Equal(0, m.Server.Stats!.CountOf(FuseOpcode.Read));
                Assert.True(SpinWait.SpinUntil(() => fs.OpenBackingIds == 0, MountedFs.Watchdog), $"{fs.OpenBackingIds} backing ids never released");
            }
        }
        finally
        {
            fs.Dispose();
            Directory.Delete(source, recursive: true);
        }
    }

    [Fact]
    public void A_backing_id_is_valid_until_closed()
    {
        string source = Directory.CreateTempSubdirectory("fuselage-src-").FullName;
        var fs = new PassthroughFs(source);
        string file = Path.Combine(source, "f");
        File.WriteAllBytes(file, [1, 2, 3]);
        try
        {
            using var m = new MountedFs(fs, TransportKind.Ring, configure: Declare);
            int fd = Posix.Open(file, Posix.O_RDONLY);
            try
            {
                int id = fs.BackingFiles!.Open(fd);
                Assert.True(id > 0, $"BACKING_OPEN: {id}");
                Assert.Equal(0, fs.BackingFiles.Close(id));
                Assert.Equal(-Errno.ENOENT, fs.BackingFiles.Close(id));
                // A failure is answered with its errno and logged once (the filesystem may fall back on each open).
                Assert.Equal(-Errno.EBADF, fs.BackingFiles.Open(-1));
                Assert.Equal(-Errno.EBADF, fs.BackingFiles.Open(-1));
                Assert.Single(m.LogLines, l => l.Contains("BACKING_OPEN failed (errno 9"));
            }
            finally { Posix.Close(fd); }
        }
        finally
        {
            fs.Dispose();
            Directory.Delete(source, recursive: true);
        }
    }

    [Fact]
    public void Without_the_declared_mode_no_backing_file_is_registered()
    {
        string source = Directory.CreateTempSubdirectory("fuselage-src-").FullName;
        var fs = new PassthroughFs(source);
        try
        {
            using var m = new MountedFs(fs, TransportKind.Ring);
            Assert.False(fs.BackingFiles!.Enabled);
            Assert.Equal(-Errno.EOPNOTSUPP, fs.BackingFiles.Open(0));
            m.Run(() =>
            {
                File.WriteAllBytes(m.PathOf("data"), [9, 8, 7]);
                Assert.Equal(new byte[] { 9, 8, 7 }, File.ReadAllBytes(m.PathOf("data")));
            });
            Assert.True(m.Server.Stats!.CountOf(FuseOpcode.Write) > 0, "classic mode: WRITE goes to the server");
        }
        finally
        {
            fs.Dispose();
            Directory.Delete(source, recursive: true);
        }
    }
}
