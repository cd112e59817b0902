using System.Diagnostics;
using Fuselage.Interop;
using Fuselage.Samples;

namespace Fuselage.Tests.RealMount;

/// <summary>
/// An unprivileged write drops set-user-ID and set-group-ID. With KILLPRIV_V2 PassthroughFs drops them on its source
/// (a server running as root keeps them otherwise), and the mount shows it at once: the kernel (6.18) drops the mode it
/// cached after every write, so no notification is needed.
/// </summary>
[Collection("real mounts")]
public class PassthroughKillPrivTests
{
    [SkippableFact]
    public void An_unprivileged_write_shows_its_dropped_set_id_bits_at_once()
    {
        Skip.IfNot(File.Exists("/usr/bin/setpriv"), "setpriv is needed to write as an unprivileged user");
        string source = Directory.CreateTempSubdirectory("fuselage-src-").FullName;
        File.SetUnixFileMode(source, (UnixFileMode)0x1FF); // nobody may reach the file
        try
        {
            string file = Path.Combine(source, "setid");
            File.WriteAllText(file, "data\n");
            Assert.Equal(0, Libc.FChownAt(Libc.AT_FDCWD, System.Text.Encoding.UTF8.GetBytes(file), 65534, 65534, 0));
            File.SetUnixFileMode(file, (UnixFileMode)0xDED); // 06755
            using var inner = new PassthroughFs(source);
            using var m = new MountedFs(inner, TransportKind.Ring, "allow_other,default_permissions");
            string mounted = m.PathOf("setid");
            Assert.Equal(0, Posix.LStat(mounted, out var before));
            Assert.Equal(0x81EDu | 0xC00, before.Mode); // cached by the kernel

            var psi = new ProcessStartInfo("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", "sh", "-c", $"echo more >> {mounted}"]) { RedirectStandardError = true };
            using (var writer = Process.Start(psi)!)
            {
                Assert.True(writer.WaitForExit(MountedFs.Watchdog));
                Assert.True(writer.ExitCode == 0, writer.StandardError.ReadToEnd() + m.FormatLog());
            }
            Assert.Equal(0, Posix.LStat(mounted, out var after));
            Assert.Equal(0x81EDu, after.Mode);
            Assert.Equal(0x81EDu, (uint)File.GetUnixFileMode(file) | 0x8000); // and on the source
        }
        finally
        {
            Directory.Delete(source, recursive: true);
        }
    }
}
