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
        using var source = new SetIdSource("data\n"u8.ToArray());
        using var inner = new PassthroughFs(source.Directory);
        using var m = new MountedFs(inner, TransportKind.Ring, "allow_other,default_permissions");
        string mounted = m.PathOf(SetIdSource.Name);
        Assert.Equal(0, Posix.LStat(mounted, out var before));
        Assert.Equal(0x81EDu | 0xC00, before.Mode); // cached by the kernel

        SetIdSource.RunAsNobody(m, "sh", "-c", $"echo more >> {mounted}");
        Assert.Equal(0, Posix.LStat(mounted, out var after));
        Assert.Equal(0x81EDu, after.Mode);
        Assert.Equal(0x81EDu, (uint)File.GetUnixFileMode(source.File) | 0x8000); // and on the source
    }
}

/// <summary>A source directory whose file <see cref="Name"/> (06755) belongs to nobody, who may reach it; deleted on Dispose.</summary>
internal sealed class SetIdSource : IDisposable
{
    public const string Name = "setid";

    public SetIdSource(byte[] content)
    {
        Directory = System.IO.Directory.CreateTempSubdirectory("fuselage-src-").FullName;
        System.IO.File.SetUnixFileMode(Directory, (UnixFileMode)0x1FF); // nobody may reach the file
        System.IO.File.WriteAllBytes(File, content);
        Assert.Equal(0, Libc.FChownAt(Libc.AT_FDCWD, System.Text.Encoding.UTF8.GetBytes(File), 65534, 65534, 0));
        System.IO.File.SetUnixFileMode(File, (UnixFileMode)0xDED); // 06755
    }

    public string Directory { get; }
    public string File => Path.Combine(Directory, Name);

    public void Dispose() => System.IO.Directory.Delete(Directory, recursive: true);

    /// <summary>Runs <paramref name="command"/> as nobody (setpriv) and asserts it succeeded, with the server's log if not.</summary>
    public static void RunAsNobody(MountedFs m, params string[] command)
    {
        var psi = new ProcessStartInfo("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", .. command]) { RedirectStandardError = true };
        using var writer = Process.Start(psi)!;
        Assert.True(writer.WaitForExit(MountedFs.Watchdog));
        Assert.True(writer.ExitCode == 0, writer.StandardError.ReadToEnd() + m.FormatLog());
    }
}
