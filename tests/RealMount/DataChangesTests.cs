using Fuselage.Interop.Fuse;
using Fuselage.Samples;

namespace Fuselage.Tests.RealMount;

/// <summary>
/// Where the policy says file data may change decides whether the kernel trusts its page cache after its own writes:
/// with <see cref="DataChanges.Anywhere"/> (AUTO_INVAL_DATA) each read after a write asks for the attributes, finds
/// mtime moved and drops the cache; with <see cref="DataChanges.ThroughThisMount"/> it reads what it wrote from its cache.
/// </summary>
[Collection("real mounts")]
public class DataChangesTests
{
    [Theory]
    [InlineData(DataChanges.Anywhere)]
    [InlineData(DataChanges.ThroughThisMount)]
    public void Buffered_reads_after_writes_ask_the_server_only_where_data_may_change_anywhere(DataChanges changes)
    {
        string source = Directory.CreateTempSubdirectory("fuselage-src-").FullName;
        try
        {
            File.WriteAllBytes(Path.Combine(source, "data"), new byte[16 * 4096]);
            using var m = new MountedFs(new PassthroughFs(source), TransportKind.Ring,
                configure: o => o.Policy = CoherencyPolicy.Classic.WithDataChanges(changes));
            var stats = m.Server.Stats!;
            var pages = Enumerable.Range(0, 16).Select(i => { var b = new byte[4096]; new Random(i).NextBytes(b); return b; }).ToArray();
            var (getattrs, reads, readBack) = m.Run(() =>
            {
                int fd = Posix.Open(m.PathOf("data"), Posix.O_RDWR);
                Assert.True(fd >= 0, $"open: {fd}");
                try
                {
                    var first = new byte[16 * 4096];
                    Assert.Equal(first.Length, Posix.PRead(fd, first, 0)); // the whole file in the page cache
                    long getattrsBefore = stats.CountOf(FuseOpcode.Getattr), readsBefore = stats.CountOf(FuseOpcode.Read);
                    var read = new List<byte[]>();
                    for (int i = 0; i < pages.Length; i++)
                    {
                        Assert.Equal(4096, Posix.PWrite(fd, pages[i], i * 4096L));
                        var b = new byte[4096];
                        Assert.Equal(4096, Posix.PRead(fd, b, i * 4096L));
                        read.Add(b);
                    }
                    return (stats.CountOf(FuseOpcode.Getattr) - getattrsBefore, stats.CountOf(FuseOpcode.Read) - readsBefore, read);
                }
                finally { Posix.Close(fd); }
            });
            Assert.Equal(pages, readBack);
            Assert.Equal(pages.SelectMany(p => p), File.ReadAllBytes(Path.Combine(source, "data")));
            if (changes == DataChanges.Anywhere)
            {
                Assert.True(getattrs >= pages.Length, $"{getattrs} GETATTRs for {pages.Length} reads after writes");
                Assert.True(reads >= pages.Length, $"{reads} READs: the cache was dropped after every write");
            }
            else
            {
                Assert.True(getattrs <= 1, $"{getattrs} GETATTRs for {pages.Length} reads after writes");
                Assert.Equal(0, reads); // every read came from the page cache the writes kept up to date
            }
            m.DisposeAndAssertStoppedCleanly();
        }
        finally { Directory.Delete(source, recursive: true); }
    }
}
