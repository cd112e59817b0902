using System.Text;
using Fuselage.Interop;
using Fuselage.Interop.Fuse;
using Fuselage.Samples;

namespace Fuselage.Tests.Samples;

public sealed class MemFsTests : IDisposable
{
    private const ulong Root = 1;
    private readonly MemFs _fs = new(0, 0);
    private readonly KernelModel _k;

    public MemFsTests()
    {
        _k = new KernelModel(_fs);
        var (e, init) = _k.Init();
        Assert.Equal(0, e);
        Assert.Equal(7u, init.Major);
    }

    public void Dispose() => _k.Dispose();

    private static byte[] Pattern(int length, int seed)
    {
        var b = new byte[length];
        new Random(seed).NextBytes(b);
        return b;
    }

    private (ulong Ino, ulong Fh) NewFile(string name, ulong parent = Root)
    {
        var (e, entry, fh) = _k.Create(parent, name);
        Assert.Equal(0, e);
        return (entry.NodeId, fh);
    }

    [Fact]
    public void RootIsADirectory()
    {
        var (e, attr) = _k.GetAttr(Root);
        Assert.Equal(0, e);
        Assert.Equal(MemFs.S_IFDIR | 0x1EDu, attr.Mode);
        Assert.Equal(2u, attr.Nlink);
        Assert.Equal(1ul, attr.Ino);
    }

    [Fact]
    public void CreateWriteReadBack()
    {
        var (e, entry, fh) = _k.Create(Root, "a.txt", 0x81B6, 0x42, 0x12);
        Assert.Equal(0, e);
        Assert.Equal(MemFs.S_IFREG | 0x1A4u, entry.Attr.Mode); // 0666 & ~022
        Assert.Equal(1000u, entry.Attr.Uid);
        var data = Pattern(200_000, 1);
        Assert.Equal((0, 200_000u), _k.Write(entry.NodeId, fh, 0, data));
        var (re, back) = _k.Read(entry.NodeId, fh, 0, 200_000);
        Assert.Equal(0, re);
        Assert.Equal(data, back);
        var (ge, attr) = _k.GetAttr(entry.NodeId);
        Assert.Equal(0, ge);
        Assert.Equal(200_000ul, attr.Size);
        Assert.Equal(4096u, attr.Blksize);
        Assert.Equal(4ul * 65536 / 512, attr.Blocks); // 4 chunks
        // Read past EOF: empty; short read at the end.
        Assert.Empty(_k.Read(entry.NodeId, fh, 300_000, 100).Data);
        Assert.Equal(data[199_990..], _k.Read(entry.NodeId, fh, 199_990, 100).Data);
        Assert.Equal(-Errno.EEXIST, _k.Create(Root, "a.txt", flags: 0xC2).Error);
        Assert.Equal(-Errno.ENOENT, _k.Lookup(Root, "missing").Error);
        Assert.Equal(-Errno.ENAMETOOLONG, _k.Create(Root, new string('x', 256)).Error);
        Assert.Equal(-Errno.ENAMETOOLONG, _k.Lookup(Root, new string('x', 256)).Error);
        Assert.Equal(0, _k.Create(Root, new string('x', 255)).Error);
    }

    [Fact]
    public void SparseWritePast4GiB()
    {
        var (ino, fh) = NewFile("sparse");
        long at = 5L << 30;
        var data = Pattern(10_000, 2);
        Assert.Equal((0, 10_000u), _k.Write(ino, fh, at, data));
        var attr = _k.GetAttr(ino).Attr;
        Assert.Equal((ulong)at + 10_000, attr.Size);
        Assert.True(attr.Blocks <= 2 * 65536 / 512, $"blocks {attr.Blocks}");
        var hole = _k.Read(ino, fh, 4L << 30, 65536);
        Assert.Equal(0, hole.Error);
        Assert.Equal(65536, hole.Data.Length);
        Assert.All(hole.Data, b => Assert.Equal(0, b));
        var mixed = _k.Read(ino, fh, at - 100, 10_100).Data;
        Assert.All(mixed[..100], b => Assert.Equal(0, b));
        Assert.Equal(data, mixed[100..]);
    }

