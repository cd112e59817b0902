using System.Collections.Concurrent;
using System.Diagnostics;

namespace Fuselage.Bench.E2e;

/// <summary>One way of serving a source directory: natively or through a FUSE daemon mounted on a mountpoint.</summary>
public abstract class SystemUnderTest
{
    public abstract string Name { get; }

    /// <summary>The daemon whose CPU time is charged to each operation; null when no daemon serves the files.</summary>
    public int? DaemonPid { get; protected set; }

    /// <summary>Makes <paramref name="source"/> reachable and returns the directory the workloads use.</summary>
    public abstract string Mount(string source, string mountpoint);

    /// <summary>Stops serving; never throws, so it can run from finally blocks and Ctrl-C.</summary>
    public abstract void Unmount();
}

/// <summary>The source directory itself: the floor every FUSE system is measured against.</summary>
public sealed class NativeSystem : SystemUnderTest
{
    public override string Name => "native";
    public override string Mount(string source, string mountpoint) => source;
    public override void Unmount() { }
}

/// <summary>A FUSE daemon run in the foreground: mounted once it shows up in mountinfo, stopped with SIGTERM.</summary>
public abstract class DaemonSystem : SystemUnderTest
{
    private static readonly TimeSpan MountTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(15);
    private Process? _daemon;
    private string? _mountpoint;
    private readonly ConcurrentQueue<string> _output = new();

    protected abstract ProcessStartInfo Command(string source, string mountpoint);

    /// <summary>A line the daemon prints once it serves requests; null to rely on mountinfo alone.</summary>
    protected virtual string? ReadyLine => null;

    /// <summary>What the daemon printed (its --stats at exit, errors): kept for the log.</summary>
    public IReadOnlyCollection<string> Output => _output;

    public override string Mount(string source, string mountpoint)
    {
        Directory.CreateDirectory(mountpoint);
        Mounts.Unmount(mountpoint); // a leftover from an interrupted run
        _output.Clear();
        var psi = InSessionOfItsOwn(Command(source, mountpoint));
        psi.RedirectStandardOutput = psi.RedirectStandardError = true;
        psi.UseShellExecute = false;
        var daemon = Process.Start(psi) ?? throw new InvalidOperationException($"cannot start {psi.FileName}");
        _daemon = daemon;
        _mountpoint = mountpoint;
        DaemonPid = daemon.Id;
        bool ready = false;
        daemon.OutputDataReceived += (_, e) => { if (e.Data is null) return; _output.Enqueue(e.Data); if (ReadyLine is { } l && e.Data.Contains(l)) Volatile.Write(ref ready, true); };
        daemon.ErrorDataReceived += (_, e) => { if (e.Data is not null) _output.Enqueue(e.Data); };
        daemon.BeginOutputReadLine();
        daemon.BeginErrorReadLine();

        bool mounted = Mounts.WaitUntil(() => daemon.HasExited || (FuseMount.IsMounted(mountpoint) && (ReadyLine is null || Volatile.Read(ref ready))), MountTimeout);
        if (daemon.HasExited || !mounted)
        {
            Unmount();
            throw new DaemonFailedException($"{Name} did not mount: {string.Join(" | ", _output.TakeLast(5))}");
        }
        return mountpoint;
    }

    /// <summary>
    /// Runs the daemon through setsid(1), which execs it in place (same pid) in a new session. A terminal's Ctrl-C or
    /// hang-up then reaches only the runner, which stops the workload and unmounts each daemon in turn; in the runner's
    /// process group a daemon would end under a running fio.
    /// </summary>
    private static ProcessStartInfo InSessionOfItsOwn(ProcessStartInfo command)
    {
        var psi = new ProcessStartInfo("setsid");
        psi.ArgumentList.Add(command.FileName);
        foreach (var a in command.ArgumentList) psi.ArgumentList.Add(a);
        return psi;
    }

    public override void Unmount()
    {
        var daemon = _daemon;
        string? mountpoint = _mountpoint;
        _daemon = null;
        DaemonPid = null;
        try
        {
            if (daemon is not null && !daemon.HasExited)
            {
                // Both daemons unmount and exit on SIGTERM; umount -l and SIGKILL only if that fails.
                Shell.Run("kill", "-TERM", daemon.Id.ToString());
                if (!daemon.WaitForExit(StopTimeout))
                {
                    if (mountpoint is not null) Shell.Run("umount", "-l", mountpoint);
                    daemon.Kill(entireProcessTree: true);
                    daemon.WaitForExit(StopTimeout);
                }
            }
            daemon?.WaitForExit(); // drain the output of an exited daemon
        }
        catch (Exception e) { Console.Error.WriteLine($"  warning: stopping {Name}: {e.Message}"); }
        finally
        {
            if (mountpoint is not null) Mounts.Unmount(mountpoint);
            daemon?.Dispose();
        }
    }
}

public sealed class DaemonFailedException(string message) : Exception(message);

/// <summary>
/// libfuse's passthrough_ll example as Debian ships it: multi-threaded session loop, one /dev/fuse fd per thread
/// when it understands clone_fd, 1 s entry/attr timeouts (the same as Fuselage's default policy).
/// </summary>
public sealed class LibfuseSystem(string binary) : DaemonSystem
{
    private readonly bool _cloneFd = SupportsCloneFd(binary);

    public override string Name => "libfuse";

    private string[] Arguments(string source, string mountpoint) =>
        ["-f", .. _cloneFd ? ["-o", "clone_fd"] : Array.Empty<string>(), "-o", $"cache=auto,timeout=1,source={source}", mountpoint];

    public string Describe() => $"passthrough_ll {string.Join(' ', Arguments("SRC", "MNT"))}";

    protected override ProcessStartInfo Command(string source, string mountpoint)
    {
        var psi = new ProcessStartInfo(binary);
        foreach (var a in Arguments(source, mountpoint)) psi.ArgumentList.Add(a);
        return psi;
    }

    private static bool SupportsCloneFd(string binary)
    {
        var help = Shell.Run(binary, "--help");
        return (help.Stdout + help.Stderr).Contains("clone_fd", StringComparison.Ordinal);
    }
}

/// <summary>
/// The fuselage command's PassthroughFs with one transport and two workers (one per vCPU here). With
/// <c>kernelPassthrough</c> it declares CacheMode.Passthrough: open files are registered as backing files and the
/// kernel reads and writes them itself (the transport then carries only metadata).
/// </summary>
public sealed class FuselageSystem(string dll, string transport, bool kernelPassthrough = false) : DaemonSystem
{
    public string Transport => transport;
    public override string Name => kernelPassthrough ? "fuselage-kernel-pt" : $"fuselage-{transport}";
    protected override string? ReadyLine => "mounted on";

    private string[] Options =>
        ["--transport", transport, "--workers", "2", .. kernelPassthrough ? ["--cache", "passthrough"] : Array.Empty<string>(), "--stats"];

    public string Describe() => $"dotnet fuselage.dll mount passthrough SRC MNT {string.Join(' ', Options)}";

    protected override ProcessStartInfo Command(string source, string mountpoint)
    {
        var psi = new ProcessStartInfo("dotnet");
        foreach (var a in new[] { dll, "mount", "passthrough", source, mountpoint }.Concat(Options))
            psi.ArgumentList.Add(a);
        return psi;
    }
}
