using Fuselage.Interop;

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
    public async Task A_uring_queue_registers_more_entries_as_soon_as_every_one_waits()
    {
        // The kernel routes a request to the queue of its caller's CPU, and a request it queued while no entry was free
        // waits for a COMMIT even after a REGISTER (6.18): so the callers come one at a time, from one CPU, each once
        // the queue has room for it.
        const int waiters = 6, depth = 2;
        var fs = new GateFs(waiters);
        using var mount = new MountedFs(fs, TransportKind.Uring, configure: o =>
        {
            o.Depth = depth;
            o.MaxDepth = 8;
        });
        var clients = new List<Task>();
        int Grown() => mount.LogLines.Count(l => l.Contains("uring/q0: all") && l.Contains("wait on the filesystem; now"));
        try
        {
            for (int i = 0; i < waiters; i++)
            {
                string path = mount.PathOf($"wait-{i}");
                clients.Add(Task.Factory.StartNew(() => OnCpu0(() => File.Exists(path)), TaskCreationOptions.LongRunning));
                int reached = i + 1;
                Assert.True(SpinWait.SpinUntil(() => fs.Waiting.CurrentCount == waiters - reached, MountedFs.Watchdog),
                    $"{waiters - fs.Waiting.CurrentCount} of {reached} waiting lookups reached the filesystem{mount.FormatLog()}");
                // Every entry waits now and then: the queue registers more before the next caller comes.
                if (reached % depth == 0)
                    Assert.True(SpinWait.SpinUntil(() => Grown() == reached / depth, MountedFs.Watchdog), $"queue 0 did not grow{mount.FormatLog()}");
            }
            Assert.False(mount.Run(() => OnCpu0(() => File.Exists(mount.PathOf("open")))));
            await Task.WhenAll(clients).WaitAsync(MountedFs.Watchdog); // TimeoutException: a waiting lookup was never answered
            Assert.Contains(mount.LogLines, l => l.Contains("now 8 (at most 8)"));
        }
        finally
        {
            fs.Gate.TrySetResult();
            await Task.WhenAny(Task.WhenAll(clients), Task.Delay(MountedFs.Watchdog));
        }
    }

    private static bool OnCpu0(Func<bool> call)
    {
        Assert.Equal(0, Libc.PinCurrentThread(0));
        return call();
    }
}
