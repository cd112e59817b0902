using Fuselage.Interop;
using Fuselage.Samples;

namespace Fuselage.Tests.RealMount;

/// <summary>
/// A uring queue sends a READ's reply linked to its file read: the kernel commits it as soon as the read is whole,
/// and the thread wakes for the entry's next request only. A short read (the end of a file) or a failed one makes the
/// kernel drop the linked COMMIT, and the reply then carries the read's own result, as without linking.
/// </summary>
[Collection("real mounts")]
public class UringLinkedReplyTests
{
    private const int Block = 4096;

    [Fact]
    public void Whole_reads_are_answered_by_linked_commits_and_the_short_read_at_the_end_with_its_own_length()
    {
        string source = Directory.CreateTempSubdirectory("fuselage-src-").FullName;
        try
        {
            var content = new byte[3 * Block + 123];
            new Random(7).NextBytes(content);
            File.WriteAllBytes(Path.Combine(source, "data"), content);
            using var m = new MountedFs(new PassthroughFs(source), TransportKind.Uring);
            var stats = m.Server.Stats!;
            long linkedBefore = 0, droppedBefore = 0;
            var read = m.Run(() =>
            {
                // O_DIRECT: each pread is one READ of its own size; the last one asks for a whole block and gets 123 bytes.
                int fd = Posix.Open(m.PathOf("data"), Posix.O_RDONLY | Posix.O_DIRECT);
                Assert.True(fd >= 0, $"open: {fd}");
                try
                {
                    linkedBefore = stats.LinkedReplies;
                    droppedBefore = stats.LinkedRepliesDropped;
                    return Posix.PReadUntilShort(fd, Block);
                }
                finally { Posix.Close(fd); }
            });
            Assert.Equal(content, read);
            Assert.Equal(4, stats.LinkedReplies - linkedBefore);
            Assert.Equal(1, stats.LinkedRepliesDropped - droppedBefore);
            m.DisposeAndAssertStoppedCleanly();
        }
        finally { Directory.Delete(source, recursive: true); }
    }

    [Fact]
    public void A_failed_file_read_drops_its_linked_commit_and_its_error_reaches_the_caller_and_the_entry_serves_on()
    {
        using var m = new MountedFs(new HeldPipeFs(heldRead: -1), TransportKind.Uring); // "held" reads fd -1
        var stats = m.Server.Stats!;
        long result = m.Run(() =>
        {
            int fd = Posix.Open(m.PathOf("held"), Posix.O_RDONLY);
            Assert.True(fd >= 0, $"open: {fd}");
            try { return Posix.PRead(fd, new byte[1], 0); }
            finally { Posix.Close(fd); }
        });
        Assert.Equal(-Errno.EBADF, result);
        Assert.Equal(1, stats.LinkedReplies);
        Assert.Equal(1, stats.LinkedRepliesDropped);
        // The entry serves on: its usual COMMIT fetched the next request.
        Assert.Equal(-Errno.EBADF, m.Run(() =>
        {
            int fd = Posix.Open(m.PathOf("held"), Posix.O_RDONLY);
            try { return Posix.PRead(fd, new byte[1], 0); }
            finally { Posix.Close(fd); }
        }));
        Assert.Equal(2, stats.LinkedRepliesDropped);
        m.DisposeAndAssertStoppedCleanly();
    }
}