    [Fact]
    public void SeekDataAndHole()
    {
        const int SEEK_DATA = 3, SEEK_HOLE = 4, C = MemFs.ChunkSize;
        var (ino, fh) = NewFile("s");
        _k.Write(ino, fh, 2L * C + 10, [1, 2, 3]);
        _k.Write(ino, fh, 3L * C, [4]);
        _k.Truncate(ino, 10L * C);
        Assert.Equal((0, 2L * C), _k.Lseek(ino, fh, 0, SEEK_DATA));
        Assert.Equal((0, 2L * C + 5), _k.Lseek(ino, fh, 2L * C + 5, SEEK_DATA));
        Assert.Equal((0, 0L), _k.Lseek(ino, fh, 0, SEEK_HOLE));
        Assert.Equal((0, 4L * C), _k.Lseek(ino, fh, 2L * C, SEEK_HOLE));
        Assert.Equal(-Errno.ENXIO, _k.Lseek(ino, fh, 5L * C, SEEK_DATA).Error);
        Assert.Equal(-Errno.ENXIO, _k.Lseek(ino, fh, 10L * C, SEEK_HOLE).Error);
        Assert.Equal(-Errno.ENXIO, _k.Lseek(ino, fh, 11L * C, SEEK_DATA).Error);
        // Data up to EOF: the hole is at EOF.
        var (ino2, fh2) = NewFile("full");
        _k.Write(ino2, fh2, 0, new byte[100]);
        Assert.Equal((0, 100L), _k.Lseek(ino2, fh2, 0, SEEK_HOLE));
    }

    [Fact]
    public void CopyFileRangeCopiesHolesAsHolesAndRefusesARangePastTheLargestOffset()
    {
        const int C = MemFs.ChunkSize;
        var (src, srcFh) = NewFile("src");
        var data = Pattern(100, 4);
        _k.Write(src, srcFh, 3L * C, data);
        _k.Truncate(src, 1L << 40); // a terabyte, all hole but one chunk
        var (dst, dstFh) = NewFile("dst");
        _k.Write(dst, dstFh, 0, Pattern(2 * C, 5)); // data where the copy's holes land

        (int Error, ulong Copied) Copy(long offsetIn, long offsetOut, ulong length)
        {
            var (e, p) = _k.Call(FuseOpcode.CopyFileRange64, src, KernelModel.Bytes(new FuseCopyFileRangeIn
            {
                FhIn = srcFh, OffIn = (ulong)offsetIn, NodeIdOut = dst, FhOut = dstFh, OffOut = (ulong)offsetOut, Len = length,
            }));
            return (e, e == 0 ? KernelModel.Read<ulong>(p) : 0);
        }

        Assert.Equal((0, 4ul * C), Copy(0, 0, 4ul * C));
        Assert.Equal(new byte[3 * C], _k.Read(dst, dstFh, 0, 3 * C).Data);
        Assert.Equal(data, _k.Read(dst, dstFh, 3L * C, data.Length).Data);
        Assert.Equal(3ul * C / 512, _k.GetAttr(dst).Attr.Blocks); // chunks 0 and 1 (cleared) and 3; none for 2
        // 1 GiB of hole copies without a chunk for it.
        Assert.Equal((0, 1ul << 30), Copy(1L << 32, 1L << 33, 1ul << 30));
        Assert.Equal(3ul * C / 512, _k.GetAttr(dst).Attr.Blocks);
        Assert.Equal(-Errno.EFBIG, Copy(0, long.MaxValue - 10, 100).Error);
    }

    [Fact]
    public void TruncateBothWays()
    {
        var (ino, fh) = NewFile("t");
        var data = Pattern(100_000, 3);
        _k.Write(ino, fh, 0, data);
        var (e, attr) = _k.Truncate(ino, 1000);
        Assert.Equal(0, e);
        Assert.Equal(1000ul, attr.Size);
        Assert.Equal(65536ul / 512, attr.Blocks);
        Assert.Equal(1000, _k.Read(ino, fh, 0, 4096).Data.Length);
        (e, attr) = _k.Truncate(ino, 200_000);
        Assert.Equal(0, e);
        Assert.Equal(200_000ul, attr.Size);
        var back = _k.Read(ino, fh, 0, 200_000).Data;
        Assert.Equal(data[..1000], back[..1000]);
        Assert.All(back[1000..], b => Assert.Equal(0, b)); // the old bytes must not reappear
        Assert.Equal(-Errno.EISDIR, _k.Truncate(Root, 0).Error);
        // O_TRUNC on open.
        Assert.Equal(0, _k.Open(ino, Libc.O_RDWR | Libc.O_TRUNC).Error);
        Assert.Equal(0ul, _k.GetAttr(ino).Attr.Size);
    }

