using Fuselage.Interop;
using Fuselage.Interop.Fuse;

namespace Fuselage.Tests.RealMount;

/// <summary>
/// The threads transport runs methods on its reading threads, so a method that blocks (a synchronous pread, a
/// lock) takes its thread with it. Like libfuse it starts another worker when a read leaves nobody reading,
/// up to MaxWorkers: a blocked request must not stop the others.
/// </summary>
[Collection("real mounts")]
public class ThreadsGrowthTests
{
    /// <summary>LOOKUP of "slow&lt;n&gt;" blocks its thread until released; every other name answers at once.</summary>
    internal sealed class BlockingLookupFs : FileSystem
    {
        public readonly ManualResetEventSlim Gate = new();
        public readonly SemaphoreSlim Entered = new(0);

        public override ValueTask<int> Lookup(Request request, ulong parent, ReadOnlySpan<byte> name)
        {
            if (parent != 1) return Error(Errno.ENOENT);
            if (name.StartsWith("slow"u8))
            {
                Entered.Release();
                Gate.Wait(MountedFs.Watchdog); // blocks the calling thread, as a synchronous method would
            }
            request.Entry.NodeId = 2;
            FillAttr(ref request.Entry.Attr, 2);
            return Success;
        }

        public override ValueTask<int> GetAttr(Request request, ulong ino, ulong? fh)
        {
            FillAttr(ref request.Attr, ino);
            return Success;
        }

        internal static void FillAttr(ref FuseAttr attr, ulong ino)
        {
            attr.Ino = ino;
            attr.Mode = ino == 1 ? 0x4000u | 0x1ED : 0x8000u | 0x1A4;
            attr.Nlink = ino == 1 ? 2u : 1u;
            attr.Blksize = 4096;
        }
    }

    /// <summary>LOOKUP of "slow&lt;n&gt;" waits (without holding its thread) until cancelled.</summary>
    private sealed class WaitingLookupFs : FileSystem
    {
        public readonly SemaphoreSlim Entered = new(0);
        public int Cancelled;

        public override ValueTask<int> Lookup(Request request, ulong parent, ReadOnlySpan<byte> name)
            => name.StartsWith("slow"u8) ? WaitForCancellation(request.CancellationToken) : Error(Errno.ENOENT);

        private async ValueTask<int> WaitForCancellation(CancellationToken token)
        {
            Entered.Release();
            try { await Task.Delay(Timeout.Infinite, token); }
            catch (OperationCanceledException) { Interlocked.Increment(ref Cancelled); throw; }
            return 0;
        }
    }

    private static int Workers(MountedFs m) => m.Server.Stats!.PerSource().Keys.Count(k => k.StartsWith("threads/", StringComparison.Ordinal));

