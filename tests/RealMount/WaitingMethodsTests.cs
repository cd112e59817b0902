using Fuselage.Interop;

namespace Fuselage.Tests.RealMount;

/// <summary>
/// Methods that wait on one another: more of them than a worker has requests. The worker takes more (up to
/// MaxDepth), so the request that releases them can still be read; before, it never was, and every caller hung.
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

    public static TheoryData<TransportKind> Transports => new() { TransportKind.Ring, TransportKind.Threads };

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
}
