using System.Text;
using Fuselage.Interop.Fuse;

namespace Fuselage.Tests.RealMount;

/// <summary>
/// A listing with one name the kernel refuses (a '/', or over 4095 bytes) fails whole with EIO in the kernel; the
/// engine refuses that name where the filesystem adds it, and its log says which name it was.
/// </summary>
[Collection("real mounts")]
public class DirectoryEntryNameTests
{
    private class OneEntryFs(byte[] name) : FileSystem
    {
        protected byte[] Name => name;

        public override ValueTask<int> GetAttr(Request request, ulong ino, ulong? fh)
        {
            request.Attr.Ino = ino;
            request.Attr.Mode = 0x41ED;
            request.Attr.Nlink = 2;
            return Success;
        }

        public override ValueTask<int> ReadDir(Request request, ulong ino, ulong fh, long offset)
        {
            if (offset < 1 && !request.AddDirEntry("ok"u8, 5, 8, 1)) return Success;
            if (offset < 2) request.AddDirEntry(name, 6, 8, 2);
            return Success;
        }
    }

    private sealed class OneEntryPlusFs(byte[] name) : OneEntryFs(name)
    {
        public override ValueTask<int> ReadDirPlus(Request request, ulong ino, ulong fh, long offset)
        {
            if (offset < 1) request.AddDirEntryPlus(Name, new FuseEntryOut(), 1);
            return Success;
        }
    }

    [Theory]
    [InlineData("a/b", false)]
    [InlineData("a/b", true)]
    [InlineData("long", false)]
    public void A_name_the_kernel_refuses_is_refused_where_it_is_added_and_logged(string kind, bool plus)
    {
        byte[] name = kind == "long" ? Enumerable.Repeat((byte)'n', 4096).ToArray() : Encoding.ASCII.GetBytes(kind);
        using var m = new MountedFs(plus ? new OneEntryPlusFs(name) : new OneEntryFs(name), TransportKind.Ring);
        m.Run(() => Assert.Throws<IOException>(() => Directory.GetFileSystemEntries(m.Root)));
        Assert.Contains(m.LogLines, l => l.Contains("threw ArgumentException") && l.Contains($"got {name.Length} bytes"));
    }

    [Fact]
    public void A_255_byte_name_is_listed()
    {
        byte[] name = Enumerable.Repeat((byte)'n', 255).ToArray();
        using var m = new MountedFs(new OneEntryFs(name), TransportKind.Ring);
        m.Run(() => Assert.Equal([new string('n', 255), "ok"], Directory.GetFileSystemEntries(m.Root).Select(Path.GetFileName).Order(StringComparer.Ordinal)));
    }
}
