using System.Diagnostics;
using Fuselage.Interop;
using Fuselage.Interop.Fuse;

namespace Fuselage.Tests.RealMount;

/// <summary>
/// Requests the kernel gives up on: a reader killed by SIGINT makes the kernel send INTERRUPT, which cancels the
/// method's token and is answered EINTR; and unmounting with a request still in flight ends the server anyway.
/// </summary>
[Collection("real mounts")]
public class InterruptTests
{

    /// <summary>One file, "block", whose READ waits until interrupted (or forever, when it ignores cancellation).</summary>
    private sealed class BlockingFs(bool honourCancellation) : FileSystem
    {
        public readonly TaskCompletionSource ReadStarted = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public int Cancelled;
        private readonly TaskCompletionSource _never = new();

        private static void FillAttr(ref FuseAttr attr, ulong ino)
        {
            attr.Ino = ino;
            attr.Mode = ino == 1 ? 0x4000u | 0x1ED : 0x8000u | 0x1A4;
            attr.Nlink = ino == 1 ? 2u : 1u;
            attr.Size = ino == 1 ? 0ul : 4096ul;
            attr.Blksize = 4096;
        }

        public override ValueTask<int> Lookup(Request request, ulong parent, ReadOnlySpan<byte> name)
        {
            if (parent != 1 || !name.SequenceEqual("block"u8)) return Error(Errno.ENOENT);
            request.Entry.NodeId = 2;
            FillAttr(ref request.Entry.Attr, 2);
            return Success;
        }

        public override ValueTask<int> GetAttr(Request request, ulong ino, ulong? fh)
        {
            if (ino > 2) return Error(Errno.ENOENT);
            FillAttr(ref request.Attr, ino);
            return Success;
        }

        public override ValueTask<int> Open(Request request, ulong ino, int flags)
        {
            request.Open.Fh = 1;
            // Direct I/O: the READ is the caller's own synchronous request (page-cache readahead goes in the
            // background, and background requests are never interrupted).
            request.Open.OpenFlags = (uint)FuseOpenReplyFlags.DirectIo;
            return Success;
        }

        public override ValueTask<int> Read(Request request, ulong ino, ulong fh, long offset, Span<byte> buffer)
            => honourCancellation ? WaitForInterrupt(request.CancellationToken) : WaitForever();

        private async ValueTask<int> WaitForInterrupt(CancellationToken token)
        {
            ReadStarted.TrySetResult();
            try { await Task.Delay(Timeout.Infinite, token); }
            catch (OperationCanceledException) { Interlocked.Increment(ref Cancelled); throw; }
            return 0;
        }

        private async ValueTask<int> WaitForever()
        {
            ReadStarted.TrySetResult();
            await _never.Task; // never completes: the request is still in flight when the mount goes
            return 0;
        }
    }

    /// <summary>The watchdog's bound on waiting for a task (never a synchronisation sleep).</summary>
    private static bool Within(Task task) => task.Wait(MountedFs.Watchdog);

    private static Process Cat(string path)
    {
        var psi = new ProcessStartInfo("cat", [path]) { RedirectStandardOutput = true, RedirectStandardError = true };
        return Process.Start(psi)!;
    }

    [Theory]
    [InlineData(TransportKind.Ring)]
    [InlineData(TransportKind.Threads)]
    public void A_signalled_reader_interrupts_the_read_which_is_cancelled_and_answered_EINTR(TransportKind transport)
    {
        var fs = new BlockingFs(honourCancellation: true);
        using var m = new MountedFs(fs, transport, configure: o => o.Debug = true);
        using var cat = Cat(m.PathOf("block"));
        try
        {
            Assert.True(Within(fs.ReadStarted.Task), $"cat never reached READ{m.FormatLog()}");
            Assert.Equal(0, Posix.Kill(cat.Id, Posix.SIGINT));
            if (!cat.WaitForExit(MountedFs.Watchdog))
            {
                m.Server.Mount?.Abort();
                Assert.Fail($"cat did not die after SIGINT: the READ was not interrupted (connection aborted){m.FormatLog()}");
            }
            Assert.NotEqual(0, cat.ExitCode);
            Assert.True(Volatile.Read(ref fs.Cancelled) == 1, $"the READ's token was not cancelled{m.FormatLog()}");
            var log = m.LogLines;
            var read = log.First(l => l.Contains(" READ "));
            string unique = read.Split(' ')[1]; // "unique=N"
            Assert.True(log.Any(l => l.StartsWith("<- ") && l.Contains(" INTERRUPT ")), $"no INTERRUPT arrived{m.FormatLog()}");
            Assert.True(log.Contains($"-> {unique} error=-{Errno.EINTR}"), $"the READ ({unique}) was not answered EINTR{m.FormatLog()}");
            // The mount still serves.
            Assert.True(m.Run(() => File.Exists(m.PathOf("block"))));
        }
        finally
        {
            if (!cat.HasExited) { cat.Kill(); m.Server.Mount?.Abort(); }
        }
    }

    [Theory]
    [InlineData(TransportKind.Ring)]
    [InlineData(TransportKind.Threads)]
    public void Stopping_with_a_request_in_flight_ends_the_server_and_unmounts(TransportKind transport)
    {
        var fs = new BlockingFs(honourCancellation: false);
        var m = new MountedFs(fs, transport);
        Process? cat = null;
        try
        {
            cat = Cat(m.PathOf("block"));
            Assert.True(Within(fs.ReadStarted.Task), $"cat never reached READ{m.FormatLog()}");
            // The reader keeps the mount busy (umount falls back to detaching it) and its READ never completes:
            // Stop must still return, aborting the connection once the workers do not finish on their own.
            var stop = Task.Factory.StartNew(() => m.Server.Stop(TimeSpan.FromSeconds(2)), TaskCreationOptions.LongRunning);
            if (!Within(stop))
            {
                m.Server.Mount?.Abort();
                Assert.Fail($"FuseServer.Stop did not return{m.FormatLog()}");
            }
            Assert.True(m.Server.Completion.IsCompleted, "the transport is still running after Stop");
            Assert.False(FuseMount.IsMounted(m.Root), "still mounted after Stop");
            Assert.True(cat.WaitForExit(MountedFs.Watchdog), "the reader is still blocked after Stop");
            Assert.NotEqual(0, cat.ExitCode);
        }
        finally
        {
            if (cat is { HasExited: false }) { m.Server.Mount?.Abort(); cat.Kill(); }
            cat?.Dispose();
            m.Dispose();
        }
    }
}
