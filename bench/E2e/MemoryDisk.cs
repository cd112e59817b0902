namespace Fuselage.Bench.E2e;

/// <summary>
/// ext4 on a loop device over an image file in a tmpfs of its own. O_DIRECT reads and writes still go through
/// ext4, the block layer and a block device (the loop driver copies to and from memory), so every system does
/// what it does on the local disk, but no VM disk sits behind it: its rows show what the FUSE engines
/// themselves deliver where this VM's virtio disk would otherwise be the bound.
/// </summary>
public static class MemoryDisk
{
    /// <summary>Room for the fio file and ext4's own metadata.</summary>
    public const long ImageBytes = 512L << 20;

    private const string ImageName = "ext4.img";

    /// <summary>Builds the disk under <paramref name="scratch"/> and returns its mounted directory; <paramref name="cleanup"/> takes it apart.</summary>
    public static string Create(string scratch, Cleanup cleanup)
    {
        string backing = Path.Combine(scratch, "memdisk-backing");
        string mountpoint = Path.Combine(scratch, "memdisk-source");
        Directory.CreateDirectory(backing);
        Directory.CreateDirectory(mountpoint);
        Remove(backing, mountpoint); // what an interrupted run (kill -9) left behind

        Shell.Check("mount", "-t", "tmpfs", "-o", $"size={ImageBytes + (16L << 20)},mode=0755", "bench-memdisk", backing);
        cleanup.Add(() => Mounts.Unmount(backing));
        string image = Path.Combine(backing, ImageName);
        using (var file = File.Create(image)) file.SetLength(ImageBytes);
        string loop = Shell.Check("losetup", "--find", "--show", image).Trim();
        cleanup.Add(() => Shell.Run("losetup", "--detach", loop));
        Shell.Check("mkfs.ext4", "-q", "-F", loop);
        Shell.Check("mount", loop, mountpoint);
        cleanup.Add(() => Mounts.Unmount(mountpoint));
        return mountpoint;
    }

    /// <summary>Unmounts the disk, detaches every loop device over its image and unmounts the tmpfs; never throws.</summary>
    private static void Remove(string backing, string mountpoint)
    {
        Mounts.Unmount(mountpoint);
        string image = Path.Combine(backing, ImageName);
        if (File.Exists(image))
        {
            // losetup --associated prints "/dev/loopN: [dev]:inode (path)" per device over the file.
            foreach (var line in Shell.Run("losetup", "--associated", image).Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries))
                Shell.Run("losetup", "--detach", line.Split(':', 2)[0]);
        }
        Mounts.Unmount(backing);
    }
}