    [Fact]
    public void SetAttrModeOwnerTimes()
    {
        var (ino, _) = NewFile("m");
        var (e, attr) = _k.SetAttr(ino, new FuseSetattrIn
        {
            Valid = (uint)(FuseSetattrValid.Mode | FuseSetattrValid.Uid | FuseSetattrValid.Gid | FuseSetattrValid.Atime | FuseSetattrValid.Mtime),
            Mode = 0x1C0, Uid = 7, Gid = 8, Atime = 1000, AtimeNsec = 5, Mtime = 2000, MtimeNsec = 6,
        });
        Assert.Equal(0, e);
        Assert.Equal(MemFs.S_IFREG | 0x1C0u, attr.Mode);
        Assert.Equal((7u, 8u), (attr.Uid, attr.Gid));
        Assert.Equal((1000ul, 5u, 2000ul, 6u), (attr.Atime, attr.AtimeNsec, attr.Mtime, attr.MtimeNsec));
        (e, attr) = _k.SetAttr(ino, new FuseSetattrIn { Valid = (uint)(FuseSetattrValid.Mtime | FuseSetattrValid.MtimeNow) });
        Assert.True(attr.Mtime > 1_600_000_000);
        Assert.Equal(1000ul, attr.Atime);
    }

    [Fact]
    public void RenameFlagsAndErrors()
    {
        NewFile("a");
        NewFile("b");
        var d = _k.Mkdir(Root, "d").Entry.NodeId;
        var sub = _k.Mkdir(d, "sub").Entry.NodeId;
        _k.Mkdir(Root, "empty");
        var full = _k.Mkdir(Root, "full").Entry.NodeId;
        NewFile("x", full);

        Assert.Equal(-Errno.EEXIST, _k.Rename(Root, "a", Root, "b", 1));
        Assert.Equal(-Errno.ENOENT, _k.Rename(Root, "a", Root, "nothere", 2));
        Assert.Equal(-Errno.EINVAL, _k.Rename(Root, "a", Root, "b", 3));
        Assert.Equal(-Errno.ENOENT, _k.Rename(Root, "nothere", Root, "c"));
        Assert.Equal(-Errno.ENOTEMPTY, _k.Rename(Root, "d", Root, "full"));
        Assert.Equal(-Errno.EISDIR, _k.Rename(Root, "a", Root, "empty"));
        Assert.Equal(-Errno.ENOTDIR, _k.Rename(Root, "d", Root, "a"));
        Assert.Equal(-Errno.EINVAL, _k.Rename(Root, "d", sub, "loop"));
        Assert.Equal(-Errno.EINVAL, _k.Rename(Root, "d", d, "self"));
        // Into a directory removed while still looked up (the kernel may still hold its node): it would be lost.
        var gone = _k.Mkdir(Root, "gone").Entry.NodeId;
        Assert.Equal(0, _k.Rmdir(Root, "gone"));
        Assert.Equal(-Errno.ENOENT, _k.Rename(Root, "d", gone, "d"));
        Assert.Equal(-Errno.ENOENT, _k.Rename(Root, "a", gone, "a", 2));
        Assert.Equal(0, _k.Lookup(Root, "d").Error);

        // Exchange swaps.
        var a = _k.Lookup(Root, "a").Entry.NodeId;
        var b = _k.Lookup(Root, "b").Entry.NodeId;
        Assert.Equal(0, _k.Rename(Root, "a", Root, "b", 2));
        Assert.Equal(b, _k.Lookup(Root, "a").Entry.NodeId);
        Assert.Equal(a, _k.Lookup(Root, "b").Entry.NodeId);

        // Over a file; the replaced file is gone.
        Assert.Equal(0, _k.Rename(Root, "a", Root, "b"));
        Assert.Equal(-Errno.ENOENT, _k.Lookup(Root, "a").Error);
        Assert.Equal(b, _k.Lookup(Root, "b").Entry.NodeId);

        // Directory over an empty directory, into another parent: nlink follows.
        uint rootLinks = _k.GetAttr(Root).Attr.Nlink; // 2 + d, empty, full
        Assert.Equal(5u, rootLinks);
        Assert.Equal(0, _k.Rename(d, "sub", Root, "empty"));
        Assert.Equal(sub, _k.Lookup(Root, "empty").Entry.NodeId);
        Assert.Equal(5u, _k.GetAttr(Root).Attr.Nlink);
        Assert.Equal(2u, _k.GetAttr(d).Attr.Nlink);
        var dotdot = _k.Lookup(sub, "..").Entry.NodeId;
        Assert.Equal(Root, dotdot);
    }

