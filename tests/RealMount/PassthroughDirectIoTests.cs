using System.Diagnostics;
using System.IO.MemoryMappedFiles;
using Fuselage.Interop;
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
            var stats = m.Server.Stats!;
            var blocks = Enumerable.Range(0, 64).Select(i => { var b = new byte[4096]; new Random(i).NextBytes(b); return b; }).ToArray();
            var (asked, readBack) = m.Run(() =>
            {
                int fd = Posix.Open(m.PathOf("data"), Posix.O_RDWR | Posix.O_DIRECT);
                Assert.True(fd >= 0, $"open: {fd}");
                try
                {
                    long before = stats.CountOf(FuseOpcode.Getattr) + stats.CountOf(FuseOpcode.Getxattr);
                    var read = new List<byte[]>();
                    for (int i = 0; i < blocks.Length; i++)
                    {
                        Assert.Equal(4096, Posix.PWrite(fd, blocks[i], i * 4096L));
                        var b = new byte[4096];
                        Assert.Equal(4096, Posix.PRead(fd, b, i * 4096L));
                        read.Add(b);
                    }
                    return (stats.CountOf(FuseOpcode.Getattr) + stats.CountOf(FuseOpcode.Getxattr) - before, read);
                }
                finally { Posix.Close(fd); }
            });
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
        string source = Directory.CreateTempSubdirectory("fuselage-src-").FullName;
        File.SetUnixFileMode(source, (UnixFileMode)0x1FF); // nobody may reach the file
        try
        {
            string file = Path.Combine(source, "setid");
            File.WriteAllBytes(file, new byte[4096]);
            Assert.Equal(0, Libc.FChownAt(Libc.AT_FDCWD, System.Text.Encoding.UTF8.GetBytes(file), 65534, 65534, 0));
            File.SetUnixFileMode(file, (UnixFileMode)0xDED); // 06755
            using var inner = new PassthroughFs(source);
            using var m = new MountedFs(inner, TransportKind.Ring, "allow_other,default_permissions");
            string mounted = m.PathOf("setid");
            // The kernel leaves the bits to the server here (no file_remove_privs on the FOPEN_DIRECT_IO path): the
            // WRITE carries FUSE_WRITE_KILL_SUIDGID.
            var psi = new ProcessStartInfo("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups",
                "dd", "if=/dev/zero", $"of={mounted}", "bs=4096", "count=1", "oflag=direct", "conv=notrunc", "status=none"]) { RedirectStandardError = true };
            using (var writer = Process.Start(psi)!)
            {
                Assert.True(writer.WaitForExit(MountedFs.Watchdog));
                Assert.True(writer.ExitCode == 0, writer.StandardError.ReadToEnd() + m.FormatLog());
            }
            Assert.Equal(0x81EDu, (uint)File.GetUnixFileMode(file) | 0x8000);
            Assert.Equal(0, Posix.LStat(mounted, out var after));
            Assert.Equal(0x81EDu, after.Mode);
        }
        finally
        {
            Directory.Delete(source, recursive: true);
        }
    }
}
