using System.Diagnostics;
using Fuselage.Interop;

namespace Fuselage;

/// <summary>Unprivileged mounting through the setuid fusermount3 helper (package fuse3), as libfuse does.</summary>
internal static class Fusermount
{
    private const string Program = "fusermount3";

    public static int Mount(string mountpoint, string options)
    {
        var (ours, theirs) = Libc.SocketPair();
        try
        {
            var psi = new ProcessStartInfo(Program) { UseShellExecute = false, RedirectStandardError = true };
            psi.ArgumentList.Add("-o");
            psi.ArgumentList.Add(options);
            psi.ArgumentList.Add("--");
            psi.ArgumentList.Add(mountpoint);
            psi.Environment["_FUSE_COMMFD"] = theirs.ToString();
            using var p = Start(psi);
            // Our copy of the child's end must go, or recvmsg would wait forever when fusermount3 fails without sending.
            Libc.close(theirs);
            theirs = -1;
            int fd = Libc.ReceiveFd(ours);
            p.WaitForExit();
            if (fd < 0)
                throw new IOException($"{Program} did not mount {mountpoint}: {p.StandardError.ReadToEnd().Trim()} (exit {p.ExitCode})");
            return fd;
        }
        finally
        {
            Libc.close(ours);
            if (theirs >= 0) Libc.close(theirs);
        }
    }

    public static void Unmount(string mountpoint, bool lazy)
    {
        var psi = new ProcessStartInfo(Program) { UseShellExecute = false, RedirectStandardError = true };
        psi.ArgumentList.Add(lazy ? "-uz" : "-u");
        psi.ArgumentList.Add("--");
        psi.ArgumentList.Add(mountpoint);
        using var p = Start(psi);
        p.WaitForExit();
        if (p.ExitCode != 0) throw new IOException($"{Program} -u {mountpoint}: {p.StandardError.ReadToEnd().Trim()}");
    }

    private static Process Start(ProcessStartInfo psi)
    {
        try { return Process.Start(psi) ?? throw new IOException($"could not start {Program}"); }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new IOException($"not root and {Program} is not available ({e.Message}); install the fuse3 package or run as root", e);
        }
    }
}
