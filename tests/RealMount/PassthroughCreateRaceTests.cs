using Fuselage.Interop;
using Fuselage.Interop.Fuse;
using Fuselage.Samples;

namespace Fuselage.Tests.RealMount;

/// <summary>
/// A mirror's source changes behind the kernel's back: a name it just found free may exist by the time its CREATE
/// arrives. open(O_CREAT) must then open that file as open(2) would, never take it over for the caller.
/// </summary>
[Collection("real mounts")]
public class PassthroughCreateRaceTests
{
    /// <summary>PassthroughFs whose LOOKUP of "raced" answers "no such name" and then makes it in the source.</summary>
    private sealed class RacingSourceFs(PassthroughFs inner, string source) : FileSystem
    {
        public int Raced;

        public override ValueTask<int> Lookup(Request r, ulong parent, ReadOnlySpan<byte> name)
        {
            var result = inner.Lookup(r, parent, name);
            if (name.SequenceEqual("raced"u8) && result.IsCompleted && result.Result == -Errno.ENOENT && Interlocked.Exchange(ref Raced, 1) == 0)
            {
                string path = Path.Combine(source, "raced");
                File.WriteAllText(path, "their data");
                File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
                Assert.Equal(0, Libc.FChownAt(Libc.AT_FDCWD, System.Text.Encoding.UTF8.GetBytes(path), 65534, 65534, 0));
            }
            return result;
        }

        public override void Init(FuseConnection c) => inner.Init(c);
        public override void Forget(ulong ino, ulong nlookup) => inner.Forget(ino, nlookup);
        public override ValueTask<int> GetAttr(Request r, ulong ino, ulong? fh) => inner.GetAttr(r, ino, fh);
        public override ValueTask<int> SetAttr(Request r, ulong ino, in SetAttrArgs a) => inner.SetAttr(r, ino, a);
        public override ValueTask<int> Open(Request r, ulong ino, int flags) => inner.Open(r, ino, flags);
        public override ValueTask<int> Create(Request r, ulong p, ReadOnlySpan<byte> n, uint m, uint u, int f) => inner.Create(r, p, n, m, u, f);
        public override ValueTask<int> Read(Request r, ulong ino, ulong fh, long o, Span<byte> b) => inner.Read(r, ino, fh, o, b);
        public override ValueTask<int> Write(Request r, ulong ino, ulong fh, long o, ReadOnlySpan<byte> d, FuseWriteFlags w) => inner.Write(r, ino, fh, o, d, w);
        public override ValueTask<int> Flush(Request r, ulong ino, ulong fh, ulong owner) => inner.Flush(r, ino, fh, owner);
        public override ValueTask<int> Release(Request r, ulong ino, ulong fh, int flags) => inner.Release(r, ino, fh, flags);
    }

    [Fact]
    public void Open_with_O_CREAT_of_a_file_made_in_the_source_meanwhile_opens_it_and_leaves_it_theirs()
    {
        string source = Directory.CreateTempSubdirectory("fuselage-src-").FullName;
        try
        {
            using var inner = new PassthroughFs(source);
            var fs = new RacingSourceFs(inner, source);
            using var m = new MountedFs(fs, TransportKind.Ring, "default_permissions");
            m.Run(() =>
            {
                // As root, open(O_CREAT) of an existing file opens it: no error, the owner and mode stay.
                int fd = Posix.Open(m.PathOf("raced"), Posix.O_WRONLY | Posix.O_CREAT | Posix.O_APPEND, 0x1FF);
                Assert.True(fd >= 0, $"open failed: errno {-fd}{m.FormatLog()}");
                Assert.Equal(5, Posix.Write(fd, " more"u8.ToArray()));
                Assert.Equal(0, Posix.Close(fd));
            });
            Assert.Equal(1, fs.Raced);
            Assert.Equal(0, Libc.FStatAt(Libc.AT_FDCWD, System.Text.Encoding.UTF8.GetBytes(Path.Combine(source, "raced")), out var st, 0));
            Assert.Equal((65534u, 65534u, 0x8180u), (st.Uid, st.Gid, st.Mode)); // not given to the caller, not made 0777
            Assert.Equal("their data more", File.ReadAllText(Path.Combine(source, "raced")));
        }
        finally
        {
            Directory.Delete(source, recursive: true);
        }
    }
}
