using Fuselage.Interop;
using Fuselage.Samples;

namespace Fuselage.Tests.RealMount;

/// <summary>
/// Methods that wait on one another: more of them than a worker (or a uring queue) has requests. The worker takes more
/// (up to MaxDepth), so the request that releases them can still be read; before, it never was, and every caller hung.
/// </summary>
[Collection("real mounts")]
public class WaitingMethodsTests
{
    /// <summary>LOOKUP "wait-N" waits until a LOOKUP "open" opens the gate; both then answer ENOENT.</summary>
    private sealed class GateFs : FileSystem
    {
        public readonly TaskCompletionSource Gate = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public readonly CountdownEvent Waiting;

        public GateFs(int waiters) => Waiting = new CountdownEvent(waiters);

        public override ValueTask<int> GetAttr(Request request, ulong ino, ulong? fh)
        {
            if (ino != 1) return Error(Errno.ENOENT);
            request.Attr.Ino = ino;
            request.Attr.Mode = 0x4000u | 0x1ED;
            request.Attr.Nlink = 2;
            return Success;
        }

        public override ValueTask<int> Lookup(Request request, ulong parent, ReadOnlySpan<byte> name)
        {
            if (name.SequenceEqual("open"u8)) Gate.TrySetResult();
            else if (name.StartsWith("wait-"u8)) return WaitForGate();
            return Error(Errno.ENOENT);
        }

        private async ValueTask<int> WaitForGate()
        {
            Waiting.Signal();
            await Gate.Task;
            return -Errno.ENOENT;
        }
    }

    public static TheoryData<TransportKind> Transports => [TransportKind.Ring, TransportKind.Threads];

    [Theory, MemberData(nameof(Transports))]
    public async Task More_waiting_methods_than_a_worker_has_requests_still_let_the_releasing_request_through(TransportKind transport)
    {
        const int waiters = 6;
        var fs = new GateFs(waiters);
        using var mount = new MountedFs(fs, transport, configure: o =>
        {
            o.Workers = 1;
            o.MaxWorkers = 1;
            o.Depth = 2;
            o.MaxDepth = 8;
        });
        var clients = new List<Task>();
        try
        {
            for (int i = 0; i < waiters; i++)
            {
                string path = mount.PathOf($"wait-{i}");
                clients.Add(Task.Factory.StartNew(() => File.Exists(path), TaskCreationOptions.LongRunning));
            }
            // Three times the two requests a worker starts with: read only if it takes more.
            Assert.True(fs.Waiting.Wait(MountedFs.Watchdog), $"{waiters - fs.Waiting.CurrentCount} of {waiters} waiting lookups reached the filesystem{mount.FormatLog()}");
            Assert.False(mount.Run(() => File.Exists(mount.PathOf("open"))));
            await Task.WhenAll(clients).WaitAsync(MountedFs.Watchdog); // TimeoutException: a waiting lookup was never answered
            if (transport == TransportKind.Ring) Assert.Contains(mount.LogLines, l => l.Contains("wait on the filesystem; now"));
        }
        finally
        {
            fs.Gate.TrySetResult(); // a failed test must not leave callers blocked on the mount
            await Task.WhenAny(Task.WhenAll(clients), Task.Delay(MountedFs.Watchdog));
        }
    }

