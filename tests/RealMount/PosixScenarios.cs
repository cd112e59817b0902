using System.Text;

namespace Fuselage.Tests;

/// <summary>
/// System-call scenarios run in a directory. Each returns a transcript of results (errnos, sizes, contents),
/// so a mount can be compared with the same calls on a native directory, and asserts the POSIX answers it knows.
/// </summary>
internal static class PosixScenarios
{
    public static readonly (string Name, Func<string, List<string>> Run)[] All =
    [
        ("open flags", OpenFlags),
        ("offsets and sparse files", SparseAndOffsets),
        ("truncate", Truncate),
        ("directory errnos", DirectoryErrnos),
        ("rename", Rename),
        ("links", Links),
        ("xattrs", Xattrs),
        ("big directory", BigDirectory),
        ("unlinked open file, fsync, chmod, utimens", OpenAfterUnlink),
        ("random operations, seed 1", d => RandomOperations(d, 1)),
        ("random operations, seed 2", d => RandomOperations(d, 2)),
        ("random operations, seed 3", d => RandomOperations(d, 3)),
        ("random operations, seed 4", d => RandomOperations(d, 4)),
    ];

    /// <summary>
    /// 1,500 seeded random calls on a small tree (three names, three levels): directories, opens with assorted flags,
    /// reads and writes through up to four open files, truncates, renames (with NOREPLACE and EXCHANGE), hard and
    /// symbolic links, chmod, fallocate and removals, each call's result in the transcript; then the whole tree
    /// (types, modes, link counts, sizes, contents, link targets). Half or more of the mkdir, rmdir, unlink, rename,
    /// link and symlink calls name a path they can succeed on, so that successes are not rare (per seed about 35
    /// rmdirs, 40 links, 60 mkdirs, 50 unlinks and 30 renames succeed; before, rmdir and link did 2-6 times each).
    /// </summary>
    private static List<string> RandomOperations(string d, int seed)
    {
        var rng = new Random(seed);
        var t = new List<string>();
        string[] names = ["a", "b", "c"];
        string[] level2 = [.. names.SelectMany(x => names.Select(y => $"{x}/{y}"))];
        string[] level3 = [.. level2.SelectMany(x => names.Select(z => $"{x}/{z}"))];
        string[] paths = [.. names, .. level2, .. level3];
        // Mostly shallow: a deeper path exists only once its parents do.
        string Any() => rng.Next(20) switch { < 9 => names[rng.Next(3)], < 16 => level2[rng.Next(9)], _ => level3[rng.Next(27)] };
        // For the calls that fail on most paths (rmdir, rename, link), mostly a path they can succeed on, drawn from
        // what the tree holds now, which is the same on both sides while their transcripts agree: one that exists
        // (of the kind given), or one that does not in a directory that does.
        string Existing(bool? directory = null) => Drawn(x => Posix.LStat(P(x), out var st) == 0
            && (directory is not bool dir || ((st.Mode & 0xF000) == 0x4000) == dir));
        string EmptyDirectory() => Drawn(x => Posix.LStat(P(x), out var st) == 0 && (st.Mode & 0xF000) == 0x4000
            && !names.Any(n => Posix.LStat(P($"{x}/{n}"), out _) == 0));
        string Free() => Drawn(x => Posix.LStat(P(x), out _) != 0
            && (Path.GetDirectoryName(x) is not { Length: > 0 } parent || Posix.LStat(P(parent), out var ps) == 0 && (ps.Mode & 0xF000) == 0x4000));
        string Drawn(Func<string, bool> fits)
        {
            if (rng.Next(4) == 0) return Any();
            // The first that fits from a random place on: a few lstats each, not one per path (on the mount, a LOOKUP each).
            int start = rng.Next(paths.Length);
            for (int i = 0; i < paths.Length; i++)
                if (paths[(start + i) % paths.Length] is var x && fits(x)) return x;
            return Any();
        }
        string P(string relative) => Path.Combine(d, relative);
        int[] openFlags =
        [
            Posix.O_RDONLY, Posix.O_WRONLY | Posix.O_CREAT, Posix.O_RDWR | Posix.O_CREAT, Posix.O_RDWR | Posix.O_CREAT | Posix.O_EXCL,
            Posix.O_WRONLY | Posix.O_TRUNC, Posix.O_RDWR | Posix.O_APPEND, Posix.O_RDONLY | Posix.O_DIRECTORY,
        ];
        var open = new List<(int Fd, string Path)>();
        try
        {
            Steps();
        }
        finally
        {
            foreach (var (fd, _) in open) Posix.Close(fd); // before the tree is read, and on failure: a mount must unmount
        }
        foreach (var path in paths) t.Add(Describe(path));
        return t;

        void Steps()
        {
            for (int step = 0; step < 1500; step++)
            {
                string p = Any(), q = Any();
                int op = rng.Next(17);
                string call = op switch
                {
                    0 or 16 => Mkdir(rng.Next(2) == 0 ? Free() : p),
                    1 => Rmdir(rng.Next(2) == 0 ? EmptyDirectory() : Existing(directory: true)),
                    2 or 3 => OpenOne(p),
                    4 when open.Count > 0 => CloseOne(),
                    5 or 6 when open.Count > 0 => WriteOne(),
                    7 when open.Count > 0 => ReadOne(),
                    8 => $"truncate {p} {(rng.Next(2) == 0 ? Posix.Truncate(P(p), Pick(0, 10, 70_000)) : open.Count > 0 ? Posix.Ftruncate(open[0].Fd, Pick(0, 5, 100_000)) : 0)}",
                    9 => Unlink(rng.Next(2) == 0 ? Existing(directory: false) : p),
                    10 => Rename(Existing(), rng.Next(2) == 0 ? Free() : Existing()),
                    11 => Link(Existing(directory: false), Free()),
                    12 => Symlink(rng.Next(2) == 0 ? Free() : q, Pick("a", "b", "c/a", "none")),
                    13 => $"readlink {p} {Posix.ReadLink(P(p)) ?? "-"} chmod {Posix.Chmod(P(p), (uint)Pick(0x1A4, 0x180, 0x1ED))}",
                    14 when open.Count > 0 => $"fallocate {Posix.Fallocate(open[^1].Fd, Pick(0, 3), Pick(0, 4096, 100_000), Pick(1, 4096, 70_000))}",
                    _ => Describe(p),
                };
                t.Add(call);
            }
        }

        T Pick<T>(params T[] values) => values[rng.Next(values.Length)];

        string Symlink(string q, string target) => $"symlink {q} {target} {Posix.Symlink(target, P(q))}";

        string Rmdir(string p) => $"rmdir {p} {Posix.Rmdir(P(p))}";

        string Mkdir(string p) => $"mkdir {p} {Posix.Mkdir(P(p), rng.Next(2) == 0 ? 0x1EDu : 0x1C0u)}";

        string Unlink(string p) => $"unlink {p} {Posix.Unlink(P(p))}";

        string Link(string p, string q) => $"link {p} {q} {Posix.Link(P(p), P(q))}";

        string Rename(string p, string q) => rng.Next(3) switch
        {
            0 => $"rename {p} {q} {Posix.Rename(P(p), P(q))}",
            1 => $"rename-noreplace {p} {q} {Posix.Rename2(P(p), P(q), Posix.RENAME_NOREPLACE)}",
            _ => $"rename-exchange {p} {q} {Posix.Rename2(P(p), P(q), Posix.RENAME_EXCHANGE)}",
        };

        string OpenOne(string p)
        {
            int flags = openFlags[rng.Next(openFlags.Length)];
            int fd = Posix.Open(P(p), flags);
            if (fd < 0) return $"open {p} {flags:x} {fd}";
            if (open.Count == 4) { Posix.Close(open[0].Fd); open.RemoveAt(0); }
            open.Add((fd, p));
            return $"open {p} {flags:x} ok";
        }

        string CloseOne()
        {
            int i = rng.Next(open.Count);
            var (fd, p) = open[i];
            open.RemoveAt(i);
            return $"close {p} {Posix.Close(fd)}";
        }

        string WriteOne()
        {
            var (fd, p) = open[rng.Next(open.Count)];
            var data = new byte[Pick(1, 100, 5000, 70_000)];
            rng.NextBytes(data);
            return $"pwrite {p} {Posix.PWrite(fd, data, Pick(0, 1000, 65536, 200_000))}";
        }

        string ReadOne()
        {
            var (fd, p) = open[rng.Next(open.Count)];
            var data = new byte[Pick(1, 4096, 100_000)];
            long n = Posix.PRead(fd, data, Pick(0, 1000, 65536, 200_000));
            return $"pread {p} {n} {(n > 0 ? Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(data.AsSpan(0, (int)n)))[..16] : "")}";
        }

        string Describe(string p)
        {
            int rc = Posix.LStat(P(p), out var st);
            if (rc < 0) return $"lstat {p} {rc}";
            uint type = st.Mode & 0xF000;
            string what = type switch
            {
                0x4000 => $"dir nlink={st.Nlink}",
                0xA000 => $"symlink -> {Posix.ReadLink(P(p))}",
                _ => $"file nlink={st.Nlink} size={st.Size} {Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(P(p))))[..16]}",
            };
            return $"lstat {p} {Convert.ToString(st.Mode & 0xFFF, 8)} {what}";
        }
    }

