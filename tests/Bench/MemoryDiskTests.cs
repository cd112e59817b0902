using Fuselage.Bench.E2e;

namespace Fuselage.Tests.Bench;

/// <summary>The e2e runner's memory disk: ext4 on a loop device over a tmpfs image, gone without a trace afterwards.</summary>
public class MemoryDiskTests
{
    private static bool CanBuild => Environment.IsPrivilegedProcess && Shell.CommandExists("losetup") && Shell.CommandExists("mkfs.ext4");

    private static string? MountedFilesystem(string mountpoint) =>
        File.ReadLines("/proc/self/mounts").Select(l => l.Split(' ')).FirstOrDefault(f => f[1] == mountpoint) is { } f ? $"{f[2]} {f[0]}" : null;

    /// <summary>Loop devices whose backing file is <paramref name="image"/> (losetup -a prints "/dev/loopN: []: (path)").</summary>
    private static int LoopsOver(string image) =>
        Shell.Run("losetup", "--all").Stdout.Split('\n').Count(l => l.Contains($"({image})", StringComparison.Ordinal));

    /// <summary>
    /// Every loop device in use. A device over an image in a tmpfs that was detached lazily no longer shows the
    /// image's path, so a leaked one is only seen in the total (no other test here sets up loop devices).
    /// </summary>
    private static int AllLoops() => Shell.Run("losetup", "--all").Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length;

    [SkippableFact]
    public void It_is_ext4_on_a_loop_device_holds_what_is_written_and_cleanup_removes_every_trace()
    {
        Skip.IfNot(CanBuild, "needs root, losetup and mkfs.ext4");
        var scratch = Directory.CreateTempSubdirectory("fuselage-memdisk-").FullName;
        var cleanup = new Cleanup();
        string image = Path.Combine(scratch, "memdisk-backing", "ext4.img");
        int loopsBefore = AllLoops();
        try
        {
            string directory = MemoryDisk.Create(scratch, cleanup);

            Assert.StartsWith("ext4 /dev/loop", MountedFilesystem(directory));
            Assert.StartsWith("tmpfs ", MountedFilesystem(Path.Combine(scratch, "memdisk-backing")));
            Assert.Equal(1, LoopsOver(image));
            string file = Path.Combine(directory, "probe");
            var block = new byte[4096];
            Random.Shared.NextBytes(block);
            using (var h = File.OpenHandle(file, FileMode.Create, FileAccess.ReadWrite, FileShare.None, FileOptions.WriteThrough))
                RandomAccess.Write(h, block, 0);
            Assert.Equal(block, File.ReadAllBytes(file));
        }
        finally
        {
            cleanup.RunAll();
        }
        Assert.Null(MountedFilesystem(Path.Combine(scratch, "memdisk-source")));
        Assert.Null(MountedFilesystem(Path.Combine(scratch, "memdisk-backing")));
        Assert.Equal(0, LoopsOver(image));
        Assert.Equal(loopsBefore, AllLoops());
        Directory.Delete(scratch, recursive: true);
    }

    [SkippableFact]
    public void A_disk_left_by_a_killed_run_is_taken_apart_before_a_new_one_is_built()
    {
        Skip.IfNot(CanBuild, "needs root, losetup and mkfs.ext4");
        var scratch = Directory.CreateTempSubdirectory("fuselage-memdisk-").FullName;
        var killedRun = new Cleanup(); // never run: as after kill -9
        var nextRun = new Cleanup();
        string image = Path.Combine(scratch, "memdisk-backing", "ext4.img");
        int loopsBefore = AllLoops();
        try
        {
            MemoryDisk.Create(scratch, killedRun);
            File.WriteAllText(Path.Combine(scratch, "memdisk-source", "left-over"), "x");

            string directory = MemoryDisk.Create(scratch, nextRun);

            Assert.False(File.Exists(Path.Combine(directory, "left-over"))); // a fresh filesystem
            Assert.Equal(1, LoopsOver(image));
            Assert.Equal(loopsBefore + 1, AllLoops()); // the old loop device detached, not left behind
            Assert.Equal(1, File.ReadLines("/proc/self/mounts").Count(l => l.Split(' ')[1] == directory));
        }
        finally
        {
            nextRun.RunAll();
            killedRun.RunAll(); // finds nothing left to undo when the second Create took it apart, as it should
        }
        Assert.Equal(0, LoopsOver(image));
        Assert.Equal(loopsBefore, AllLoops());
        Assert.Null(MountedFilesystem(Path.Combine(scratch, "memdisk-backing")));
        Directory.Delete(scratch, recursive: true);
    }
}
