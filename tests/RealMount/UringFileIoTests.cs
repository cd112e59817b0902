using Fuselage.Interop;
using Fuselage.Interop.Fuse;

namespace Fuselage.Tests.RealMount;

/// <summary>
/// A uring queue thread is handed every request that arrived while it was busy and dispatches them before it waits
/// again; the file I/O they prepared goes to the kernel with that wait. A file I/O that stays in flight (a read of an
/// empty pipe) must not hold back the one of a later request: that one completes and its request is answered while
/// the first is still in flight. Queue sharing is off here: it would hand the second request to the idle queue's
/// thread, where nothing else is in flight.
/// </summary>
[Collection("real mounts")]
public class UringFileIoTests
{
    [Fact]
    public void A_file_io_prepared_while_another_is_in_flight_completes_and_is_answered_while_the_first_is_held()
    {
        Span<int> held = stackalloc int[2], probe = stackalloc int[2];
        Assert.Equal(0, Libc.pipe2(held, Libc.O_CLOEXEC));
        Assert.Equal(0, Libc.pipe2(probe, Libc.O_CLOEXEC));
        int heldRead = held[0], heldWrite = held[1], probeRead = probe[0], probeWrite = probe[1];
        var fs = new HeldPipeFs(heldRead, probeWrite);
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
                var probed = new byte[2];
                Assert.Equal(1, Libc.Read(probeRead, probed)); // the WRITE's data reached its pipe...
                Assert.Equal(42, probed[0]);
                Assert.True(Volatile.Read(ref heldResult) == long.MinValue, "the held READ finished before the test let it"); // ...while it is held

                Assert.Equal(1, Libc.Write(heldWrite, [7])); // lets the held READ finish
                Assert.True(reader.Join(MountedFs.Watchdog), "the held READ never finished");
                Assert.Equal(1, heldResult);
            });
        }
        finally
        {
            Libc.close(heldWrite); // ends the held read, should the mount have gone first
            Libc.close(probeWrite);
            Libc.close(heldRead);
            Libc.close(probeRead);
        }
    }
}
