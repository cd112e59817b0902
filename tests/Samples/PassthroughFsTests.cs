using System.Text;
using Fuselage.Interop;
using Fuselage.Interop.Fuse;
using Fuselage.Samples;

namespace Fuselage.Tests.Samples;

/// <summary>PassthroughFs driven through the in-memory transport over a temporary directory (no mount).</summary>
public sealed class PassthroughFsTests : IDisposable
{
    private const ulong Root = 1;
    private readonly string _dir = Directory.CreateTempSubdirectory("fuselage-pt-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    public static TheoryData<PassthroughFs.InodeKeying?> Keyings => new() { null, PassthroughFs.InodeKeying.ParentAndName };

    private (PassthroughFs Fs, KernelModel K) Start(PassthroughFs.InodeKeying? keying, int cache = 1000)
    {
        var fs = new PassthroughFs(_dir, cache, keying);
        var k = new KernelModel(fs) { Uid = Libc.geteuid(), Gid = Libc.getegid() };
        Assert.Equal(0, k.Init().Error);
        return (fs, k);
    }

    [Theory, MemberData(nameof(Keyings))]
    public void CreateWriteReadAndSeeItOnTheSource(PassthroughFs.InodeKeying? keying)
    {
        var (fs, k) = Start(keying);
        using var _ = fs;
        using var __ = k;
        var (e, entry, fh) = k.Create(Root, "f", 0x81A4, Libc.O_RDWR | Libc.O_CREAT, 0);
        Assert.Equal(0, e);
        Assert.Equal((0, 5u), k.Write(entry.NodeId, fh, 0, "hello"u8.ToArray()));
        Assert.Equal("hello", Encoding.ASCII.GetString(k.Read(entry.NodeId, fh, 0, 100).Data));
        Assert.Equal(0, k.Release(entry.NodeId, fh));
        Assert.Equal("hello", File.ReadAllText(Path.Combine(_dir, "f")));
        Assert.Equal(0, Libc.FStatAt(Libc.AT_FDCWD, Encoding.UTF8.GetBytes(Path.Combine(_dir, "f")), out var st, 0));
        Assert.Equal(0x81A4u, st.Mode);
        Assert.Equal(-Errno.ENOENT, k.Lookup(Root, "missing").Error);
        Assert.Equal(-Errno.EEXIST, k.Mkdir(Root, "f").Error);
        Assert.Equal(-Errno.ENOTDIR, k.Rmdir(Root, "f"));
    }

    [Theory, MemberData(nameof(Keyings))]
    public void A_directory_looked_up_through_dot_dot_reopens_after_eviction(PassthroughFs.InodeKeying? keying)
    {
        // The kernel sends LOOKUP ".." for NFS export. Recording ("b", "..") as the route of "a" made "a" and "a/b"
        // reopen each other once both were evicted: a stack overflow that killed the process.
        Directory.CreateDirectory(Path.Combine(_dir, "a", "b"));
        Directory.CreateDirectory(Path.Combine(_dir, "c", "d"));
        var (fs, k) = Start(keying, cache: 2);
        using var _ = fs;
        using var __ = k;
        ulong b = k.Lookup(k.Lookup(Root, "a").Entry.NodeId, "b").Entry.NodeId;
        ulong d = k.Lookup(k.Lookup(Root, "c").Entry.NodeId, "d").Entry.NodeId;
        ulong a = k.Lookup(b, "..").Entry.NodeId;
        ulong c = k.Lookup(d, "..").Entry.NodeId;
        for (int i = 0; i < 4; i++) k.Mknod(Root, $"evict{i}", 0x81A4, 0, 0); // push a, b, c and d out of the cache
        Assert.Equal(0, k.GetAttr(b).Error);
        Assert.Equal(0, k.GetAttr(a).Error);
        Assert.Equal(0, k.Mkdir(a, "new").Error);
        Assert.True(Directory.Exists(Path.Combine(_dir, "a", "new")));
        // ".." of a directory first met that way (its parent never looked up by name) works too.
        k.Forget(c, 2);
        ulong again = k.Lookup(d, "..").Entry.NodeId;
        for (int i = 4; i < 8; i++) k.Mknod(Root, $"evict{i}", 0x81A4, 0, 0);
        Assert.Equal(0, k.GetAttr(again).Error);
        Assert.Equal(0, k.Mkdir(again, "new").Error);
        Assert.True(Directory.Exists(Path.Combine(_dir, "c", "new")));
    }

    [Theory, MemberData(nameof(Keyings))]
    public void A_directory_met_through_dot_dot_goes_back_to_the_cache_once_looked_up_by_name(PassthroughFs.InodeKeying? keying)
    {
        // Met through ".." first, it has no route and keeps its fd outside the LRU; looked up by name later, it has
        // one, and an fd kept for every such directory would count against the process's 20,000 open files.
        Directory.CreateDirectory(Path.Combine(_dir, "a", "b"));
        var (fs, k) = Start(keying, cache: 2);
        using var _ = fs;
        using var __ = k;
        ulong a = k.Lookup(Root, "a").Entry.NodeId;
        ulong b = k.Lookup(a, "b").Entry.NodeId;
        k.Forget(a, 1); // the kernel dropped "a"; NFS export then walks up from "b"
        ulong up = k.Lookup(b, "..").Entry.NodeId;
        Assert.Equal(fs.Keying == PassthroughFs.InodeKeying.FileHandles ? 0 : 1, fs.PinnedFds); // a file handle is a route of its own
        Assert.Equal(up, k.Lookup(Root, "a").Entry.NodeId);
        Assert.Equal(0, fs.PinnedFds);
        for (int i = 0; i < 4; i++) k.Mknod(Root, $"evict{i}", 0x81A4, 0, 0);
        Assert.True(fs.CachedFds <= 2);
        Assert.Equal(0, k.GetAttr(up).Error); // reopened by its route
        Assert.Equal(0, k.Mkdir(up, "new").Error);
        Assert.True(Directory.Exists(Path.Combine(_dir, "a", "new")));
    }

    [Theory, MemberData(nameof(Keyings))]
    public void Readdirplus_names_its_entries_after_the_directory_its_handle_opened(PassthroughFs.InodeKeying? keying)
    {
        // A READDIRPLUS whose node id is not its handle's directory (the kernel sends none such) once recorded
        // ("x/y" listed as a child of y): y then reopened itself without end once evicted.
        Directory.CreateDirectory(Path.Combine(_dir, "x", "y"));
        var (fs, k) = Start(keying, cache: 2);
        using var _ = fs;
        using var __ = k;
        ulong x = k.Lookup(Root, "x").Entry.NodeId;
        ulong y = k.Lookup(x, "y").Entry.NodeId;
        var (e, fh) = k.OpenDir(x);
        Assert.Equal(0, e);
        var (re, records) = k.ReadDir(y, fh, 0, plus: true);
        Assert.Equal(0, re);
        Assert.Equal(y, Assert.Single(records, r => r.Name == "y").Entry.NodeId);
        Assert.Equal(0, k.ReleaseDir(x, fh));
        for (int i = 0; i < 4; i++) k.Mknod(Root, $"evict{i}", 0x81A4, 0, 0);
        Assert.Equal(0, k.GetAttr(y).Error);
        Assert.Equal(0, k.Mkdir(y, "z").Error);
        Assert.True(Directory.Exists(Path.Combine(_dir, "x", "y", "z")));
    }

    [Fact]
    public void A_route_deeper_than_the_reopen_bound_answers_ESTALE_instead_of_overflowing_the_stack()
    {
        var (fs, k) = Start(PassthroughFs.InodeKeying.ParentAndName, cache: 2);
        using var _ = fs;
        using var __ = k;
        try
        {
            var chain = new List<ulong> { Root };
            for (int i = 0; i < 1100; i++) chain.Add(k.Mkdir(chain[^1], "d", 0x1ED, 0).Entry.NodeId);
            k.Mknod(Root, "evict1", 0x81A4, 0, 0);
            k.Mknod(Root, "evict2", 0x81A4, 0, 0);
            Assert.Equal(-Errno.ESTALE, k.GetAttr(chain[^1]).Error); // 1,100 uncached ancestors: past the bound
            Assert.Equal(0, k.GetAttr(chain[500]).Error);
            Assert.Equal(0, k.GetAttr(chain[^1]).Error); // chain[500] is cached now: 600 to walk
        }
        finally
        {
            // rm, not Directory.Delete: the tree is deeper than a path may be long.
            using var rm = System.Diagnostics.Process.Start("rm", ["-rf", Path.Combine(_dir, "d")]);
            rm.WaitForExit();
        }
    }

    [Fact]
    public void Routes_looped_by_renames_outside_the_mount_answer_ESTALE_and_a_lookup_by_name_repairs_them()
    {
        Directory.CreateDirectory(Path.Combine(_dir, "x", "y"));
        var (fs, k) = Start(PassthroughFs.InodeKeying.ParentAndName, cache: 2);
        using var _ = fs;
        using var __ = k;
        ulong x = k.Lookup(Root, "x").Entry.NodeId;
        ulong y = k.Lookup(x, "y").Entry.NodeId;
        // Behind the server's back: x/y becomes y, and x moves into it. A LOOKUP of y/x then routes x through y,
        // whose own route still runs through x.
        Directory.Move(Path.Combine(_dir, "x", "y"), Path.Combine(_dir, "y"));
        Directory.Move(Path.Combine(_dir, "x"), Path.Combine(_dir, "y", "x"));
        Assert.Equal(x, k.Lookup(y, "x").Entry.NodeId);
        for (int i = 0; i < 4; i++) k.Mknod(Root, $"evict{i}", 0x81A4, 0, 0);
        Assert.Equal(-Errno.ESTALE, k.GetAttr(x).Error);
        Assert.Equal(y, k.Lookup(Root, "y").Entry.NodeId); // what the kernel does after ESTALE: look the path up again
        Assert.Equal(0, k.GetAttr(x).Error);
    }

    [Theory, MemberData(nameof(Keyings))]
    public void Disposing_closes_the_fds_of_removed_inodes_the_kernel_never_forgot(PassthroughFs.InodeKeying? keying)
    {
        var (fs, k) = Start(keying);
        using (k)
        {
            var d = k.Mkdir(Root, "d", 0x1ED, 0).Entry.NodeId;
            k.Mknod(d, "f", 0x81A4, 0, 0);
            Assert.Equal(0, k.Unlink(d, "f")); // kept open outside the cache: the kernel still holds it
            Assert.Equal(0, k.Rmdir(Root, "d"));
            Assert.Equal(2, fs.PinnedFds);
            Assert.NotEmpty(OpenFiles.Under(_dir));
            fs.Dispose();
        }
        Assert.Empty(OpenFiles.Under(_dir));
    }

    [Theory, MemberData(nameof(Keyings))]
    public void InodesSurviveFdCacheEviction(PassthroughFs.InodeKeying? keying)
    {
        var (fs, k) = Start(keying, cache: 4);
        using var _ = fs;
        using var __ = k;
        var d = k.Mkdir(Root, "d", 0x1ED, 0).Entry.NodeId;
        var ids = new List<ulong>();
        for (int i = 0; i < 20; i++) ids.Add(k.Mknod(d, $"n{i}", 0x81A4, 0, 0).Entry.NodeId);
        Assert.True(fs.CachedFds <= 4);
        foreach (var id in ids) Assert.Equal(0, k.GetAttr(id).Error);
        Assert.Equal(ids[3], k.Lookup(d, "n3").Entry.NodeId); // same (dev, ino) -> same node id
        Assert.Equal(0, k.Rename(d, "n5", Root, "moved"));
        Assert.Equal(0, k.GetAttr(ids[5]).Error);
        Assert.Equal(-Errno.EEXIST, k.Rename(Root, "moved", d, "n6", 1));
        Assert.Equal(-Errno.ENOENT, k.Rename(Root, "moved", d, "nothere", 2));
        Assert.Equal(-Errno.ENOTEMPTY, k.Rmdir(Root, "d"));
    }

    [Theory, MemberData(nameof(Keyings))]
    public void ReadDirPlusMatchesTheSource(PassthroughFs.InodeKeying? keying)
    {
        var (fs, k) = Start(keying);
        using var _ = fs;
        using var __ = k;
        for (int i = 0; i < 300; i++) File.WriteAllText(Path.Combine(_dir, $"file-{i:D4}"), "x");
        var plain = k.ListAll(Root, 4096).Select(r => r.Name).ToList();
        var plus = k.ListAll(Root, 4096, plus: true);
        var expected = Directory.GetFileSystemEntries(_dir).Select(p => Path.GetFileName(p)!).Append(".").Append("..").Order().ToList();
        Assert.Equal(expected, plain.Order().ToList());
        Assert.Equal(expected, plus.Select(r => r.Name).Order().ToList());
        Assert.All(plus.Where(r => r.Name.StartsWith("file-")), r => Assert.NotEqual(0ul, r.Entry.NodeId));
        Assert.Equal(301, fs.InodeCount);
    }

    [Theory, MemberData(nameof(Keyings))]
    public void LinksSymlinksXattrsAndTruncate(PassthroughFs.InodeKeying? keying)
    {
        var (fs, k) = Start(keying);
        using var _ = fs;
        using var __ = k;
        var (e, entry, fh) = k.Create(Root, "a", 0x81A4, Libc.O_RDWR | Libc.O_CREAT, 0);
        Assert.Equal(0, e);
        k.Write(entry.NodeId, fh, 0, new byte[1000]);
        var link = k.Link(entry.NodeId, Root, "b");
        Assert.Equal(0, link.Error);
        Assert.Equal(entry.NodeId, link.Entry.NodeId);
        Assert.Equal(2u, link.Entry.Attr.Nlink);
        var sym = k.Symlink(Root, "s", "a");
        Assert.Equal(0, sym.Error);
        Assert.Equal((0, "a"), k.ReadLink(sym.Entry.NodeId));
        Assert.Equal(10ul, k.Truncate(entry.NodeId, 10).Attr.Size);
        Assert.Equal(10, new FileInfo(Path.Combine(_dir, "b")).Length);
        int xe = k.SetXattr(entry.NodeId, "user.t", [1, 2], 1);
        if (xe == -Errno.EOPNOTSUPP) return; // source filesystem without user xattrs
        Assert.Equal(0, xe);
        Assert.Equal(-Errno.EEXIST, k.SetXattr(entry.NodeId, "user.t", [1], 1));
        Assert.Equal(-Errno.ENODATA, k.GetXattr(entry.NodeId, "user.none", 10).Error);
        Assert.Equal(-Errno.ERANGE, k.GetXattr(entry.NodeId, "user.t", 1).Error);
        Assert.Equal(new byte[] { 1, 2 }, k.GetXattr(entry.NodeId, "user.t", 10).Data);
        Assert.Contains("user.t\0", Encoding.ASCII.GetString(k.ListXattr(entry.NodeId, 1000).Data));
        Assert.Equal(0, k.RemoveXattr(entry.NodeId, "user.t"));
    }

    [Theory, MemberData(nameof(Keyings))]
    public void UnlinkedInodeStaysReachableUntilForgotten(PassthroughFs.InodeKeying? keying)
    {
        var (fs, k) = Start(keying, cache: 2);
        using var _ = fs;
        using var __ = k;
        var a = k.Mknod(Root, "a", 0x81A4, 0, 0).Entry.NodeId;
        for (int i = 0; i < 5; i++) k.Mknod(Root, $"o{i}", 0x81A4, 0, 0);
        Assert.Equal(0, k.Unlink(Root, "a"));
        for (int i = 5; i < 10; i++) k.Mknod(Root, $"o{i}", 0x81A4, 0, 0);
        var (e, attr) = k.GetAttr(a);
        Assert.Equal(0, e);
        Assert.Equal(0u, attr.Nlink);
        int before = fs.InodeCount;
        k.Forget(a, 1);
        Assert.Equal(before - 1, fs.InodeCount);
        Assert.Equal(-Errno.ESTALE, k.GetAttr(a).Error);
    }

    /// <summary>
    /// Several "kernels" at once stat the same few inodes over a 1-fd cache, so nearly every GETATTR opens its inode
    /// again — outside the inode-table lock, so two requests often reopen one inode at the same time and one of the
    /// two fds is surplus. Every answer is right, the cache stays within its capacity, and once everything is
    /// forgotten no fd on the source is left open.
    /// </summary>
    [Theory, MemberData(nameof(Keyings))]
    public void Concurrent_reopens_over_a_tiny_fd_cache_answer_right_and_leak_no_fd(PassthroughFs.InodeKeying? keying)
    {
        const int Files = 4, Threads = 4, Rounds = 3000, Capacity = 1;
        var inos = new ulong[Files];
        for (int i = 0; i < Files; i++)
        {
            string path = Path.Combine(_dir, $"f{i}");
            File.WriteAllText(path, "x");
            Assert.Equal(0, Libc.FStatAt(Libc.AT_FDCWD, Encoding.UTF8.GetBytes(path), out var st, 0));
            inos[i] = st.Ino;
        }
        var (fs, first) = Start(keying, Capacity);
        using var _ = fs;
        using var __ = first;
        var kernels = Enumerable.Range(0, Threads).Select(_ => new KernelModel(fs) { Uid = Libc.geteuid(), Gid = Libc.getegid() }).ToArray();
        try
        {
            foreach (var k in kernels) Assert.Equal(0, k.Init().Error);
            var failures = new System.Collections.Concurrent.ConcurrentQueue<string>();
            var start = new Barrier(Threads);
            var threads = kernels.Select(k => new Thread(() =>
            {
                var ids = Enumerable.Range(0, Files).Select(i => k.Lookup(Root, $"f{i}").Entry.NodeId).ToArray();
                start.SignalAndWait();
                for (int r = 0; r < Rounds; r++)
                {
                    int i = r / 2 % Files; // every thread on the same inode at about the same time
                    var (e, attr) = k.GetAttr(ids[i]);
                    if (e != 0 || attr.Ino != inos[i]) failures.Enqueue($"getattr f{i}: {e}, ino {attr.Ino} (expected {inos[i]})");
                    if (fs.CachedFds > Capacity) failures.Enqueue($"{fs.CachedFds} fds cached");
                }
                foreach (var id in ids) k.Forget(id, 1);
            })).ToList();
            threads.ForEach(t => t.Start());
            threads.ForEach(t => t.Join());
            Assert.Empty(failures);
            Assert.Equal(1, fs.InodeCount); // the root alone
            Assert.Equal(0, fs.CachedFds);
            Assert.Empty(OpenFiles.Inside(_dir));
        }
        finally
        {
            foreach (var k in kernels) k.Dispose();
        }
    }

    [Fact]
    public void DotDotOfTheRootIsTheRoot()
    {
        var (fs, k) = Start(null);
        using var _ = fs;
        using var __ = k;
        // open_by_handle_at needs CAP_DAC_READ_SEARCH: without it the (parent, name) route is chosen.
        Assert.Equal(Libc.geteuid() == 0 ? PassthroughFs.InodeKeying.FileHandles : PassthroughFs.InodeKeying.ParentAndName, fs.Keying);
        Assert.Equal(Root, k.Lookup(Root, "..").Entry.NodeId);
        Assert.Equal(-Errno.EINVAL, k.Lookup(Root, "../etc").Error);
    }

    [Fact]
    public void Release_closes_only_the_handles_it_gave_and_dispose_the_ones_never_released()
    {
        File.WriteAllText(Path.Combine(_dir, "f"), "data");
        var (fs, k) = Start(null, cache: 2);
        using var _ = fs;
        using var __ = k;
        using var other = File.OpenRead(Path.Combine(_dir, "f")); // an fd of the process that is no handle of fs
        int otherFd = (int)other.SafeFileHandle.DangerousGetHandle();
        Assert.Equal(-Errno.EBADF, k.Release(Root, (ulong)otherFd));
        Assert.Equal(4, other.Read(new byte[8])); // still open
        ulong f = k.Lookup(Root, "f").Entry.NodeId;
        var (e, fh) = k.Open(f, Libc.O_RDONLY);
        Assert.Equal(0, e);
        var (e2, fh2) = k.Open(f, Libc.O_RDONLY);
        Assert.Equal(0, e2);
        Assert.Equal(0, k.Release(f, fh2));
        Assert.Equal(-Errno.EBADF, k.Release(f, fh2)); // a stray RELEASE (the kernel sends one per handle)
        var (e3, fh3) = k.Open(f, Libc.O_RDONLY);
        Assert.Equal(0, e3);
        // fh2 as it reads when its fd number comes back for fh3 (tests running alongside may take the freed number first):
        ulong staleWithFh3sNumber = (fh2 & 0xFFFF_FFFF_0000_0000) | (uint)fh3;
        Assert.NotEqual(fh3, staleWithFh3sNumber);
        Assert.Equal(-Errno.EBADF, k.Release(f, staleWithFh3sNumber)); // the old handle does not close the new file
        Assert.Equal("data", Encoding.ASCII.GetString(k.Read(f, fh3, 0, 100).Data));
        Assert.Equal(0, k.Release(f, fh3));
        for (int i = 0; i < 4; i++) k.Mknod(Root, $"evict{i}", 0x81A4, 0, 0); // f's O_PATH fd leaves the cache
        fs.Dispose(); // the connection went without releasing fh
        Assert.Equal(-Errno.EIO, k.GetAttr(f).Error); // a late call opens nothing again
        Assert.Equal([$"{otherFd} -> {Path.Combine(_dir, "f")}"], OpenFiles.Under(_dir)); // only the test's own
    }

    [Theory, MemberData(nameof(Keyings))]
    public void Only_a_removal_that_leaves_an_inode_unreachable_pins_its_fd(PassthroughFs.InodeKeying? keying)
    {
        var (fs, k) = Start(keying);
        using var _ = fs;
        using var __ = k;
        for (int i = 0; i < 10; i++)
        {
            var d = k.Mkdir(Root, $"d{i}").Entry.NodeId;
            Assert.Equal(0, k.Mkdir(d, "inner").Error);
            Assert.Equal(-Errno.ENOTEMPTY, k.Rmdir(Root, $"d{i}"));
            Assert.Equal(-Errno.EEXIST, k.Rename(Root, "d0", Root, $"d{i}", 1)); // RENAME_NOREPLACE
        }
        Assert.Equal(0, fs.PinnedFds); // failed removals keep nothing open

        var (_, file, fh) = k.Create(Root, "f");
        Assert.Equal(0, k.Release(file.NodeId, fh));
        Assert.Equal(file.NodeId, k.Link(file.NodeId, Root, "g").Entry.NodeId);
        Assert.Equal(0, k.Unlink(Root, "g"));
        // One link of two: a handle still opens it; by (parent, name) the route it was last found by is gone.
        bool handles = fs.Keying == PassthroughFs.InodeKeying.FileHandles;
        Assert.Equal(handles ? 0 : 1, fs.PinnedFds);
        Assert.Equal(file.NodeId, k.Lookup(Root, "f").Entry.NodeId); // a route again: its fd goes back to the cache
        Assert.Equal(0, fs.PinnedFds);

        Assert.Equal(0, k.Unlink(Root, "f")); // the last link
        Assert.Equal(1, fs.PinnedFds);
        Assert.Equal((0, 0u), (k.GetAttr(file.NodeId).Error, k.GetAttr(file.NodeId).Attr.Nlink)); // served from the pinned fd
        k.Forget(file.NodeId, 3);
        Assert.Equal(0, fs.PinnedFds);
    }

    [Fact]
    public void An_unprivileged_truncate_clears_set_user_id_and_group_id_as_the_kernel_would()
    {
        var (fs, k) = Start(null);
        using var _ = fs;
        using var __ = k;
        var (_, a, fa) = k.Create(Root, "a", 0x81ED);
        var (_, b, fb) = k.Create(Root, "b", 0x81A4);
        Assert.Equal(0, k.Release(a.NodeId, fa) | k.Release(b.NodeId, fb));
        Assert.Equal(0, k.SetAttr(a.NodeId, new FuseSetattrIn { Valid = (uint)FuseSetattrValid.Mode, Mode = 0x8000 | 0xDED }).Error); // 06755
        Assert.Equal(0, k.SetAttr(b.NodeId, new FuseSetattrIn { Valid = (uint)FuseSetattrValid.Mode, Mode = 0x8000 | 0xDA4 }).Error); // 06644
        var kill = new FuseSetattrIn { Valid = (uint)(FuseSetattrValid.Size | FuseSetattrValid.KillSuidgid), Size = 0 };
        Assert.Equal(0x81EDu, k.SetAttr(a.NodeId, kill).Attr.Mode);            // both bits go
        Assert.Equal(0x8000u | 0x5A4, k.SetAttr(b.NodeId, kill).Attr.Mode);   // set-group-ID without group execute stays
        Assert.Equal(0, Libc.FStatAt(Libc.AT_FDCWD, Encoding.UTF8.GetBytes(Path.Combine(_dir, "a")), out var st, 0));
        Assert.Equal(0x81EDu, st.Mode);
    }

    [Fact]
    public void A_create_of_a_name_made_in_the_source_meanwhile_hands_nothing_over()
    {
        var (fs, k) = Start(null);
        using var _ = fs;
        using var __ = k;
        string theirs = Path.Combine(_dir, "theirs");
        File.WriteAllText(theirs, "their data");
        File.SetUnixFileMode(theirs, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        byte[] path = Encoding.UTF8.GetBytes(theirs);
        Assert.Equal(0, Libc.FStatAt(Libc.AT_FDCWD, path, out var before, 0));
        k.Uid = k.Gid = 65534;
        // The kernel sent CREATE because it found the name free; ESTALE makes it look again and open what is there.
        Assert.Equal(-Errno.ESTALE, k.Create(Root, "theirs", 0x81A4, Libc.O_WRONLY | Libc.O_CREAT | Libc.O_TRUNC, 0).Error);
        Assert.Equal(-Errno.EEXIST, k.Create(Root, "theirs", 0x81A4, Libc.O_WRONLY | Libc.O_CREAT | Libc.O_EXCL, 0).Error);
        Assert.Equal(0, Libc.FStatAt(Libc.AT_FDCWD, path, out var after, 0));
        Assert.Equal((before.Uid, before.Gid, before.Mode), (after.Uid, after.Gid, after.Mode));
        Assert.Equal("their data", File.ReadAllText(theirs));
    }

    [Fact]
    public void An_O_DIRECT_open_or_create_bypasses_the_page_cache_with_parallel_writes_and_a_plain_one_does_not()
    {
        File.WriteAllText(Path.Combine(_dir, "f"), "x");
        var fs = new PassthroughFs(_dir);
        var k = new KernelModel(fs) { Uid = Libc.geteuid(), Gid = Libc.getegid() };
        using var _ = fs;
        using var __ = k;
        var (e, init) = k.Init();
        Assert.Equal(0, e);
        Assert.NotEqual(0u, init.Flags2 & (uint)((ulong)FuseInitFlags.DirectIoAllowMmap >> 32)); // mmap of such files still works
        const uint bypass = (uint)(FuseOpenReplyFlags.DirectIo | FuseOpenReplyFlags.ParallelDirectWrites);
        ulong f = k.Lookup(Root, "f").Entry.NodeId;

        var (e1, direct) = k.OpenReply(f, Libc.O_RDWR | Libc.O_DIRECT);
        Assert.Equal(0, e1);
        Assert.Equal(bypass, direct.OpenFlags & bypass);
        var (e2, plain) = k.OpenReply(f, Libc.O_RDWR);
        Assert.Equal(0, e2);
        Assert.Equal(0u, plain.OpenFlags & bypass);
        var (e3, _, created) = k.CreateReply(Root, "g", 0x81A4, Libc.O_RDWR | Libc.O_CREAT | Libc.O_DIRECT, 0);
        Assert.Equal(0, e3);
        Assert.Equal(bypass, created.OpenFlags & bypass);
        Assert.Equal(0, k.Release(f, direct.Fh));
        Assert.Equal(0, k.Release(f, plain.Fh));
    }
}