    [Fact]
    public void DirectoryErrors()
    {
        var d = _k.Mkdir(Root, "d").Entry.NodeId;
        NewFile("f", d);
        Assert.Equal(-Errno.EEXIST, _k.Mkdir(Root, "d").Error);
        Assert.Equal(-Errno.ENOTEMPTY, _k.Rmdir(Root, "d"));
        Assert.Equal(-Errno.ENOTDIR, _k.Rmdir(d, "f"));
        Assert.Equal(-Errno.EISDIR, _k.Unlink(Root, "d"));
        Assert.Equal(-Errno.ENOENT, _k.Unlink(Root, "nope"));
        Assert.Equal(-Errno.EEXIST, _k.Symlink(d, "f", "/x").Error);
        Assert.Equal(-Errno.EEXIST, _k.Mknod(d, "f", 0x1000 | 0x1A4).Error);
        Assert.Equal(0, _k.Unlink(d, "f"));
        Assert.Equal(3u, _k.GetAttr(Root).Attr.Nlink);
        Assert.Equal(0, _k.Rmdir(Root, "d"));
        Assert.Equal(2u, _k.GetAttr(Root).Attr.Nlink);
        Assert.Equal(-Errno.ENOENT, _k.Lookup(Root, "d").Error);
        // The removed directory's inode is still referenced by the kernel, but nothing can be created in it.
        Assert.Equal(-Errno.ENOENT, _k.Create(d, "g").Error);
    }

    [Fact]
    public void SymlinkAndFifo()
    {
        var (e, entry) = _k.Symlink(Root, "l", "../some/target");
        Assert.Equal(0, e);
        Assert.Equal(MemFs.S_IFLNK, entry.Attr.Mode & MemFs.S_IFMT);
        Assert.Equal((0, "../some/target"), _k.ReadLink(entry.NodeId));
        var (fe, fifo) = _k.Mknod(Root, "p", MemFs.S_IFIFO | 0x1B6);
        Assert.Equal(0, fe);
        Assert.Equal(MemFs.S_IFIFO | 0x1A4u, fifo.Attr.Mode);
        Assert.Equal(-Errno.EINVAL, _k.ReadLink(fifo.NodeId).Error);
    }

