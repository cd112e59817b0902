using Fuselage.Interop.Fuse;

namespace Fuselage.Tests.RealMount;

/// <summary>
/// One fd on a mounted file: each page written at its index and read straight back, counting the requests of some
/// opcodes the server saw meanwhile (what the kernel asks around a write followed by a read).
/// </summary>
internal static class WriteReadPairs
{
    public const int PageSize = 4096;

    public static byte[][] RandomPages(int count) =>
        Enumerable.Range(0, count).Select(i => { var b = new byte[PageSize]; new Random(i).NextBytes(b); return b; }).ToArray();

    /// <param name="cacheFileFirst">Read the whole file once before the pairs, so its pages are in the page cache.</param>
    public static (Dictionary<FuseOpcode, long> Asked, List<byte[]> ReadBack) Run(MountedFs m, string name, int openFlags,
        byte[][] pages, bool cacheFileFirst, params FuseOpcode[] counted)
    {
        var stats = m.Server.Stats!;
        return m.Run(() =>
        {
            int fd = Posix.Open(m.PathOf(name), openFlags);
            Assert.True(fd >= 0, $"open: {fd}");
            try
            {
                if (cacheFileFirst)
                {
                    var whole = new byte[pages.Length * PageSize];
                    Assert.Equal(whole.Length, Posix.PRead(fd, whole, 0));
                }
                var before = counted.ToDictionary(op => op, stats.CountOf);
                var read = new List<byte[]>();
                for (int i = 0; i < pages.Length; i++)
                {
                    Assert.Equal(PageSize, Posix.PWrite(fd, pages[i], (long)i * PageSize));
                    var b = new byte[PageSize];
                    Assert.Equal(PageSize, Posix.PRead(fd, b, (long)i * PageSize));
                    read.Add(b);
                }
                return (counted.ToDictionary(op => op, op => stats.CountOf(op) - before[op]), read);
            }
            finally { Posix.Close(fd); }
        });
    }
}
