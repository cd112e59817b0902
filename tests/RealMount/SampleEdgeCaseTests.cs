using Fuselage.Interop;
using Fuselage.Samples;

namespace Fuselage.Tests.RealMount;

/// <summary>
/// POSIX edge cases of the sample filesystems, each run on a mount and, where the answer is the same there, on a
/// fresh tmpfs for comparison.
/// </summary>
[Collection("real mounts")]
public class SampleEdgeCaseTests
{
    private const int FALLOC_FL_KEEP_SIZE = 1, FALLOC_FL_PUNCH_HOLE = 2, SEEK_DATA = 3, SEEK_HOLE = 4;

    /// <summary>Runs <paramref name="scenario"/> in a tmpfs mounted for it (root only; skipped otherwise).</summary>
    private static void OnTmpfs(Action<string> scenario)
    {
        string dir = Directory.CreateTempSubdirectory("fuselage-tmpfs-").FullName;
        try
        {
            if (Libc.mount("tmpfs", dir, "tmpfs", 0, "mode=0777") != 0) return; // not root: the mount alone is checked
            try { scenario(dir); }
            finally { Libc.umount2(dir, Libc.MNT_DETACH); }
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    private static void OnMount(FileSystem fs, Action<string> scenario, string? options = null)
    {
        using var m = new MountedFs(fs, TransportKind.Ring, options);
        m.Run(() => scenario(m.Root));
    }

    // ------------------------------------------------------------ MemFs: a hole punched past the end of file

    private static void PunchPastEndOfFile(string d)
    {
        int fd = Posix.Open(Path.Combine(d, "p"), Posix.O_CREAT | Posix.O_RDWR);
        Assert.True(fd >= 0, $"create: {fd}");
        try
        {
            Assert.Equal(50, Posix.Write(fd, Enumerable.Repeat((byte)'x', 50).ToArray()));
            // Wholly past the end, in the chunk the file ends in: nothing to do, and no error.
            Assert.Equal(0, Posix.Fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 100, 10));
            Assert.Equal(0, Posix.Fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 40, 100));
            var buf = new byte[64];
            Assert.Equal(50, Posix.PRead(fd, buf, 0));
            Assert.Equal([.. Enumerable.Repeat((byte)'x', 40), .. new byte[10]], buf[..50]);
        }
        finally { Posix.Close(fd); }
    }

    [Fact]
    public void Punching_a_hole_past_the_end_of_a_file_succeeds_on_MemFs_as_on_tmpfs()
    {
        OnTmpfs(PunchPastEndOfFile);
        OnMount(new MemFs(), PunchPastEndOfFile);
    }

    // ------------------------------------------------------------ MemFs: the last chunk below 2^63

    private const long Top = long.MaxValue; // 2^63 - 1: the largest file size

    private static void LastChunk(string d, bool seekHole)
    {
        int fd = Posix.Open(Path.Combine(d, "top"), Posix.O_CREAT | Posix.O_RDWR);
        Assert.True(fd >= 0, $"create: {fd}");
        try
        {
            long at = Top - 20;
            Assert.Equal(10, Posix.PWrite(fd, "abcdefghij"u8.ToArray(), at)); // the file ends at 2^63 - 10
            if (seekHole)
            {
                // tmpfs (6.18) answers this with a negative offset (its own page rounding overflows there): MemFs only.
                Assert.Equal(Top - 10, Posix.Lseek(fd, at, SEEK_HOLE));
                Assert.Equal(at, Posix.Lseek(fd, at, SEEK_DATA));
            }
            // Two bytes at the start of the chunk the data is in, then five of the data.
            Assert.Equal(0, Posix.Fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (Top & ~0xFFFFL), 2));
            Assert.Equal(0, Posix.Fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, at, 5));
            var buf = new byte[10];
            Assert.Equal(10, Posix.PRead(fd, buf, at));
            Assert.Equal("\0\0\0\0\0fghij"u8.ToArray(), buf);
        }
        finally { Posix.Close(fd); }
    }

    [Fact]
    public void The_last_64_KiB_below_2_pow_63_are_punched_and_sought_exactly_on_MemFs()
    {
        OnTmpfs(d => LastChunk(d, seekHole: false));
        OnMount(new MemFs(), d => LastChunk(d, seekHole: true));
    }
}
