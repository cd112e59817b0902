using System.Diagnostics;
using System.Text;
using Fuselage.Samples;
using Xunit.Abstractions;

namespace Fuselage.Tests.RealMount;

/// <summary>
/// PassthroughFs over a tree far larger than its fd cache: every inode the kernel knows stays known (lookup counts),
/// but only a bounded number of fds is open, so a 50,000-file tree stays far from the 20,000-open-files limit.
/// </summary>
[Collection("real mounts")]
public class PassthroughScaleTests(ITestOutputHelper output)
{
    private const int Directories = 50, FilesPerDirectory = 1000;

    private static string Content(int d, int f) => $"dir {d:D2} file {f:D4}\n";

    [Theory]
    [InlineData(TransportKind.Ring)]
    [InlineData(TransportKind.Threads)]
    public void Walking_50000_files_keeps_the_open_fd_count_bounded(TransportKind transport)
    {
        var clock = Stopwatch.StartNew();
        string source = Directory.CreateTempSubdirectory("fuselage-src-").FullName;
        try
        {
            for (int d = 0; d < Directories; d++)
            {
                string dir = Path.Combine(source, $"d{d:D2}");
                Directory.CreateDirectory(dir);
                for (int f = 0; f < FilesPerDirectory; f++) File.WriteAllText(Path.Combine(dir, $"f{f:D4}"), Content(d, f));
            }
            var built = clock.Elapsed;
            int fdsBefore = Directory.GetFiles("/proc/self/fd").Length;

            var fs = new PassthroughFs(source);
            using var m = new MountedFs(fs, transport);
            var topLevel = m.Run(() => Directory.GetDirectories(m.Root).Select(Path.GetFileName).Order().ToArray());
            Assert.Equal(Enumerable.Range(0, Directories).Select(d => $"d{d:D2}"), topLevel);

            long files = 0, bytes = 0;
            var buffer = new byte[64];
            for (int d = 0; d < Directories; d++)
            {
                string dir = m.PathOf($"d{d:D2}");
                int dirIndex = d;
                // One watchdog per directory: each step is short, however slow the whole walk is under load.
                m.Run(() =>
                {
                    var names = Directory.GetFiles(dir).Select(Path.GetFileName).Order().ToArray();
                    Assert.Equal(FilesPerDirectory, names.Length);
                    for (int f = 0; f < FilesPerDirectory; f++)
                    {
                        Assert.Equal($"f{f:D4}", names[f]);
                        string path = Path.Combine(dir, names[f]!);
                        string expected = Content(dirIndex, f);
                        Assert.Equal(0, Posix.LStat(path, out var st));
                        Assert.Equal(expected.Length, st.Size);
                        Assert.Equal(0x8000u, st.Mode & 0xF000);
                        int fd = Posix.Open(path, Posix.O_RDONLY);
                        Assert.True(fd >= 0, $"open {path}: {fd}");
                        long n = Posix.PRead(fd, buffer, 0);
                        Posix.Close(fd);
                        Assert.Equal(expected, Encoding.UTF8.GetString(buffer, 0, (int)n));
                        files++;
                        bytes += n;
                    }
                });
            }
            Assert.Equal(Directories * FilesPerDirectory, files);

            // Measured now, while the kernel still holds every inode (no FORGET yet): the server runs in this process.
            int fdsAfter = Directory.GetFiles("/proc/self/fd").Length;
            int inodes = fs.InodeCount, cached = fs.CachedFds;
            output.WriteLine($"{transport}: built {built.TotalSeconds:F1} s, walked {files} files ({bytes} bytes) in {(clock.Elapsed - built).TotalSeconds:F1} s; " +
                             $"process fds {fdsBefore} before, {fdsAfter} after; passthrough knows {inodes} inodes, caches {cached} fds");
            Assert.True(inodes > Directories * FilesPerDirectory / 2, $"the kernel should still hold most inodes; the server knows {inodes}");
            Assert.True(fdsAfter < 5000, $"{fdsAfter} fds open in the server process after walking {files} files ({inodes} inodes known, {cached} cached)");
            Assert.True(cached <= 1000, $"the fd cache holds {cached} fds, more than its capacity");
        }
        finally
        {
            Directory.Delete(source, recursive: true);
            output.WriteLine($"total {clock.Elapsed.TotalSeconds:F1} s");
        }
    }
}