    private static byte[] B(string s) => Encoding.UTF8.GetBytes(s);

    private static List<string> OpenFlags(string d)
    {
        var t = new List<string>();
        string f = Path.Combine(d, "f");
        int fd = Posix.Open(f, Posix.O_CREAT | Posix.O_EXCL | Posix.O_WRONLY);
        Assert.True(fd >= 0, $"create: {fd}");
        t.Add($"write {Posix.Write(fd, B("hello world"))}");
        Posix.Close(fd);
        int again = Posix.Open(f, Posix.O_CREAT | Posix.O_EXCL | Posix.O_WRONLY);
        Assert.Equal(-17, again); // EEXIST
        t.Add($"excl {again}");
        fd = Posix.Open(f, Posix.O_WRONLY | Posix.O_APPEND);
        t.Add($"append {Posix.Write(fd, B("!!"))}");
        Posix.Close(fd);
        Assert.Equal("hello world!!", File.ReadAllText(f));
        fd = Posix.Open(f, Posix.O_WRONLY | Posix.O_TRUNC);
        Posix.Close(fd);
        Assert.Equal(0, new FileInfo(f).Length);
        t.Add($"missing {Posix.Open(Path.Combine(d, "nope"), Posix.O_RDONLY)}");
        Assert.Equal(-2, Posix.Open(Path.Combine(d, "nope"), Posix.O_RDONLY));
        t.Add($"dir-as-file {Posix.Open(Path.Combine(d, "f", "x"), Posix.O_RDONLY)}");
        return t;
    }