    [Fact]
    public void Xattrs()
    {
        var (ino, _) = NewFile("x");
        Assert.Equal(-Errno.ENODATA, _k.GetXattr(ino, "user.a", 100).Error);
        Assert.Equal(-Errno.ENODATA, _k.SetXattr(ino, "user.a", [1], 2));
        Assert.Equal(0, _k.SetXattr(ino, "user.a", [1, 2, 3], 1));
        Assert.Equal(-Errno.EEXIST, _k.SetXattr(ino, "user.a", [9], 1));
        Assert.Equal(0, _k.SetXattr(ino, "user.a", [4, 5], 2));
        Assert.Equal(0, _k.SetXattr(ino, "user.bb", [6]));
        var (pe, probe) = _k.GetXattr(ino, "user.a", 0);
        Assert.Equal(0, pe);
        Assert.Equal(2u, KernelModel.Read<FuseGetxattrOut>(probe).Size);
        var (ge, value) = _k.GetXattr(ino, "user.a", 100);
        Assert.Equal(0, ge);
        Assert.Equal(new byte[] { 4, 5 }, value);
        Assert.Equal(-Errno.ERANGE, _k.GetXattr(ino, "user.a", 1).Error);
        var (le, listProbe) = _k.ListXattr(ino, 0);
        Assert.Equal(0, le);
        Assert.Equal(15u, KernelModel.Read<FuseGetxattrOut>(listProbe).Size);
        var (le2, list) = _k.ListXattr(ino, 100);
        Assert.Equal(0, le2);
        Assert.Equal("user.a\0user.bb\0", Encoding.ASCII.GetString(list));
        Assert.Equal(-Errno.ERANGE, _k.ListXattr(ino, 10).Error);
        Assert.Equal(0, _k.RemoveXattr(ino, "user.a"));
        Assert.Equal(-Errno.ENODATA, _k.RemoveXattr(ino, "user.a"));
        Assert.Equal("user.bb\0", Encoding.ASCII.GetString(_k.ListXattr(ino, 100).Data));
        Assert.Equal(-Errno.EOPNOTSUPP, _k.SetXattr(ino, "foo.bar", [1])); // as tmpfs: only the namespaces it keeps
        Assert.Equal(-Errno.EINVAL, _k.SetXattr(ino, "user.", [1]));
        Assert.Equal(0, _k.SetXattr(ino, "trusted.t", [1]));
    }

    [Fact]
    public void HardLinkCounts()
    {
        var (ino, _) = NewFile("orig");
        var d = _k.Mkdir(Root, "d").Entry.NodeId;
        var (e, entry) = _k.Link(ino, d, "second");
        Assert.Equal(0, e);
        Assert.Equal(ino, entry.NodeId);
        Assert.Equal(2u, entry.Attr.Nlink);
        Assert.Equal(-Errno.EEXIST, _k.Link(ino, d, "second").Error);
        Assert.Equal(-Errno.EPERM, _k.Link(d, Root, "dirlink").Error);
        Assert.Equal(0, _k.Unlink(Root, "orig"));
        Assert.Equal(1u, _k.GetAttr(ino).Attr.Nlink);
        Assert.Equal(ino, _k.Lookup(d, "second").Entry.NodeId);
        // Renaming one link over another of the same inode does nothing.
        Assert.Equal(0, _k.Link(ino, Root, "third").Error);
        Assert.Equal(0, _k.Rename(Root, "third", d, "second"));
        Assert.Equal(2u, _k.GetAttr(ino).Attr.Nlink);
    }

    [Fact]
    public void UnlinkedOpenFileStaysReadableUntilReleaseAndForget()
    {
        int baseline = _fs.InodeCount;
        var (ino, fh) = NewFile("gone");             // lookup count 1
        _k.Write(ino, fh, 0, [1, 2, 3]);
        Assert.Equal(0, _k.Unlink(Root, "gone"));
        Assert.Equal(0u, _k.GetAttr(ino).Attr.Nlink);
        Assert.Equal(new byte[] { 1, 2, 3 }, _k.Read(ino, fh, 0, 10).Data);
        Assert.Equal((0, 2u), _k.Write(ino, fh, 3, [4, 5]));
        _k.Forget(ino, 1);
        Assert.Equal(new byte[] { 1, 2, 3, 4, 5 }, _k.Read(ino, fh, 0, 10).Data); // still open
        Assert.Equal(baseline + 1, _fs.InodeCount);
        _k.Release(ino, fh);
        Assert.Equal(baseline, _fs.InodeCount);
        Assert.Equal(-Errno.ENOENT, _k.GetAttr(ino).Error);
    }

    [Fact]
    public void LookupCountsIncludeReadDirPlus()
    {
        int baseline = _fs.InodeCount;
        var (ino, fh) = NewFile("f");                // 1
        _k.Release(ino, fh);
        _k.Lookup(Root, "f");                        // 2
        var all = _k.ListAll(Root, plus: true);      // 3 ("." and ".." are not counted)
        Assert.Equal([".", "..", "f"], all.Select(r => r.Name));
        Assert.Equal(0ul, all[0].Entry.NodeId);
        Assert.Equal(ino, all[2].Entry.NodeId);
        Assert.Equal(0, _k.Unlink(Root, "f"));
        _k.Forget(ino, 2);
        Assert.Equal(baseline + 1, _fs.InodeCount);
        _k.Forget(ino, 1);
        Assert.Equal(baseline, _fs.InodeCount);
    }

