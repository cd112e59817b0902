using Fuselage.Interop;
using Fuselage.Samples;

namespace Fuselage.Tests.RealMount;

/// <summary>
/// Where a server's mount is found again (for its fusectl connection and for unmounting) and what unmounting may
/// touch: only its own mount, named as the kernel names it, never one that sits on top of it or took its place.
/// </summary>
[Collection("real mounts")]
public class MountPointTests
{
    private static readonly TimeSpan Watchdog = MountedFs.Watchdog;

    /// <summary>Removes every mount (FUSE or not) stacked on <paramref name="dir"/>, then the directory.</summary>
    private static void RemoveAll(string dir)
    {
        for (int i = 0; i < 8 && MountedHere(dir) > 0; i++)
        {
            FuseMount.AbortMountedAt(dir);
            Libc.umount2(dir, Libc.MNT_DETACH);
        }
        try { Directory.Delete(dir); } catch (IOException) { }
    }

    private static int MountedHere(string dir) => File.ReadLines("/proc/self/mountinfo").Count(l => l.Split(' ')[4] == dir);

    private static bool TmpfsAt(string dir) => File.ReadLines("/proc/self/mountinfo").Any(l => l.Split(' ')[4] == dir && l.Contains(" - tmpfs "));

    private static FuseServer Started(string mountpoint)
    {
        var server = new FuseServer(new MemFs(), new FuseServerOptions { Transport = TransportKind.Threads, Workers = 1 });
        server.Start(mountpoint);
        Assert.True(server.Ready.Wait(Watchdog), "INIT was not answered");
        return server;
    }

    [Fact]
    public void A_mountpoint_with_a_trailing_slash_or_through_a_symlink_is_found_again_and_unmounted()
    {
        string root = Directory.CreateTempSubdirectory("fuselage-mp-").FullName;
        string link = root + "-link";
        File.CreateSymbolicLink(link, root);
        try
        {
            foreach (var given in new[] { root + "/", link })
            {
                using (var server = Started(given))
                {
                    Assert.Equal(root, server.Mount!.Mountpoint);
                    Assert.NotNull(server.Mount.ConnectionId); // fusectl abort and waiting requests work
                    Assert.Equal(FuseMount.FindConnectionId(root), server.Mount.ConnectionId);
                    Assert.True(FuseMount.IsMounted(root + "/"));
                }
                Assert.False(FuseMount.IsMounted(root), $"{given}: still mounted after Dispose");
            }
        }
        finally
        {
            File.Delete(link);
            RemoveAll(root);
        }
    }

    [Fact]
    public async Task Stopping_under_another_mount_leaves_that_mount_and_aborts_its_own_connection()
    {
        string root = Directory.CreateTempSubdirectory("fuselage-mp-").FullName;
        var lines = new List<string>();
        var server = new FuseServer(new MemFs(), new FuseServerOptions { Transport = TransportKind.Threads, Workers = 1, Log = l => { lock (lines) lines.Add(l); } });
        try
        {
            server.Start(root);
            await server.Ready.WaitAsync(Watchdog);
            Assert.Equal(0, Libc.mount("tmpfs", root, "tmpfs", 0, null)); // someone mounts over it
            server.Stop();
            Assert.True(TmpfsAt(root), "Stop unmounted the mount on top, which is not its own");
            await server.Completion.ContinueWith(_ => { }).WaitAsync(Watchdog); // the connection was ended
            lock (lines) Assert.Contains(lines, l => l.Contains("covered by another mount"));
        }
        finally
        {
            server.Dispose();
            RemoveAll(root);
        }
    }

    [Fact]
    public async Task Disposing_a_server_whose_mount_was_unmounted_outside_leaves_the_next_mount_there_alone()
    {
        string root = Directory.CreateTempSubdirectory("fuselage-mp-").FullName;
        FuseServer? first = null, next = null;
        try
        {
            first = Started(root);
            Assert.Equal(0, Libc.umount2(root, 0)); // umount from a shell ends the first session
            await first.Completion.ContinueWith(_ => { }).WaitAsync(Watchdog);
            next = Started(root); // may get the same connection number
            first.Dispose();
            Assert.True(FuseMount.IsMounted(root), "disposing the old server unmounted the new server's mount");
        }
        finally
        {
            first?.Dispose();
            next?.Dispose();
            RemoveAll(root);
        }
    }

    [Fact]
    public void A_notification_sent_while_the_mount_is_disposed_keeps_its_fd_number_from_reuse()
    {
        string root = Directory.CreateTempSubdirectory("fuselage-mp-").FullName;
        try
        {
            using var server = Started(root);
            var mount = server.Mount!;
            Assert.True(mount.TryBorrowFd(out int fd)); // as a notification does around its write
            mount.Dispose();
            Assert.Equal(-1, mount.Fd);
            Assert.Equal("/dev/fuse", new FileInfo($"/proc/self/fd/{fd}").LinkTarget); // still ours: no open can take the number
            Assert.Equal(-Errno.ENOTCONN, server.Notify.InvalidateInode(1)); // later notifications find it gone
            mount.ReturnFd(); // closed now
        }
        finally { RemoveAll(root); }
    }

    [Fact]
    public void Options_reach_fusermount3_escaped_and_whole()
    {
        var parsed = MountOptions.Parse(@"fsname=a\,b,subtype=x\\y,sync,dirsync,nodiratime,relatime,lazytime,noatime");
        Assert.Equal("a,b", parsed.FsName);
        Assert.Equal(@"x\y", parsed.Subtype);
        var given = parsed.FusermountOptions().Split(',');
        Assert.Equal(@"fsname=a\", given[0]); // split naively: the escaped comma stays escaped
        Assert.Contains(@"fsname=a\,b", parsed.FusermountOptions());
        Assert.Contains(@"subtype=x\\y", parsed.FusermountOptions());
        foreach (var flag in new[] { "sync", "dirsync", "nodiratime", "relatime", "lazytime", "noatime" }) Assert.Contains(flag, given);
        Assert.Equal(0x41EDu, MountOptions.Parse("rootmode=40755").RootMode);
        Assert.Throws<ArgumentException>(() => MountOptions.Parse("rootmode=100644")); // not a directory: the kernel's bare EINVAL
        Assert.Throws<ArgumentException>(() => MountOptions.Parse("rootmode=77777777777")); // would overflow
    }

    [Fact]
    public void A_server_starts_once()
    {
        string root = Directory.CreateTempSubdirectory("fuselage-mp-").FullName;
        try
        {
            var server = Started(root);
            Assert.Throws<InvalidOperationException>(() => server.Start(root));
            server.Dispose();
            Assert.Throws<InvalidOperationException>(() => server.Start(root)); // after Stop too: it would not unmount again
            Assert.False(FuseMount.IsMounted(root));
        }
        finally { RemoveAll(root); }
    }
}