    private static List<string> SparseAndOffsets(string d)
    {
        var t = new List<string>();
        string f = Path.Combine(d, "sparse");
        int fd = Posix.Open(f, Posix.O_CREAT | Posix.O_RDWR);
        long far = 5L << 30; // past 4 GiB
        t.Add($"w0 {Posix.PWrite(fd, B("start"), 0)}");
        t.Add($"wfar {Posix.PWrite(fd, B("far away"), far)}");
        t.Add($"wmid {Posix.PWrite(fd, B("mid"), 70_000)}");
        var buf = new byte[8];
        t.Add($"rfar {Posix.PRead(fd, buf, far)} {Encoding.UTF8.GetString(buf)}");
        Assert.Equal("far away", Encoding.UTF8.GetString(buf));
        var hole = new byte[4096];
        hole[0] = 1;
        t.Add($"rhole {Posix.PRead(fd, hole, 1L << 32)} {hole.All(b => b == 0)}");
        Assert.True(hole.All(b => b == 0));
        var tail = new byte[100];
        t.Add($"reof {Posix.PRead(fd, tail, far + 4)}");
        Posix.Close(fd);
        Assert.Equal(far + 8, new FileInfo(f).Length);
        t.Add($"size {new FileInfo(f).Length}");
        return t;
    }

