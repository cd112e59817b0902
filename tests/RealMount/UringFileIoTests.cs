using Fuselage.Interop;
using Fuselage.Interop.Fuse;

namespace Fuselage.Tests.RealMount;

/// <summary>
/// A uring queue is handed every request that arrived while it was busy, and dispatches them one after the other
/// before it waits again. A file I/O prepared while another is in flight must not wait for that: it goes to the
/// kernel at once. Queue sharing is off here: it would hand the second request to the idle queue's thread, where
/// nothing else is in flight.
/// </summary>
[Collection("real mounts")]
public class UringFileIoTests
{
    /// <summary>
    /// READ of "held" reads a pipe nobody writes to until the test says so (a file I/O that stays in flight);
    /// WRITE to "probe" writes its data to another pipe and, before returning, waits for that data to show up there.
    /// </summary>
    private sealed class PipeIoFs(int heldRead, int probeWrite) : FileSystem
    {
        public readonly ManualResetEventSlim HeldReadIssued = new();
        public readonly ManualResetEventSlim ProbeArrived = new();
        public bool? ProbeArrivedBeforeReturn;
        public static readonly TimeSpan ProbeWait = TimeSpan.FromSeconds(10);

        public override ValueTask<int> Lookup(Request request, ulong parent, ReadOnlySpan<byte> name)
        {
            ulong ino = name.SequenceEqual("held"u8) ? 2UL : name.SequenceEqual("probe"u8) ? 3UL : 0;
            if (ino == 0) return new(-Errno.ENOENT);
            request.Entry.NodeId = ino;
            ThreadsGrowthTests.BlockingLookupFs.FillAttr(ref request.Entry.Attr, ino);
            request.Entry.Attr.Size = 4096;
            return Success;
        }

        public override ValueTask<int> GetAttr(Request request, ulong ino, ulong? fh)
        {
            ThreadsGrowthTests.BlockingLookupFs.FillAttr(ref request.Attr, ino);
            request.Attr.Size = ino == 1 ? 0 : 4096UL;
            return Success;
        }

        public override ValueTask<int> Open(Request request, ulong ino, int flags)
        {
            request.Open.OpenFlags = (uint)FuseOpenReplyFlags.DirectIo; // every read(2)/write(2) becomes one request
            return Success;
        }

        public override ValueTask<int> Read(Request request, ulong ino, ulong fh, long offset, Span<byte> buffer)
        {
            var read = request.ReadFileAsync(heldRead, -1, 1); // a pipe: no position
            HeldReadIssued.Set();
            return read;
        }

        public override ValueTask<int> Write(Request request, ulong ino, ulong fh, long offset, ReadOnlySpan<byte> data, FuseWriteFlags writeFlags)
        {
            var write = request.WritePayloadAsync(probeWrite, -1);
            // Blocks the queue's thread on purpose: only a submission made before this point can satisfy it.
            ProbeArrivedBeforeReturn = ProbeArrived.Wait(ProbeWait);
            return write;
        }
    }

    [Fact]
    public void A_file_io_prepared_while_another_is_in_flight_reaches_the_kernel_before_the_method_returns()
    {
        Span<int> held = stackalloc int[2], probe = stackalloc int[2];
        Assert.Equal(0, Libc.pipe2(held, Libc.O_CLOEXEC));
        Assert.Equal(0, Libc.pipe2(probe, Libc.O_CLOEXEC));
        int heldRead = held[0], heldWrite = held[1], probeRead = probe[0], probeWrite = probe[1];
        var fs = new PipeIoFs(heldRead, probeWrite);
        var watcher = new Thread(() =>
        {
            var one = new byte[1];
            if (Libc.Read(probeRead, one) == 1) fs.ProbeArrived.Set();
        }) { IsBackground = true };
        watcher.Start();
        try
        {
            using var m = new MountedFs(fs, TransportKind.Uring, configure: o => o.UringQueueSharing = false);
            m.Run(() =>
            {
                // The kernel routes a request to the queue of its caller's CPU: both clients on CPU 0, one queue.
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
                // Shorter than the watchdog, so a hang here names itself.
                Assert.True(fs.HeldReadIssued.Wait(MountedFs.Watchdog / 3), $"the held READ did not reach the filesystem within {MountedFs.Watchdog / 3}");

                int probeFd = Posix.Open(m.PathOf("probe"), Posix.O_WRONLY);
                Assert.True(probeFd >= 0, $"open probe: {probeFd}");
                try { Assert.Equal(1, Posix.PWrite(probeFd, [42], 0)); }
                finally { Posix.Close(probeFd); }
                Assert.True(fs.ProbeArrivedBeforeReturn,
                    $"the WRITE's file I/O waited {PipeIoFs.ProbeWait.TotalSeconds} s behind its own method instead of going to the kernel at once");

                Assert.Equal(1, Libc.Write(heldWrite, [7])); // lets the held READ finish
                Assert.True(reader.Join(MountedFs.Watchdog), "the held READ never finished");
                Assert.Equal(1, heldResult);
            });
        }
        finally
        {
            Libc.close(heldWrite); // ends the held read, should the mount have gone first
            Libc.close(probeWrite); // ends the watcher
            watcher.Join(MountedFs.Watchdog);
            Libc.close(heldRead);
            Libc.close(probeRead);
        }
    }
}
