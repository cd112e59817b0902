using System.IO.MemoryMappedFiles;
using Fuselage.Interop.Fuse;
using Fuselage.Samples;
using Microsoft.Win32.SafeHandles;

namespace Fuselage.Tests.RealMount;

/// <summary>
/// PassthroughFs answers an O_DIRECT open with FOPEN_DIRECT_IO and FOPEN_PARALLEL_DIRECT_WRITES. What that must keep
/// (the bytes, set-ID bits dropped by an unprivileged write, mmap) and what it saves: on the page-cache path the kernel
/// asked for the file's attributes before each read that followed a write, and for security.capability after that.
/// </summary>
[Collection("real mounts")]
public class PassthroughDirectIoTests
{
    [Fact]
    public void Reads_after_writes_of_an_O_DIRECT_file_send_no_GETATTR_or_GETXATTR()
    {
        string source = Directory.CreateTempSubdirectory("fuselage-src-").FullName;
        try
        {
            File.WriteAllBytes(Path.Combine(source, "data"), new byte[64 * 4096]);
            using var m = new MountedFs(new PassthroughFs(source), TransportKind.Ring);
            var blocks = WriteReadPairs.RandomPages(64);
            var (counts, readBack) = WriteReadPairs.Run(m, "data", Posix.O_RDWR | Posix.O_DIRECT, blocks, cacheFileFirst: false,
                FuseOpcode.Getattr, FuseOpcode.Getxattr);
            long asked = counts.Values.Sum();
            Assert.Equal(blocks, readBack);
            Assert.Equal(blocks.SelectMany(b => b), File.ReadAllBytes(Path.Combine(source, "data")));
            // On the page-cache path: one GETATTR per read and a GETXATTR for most writes (128 over these 64 pairs).
            Assert.True(asked <= 2, $"{asked} GETATTR and GETXATTR requests over 64 writes each followed by a read");
            m.DisposeAndAssertStoppedCleanly();
        }
        finally { Directory.Delete(source, recursive: true); }
    }

    [Fact]
    public void A_file_opened_O_DIRECT_can_be_mapped_and_its_direct_reads_see_what_the_mapping_wrote()
    {
        string source = Directory.CreateTempSubdirectory("fuselage-src-").FullName;
        try
        {
            File.WriteAllBytes(Path.Combine(source, "data"), new byte[2 * 4096]);
            using var m = new MountedFs(new PassthroughFs(source), TransportKind.Ring);
            var written = new byte[4096];
            new Random(7).NextBytes(written);
            var read = m.Run(() =>
            {
                int fd = Posix.Open(m.PathOf("data"), Posix.O_RDWR | Posix.O_DIRECT);
                Assert.True(fd >= 0, $"open: {fd}");
                try
                {
                    using var handle = new SafeFileHandle(fd, ownsHandle: false);
                    // Without DIRECT_IO_ALLOW_MMAP the kernel refuses to map a FOPEN_DIRECT_IO file (ENODEV).
                    using (var map = MemoryMappedFile.CreateFromFile(handle, null, 0, MemoryMappedFileAccess.ReadWrite, HandleInheritability.None, leaveOpen: true))
                    using (var view = map.CreateViewAccessor(4096, 4096))
                    {
                        view.WriteArray(0, written, 0, written.Length);
                        view.Flush();
                    }
                    var b = new byte[4096];
                    Assert.Equal(4096, Posix.PRead(fd, b, 4096));
                    return b;
                }
                finally { Posix.Close(fd); }
            });
            Assert.Equal(written, read);
            Assert.Equal(written, File.ReadAllBytes(Path.Combine(source, "data"))[4096..]);
            m.DisposeAndAssertStoppedCleanly();
        }
        finally { Directory.Delete(source, recursive: true); }
    }

    [SkippableFact]
    public void An_unprivileged_O_DIRECT_write_drops_the_set_id_bits()
    {
        Skip.IfNot(File.Exists("/usr/bin/setpriv"), "setpriv is needed to write as an unprivileged user");
        using var source = new SetIdSource(new byte[4096]);
        using var inner = new PassthroughFs(source.Directory);
        using var m = new MountedFs(inner, TransportKind.Ring, "allow_other,default_permissions");
        string mounted = m.PathOf(SetIdSource.Name);
        // The kernel leaves the bits to the server here (no file_remove_privs on the FOPEN_DIRECT_IO path): the
        // WRITE carries FUSE_WRITE_KILL_SUIDGID.
        SetIdSource.RunAsNobody(m, "dd", "if=/dev/zero", $"of={mounted}", "bs=4096", "count=1", "oflag=direct", "conv=notrunc", "status=none");
        Assert.Equal(0x81EDu, (uint)File.GetUnixFileMode(source.File) | 0x8000);
        Assert.Equal(0, Posix.LStat(mounted, out var after));
        Assert.Equal(0x81EDu, after.Mode);
    }
}