    private static List<string> Truncate(string d)
    {
        var t = new List<string>();
        string f = Path.Combine(d, "t");
        File.WriteAllText(f, "0123456789");
        t.Add($"down {Posix.Truncate(f, 4)} {File.ReadAllText(f)}");
        Assert.Equal("0123", File.ReadAllText(f));
        t.Add($"up {Posix.Truncate(f, 8)} {new FileInfo(f).Length}");
        var bytes = File.ReadAllBytes(f);
        Assert.Equal([(byte)'0', (byte)'1', (byte)'2', (byte)'3', 0, 0, 0, 0], bytes);
        t.Add($"missing {Posix.Truncate(Path.Combine(d, "none"), 1)}");
        return t;
    }

    private static List<string> DirectoryErrnos(string d)
    {
        var t = new List<string>();
        string a = Path.Combine(d, "a"), file = Path.Combine(d, "file");
        File.WriteAllText(file, "x");
        t.Add($"mkdir {Posix.Mkdir(a)}");
        t.Add($"mkdir-again {Posix.Mkdir(a)}");
        Assert.Equal(-17, Posix.Mkdir(a)); // EEXIST
        File.WriteAllText(Path.Combine(a, "inner"), "y");
        t.Add($"rmdir-nonempty {Posix.Rmdir(a)}");
        Assert.Equal(-39, Posix.Rmdir(a)); // ENOTEMPTY
        t.Add($"rmdir-file {Posix.Rmdir(file)}");
        Assert.Equal(-20, Posix.Rmdir(file)); // ENOTDIR
        t.Add($"unlink-dir {Posix.Unlink(a)}");
        Assert.Equal(-21, Posix.Unlink(a)); // EISDIR
        t.Add($"unlink-missing {Posix.Unlink(Path.Combine(d, "missing"))}");
        Assert.Equal(-2, Posix.Unlink(Path.Combine(d, "missing"))); // ENOENT
        t.Add($"mkdir-under-file {Posix.Mkdir(Path.Combine(file, "x"))}");
        string longName = new('n', 256);
        t.Add($"toolong {Posix.Mkdir(Path.Combine(d, longName))}");
        Assert.Equal(-36, Posix.Mkdir(Path.Combine(d, longName))); // ENAMETOOLONG
        t.Add($"into-self {Posix.Rename(a, Path.Combine(a, "sub"))}");
        Assert.Equal(-22, Posix.Rename(a, Path.Combine(a, "sub"))); // EINVAL
        t.Add($"rmdir-dot {Posix.Rmdir(Path.Combine(a, "."))}");
        return t;
    }

