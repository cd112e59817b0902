using Fuselage.Interop;
using Fuselage.Samples;

namespace Fuselage.Tests.RealMount;

/// <summary>
/// The passthrough's large file reads and writes leave a ring worker or a uring queue as READ_FIXED / WRITE_FIXED: the
/// request buffers they move data through are registered with the thread's ring, so the kernel does not pin their
/// pages for every transfer.
/// </summary>
[Collection("real mounts")]
public class FixedBufferFileIoTests
{
    [Theory]
    [InlineData(TransportKind.Ring)]
    [InlineData(TransportKind.Uring)]
    public void Large_direct_reads_and_writes_go_through_fixed_buffers_and_move_the_right_bytes(TransportKind transport)
    {
        string source = Directory.CreateTempSubdirectory("fuselage-src-").FullName;
        try
        {
            File.WriteAllBytes(Path.Combine(source, "data"), []);
            using var m = new MountedFs(new PassthroughFs(source), transport);
            var stats = m.Server.Stats!;
            // 512 KiB: a managed array is not page-aligned, and 1 MiB from one would span 257 pages, which the kernel
            // splits into WRITEs of sizes the source's O_DIRECT refuses.
            var large = new byte[512 * 1024];
            var small = new byte[4096];
            new Random(3).NextBytes(large);
            new Random(4).NextBytes(small);
            var read = m.Run(() =>
            {
                int fd = Posix.Open(m.PathOf("data"), Posix.O_RDWR | Posix.O_DIRECT);
                Assert.True(fd >= 0, $"open: {fd}");
                try
                {
                    Assert.Equal(large.Length, Posix.PWrite(fd, large, 0));
                    Assert.Equal(small.Length, Posix.PWrite(fd, small, large.Length));
                    return Posix.PReadUntilShort(fd, 256 * 1024); // 256 KiB twice, then the last 4 KiB
                }
                finally { Posix.Close(fd); }
            });
            Assert.Equal([.. large, .. small], read);
            Assert.Equal([.. large, .. small], File.ReadAllBytes(Path.Combine(source, "data")));
            Assert.True(stats.FileIo >= 5, $"{stats.FileIo} file reads and writes went through the rings");
            Assert.True(stats.FixedBufferFileIo >= 3, $"{stats.FixedBufferFileIo} of {stats.FileIo} went through fixed buffers"); // the 512 KiB write, the 256 KiB reads
            Assert.Contains($"file I/O through the workers' rings: {stats.FileIo:N0} ({stats.FixedBufferFileIo:N0} through fixed buffers)", stats.Format());
            m.DisposeAndAssertStoppedCleanly();
        }
        finally { Directory.Delete(source, recursive: true); }
    }
}
