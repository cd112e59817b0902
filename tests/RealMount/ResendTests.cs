using Fuselage.Interop;
using Fuselage.Interop.Fuse;

namespace Fuselage.Tests.RealMount;

/// <summary>
/// NOTIFY_RESEND on the running kernel: a READ the filesystem holds is sent again, marked as a resend, and its
/// caller gets the second answer; the late answer to the first delivery is dropped and the server serves on.
/// </summary>
[Collection("real mounts")]
public class ResendTests
{
    /// <summary>One file, "f" (direct I/O, so a read is one READ of the caller's own). The first READ ever waits
    /// until the test releases it; every later one answers <see cref="Again"/> at once.</summary>
    private sealed class HoldingFs : FileSystem
    {
        public static readonly byte[] Again = "again"u8.ToArray();
        public readonly TaskCompletionSource FirstRead = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public readonly TaskCompletionSource FirstAnswered = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public ulong FirstUnique, ResendUnique;
        public FuseConnection? Connection;
        private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _reads;

        public void ReleaseFirst() => _release.TrySetResult();

        public override void Init(FuseConnection connection) => Connection = connection;

        private static void FillAttr(ref FuseAttr attr, ulong ino)
        {
            attr.Ino = ino;
            attr.Mode = ino == 1 ? 0x4000u | 0x1ED : 0x8000u | 0x1A4;
            attr.Nlink = ino == 1 ? 2u : 1u;
            attr.Size = ino == 1 ? 0ul : (ulong)Again.Length;
        }

        public override ValueTask<int> Lookup(Request request, ulong parent, ReadOnlySpan<byte> name)
        {
            if (parent != 1 || !name.SequenceEqual("f"u8)) return Error(Errno.ENOENT);
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
            request.Open.OpenFlags = (uint)FuseOpenReplyFlags.DirectIo;
            return Success;
        }

        public override ValueTask<int> Read(Request request, ulong ino, ulong fh, long offset, Span<byte> buffer)
        {
            if (Interlocked.Increment(ref _reads) == 1)
            {
                FirstUnique = request.Unique;
                FirstRead.TrySetResult();
                return HoldFirst();
            }
            if (request.IsResend) Volatile.Write(ref ResendUnique, request.Unique);
            if (offset >= Again.Length) return new(0);
            int n = Math.Min(buffer.Length, Again.Length - (int)offset);
            Again.AsSpan((int)offset, n).CopyTo(buffer);
            return new(n);
        }

        private async ValueTask<int> HoldFirst()
        {
            await _release.Task;
            FirstAnswered.TrySetResult();
            return 0; // a different answer from the resend's: had it reached the caller, the test would see ""
        }
    }

    private static bool Within(Task task) => task.Wait(MountedFs.Watchdog);

    [Theory]
    [InlineData(TransportKind.Ring)]
    [InlineData(TransportKind.Threads)]
    public void A_held_read_is_sent_again_and_its_caller_gets_the_second_answer(TransportKind transport)
    {
        var fs = new HoldingFs();
        using var m = new MountedFs(fs, transport, configure: o => o.Debug = true);
        Assert.True((fs.Connection!.Granted & FuseInitFlags.HasResend) != 0, $"HAS_RESEND not granted: {string.Join("; ", fs.Connection.Refusals)}");
        string? text = null;
        var reader = Task.Run(() => text = File.ReadAllText(m.PathOf("f")));
        try
        {
            Assert.True(Within(fs.FirstRead.Task), $"the reader never reached READ{m.FormatLog()}");
            Assert.False(reader.IsCompleted);

            Assert.Equal(0, m.Server.Notify.Resend());
            Assert.True(Within(reader), $"the held READ was not sent again{m.FormatLog()}");
            Assert.Equal("again", text);
            Assert.True(Volatile.Read(ref fs.ResendUnique) != 0, $"the second READ was not marked as a resend{m.FormatLog()}");
            Assert.Equal(fs.FirstUnique | 1UL << 63, fs.ResendUnique);

            // The first delivery answers late: the kernel no longer knows its unique, and the server carries on.
            fs.ReleaseFirst();
            Assert.True(Within(fs.FirstAnswered.Task));
            Assert.Equal("again", m.Run(() => File.ReadAllText(m.PathOf("f"))));
        }
        finally
        {
            fs.ReleaseFirst();
            if (!reader.IsCompleted) m.Server.Mount?.Abort();
        }
    }

    /// <summary>The kernel (6.18) resends only requests read from /dev/fuse: one held in a FUSE-over-io_uring entry
    /// stays with its first delivery, whose answer reaches the caller (a resend would have dropped it).</summary>
    [Fact]
    public void A_read_held_on_a_uring_queue_is_not_sent_again_and_its_first_answer_counts()
    {
        var fs = new HoldingFs();
        using var m = new MountedFs(fs, TransportKind.Uring, configure: o => o.Debug = true);
        string? text = null;
        var reader = Task.Run(() => text = File.ReadAllText(m.PathOf("f")));
        try
        {
            Assert.True(Within(fs.FirstRead.Task), $"the reader never reached READ{m.FormatLog()}");
            Assert.Equal(0, m.Server.Notify.Resend());
            fs.ReleaseFirst();
            Assert.True(Within(reader), $"the first READ's answer did not reach the reader{m.FormatLog()}");
            Assert.Equal("", text);
            Assert.Equal(0ul, Volatile.Read(ref fs.ResendUnique));
        }
        finally
        {
            fs.ReleaseFirst();
            if (!reader.IsCompleted) m.Server.Mount?.Abort();
        }
    }
}