    [Fact]
    public void ReadDirContinuesAcrossCallsAndSurvivesDeletes()
    {
        var d = _k.Mkdir(Root, "big").Entry.NodeId;
        for (int i = 0; i < 1500; i++)
            Assert.Equal(0, _k.Mknod(d, $"entry-{i:D5}", MemFs.S_IFREG | 0x1A4).Error);

        var (oe, fh) = _k.OpenDir(d);
        Assert.Equal(0, oe);
        var seen = new List<string>();
        long offset = 0;
        int calls = 0;
        while (true)
        {
            var (e, records) = _k.ReadDir(d, fh, offset, 4096);
            Assert.Equal(0, e);
            if (records.Count == 0) break;
            calls++;
            seen.AddRange(records.Select(r => r.Name));
            offset = (long)records[^1].NextOffset;
            // Delete every other entry ahead of the cursor while listing: nothing not deleted may be skipped.
            if (calls == 2)
                for (int i = 1; i < 1500; i += 2)
                {
                    string name = $"entry-{i:D5}";
                    if (!seen.Contains(name)) Assert.Equal(0, _k.Unlink(d, name));
                }
        }
        _k.ReleaseDir(d, fh);
        Assert.True(calls > 5, $"only {calls} READDIR calls");
        Assert.Equal(".", seen[0]);
        Assert.Equal("..", seen[1]);
        Assert.Equal(seen.Count, seen.Distinct().Count());
        for (int i = 0; i < 1500; i += 2) Assert.Contains($"entry-{i:D5}", seen);

        // Delete half of what remains and list again.
        var remaining = _k.ListAll(d).Select(r => r.Name).Where(n => n.StartsWith("entry-")).ToList();
        for (int i = 0; i < remaining.Count; i += 2) Assert.Equal(0, _k.Unlink(d, remaining[i]));
        var expected = remaining.Where((_, i) => i % 2 == 1).ToList();
        var listed = _k.ListAll(d, 4096).Select(r => r.Name).ToList();
        Assert.Equal([".", "..", .. expected], listed);
        var listedPlus = _k.ListAll(d, 8192, plus: true).Select(r => r.Name).ToList();
        Assert.Equal([".", "..", .. expected], listedPlus);
    }

    [Fact]
    public void FallocateAndPunchHole()
    {
        var (ino, fh) = NewFile("fa");
        Assert.Equal(0, _k.Fallocate(ino, fh, 0, 100_000, 0));
        Assert.Equal(100_000ul, _k.GetAttr(ino).Attr.Size);
        Assert.Equal(0, _k.Fallocate(ino, fh, 0, 500_000, 1));
        Assert.Equal(100_000ul, _k.GetAttr(ino).Attr.Size);
        _k.Write(ino, fh, 0, Enumerable.Repeat((byte)7, 100_000).ToArray());
        Assert.Equal(0, _k.Fallocate(ino, fh, 10, 80_000, 3));
        var back = _k.Read(ino, fh, 0, 100_000).Data;
        Assert.All(back[..10], b => Assert.Equal(7, b));
        Assert.All(back[10..80_010], b => Assert.Equal(0, b));
        Assert.All(back[80_010..], b => Assert.Equal(7, b));
        Assert.Equal(100_000ul, _k.GetAttr(ino).Attr.Size);
        Assert.Equal(-Errno.EOPNOTSUPP, _k.Fallocate(ino, fh, 0, 10, 0x10));
    }

    [Fact]
    public void StatFsAndTimestampsOfParent()
    {
        var (e, st) = _k.StatFs(Root);
        Assert.Equal(0, e);
        Assert.Equal(4096u, st.Bsize);
        Assert.Equal(255u, st.Namelen);
        Assert.True(st.Blocks > 0 && st.Files > 0);
        _k.SetAttr(Root, new FuseSetattrIn { Valid = (uint)FuseSetattrValid.Mtime, Mtime = 5 });
        Assert.Equal(5ul, _k.GetAttr(Root).Attr.Mtime);
        NewFile("n");
        Assert.True(_k.GetAttr(Root).Attr.Mtime > 5);
    }
}
