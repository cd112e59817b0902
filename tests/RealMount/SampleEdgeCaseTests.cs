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

    // ------------------------------------------------------------ PassthroughFs: set-ID bits of another user's create

    private static void CreateSetIdAsAnotherUser(string d)
    {
        // Group nobody's, so a set-group-ID create of nobody's is not stripped by the kernel; 01777: anyone may create.
        Assert.Equal(0, Libc.FChownAt(Libc.AT_FDCWD, System.Text.Encoding.UTF8.GetBytes(d), 0, 65534, 0));
        Assert.Equal(0, Posix.Chmod(d, 0x3FF));
        Posix.AsFsUser(65534, 65534, () =>
        {
            int fd = Posix.Open(Path.Combine(d, "setuid"), Posix.O_CREAT | Posix.O_EXCL | Posix.O_WRONLY, 0x9ED); // 04755
            Assert.True(fd >= 0, $"create: {fd}");
            Posix.Close(fd);
            fd = Posix.Open(Path.Combine(d, "setgid"), Posix.O_CREAT | Posix.O_EXCL | Posix.O_WRONLY, 0x5ED); // 02755
            Assert.True(fd >= 0, $"create: {fd}");
            Posix.Close(fd);
        });
        Assert.Equal(0, Posix.LStat(Path.Combine(d, "setuid"), out var st));
        Assert.Equal(0x8000u | 0x9ED, st.Mode);
        Assert.Equal(0, Posix.LStat(Path.Combine(d, "setgid"), out st));
        Assert.Equal(0x8000u | 0x5ED, st.Mode);
        Assert.Equal(65534u, Owner(Path.Combine(d, "setuid")));
    }

    private static uint Owner(string path)
    {
        Assert.Equal(0, Libc.FStatAt(Libc.AT_FDCWD, System.Text.Encoding.UTF8.GetBytes(path), out var st, Libc.AT_SYMLINK_NOFOLLOW));
        return st.Uid;
    }

    [SkippableFact]
    public void A_file_another_user_creates_set_user_id_keeps_the_bit_on_PassthroughFs_as_on_tmpfs()
    {
        Skip.IfNot(Libc.geteuid() == 0, "only root serves another user's create");
        OnTmpfs(CreateSetIdAsAnotherUser);
        OnMount(new MemFs(), CreateSetIdAsAnotherUser);
        string source = Directory.CreateTempSubdirectory("fuselage-src-").FullName;
        try
        {
            using var fs = new PassthroughFs(source);
            OnMount(fs, CreateSetIdAsAnotherUser);
            Assert.Equal((UnixFileMode)0x9ED, File.GetUnixFileMode(Path.Combine(source, "setuid"))); // on the source too
        }
        finally { Directory.Delete(source, recursive: true); }
    }

    // ------------------------------------------------------------ PassthroughFs: fds pinned by unlinking another link

    [Fact]
    public void Unlinking_one_of_two_links_pins_no_fd_when_the_other_is_the_route_kept()
    {
        const int files = 200;
        string source = Directory.CreateTempSubdirectory("fuselage-src-").FullName;
        try
        {
            using var fs = new PassthroughFs(source, fdCacheCapacity: 16, PassthroughFs.InodeKeying.ParentAndName);
            using var m = new MountedFs(fs, TransportKind.Ring);
            m.Run(() =>
            {
                // cp -al tree snapshot; rm -rf tree: every inode keeps a link, and the kernel keeps knowing it.
                Directory.CreateDirectory(m.PathOf("tree"));
                Directory.CreateDirectory(m.PathOf("snapshot"));
                for (int i = 0; i < files; i++) File.WriteAllText(m.PathOf($"tree/f{i}"), $"content {i}");
                for (int i = 0; i < files; i++) Assert.Equal(0, Posix.Link(m.PathOf($"tree/f{i}"), m.PathOf($"snapshot/f{i}")));
                for (int i = 0; i < files; i++) Assert.Equal(0, Posix.Unlink(m.PathOf($"tree/f{i}")));
                Assert.True(fs.PinnedFds == 0, $"{fs.PinnedFds} fds pinned for inodes still linked under snapshot/");
                // Each stays reachable by the link it was last found by (the 16-fd cache makes most reopen).
                for (int i = 0; i < files; i++)
                {
                    int fd = Posix.Open(m.PathOf($"snapshot/f{i}"), Posix.O_RDONLY);
                    Assert.True(fd >= 0, $"open snapshot/f{i}: {fd}");
                    var buf = new byte[64];
                    long n = Posix.PRead(fd, buf, 0);
                    Posix.Close(fd);
                    Assert.Equal($"content {i}", System.Text.Encoding.UTF8.GetString(buf, 0, (int)Math.Max(0, n)));
                }
            });
        }
        finally { Directory.Delete(source, recursive: true); }
    }
}
