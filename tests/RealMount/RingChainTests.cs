using Fuselage.Interop;
using Fuselage.Interop.Fuse;
using Fuselage.Samples;

namespace Fuselage.Tests.RealMount;

/// <summary>
/// A ring worker serving one client that waits for each answer (reads at queue depth 1) sends a READ's reply and its
/// next READ of /dev/fuse as one chain behind the file read: the kernel answers as the data lands, and the thread wakes
/// once per request. A short or failed read drops the rest of the chain and is answered as usual; two clients whose
/// requests interleave are never chained (a second client's request would wait for the chain's file read).
/// </summary>
[Collection("real mounts")]
public class RingChainTests
{
    private const int Block = 4096;

    [Fact]
    public void One_client_reading_block_after_block_is_answered_through_chains_and_the_short_read_at_the_end_as_usual()
    {
        string source = Directory.CreateTempSubdirectory("fuselage-src-").FullName;
        try
        {
            var content = new byte[40 * Block + 123];
            new Random(11).NextBytes(content);
            File.WriteAllBytes(Path.Combine(source, "data"), content);
            using var m = new MountedFs(new PassthroughFs(source), TransportKind.Ring);
            var stats = m.Server.Stats!;
            long droppedBefore = 0;
            var read = m.Run(() =>
            {
                // O_DIRECT: each pread is one READ of its own size; the last one asks for a whole block and gets 123 bytes.
                int fd = Posix.Open(m.PathOf("data"), Posix.O_RDONLY | Posix.O_DIRECT);
                Assert.True(fd >= 0, $"open: {fd}");
                try
                {
                    droppedBefore = stats.LinkedRepliesDropped;
                    return Posix.PReadUntilShort(fd, Block);
                }
                finally { Posix.Close(fd); }
            });
            Assert.Equal(content, read);
            Assert.True(stats.LinkedReplies >= 30, $"{stats.LinkedReplies} of 41 reads were chained"); // all but the first few
            Assert.Equal(1, stats.LinkedRepliesDropped - droppedBefore);
            m.DisposeAndAssertStoppedCleanly();
        }
        finally { Directory.Delete(source, recursive: true); }
    }

    [Fact]
    public void Failed_file_reads_drop_their_chains_and_their_errors_reach_the_caller()
    {
        using var m = new MountedFs(new HeldPipeFs(heldRead: -1), TransportKind.Ring); // "held" reads fd -1
        var stats = m.Server.Stats!;
        var results = m.Run(() =>
        {
            int fd = Posix.Open(m.PathOf("held"), Posix.O_RDONLY);
            Assert.True(fd >= 0, $"open: {fd}");
            try { return Enumerable.Range(0, 20).Select(_ => Posix.PRead(fd, new byte[1], 0)).ToArray(); }
            finally { Posix.Close(fd); }
        });
        Assert.All(results, r => Assert.Equal(-Errno.EBADF, r));
        Assert.True(stats.LinkedRepliesDropped >= 10, $"{stats.LinkedRepliesDropped} of 20 failed reads were chained");
        Assert.Equal(stats.LinkedReplies, stats.LinkedRepliesDropped);
        m.DisposeAndAssertStoppedCleanly();
    }

