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
            var pages = WriteReadPairs.RandomPages(16);
            var (asked, readBack) = WriteReadPairs.Run(m, "data", Posix.O_RDWR, pages, cacheFileFirst: true, FuseOpcode.Getattr, FuseOpcode.Read);
            long getattrs = asked[FuseOpcode.Getattr], reads = asked[FuseOpcode.Read];
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