    private static List<string> Rename(string d)
    {
        var t = new List<string>();
        string x = Path.Combine(d, "x"), y = Path.Combine(d, "y"), dir1 = Path.Combine(d, "d1"), dir2 = Path.Combine(d, "d2");
        File.WriteAllText(x, "X");
        File.WriteAllText(y, "Y");
        t.Add($"noreplace {Posix.Rename2(x, y, Posix.RENAME_NOREPLACE)}");
        Assert.Equal(-17, Posix.Rename2(x, y, Posix.RENAME_NOREPLACE));
        t.Add($"exchange {Posix.Rename2(x, y, Posix.RENAME_EXCHANGE)} {File.ReadAllText(x)}{File.ReadAllText(y)}");
        Assert.Equal("YX", File.ReadAllText(x) + File.ReadAllText(y));
        t.Add($"exchange-missing {Posix.Rename2(x, Path.Combine(d, "zz"), Posix.RENAME_EXCHANGE)}");
        Assert.Equal(-2, Posix.Rename2(x, Path.Combine(d, "zz"), Posix.RENAME_EXCHANGE));
        t.Add($"over-file {Posix.Rename(x, y)} {File.Exists(x)} {File.ReadAllText(y)}");
        Posix.Mkdir(dir1);
        Posix.Mkdir(dir2);
        t.Add($"file-over-dir {Posix.Rename(y, dir2)}");
        Assert.Equal(-21, Posix.Rename(y, dir2)); // EISDIR
        t.Add($"dir-over-file {Posix.Rename(dir1, y)}");
        Assert.Equal(-20, Posix.Rename(dir1, y)); // ENOTDIR
        t.Add($"over-empty-dir {Posix.Rename(dir1, dir2)} {Directory.Exists(dir1)} {Directory.Exists(dir2)}");
        Assert.True(Directory.Exists(dir2) && !Directory.Exists(dir1));
        Posix.Mkdir(dir1);
        File.WriteAllText(Path.Combine(dir2, "keep"), "k");
        t.Add($"over-nonempty-dir {Posix.Rename(dir1, dir2)}");
        Assert.Equal(-39, Posix.Rename(dir1, dir2));
        t.Add($"move-into {Posix.Rename(y, Path.Combine(dir1, "y"))} {File.ReadAllText(Path.Combine(dir1, "y"))}");
        return t;
    }

    private static List<string> Links(string d)
    {
        var t = new List<string>();
        string f = Path.Combine(d, "orig"), h = Path.Combine(d, "hard"), s = Path.Combine(d, "soft"), dangling = Path.Combine(d, "dangling");
        File.WriteAllText(f, "content");
        t.Add($"link {Posix.Link(f, h)}");
        Posix.LStat(f, out var st);
        Assert.Equal(2ul, st.Nlink);
        t.Add($"nlink {st.Nlink}");
        t.Add($"link-exists {Posix.Link(f, h)}");
        Posix.Unlink(f);
        Posix.LStat(h, out st);
        Assert.Equal(1ul, st.Nlink);
        t.Add($"after-unlink {st.Nlink} {File.ReadAllText(h)}");
        t.Add($"symlink {Posix.Symlink("hard", s)} {Posix.ReadLink(s)} {File.ReadAllText(s)}");
        Assert.Equal("hard", Posix.ReadLink(s));
        t.Add($"dangling {Posix.Symlink("nowhere/at/all", dangling)} {Posix.ReadLink(dangling)} {File.Exists(dangling)}");
        Assert.Equal("nowhere/at/all", Posix.ReadLink(dangling));
        Posix.LStat(dangling, out st);
        t.Add($"lnk-mode {st.Mode & 0xF000:x}");
        Assert.Equal(0xA000u, st.Mode & 0xF000);
        string sub = Path.Combine(d, "sub");
        Posix.Mkdir(sub);
        Posix.Mkdir(Path.Combine(sub, "c1"));
        Posix.Mkdir(Path.Combine(sub, "c2"));
        Posix.LStat(sub, out st);
        t.Add($"dir-nlink {st.Nlink}");
        Assert.Equal(4ul, st.Nlink);
        return t;
    }

