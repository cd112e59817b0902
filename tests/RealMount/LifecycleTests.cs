using System.Diagnostics;
using Fuselage.Interop;
using Fuselage.Interop.Fuse;
using Fuselage.Samples;

namespace Fuselage.Tests;

/// <summary>
/// Session lifetime on real mounts, for every transport: interrupts of slow requests, unmount and fusectl
/// abort with requests in flight, a client killed mid-read. The uring cases switch enable_uring on and restore it.
/// </summary>
[Collection("real mounts")]
public class LifecycleTests
{
    /// <summary>MemFs with one name ("slow") whose LOOKUP and one file ("slowfile") whose READ wait until interrupted.</summary>
    private sealed class SlowFs : FileSystem
    {
        private readonly MemFs _inner = new();
        public readonly TaskCompletionSource Started = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public readonly TaskCompletionSource Cancelled = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public ulong SlowFileIno;
        public int Destroys;
        public bool CancelledBeforeDestroy;
        public bool ThrowOnDestroy;
        /// <summary>When set, READ of the slow file reads a byte from this pipe (nobody writes to it) through the worker's ring.</summary>
        public int HeldPipeFd = -1;
        public readonly TaskCompletionSource<int> HeldReadResult = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public override void Destroy()
        {
            CancelledBeforeDestroy = Cancelled.Task.IsCompleted;
            Interlocked.Increment(ref Destroys);
            if (ThrowOnDestroy) throw new InvalidOperationException("destroy failed");
        }

        public override void Init(FuseConnection connection) => _inner.Init(connection);
        public override void Forget(ulong ino, ulong nlookup) => _inner.Forget(ino, nlookup);
        public override ValueTask<int> GetAttr(Request r, ulong ino, ulong? fh) => _inner.GetAttr(r, ino, fh);
        public override ValueTask<int> Create(Request r, ulong p, ReadOnlySpan<byte> n, uint m, uint u, int f) => _inner.Create(r, p, n, m, u, f);
        public override ValueTask<int> Write(Request r, ulong ino, ulong fh, long o, ReadOnlySpan<byte> d, FuseWriteFlags w) => _inner.Write(r, ino, fh, o, d, w);
        public override ValueTask<int> Open(Request r, ulong ino, int flags) => _inner.Open(r, ino, flags);
        public override ValueTask<int> Release(Request r, ulong ino, ulong fh, int flags) => _inner.Release(r, ino, fh, flags);
        public override ValueTask<int> Flush(Request r, ulong ino, ulong fh, ulong owner) => _inner.Flush(r, ino, fh, owner);
        public override ValueTask<int> SetAttr(Request r, ulong ino, in SetAttrArgs a) => _inner.SetAttr(r, ino, a);
        public override ValueTask<int> GetXattr(Request r, ulong ino, ReadOnlySpan<byte> n, Span<byte> v) => _inner.GetXattr(r, ino, n, v);

        public override ValueTask<int> Lookup(Request r, ulong parent, ReadOnlySpan<byte> name)
            => name.SequenceEqual("slow"u8) ? WaitForInterrupt(r) : _inner.Lookup(r, parent, name);

        public override ValueTask<int> Read(Request r, ulong ino, ulong fh, long offset, Span<byte> buffer)
            => ino != Volatile.Read(ref SlowFileIno) ? _inner.Read(r, ino, fh, offset, buffer)
                : HeldPipeFd >= 0 ? ReadFromHeldPipe(r) : WaitForInterrupt(r);

        private async ValueTask<int> ReadFromHeldPipe(Request r)
        {
            var read = r.ReadFileAsync(HeldPipeFd, -1, 1);
            Started.TrySetResult();
            int n = await read;
            HeldReadResult.TrySetResult(n);
            return n;
        }

        private async ValueTask<int> WaitForInterrupt(Request r)
        {
            var token = r.CancellationToken;
            Started.TrySetResult();
            try { await Task.Delay(Timeout.Infinite, token); }
            catch (OperationCanceledException) { Cancelled.TrySetResult(); throw; }
            return 0;
        }
    }

    public static TheoryData<TransportKind> Transports => [TransportKind.Ring, TransportKind.Threads, TransportKind.Uring];
    /// <summary>The transports that run a method's file I/O on their own ring.</summary>
    public static TheoryData<TransportKind> RingTransports => [TransportKind.Ring, TransportKind.Uring];


    /// <summary>Started directly (no shell in between) so that killing it kills the process blocked in the kernel.</summary>
    private static Process Client(string program, params string[] args) => Process.Start(new ProcessStartInfo(program, args) { RedirectStandardError = true })!;

