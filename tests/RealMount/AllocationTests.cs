using Fuselage.Samples;

namespace Fuselage.Tests;

/// <summary>
/// The hot path on a real mount allocates nothing: O_DIRECT READs and WRITEs of PassthroughFs through every
/// transport, file I/O on the worker's ring included. Each worker records what its own thread has allocated
/// (the test host's other threads allocate as they please, so a process-wide count would prove nothing).
/// </summary>
[Collection("real mounts")]
public class AllocationTests
{
    [Theory]
    [InlineData(TransportKind.Ring)]
    [InlineData(TransportKind.Threads)]
    [InlineData(TransportKind.Uring)]
    public void Reads_and_writes_through_a_mount_allocate_nothing_on_the_workers(TransportKind transport)
    {
        string source = Directory.CreateTempSubdirectory("fuselage-src-").FullName;
        try
        {
            File.WriteAllBytes(Path.Combine(source, "data"), new byte[1 << 20]);
            using var m = new MountedFs(new PassthroughFs(source), transport);
            var stats = m.Server.Stats!;
            long before = 0, requestsBefore = 0;
            m.Run(() =>
            {
                // O_DIRECT: every pread and pwrite becomes a FUSE request (no page cache in between).
                int fd = Posix.Open(m.PathOf("data"), Posix.O_RDWR | Posix.O_DIRECT);
                Assert.True(fd >= 0, $"open: {fd}");
                var buffer = new byte[4096];
                try
                {
                    void Loop(int n)
                    {
                        for (int i = 0; i < n; i++)
                        {
                            long offset = i % 256 * 4096L;
                            Assert.Equal(4096, Posix.PRead(fd, buffer, offset));
                            Assert.Equal(4096, Posix.PWrite(fd, buffer, offset));
                        }
                    }
                    Loop(2_000); // warm-up: JIT, tiering, pools
                    before = stats.WorkerAllocatedBytes;
                    requestsBefore = stats.Total;
                    Loop(10_000);
                }
                finally { Posix.Close(fd); }
            });
            long requests = stats.Total - requestsBefore;
            Assert.True(requests >= 20_000, $"only {requests} requests reached the server");
            long allocated = stats.WorkerAllocatedBytes - before;
            // Zero bytes per request; a one-off (a queue entry the kernel first hands out now, a late JIT stub) may remain.
            Assert.True(allocated / requests == 0, $"{allocated} bytes allocated by the workers over {requests} requests");
            Assert.True(allocated < 1024, $"{allocated} bytes allocated by the workers over {requests} requests");
        }
        finally { Directory.Delete(source, recursive: true); }
    }
}