    [Fact]
    public async Task A_uring_queue_registers_more_entries_before_the_last_is_taken()
    {
        // The kernel routes a request to the queue of its caller's CPU, and a request it queued while no entry was free
        // waits for a COMMIT even after a REGISTER (6.18): the queue grows while one entry is still free, and the
        // callers come one at a time, from one CPU, each once the queue has grown for it.
        const int waiters = 6, depth = 2;
        var fs = new GateFs(waiters);
        using var mount = new MountedFs(fs, TransportKind.Uring, configure: o =>
        {
            o.Depth = depth;
            o.MaxDepth = 8;
        });
        var clients = new List<Task>();
        int cpu = FirstAllowedCpu(); // its queue serves every caller
        int Grown() => mount.LogLines.Count(l => l.Contains($"uring/q{cpu}: ") && l.Contains("wait on the filesystem; now"));
        try
        {
            for (int i = 0; i < waiters; i++)
            {
                string path = mount.PathOf($"wait-{i}");
                clients.Add(Task.Factory.StartNew(() => OnCpu(cpu, () => File.Exists(path)), TaskCreationOptions.LongRunning));
                int reached = i + 1;
                Assert.True(SpinWait.SpinUntil(() => fs.Waiting.CurrentCount == waiters - reached, MountedFs.Watchdog),
                    $"{waiters - fs.Waiting.CurrentCount} of {reached} waiting lookups reached the filesystem{mount.FormatLog()}");
                // Once at most one entry is free, the queue registers more before the next caller comes: 2 entries,
                // 4 after the first caller, 6 after the third, 8 after the fifth.
                int growths = Math.Min(3, (reached + 1) / 2);
                Assert.True(SpinWait.SpinUntil(() => Grown() == growths, MountedFs.Watchdog), $"queue {cpu} did not grow{mount.FormatLog()}");
            }
            Assert.False(mount.Run(() => OnCpu(cpu, () => File.Exists(mount.PathOf("open")))));
            await Task.WhenAll(clients).WaitAsync(MountedFs.Watchdog); // TimeoutException: a waiting lookup was never answered
            Assert.Contains(mount.LogLines, l => l.Contains("now 8 (at most 8)"));
        }
        finally
        {
            fs.Gate.TrySetResult();
            await Task.WhenAny(Task.WhenAll(clients), Task.Delay(MountedFs.Watchdog));
        }
    }

    private static bool OnCpu(int cpu, Func<bool> call)
    {
        Assert.Equal(0, Libc.PinCurrentThread(cpu));
        return call();
    }

    /// <summary>The lowest CPU this process may run on (a cpuset may leave CPU 0 out).</summary>
    private static int FirstAllowedCpu()
    {
        Span<ulong> mask = stackalloc ulong[Libc.CpuSetWords];
        Assert.Equal(0, Libc.GetCurrentThreadAffinity(mask));
        for (int cpu = 0; cpu < mask.Length * 64; cpu++)
            if ((mask[cpu / 64] & (1UL << (cpu % 64))) != 0) return cpu;
        throw new InvalidOperationException("no CPU allowed");
    }

    public static TheoryData<TransportKind> AllTransports => [TransportKind.Ring, TransportKind.Threads, TransportKind.Uring];

    [Theory, MemberData(nameof(AllTransports))]
    public async Task Reads_in_flight_are_no_reason_to_take_more_requests(TransportKind transport)
    {
        // 48 O_DIRECT readers over 2 workers of 8 requests (a queue per CPU for uring): every request is often busy,
        // but with its file read, which comes back by itself. Requests are added only for methods that wait on others.
        string source = Directory.CreateTempSubdirectory("fuselage-src-").FullName;
        try
        {
            File.WriteAllBytes(Path.Combine(source, "data"), new byte[1 << 20]);
            using var mount = new MountedFs(new PassthroughFs(source), transport);
            string path = mount.PathOf("data");
            var readers = Enumerable.Range(0, 48).Select(r => Task.Factory.StartNew(() =>
            {
                int fd = Posix.Open(path, Posix.O_RDONLY | Posix.O_DIRECT);
                try
                {
                    var buffer = new byte[4096];
                    for (int i = 0; i < 100; i++) Assert.Equal(4096, Posix.PRead(fd, buffer, (long)((r * 100 + i) % 256) * 4096));
                }
                finally { Posix.Close(fd); }
            }, TaskCreationOptions.LongRunning)).ToArray();
            await Task.WhenAll(readers).WaitAsync(MountedFs.Watchdog);
            Assert.DoesNotContain(mount.LogLines, l => l.Contains("wait on the filesystem"));
        }
        finally { Directory.Delete(source, recursive: true); }
    }
}