    /// <summary>Waits for the client's request to reach the slow method; a client that ends first fails the test with its reason.</summary>
    private static async Task ReachesTheFileSystem(SlowFs fs, Process client, MountedFs m)
    {
        var first = await Task.WhenAny(fs.Started.Task, client.WaitForExitAsync()).WaitAsync(MountedFs.Watchdog);
        if (first != fs.Started.Task)
            Assert.Fail($"{client.StartInfo.FileName} exited ({client.ExitCode}) before its request reached the filesystem: {client.StandardError.ReadToEnd()}{m.FormatLog()}");
    }

    private static void KillHard(Process p)
    {
        try { p.Kill(); } catch (InvalidOperationException) { }
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task A_killed_client_interrupts_its_slow_lookup_and_the_server_keeps_serving(TransportKind transport)
    {
        var fs = new SlowFs();
        using var m = new MountedFs(fs, transport);
        using var client = Client("stat", m.PathOf("slow"));
        await ReachesTheFileSystem(fs, client, m);
        KillHard(client); // a fatal signal on a request the server already holds: the kernel sends INTERRUPT
        await fs.Cancelled.Task.WaitAsync(MountedFs.Watchdog);
        Assert.True(client.WaitForExit(MountedFs.Watchdog));
        m.Run(() =>
        {
            File.WriteAllText(m.PathOf("after"), "still serving");
            Assert.Equal("still serving", File.ReadAllText(m.PathOf("after")));
        });
        Assert.Contains(m.Server.Stats!.PerSource(), s => s.Value > 0);
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task A_client_killed_mid_read_does_not_stop_teardown(TransportKind transport)
    {
        var fs = new SlowFs();
        var m = new MountedFs(fs, transport);
        Process? client = null;
        try
        {
            string file = m.PathOf("slowfile");
            m.Run(() => File.WriteAllText(file, new string('x', 8192)));
            Assert.Equal(0, Posix.LStat(file, out var st));
            fs.SlowFileIno = st.Ino;
            // An O_DIRECT read with FUSE_ASYNC_DIO waits uninterruptibly: the kernel sends no INTERRUPT and the
            // killed client lingers until the request ends. Teardown must end it and release the client.
            client = Client("dd", $"if={file}", "of=/dev/null", "bs=4096", "count=1", "iflag=direct", "status=none");
            await ReachesTheFileSystem(fs, client, m);
            KillHard(client);
            await Task.Run(() => m.Server.Stop()).WaitAsync(MountedFs.Watchdog);
            await fs.Cancelled.Task.WaitAsync(MountedFs.Watchdog); // teardown cancels methods still waiting
            Assert.True(client.WaitForExit(MountedFs.Watchdog), "the killed client never exited");
            Assert.False(FuseMount.IsMounted(m.Root));
        }
        finally
        {
            if (client is not null) { KillHard(client); client.Dispose(); }
            m.Dispose();
        }
    }

    [Theory]
    [MemberData(nameof(RingTransports))]
    public async Task Teardown_cancels_file_io_in_flight_and_its_method_hears_back(TransportKind transport)
    {
        Span<int> pipe = stackalloc int[2];
        ErrnoException.Check(Libc.pipe2(pipe, Libc.O_CLOEXEC), "pipe2");
        int heldRead = pipe[0], heldWrite = pipe[1];
        var fs = new SlowFs { HeldPipeFd = heldRead };
        var m = new MountedFs(fs, transport, configure: o => o.Workers = 1);
        Process? client = null;
        try
        {
            string file = m.PathOf("slowfile");
            m.Run(() => File.WriteAllText(file, new string('x', 8192)));
            Assert.Equal(0, Posix.LStat(file, out var st));
            fs.SlowFileIno = st.Ino;
            client = Client("dd", $"if={file}", "of=/dev/null", "bs=4096", "count=1", "iflag=direct", "status=none");
            await ReachesTheFileSystem(fs, client, m);
            // The read may not even be submitted yet (it goes with the worker's next wait): either way it must end.
            // dd keeps the mount busy, so it is detached and its connection lives on: uring's queues cancel their file
            // I/O themselves, and the abort comes once they hold no request, not after the timeout.
            await Task.Run(() => m.Server.Stop(MountedFs.Watchdog / 2)).WaitAsync(MountedFs.Watchdog);
            Assert.Equal(-Errno.ECANCELED, await fs.HeldReadResult.Task.WaitAsync(MountedFs.Watchdog));
            Assert.False(m.LogLines.Any(l => l.Contains("still running after teardown") || l.Contains("did not stop within")), m.FormatLog());
            Assert.Equal(1, fs.Destroys); // the session ended whole: buffers freed, the filesystem destroyed
            Assert.True(client.WaitForExit(MountedFs.Watchdog), "the client never exited");
        }
        finally
        {
            if (client is not null) { KillHard(client); client.Dispose(); }
            m.Dispose();
            Libc.close(heldRead);
            Libc.close(heldWrite);
        }
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task Stop_on_a_busy_mount_aborts_once_nothing_is_in_flight_not_after_the_timeout(TransportKind transport)
    {
        var fs = new SlowFs();
        var m = new MountedFs(fs, transport);
        int held = -1;
        try
        {
            held = m.Run(() => Libc.open(m.Root, Libc.O_RDONLY | Libc.O_DIRECTORY | Libc.O_CLOEXEC, 0));
            Assert.True(held >= 0, "open of the mount's root failed");
            // The open fd keeps the mount busy: unmounting detaches it and its connection lives on. Every worker or
            // queue waits in the kernel for requests that will not come; the timeout is the watchdog's half, so
            // waiting it out would show in the log.
            await Task.Run(() => m.Server.Stop(MountedFs.Watchdog / 2)).WaitAsync(MountedFs.Watchdog);
            Assert.True(m.Server.Mount!.DetachedWhileBusy);
            Assert.True(m.Server.Completion.IsCompleted);
            Assert.False(m.LogLines.Any(l => l.Contains("did not stop within") || l.Contains("still running after teardown")), m.FormatLog());
            Assert.Equal(1, fs.Destroys);
            // The detached mount is still reachable through the fd: a lookup there fails at once, as the connection was aborted.
            Assert.Equal(-Errno.ENOTCONN, m.Run(() => Posix.LStat($"/proc/self/fd/{held}/never-seen", out _)));
        }
        finally
        {
            if (held >= 0) Libc.close(held);
            m.Dispose();
        }
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task Stop_under_load_on_a_busy_mount_ends_every_client_and_the_session_whole(TransportKind transport)
    {
        const int clients = 4, opsBeforeStop = 200;
        var fs = new SlowFs();
        var m = new MountedFs(fs, transport);
        int held = -1;
        try
        {
            held = m.Run(() => Libc.open(m.Root, Libc.O_RDONLY | Libc.O_DIRECTORY | Libc.O_CLOEXEC, 0));
            Assert.True(held >= 0, "open of the mount's root failed");
            int reached = 0; // clients that made opsBeforeStop rounds
            var enoughDone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            // Through the held fd, so the clients keep to the mount once it is detached (its path then names the bare directory).
            var loops = Enumerable.Range(0, clients).Select(c => Task.Factory.StartNew(() =>
            {
                string path = $"/proc/self/fd/{held}/client{c}";
                var data = new byte[4096];
                var back = new byte[4096];
                for (int done = 1; ; done++)
                {
                    int fd = Posix.Open(path, Posix.O_CREAT | Posix.O_RDWR);
                    if (fd < 0) return fd;
                    long w = Posix.PWrite(fd, data, 0), r = w < 0 ? w : Posix.PRead(fd, back, 0);
                    Posix.Close(fd);
                    if (w < 0) return (int)w;
                    if (r < 0) return (int)r;
                    if (Posix.LStat(path, out _) is var e and < 0) return e;
                    if (done == opsBeforeStop && Interlocked.Increment(ref reached) == clients) enoughDone.TrySetResult();
                }
            }, TaskCreationOptions.LongRunning)).ToArray();
            await enoughDone.Task.WaitAsync(MountedFs.Watchdog);
            await Task.Run(() => m.Server.Stop(MountedFs.Watchdog / 2)).WaitAsync(MountedFs.Watchdog);
            int[] errors = await Task.WhenAll(loops).WaitAsync(MountedFs.Watchdog); // every client is released
            Assert.All(errors, e => Assert.True(e is -Errno.ENOTCONN or -Errno.ECONNABORTED, $"a client ended with errno {-e}"));
            Assert.True(m.Server.Completion.IsCompleted);
            Assert.False(m.LogLines.Any(l => l.Contains("did not stop within") || l.Contains("still running after teardown")), m.FormatLog());
            Assert.Equal(1, fs.Destroys);
        }
        finally
        {
            if (held >= 0) Libc.close(held);
            m.Dispose();
        }
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task Unmount_with_a_request_in_flight_ends_the_session(TransportKind transport)
    {
        var fs = new SlowFs();
        var m = new MountedFs(fs, transport);
        Process? client = null;
        try
        {
            client = Client("stat", m.PathOf("slow"));
            await ReachesTheFileSystem(fs, client, m);
            var stop = Task.Run(() => m.Server.Stop());
            await stop.WaitAsync(MountedFs.Watchdog);
            await m.Server.Completion.WaitAsync(MountedFs.Watchdog);
            Assert.False(FuseMount.IsMounted(m.Root));
            Assert.True(client.WaitForExit(MountedFs.Watchdog), "the waiting client was never released");
            // The kernel sends DESTROY only to fuseblk mounts; the server ends the session itself, after the last method.
            Assert.Equal(1, fs.Destroys);
            Assert.True(fs.CancelledBeforeDestroy, "Destroy ran while a method was still waiting");
            m.Server.Stop();
            Assert.Equal(1, fs.Destroys);
        }
        finally
        {
            if (client is not null) { KillHard(client); client.Dispose(); }
            m.Dispose();
        }
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task An_external_unmount_then_dispose_destroys_once_and_a_throwing_destroy_is_logged(TransportKind transport)
    {
        var fs = new SlowFs { ThrowOnDestroy = true };
        using var m = new MountedFs(fs, transport);
        m.Run(() => File.WriteAllText(m.PathOf("f"), "x"));
        Assert.Equal(0, Libc.umount2(m.Root, 0)); // someone else unmounts
        await m.Server.Completion.ContinueWith(_ => { }).WaitAsync(MountedFs.Watchdog);
        Assert.Equal(0, fs.Destroys); // the application decides when the server is done: at Stop/Dispose
        m.Server.Dispose();
        Assert.Equal(1, fs.Destroys);
        Assert.Contains(m.LogLines, l => l.Contains("Destroy threw") && l.Contains("destroy failed"));
        Assert.False(FuseMount.IsMounted(m.Root));
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task Fusectl_abort_ends_the_session_and_fails_waiters(TransportKind transport)
    {
        var fs = new SlowFs();
        using var m = new MountedFs(fs, transport);
        using var client = Client("stat", m.PathOf("slow"));
        await ReachesTheFileSystem(fs, client, m);
        Assert.True(m.Server.Mount!.Abort());
        await m.Server.Completion.ContinueWith(_ => { }).WaitAsync(MountedFs.Watchdog);
        Assert.True(client.WaitForExit(MountedFs.Watchdog));
        Assert.NotEqual(0, client.ExitCode);
        // The mount is dead but still present until unmounted: access fails with ENOTCONN.
        Assert.Equal(-Errno.ENOTCONN, Posix.LStat(m.PathOf("x"), out _));
    }

    [Fact]
    public void An_abort_after_the_connection_ended_spares_the_mount_that_took_its_number()
    {
        // The kernel gives a freed connection number to the next mount (lowest free first), so an abort by number
        // after an unmount would kill whichever mount came next: in CI, a parallel mount before its INIT.
        bool shared = false;
        for (int attempt = 0; attempt < 10 && !shared; attempt++)
        {
            string mountpoint = Directory.CreateTempSubdirectory("fuselage-mnt-").FullName;
            var ended = FuseMount.Mount(mountpoint, new MountOptions());
            try
            {
                uint? number = ended.ConnectionId;
                Assert.NotNull(number);
                ended.Unmount(); // not busy: the connection ends and its number is freed
                Assert.False(ended.DetachedWhileBusy);
                using var next = new MountedFs(new MemFs(), TransportKind.Threads);
                shared = next.Server.Mount!.ConnectionId == number;
                Assert.False(ended.Abort());
                Assert.Null(ended.WaitingRequests());
                Assert.False(next.Server.Completion.IsCompleted);
                next.Run(() => File.WriteAllText(next.PathOf("alive"), "yes"));
                Assert.Equal("yes", next.Run(() => File.ReadAllText(next.PathOf("alive"))));
                Assert.NotNull(next.Server.Mount.WaitingRequests()); // its own fusectl files are still reachable
            }
            finally
            {
                ended.Dispose();
                Directory.Delete(mountpoint);
            }
        }
        Assert.True(shared, "no later mount got the ended connection's number in 10 tries, so nothing was shown");
    }

    [SkippableFact]
    public void Uring_transport_is_refused_before_mounting_when_enable_uring_is_off()
    {
        Skip.IfNot(UringSwitch.Available, "this kernel has no FUSE-over-io_uring (enable_uring parameter missing)");
        using var off = new UringSwitch(enabled: false);
        string dir = Directory.CreateTempSubdirectory("fuselage-mnt-").FullName;
        try
        {
            using var server = new FuseServer(new MemFs(), new FuseServerOptions { Transport = TransportKind.Uring });
            var e = Assert.Throws<NotSupportedException>(() => server.Start(dir));
            Assert.Contains("enable_uring", e.Message);
            Assert.Contains("echo Y", e.Message);
            Assert.False(FuseMount.IsMounted(dir));
        }
        finally { Directory.Delete(dir); }
    }
}