    internal static Task<bool> StatInBackground(string path) =>
        Task.Factory.StartNew(() => Libc.FStatAt(Libc.AT_FDCWD, System.Text.Encoding.UTF8.GetBytes(path), out _, 0) == 0,
            CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    [Fact]
    public async Task A_blocked_method_does_not_stop_the_next_request()
    {
        var fs = new BlockingLookupFs();
        using var m = new MountedFs(fs, TransportKind.Threads, configure: o => { o.Workers = 1; o.MaxWorkers = 4; });
        var slow = StatInBackground(m.PathOf("slow1"));
        try
        {
            Assert.True(fs.Entered.Wait(MountedFs.Watchdog), "the slow LOOKUP never arrived");
            // Every worker that was there may be stuck: this stat needs one started since (a fixed pool of one hangs here).
            Assert.True(m.Run(() => File.Exists(m.PathOf("fast"))));
            Assert.InRange(Workers(m), 2, 4);
        }
        finally { fs.Gate.Set(); }
        Assert.True(await slow.WaitAsync(MountedFs.Watchdog));
    }

    [Fact]
    public async Task Growth_stops_at_MaxWorkers()
    {
        var fs = new BlockingLookupFs();
        using var m = new MountedFs(fs, TransportKind.Threads, configure: o => { o.Workers = 1; o.MaxWorkers = 3; });
        var slow = new List<Task<bool>>();
        try
        {
            // Two workers blocked; the third reads on. A read that leaves nobody reading starts a worker (INIT's
            // already did), so without the cap the "fast" LOOKUP would make a fourth.
            for (int i = 0; i < 2; i++)
            {
                slow.Add(StatInBackground(m.PathOf($"slow{i}")));
                Assert.True(fs.Entered.Wait(MountedFs.Watchdog), $"slow LOOKUP {i} never arrived");
            }
            Assert.True(m.Run(() => File.Exists(m.PathOf("fast"))));
            Assert.Equal(3, Workers(m));
        }
        finally { fs.Gate.Set(); }
        foreach (var t in slow) Assert.True(await t.WaitAsync(MountedFs.Watchdog));
        Assert.Equal(3, Workers(m));
    }

    [Fact]
    public async Task Requests_waiting_on_grown_workers_are_still_cancelled_at_teardown()
    {
        // One request per worker (depth 1): eleven waiting lookups need eleven workers, all but one grown. Every one
        // must be reachable by INTERRUPT and by teardown, so the in-flight table is sized for MaxWorkers.
        var fs = new WaitingLookupFs();
        using var m = new MountedFs(fs, TransportKind.Threads, configure: o => { o.Workers = 1; o.Depth = 1; o.MaxWorkers = 12; });
        var clients = Enumerable.Range(0, 11).Select(i => StatInBackground(m.PathOf($"slow{i}"))).ToList();
        for (int i = 0; i < clients.Count; i++) Assert.True(fs.Entered.Wait(MountedFs.Watchdog), $"only {i} lookups arrived");
        await Task.Run(() => m.Server.Stop()).WaitAsync(MountedFs.Watchdog);
        Assert.Equal(clients.Count, Volatile.Read(ref fs.Cancelled));
        await Task.WhenAll(clients).WaitAsync(MountedFs.Watchdog);
    }
}

/// <summary>
/// A late reply after teardown, seen by giving the mount's closed fd number to a pipe. Alone: a test of another
/// collection opening files at the same moment could take that number (dup3 then fails with EBUSY, or closes its file).
/// </summary>
[Collection(RealMountsAloneCollection.Name)]
public class ThreadsTeardownAloneTests
{
    [Fact]
    public async Task A_method_that_outlives_teardown_replies_on_its_own_fd_not_on_the_closed_mount_fd()
    {
        var fs = new ThreadsGrowthTests.BlockingLookupFs();
        using var m = new MountedFs(fs, TransportKind.Threads, configure: o => { o.Workers = 1; o.MaxWorkers = 1; });
        int mountFd = m.Server.Mount!.Fd;
        Span<int> pipe = stackalloc int[2];
        ErrnoException.Check(Libc.pipe2(pipe, Libc.O_CLOEXEC | Libc.O_NONBLOCK), "pipe2");
        int pipeRead = pipe[0], pipeWrite = pipe[1];
        bool mountFdIsPipe = false;
        var client = ThreadsGrowthTests.StatInBackground(m.PathOf("slow1"));
        try
        {
            Assert.True(await fs.Entered.WaitAsync(MountedFs.Watchdog), "LOOKUP never reached the filesystem");
            // The method holds its thread and ignores cancellation: teardown aborts the connection, then gives up on it.
            m.Server.Stop(TimeSpan.FromMilliseconds(100));
            Assert.Contains(m.LogLines, l => l.Contains("still running after teardown"));
            Assert.False(await client.WaitAsync(MountedFs.Watchdog)); // the abort failed the caller

            // The mount's fd number, closed by teardown, now belongs to a pipe: a reply sent there would be readable.
            ErrnoException.Check(Libc.dup3(pipeWrite, mountFd, Libc.O_CLOEXEC), "dup3");
            mountFdIsPipe = true;
            fs.Gate.Set();
            try { await m.Server.Completion.WaitAsync(MountedFs.Watchdog); } catch (Exception e) when (e is not TimeoutException) { }

            Span<byte> leaked = stackalloc byte[256];
            nint n = Libc.Read(pipeRead, leaked);
            Assert.True(n < 0 && Errno.Last == Errno.EAGAIN, $"the late reply went to the mount's old fd number: read {n} bytes");
        }
        finally
        {
            fs.Gate.Set();
            if (mountFdIsPipe) Libc.close(mountFd);
            Libc.close(pipeRead);
            Libc.close(pipeWrite);
        }
    }
}