    [Fact]
    public void Two_clients_reading_in_turns_are_never_chained_and_both_read_what_the_file_holds()
    {
        string source = Directory.CreateTempSubdirectory("fuselage-src-").FullName;
        try
        {
            var content = new byte[64 * Block];
            new Random(13).NextBytes(content);
            File.WriteAllBytes(Path.Combine(source, "data"), content);
            using var m = new MountedFs(new PassthroughFs(source), TransportKind.Ring);
            var stats = m.Server.Stats!;
            m.Run(() =>
            {
                int fd = Posix.Open(m.PathOf("data"), Posix.O_RDONLY | Posix.O_DIRECT);
                Assert.True(fd >= 0, $"open: {fd}");
                try
                {
                    // Strictly in turns: every request comes from the other thread than the one before.
                    var turn = new[] { new SemaphoreSlim(1), new SemaphoreSlim(0) };
                    var failures = new System.Collections.Concurrent.ConcurrentQueue<string>();
                    var clients = Enumerable.Range(0, 2).Select(c => new Thread(() =>
                    {
                        var buffer = new byte[Block];
                        for (int i = c; i < 64; i += 2)
                        {
                            if (!turn[c].Wait(MountedFs.Watchdog)) { failures.Enqueue($"client {c} never got its turn"); return; }
                            long n = Posix.PRead(fd, buffer, i * (long)Block);
                            if (n != Block || !buffer.AsSpan().SequenceEqual(content.AsSpan(i * Block, Block))) failures.Enqueue($"block {i}: {n} bytes, or other bytes");
                            turn[1 - c].Release();
                        }
                    })).ToList();
                    clients.ForEach(t => t.Start());
                    Assert.All(clients, t => Assert.True(t.Join(MountedFs.Watchdog)));
                    Assert.Empty(failures);
                }
                finally { Posix.Close(fd); }
                return 0;
            });
            Assert.Equal(0, stats.LinkedReplies);
            m.DisposeAndAssertStoppedCleanly();
        }
        finally { Directory.Delete(source, recursive: true); }
    }

    [Fact]
    public void A_chain_whose_read_stays_held_leaves_other_clients_to_the_next_worker()
    {
        Span<int> held = stackalloc int[2];
        Assert.Equal(0, Libc.pipe2(held, Libc.O_CLOEXEC));
        int heldRead = held[0], heldWrite = held[1];
        const int AnsweredAtOnce = 12; // bytes in the pipe: reads 1 to 12 return at once, read 13 waits for the test
        try
        {
            var fs = new HeldPipeFs(heldRead);
            using var m = new MountedFs(fs, TransportKind.Ring);
            var stats = m.Server.Stats!;
            Assert.Equal(AnsweredAtOnce, Libc.Write(heldWrite, new byte[AnsweredAtOnce]));
            m.Run(() =>
            {
                long lastResult = long.MinValue;
                var reader = new Thread(() =>
                {
                    int fd = Posix.Open(m.PathOf("held"), Posix.O_RDONLY);
                    long result = fd;
                    for (int i = 0; i <= AnsweredAtOnce && fd >= 0 && result >= 0; i++) result = Posix.PRead(fd, new byte[1], 0);
                    if (fd >= 0) Posix.Close(fd);
                    Volatile.Write(ref lastResult, result);
                }) { IsBackground = true };
                reader.Start();
                // Read 13 reached the filesystem: its chain holds worker 0, with no READ of /dev/fuse posted.
                Assert.True(SpinWait.SpinUntil(() => stats.CountOf(FuseOpcode.Read) > AnsweredAtOnce, MountedFs.Watchdog / 3), "read 13 never came");
                Assert.True(stats.LinkedReplies >= 2, $"{stats.LinkedReplies} reads were chained");

                int probe = Posix.Open(m.PathOf("probe"), Posix.O_RDONLY); // served by worker 1, which takes over
                Assert.True(probe >= 0, $"open probe: {probe}");
                try { Assert.Equal(1, Posix.PRead(probe, new byte[1], 0)); }
                finally { Posix.Close(probe); }
                Assert.Equal("fuselage-ring-1", fs.ProbeLookupThread);
                Assert.Equal(long.MinValue, Volatile.Read(ref lastResult)); // still held

                Assert.Equal(1, Libc.Write(heldWrite, [7]));
                Assert.True(reader.Join(MountedFs.Watchdog), "the held read never finished");
                Assert.Equal(1, lastResult);
                return 0;
            });
            m.DisposeAndAssertStoppedCleanly();
        }
        finally
        {
            Libc.close(heldWrite);
            Libc.close(heldRead);
        }
    }
}