    private static List<string> Xattrs(string d)
    {
        var t = new List<string>();
        string f = Path.Combine(d, "xf");
        File.WriteAllText(f, "x");
        t.Add($"create {Posix.SetXattr(f, "user.a", B("one"), 1)}");
        t.Add($"create-again {Posix.SetXattr(f, "user.a", B("two"), 1)}");
        Assert.Equal(-17, Posix.SetXattr(f, "user.a", B("two"), 1)); // XATTR_CREATE on existing: EEXIST
        t.Add($"replace-missing {Posix.SetXattr(f, "user.b", B("x"), 2)}");
        Assert.Equal(-61, Posix.SetXattr(f, "user.b", B("x"), 2)); // XATTR_REPLACE on missing: ENODATA
        t.Add($"replace {Posix.SetXattr(f, "user.a", B("three"), 2)}");
        var v = Posix.GetXattr(f, "user.a", out int e);
        Assert.Equal("three", Encoding.UTF8.GetString(v!));
        t.Add($"get {e} {Encoding.UTF8.GetString(v!)}");
        Posix.GetXattr(f, "user.missing", out e);
        Assert.Equal(61, e);
        t.Add($"get-missing {e}");
        Posix.SetXattr(f, "user.b", B(""), 0);
        var names = Posix.ListXattr(f).Where(n => n.StartsWith("user.")).Order().ToArray();
        Assert.Equal(["user.a", "user.b"], names);
        t.Add($"list {string.Join(",", names)}");
        t.Add($"remove {Posix.RemoveXattr(f, "user.a")} {Posix.RemoveXattr(f, "user.a")}");
        Assert.Equal(-61, Posix.RemoveXattr(f, "user.a"));
        return t;
    }

    private static List<string> BigDirectory(string d)
    {
        var t = new List<string>();
        string big = Path.Combine(d, "big");
        Directory.CreateDirectory(big);
        for (int i = 0; i < 1500; i++) File.WriteAllText(Path.Combine(big, $"entry-{i:D5}"), "");
        var listed = Directory.GetFileSystemEntries(big).Select(Path.GetFileName).Order().ToArray();
        Assert.Equal(1500, listed.Length);
        Assert.Equal(Enumerable.Range(0, 1500).Select(i => $"entry-{i:D5}"), listed);
        for (int i = 0; i < 1500; i += 2) File.Delete(Path.Combine(big, $"entry-{i:D5}"));
        listed = Directory.GetFileSystemEntries(big).Select(Path.GetFileName).Order().ToArray();
        Assert.Equal(Enumerable.Range(0, 1500).Where(i => i % 2 == 1).Select(i => $"entry-{i:D5}"), listed);
        t.Add($"after-delete {listed.Length}");
        return t;
    }

    private static List<string> OpenAfterUnlink(string d)
    {
        var t = new List<string>();
        string f = Path.Combine(d, "ghost");
        File.WriteAllText(f, "still here");
        int fd = Posix.Open(f, Posix.O_RDWR);
        t.Add($"unlink {Posix.Unlink(f)} {File.Exists(f)}");
        var buf = new byte[10];
        t.Add($"read {Posix.PRead(fd, buf, 0)} {Encoding.UTF8.GetString(buf)}");
        Assert.Equal("still here", Encoding.UTF8.GetString(buf));
        t.Add($"write {Posix.PWrite(fd, B("again"), 0)} fsync {Posix.Fsync(fd)}");
        Assert.Equal(0, Posix.Fsync(fd));
        Posix.Close(fd);

        string g = Path.Combine(d, "modes");
        File.WriteAllText(g, "m");
        t.Add($"chmod {Posix.Chmod(g, 0x180)}");
        Posix.LStat(g, out var st);
        Assert.Equal(0x180u, st.Mode & 0xFFF);
        t.Add($"mode {Convert.ToString(st.Mode & 0xFFF, 8)}");
        t.Add($"utimens {Posix.Utimens(g, 1_000_000_000, 1_234_567_890)}");
        Posix.LStat(g, out st);
        Assert.Equal(1_234_567_890, st.MtimeSec);
        t.Add($"mtime {st.MtimeSec}");
        Assert.Equal(0, Posix.StatFs(d, out var sfs));
        Assert.True(sfs.Bsize > 0 && sfs.Blocks > 0 && sfs.NameLen >= 255);
        return t;
    }
}
