using Fuselage.Interop;
using Fuselage.Interop.Fuse;
using Fuselage.Samples;
using Fuselage.Transport;

namespace Fuselage.Tests.RealMount;

/// <summary>
/// The kernel hands every request to the uring queue of its caller's CPU. With queue sharing, a queue thread already
/// serving a request hands a newly arrived one that moves at least 128 KiB of data to a queue thread serving fewer,
/// which answers it: one client's large requests are served on several CPUs. Smaller ones, and all of them without
/// sharing, stay on the thread of the caller's queue.
/// </summary>
[Collection("real mounts")]
public class UringQueueSharingTests
{
    private static void SkipUnlessTwoQueues()
    {
        Skip.IfNot(UringSwitch.Available, "this kernel has no FUSE-over-io_uring (enable_uring parameter missing)");
        Skip.If(UringTransport.PossibleCpus() < 2, "one CPU: there is one queue and no other thread to share with");
        Span<ulong> allowed = stackalloc ulong[Libc.CpuSetWords];
        Assert.Equal(0, Libc.GetCurrentThreadAffinity(allowed));
        Skip.If((allowed[0] & 1) == 0, "the clients need CPU 0");
    }

    [SkippableTheory]
    [InlineData(true, "fuselage-uring-q1")]
    [InlineData(false, "fuselage-uring-q0")]
    public void A_large_read_arriving_while_its_queue_serves_another_is_served_by_an_idle_queue_only_with_sharing(bool sharing, string expectedThread)
    {
        SkipUnlessTwoQueues();
        Span<int> held = stackalloc int[2];
        Assert.Equal(0, Libc.pipe2(held, Libc.O_CLOEXEC));
        int heldRead = held[0], heldWrite = held[1];
        var fs = new HeldPipeFs(heldRead);
        try
        {
            using var m = new MountedFs(fs, TransportKind.Uring, configure: o =>
            {
                o.UringQueueSharing = sharing;
                o.Policy = new CoherencyPolicy(CacheMode.Classic, TimeSpan.Zero, TimeSpan.Zero, TimeSpan.Zero);
            });
            m.Run(() =>
            {
                // Both clients on CPU 0: the kernel queues all their requests on queue 0.
                Assert.Equal(0, Libc.PinCurrentThread(0));
                long heldResult = long.MinValue;
                var reader = new Thread(() =>
                {
                    Libc.PinCurrentThread(0);
                    int fd = Posix.Open(m.PathOf("held"), Posix.O_RDONLY);
                    heldResult = fd < 0 ? fd : Posix.PRead(fd, new byte[1], 0);
                    if (fd >= 0) Posix.Close(fd);
                }) { IsBackground = true };
                reader.Start();
                Assert.True(fs.HeldReadIssued.Wait(MountedFs.Watchdog / 3), $"the held READ did not reach the filesystem within {MountedFs.Watchdog / 3}");

                // Queue 0 is serving the held READ: the probe's LOOKUP stays there (too small to hand on), its 128 KiB
                // READ goes to the idle queue with sharing.
                int probe = Posix.Open(m.PathOf("probe"), Posix.O_RDONLY);
                Assert.True(probe >= 0, $"open probe: {probe}");
                try { Assert.Equal(HeldPipeFs.ProbeSize, Posix.PRead(probe, new byte[HeldPipeFs.ProbeSize], 0)); }
                finally { Posix.Close(probe); }
                Assert.Equal("fuselage-uring-q0", fs.HeldReadThread);
                Assert.Equal("fuselage-uring-q0", fs.ProbeLookupThread);
                Assert.Equal(expectedThread, fs.ProbeReadThread);

                Assert.Equal(1, Libc.Write(heldWrite, [7])); // lets the held READ finish
                Assert.True(reader.Join(MountedFs.Watchdog), "the held READ never finished");
                Assert.Equal(1, heldResult);
            });
        }
        finally
        {
            Libc.close(heldWrite);
            Libc.close(heldRead);
        }
    }

    /// <summary>
    /// Four clients on CPU 0 keep queue 0 serving several requests at once, so requests are handed over and entries
    /// move between the threads; every read still returns its own data, nothing is allocated per request, and the
    /// mount comes down cleanly with entries on both rings.
    /// </summary>
    [SkippableFact]
    public void Concurrent_clients_of_one_queue_are_served_by_both_threads_correctly_and_without_allocating()
    {
        SkipUnlessTwoQueues();
        const int clients = 4, blocks = 16, blockSize = 128 * 1024, rounds = 500; // blocks large enough to be handed on
        string source = Directory.CreateTempSubdirectory("fuselage-src-").FullName;
        try
        {
            var data = new byte[blocks * blockSize];
            for (int b = 0; b < blocks; b++) data.AsSpan(b * blockSize, blockSize).Fill((byte)(b + 1)); // each block says which it is
            File.WriteAllBytes(Path.Combine(source, "data"), data);
            using var m = new MountedFs(new PassthroughFs(source), TransportKind.Uring);
            var stats = m.Server.Stats!;
            long allocatedBefore = 0, requestsBefore = 0;
            m.Run(() =>
            {
                void ReadConcurrently(int perClient)
                {
                    var failures = new System.Collections.Concurrent.ConcurrentQueue<string>();
                    var threads = Enumerable.Range(0, clients).Select(c => new Thread(() =>
                    {
                        if (Libc.PinCurrentThread(0) != 0) { failures.Enqueue("cannot pin to CPU 0"); return; }
                        int fd = Posix.Open(m.PathOf("data"), Posix.O_RDONLY | Posix.O_DIRECT);
                        if (fd < 0) { failures.Enqueue($"open: {fd}"); return; }
                        var buffer = new byte[blockSize];
                        try
                        {
                            for (int i = 0; i < perClient && failures.IsEmpty; i++)
                            {
                                int block = (i * 7 + c * 13) % blocks;
                                long rc = Posix.PRead(fd, buffer, (long)block * blockSize);
                                if (rc != blockSize) failures.Enqueue($"pread block {block}: {rc}");
                                else if (buffer[0] != block + 1 || buffer[^1] != block + 1) failures.Enqueue($"block {block} read as {buffer[0]}/{buffer[^1]}");
                            }
                        }
                        finally { Posix.Close(fd); }
                    })).ToList();
                    threads.ForEach(t => t.Start());
                    Assert.All(threads, t => Assert.True(t.Join(MountedFs.Watchdog)));
                    Assert.Empty(failures);
                }
                ReadConcurrently(100); // warm-up: JIT, tiering, pools, entries handed out for the first time
                allocatedBefore = stats.WorkerAllocatedBytes;
                requestsBefore = stats.Total;
                ReadConcurrently(rounds);
            });
            long requests = stats.Total - requestsBefore;
            Assert.True(requests >= clients * rounds, $"only {requests} requests reached the server");
            var perSource = stats.PerSource();
            Assert.True(perSource.GetValueOrDefault("uring/q1") > 0, $"queue 1's thread served nothing: {string.Join(", ", perSource)}");
            long allocated = stats.WorkerAllocatedBytes - allocatedBefore;
            Assert.True(allocated < 1024, $"{allocated} bytes allocated by the queue threads over {requests} requests");
        }
        finally { Directory.Delete(source, recursive: true); }
    }
}
