using System.Diagnostics;
using System.Text;
using Fuselage.Interop;

namespace Fuselage.Tests.RealMount;

/// <summary>
/// The <c>fuselage</c> program (samples/, copied next to this assembly) run as a child process: argument errors,
/// mount failures, the ready line, SIGTERM, an external umount, --stats, and the uring switch. Every child runs
/// under a watchdog (SIGKILL, then the connection is aborted through fusectl and the mount detached) and every
/// mountpoint is cleaned up whatever happens.
/// </summary>
[Collection("real mounts")]
public class CommandLineTests
{
    private static readonly TimeSpan Watchdog = TimeSpan.FromSeconds(60);


    private static string FuselageDll
    {
        get
        {
            string dll = Path.Combine(AppContext.BaseDirectory, "fuselage.dll");
            Assert.True(File.Exists(dll), $"{dll} is missing: the tests project references samples, which builds it");
            return dll;
        }
    }

    /// <summary>One run of the program, its output collected line by line.</summary>
    private sealed class Child : IDisposable
    {
        private readonly Process _process;
        private readonly List<string> _stdout = [], _stderr = [];
        private readonly TaskCompletionSource<string> _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _stdoutClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _stderrClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Child(string? mountpoint, params string[] args) : this(mountpoint, null, args) { }

        /// <param name="command">The program and arguments that run fuselage.dll (default: dotnet FuselageDll).</param>
        public Child(string? mountpoint, string[]? command, params string[] args)
        {
            Mountpoint = mountpoint;
            command ??= ["dotnet", FuselageDll];
            var psi = new ProcessStartInfo(command[0]) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var c in command[1..]) psi.ArgumentList.Add(c);
            foreach (var a in args) psi.ArgumentList.Add(a);
            _process = new Process { StartInfo = psi };
            _process.OutputDataReceived += (_, e) =>
            {
                if (e.Data is null) { _stdoutClosed.TrySetResult(); return; }
                lock (_stdout) _stdout.Add(e.Data);
                if (e.Data.Contains("mounted on")) _ready.TrySetResult(e.Data);
            };
            _process.ErrorDataReceived += (_, e) =>
            {
                if (e.Data is null) { _stderrClosed.TrySetResult(); return; }
                lock (_stderr) _stderr.Add(e.Data);
            };
            _process.Start();
            _process.BeginOutputReadLine();
            _process.BeginErrorReadLine();
        }

        public string? Mountpoint { get; }
        public int Pid => _process.Id;
        public string[] Stdout { get { lock (_stdout) return [.. _stdout]; } }
        public string[] Stderr { get { lock (_stderr) return [.. _stderr]; } }
        public string Transcript => $"\n--- stdout ---\n{string.Join("\n", Stdout)}\n--- stderr ---\n{string.Join("\n", Stderr)}";

        /// <summary>The "mounted on" line; fails if the program exits or the watchdog fires first.</summary>
        public string WaitReady()
        {
            var exited = _process.WaitForExitAsync();
            int which = Task.WaitAny([_ready.Task, exited], Watchdog);
            if (which == 0) return _ready.Task.Result;
            if (which == 1) throw new Xunit.Sdk.XunitException($"fuselage exited ({_process.ExitCode}) before mounting{Transcript}");
            Kill();
            throw new TimeoutException($"fuselage did not mount within {Watchdog}{Transcript}");
        }

        /// <summary>The exit code, after stdout and stderr are drained; on timeout the child is killed and the test fails.</summary>
        public int WaitExit()
        {
            if (!_process.WaitForExit(Watchdog))
            {
                Kill();
                throw new TimeoutException($"fuselage did not exit within {Watchdog}: killed, connection aborted{Transcript}");
            }
            Task.WaitAll([_stdoutClosed.Task, _stderrClosed.Task], Watchdog);
            return _process.ExitCode;
        }

        public void Signal(int sig) => Assert.Equal(0, Posix.Kill(_process.Id, sig));

        /// <summary>SIGKILL, then abort the connection (anyone blocked on the mount gets ENOTCONN) and detach it.</summary>
        private void Kill()
        {
            try { if (!_process.HasExited) Posix.Kill(_process.Id, Posix.SIGKILL); } catch (InvalidOperationException) { }
            CleanMount(Mountpoint);
            _process.WaitForExit(Watchdog);
        }

        public void Dispose()
        {
            try
            {
                if (!_process.HasExited)
                {
                    Posix.Kill(_process.Id, Posix.SIGTERM);
                    if (!_process.WaitForExit(TimeSpan.FromSeconds(10))) Kill();
                }
            }
            catch (InvalidOperationException) { }
            CleanMount(Mountpoint);
            _process.Dispose();
        }
    }

    /// <summary>Whatever state the mount is in: abort its connection if it is still there, then detach it.</summary>
    private static void CleanMount(string? mountpoint)
    {
        if (mountpoint is null) return;
        string full = Path.GetFullPath(mountpoint);
        for (int i = 0; i < 8 && FuseMount.IsMounted(full); i++)
        {
            FuseMount.AbortMountedAt(full);
            Libc.umount2(full, Libc.MNT_DETACH);
        }
    }

    /// <summary>Client code against a child's mount, under the watchdog (abort the connection if it hangs).</summary>
    private static T Watched<T>(string mountpoint, Func<T> client)
    {
        var task = Task.Factory.StartNew(client, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        if (task.Wait(Watchdog)) return task.Result;
        CleanMount(mountpoint);
        throw new TimeoutException($"client call on {mountpoint} did not finish within {Watchdog}: connection aborted");
    }

    private static string NewMountpoint() => Directory.CreateTempSubdirectory("fuselage-cli-").FullName;

    private const string Nobody = "65534";
    private static readonly string[] AsNobody = ["setpriv", $"--reuid={Nobody}", $"--regid={Nobody}", "--clear-groups", "env", "HOME=/tmp", "DOTNET_CLI_HOME=/tmp"];

    private static void Run(params string[] command)
    {
        using var p = Process.Start(command[0], command[1..]);
        Assert.True(p.WaitForExit(Watchdog), $"{string.Join(' ', command)} did not finish");
        Assert.True(p.ExitCode == 0, $"{string.Join(' ', command)} exited {p.ExitCode}");
    }

    /// <summary>Runs <paramref name="body"/> with fuselage.dll copied where nobody can read it and a mountpoint nobody owns.</summary>
    private static void AsUnprivileged(bool devFuseForOthers, Action<string[], string> body)
    {
        Skip.IfNot(File.Exists("/usr/bin/fusermount3"), "fusermount3 (Debian package fuse3) is not installed");
        Skip.IfNot(File.Exists("/usr/bin/setpriv"), "setpriv is needed to run the program as an unprivileged user");
        // The build output may sit under a private directory: copy the program somewhere nobody can read it.
        string bin = Directory.CreateTempSubdirectory("fuselage-bin-").FullName;
        string mountpoint = NewMountpoint();
        var devFuseMode = File.GetUnixFileMode("/dev/fuse");
        try
        {
            foreach (var f in Directory.GetFiles(AppContext.BaseDirectory).Where(f => Path.GetFileName(f) is var n
                && (n.StartsWith("fuselage.", StringComparison.Ordinal) || n.StartsWith("Fuselage.Engine.", StringComparison.Ordinal)
                    || n.StartsWith("Fuselage.Interop.", StringComparison.Ordinal) || n.StartsWith("Microsoft.Extensions.ObjectPool", StringComparison.Ordinal))))
                File.Copy(f, Path.Combine(bin, Path.GetFileName(f)));
            Run("chmod", "-R", "a+rX", bin);
            Run("chown", $"{Nobody}:{Nobody}", mountpoint);
            var others = UnixFileMode.OtherRead | UnixFileMode.OtherWrite;
            File.SetUnixFileMode("/dev/fuse", devFuseForOthers ? devFuseMode | others : devFuseMode & ~others);
            body([.. AsNobody, "dotnet", Path.Combine(bin, "fuselage.dll")], mountpoint);
        }
        finally
        {
            File.SetUnixFileMode("/dev/fuse", devFuseMode);
            CleanMount(mountpoint);
            Directory.Delete(mountpoint);
            Directory.Delete(bin, recursive: true);
        }
    }

    [SkippableFact]
    public void Without_root_the_mount_goes_through_fusermount3() => AsUnprivileged(devFuseForOthers: true, (program, mountpoint) =>
    {
        using var child = new Child(mountpoint, program, "mount", "memfs", mountpoint);
        child.WaitReady();
        string mountLine = File.ReadLines("/proc/self/mounts").Single(l => l.Split(' ')[1] == mountpoint);
        Assert.Contains($"user_id={Nobody}", mountLine);
        // Without allow_other only the mounting user may enter the mount.
        Watched(mountpoint, () => { Run([.. AsNobody, "sh", "-c", $"echo through-fusermount > {mountpoint}/f && grep -q through-fusermount {mountpoint}/f"]); return 0; });
        child.Signal(Posix.SIGTERM);
        Assert.True(child.WaitExit() == 0, $"exit code after SIGTERM{child.Transcript}");
        Assert.False(FuseMount.IsMounted(mountpoint), "still mounted after SIGTERM");
    });

    [SkippableFact]
    public void When_fusermount3_fails_the_program_says_why_and_exits() => AsUnprivileged(devFuseForOthers: false, (program, mountpoint) =>
    {
        // fusermount3 cannot open a /dev/fuse reserved to root: it exits without sending an fd, which must not hang us.
        using var child = new Child(mountpoint, program, "mount", "memfs", mountpoint);
        Assert.Equal(1, child.WaitExit());
        Assert.Contains(child.Stderr, l => l.Contains("fusermount3") && l.Contains("/dev/fuse"));
        Assert.False(FuseMount.IsMounted(mountpoint));
    });

    private static void RemoveMountpoint(string dir)
    {
        CleanMount(dir);
        try { Directory.Delete(dir); } catch (IOException) { }
    }

    [Fact]
    public async Task Help_prints_every_option_and_ends_its_last_line()
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(FuselageDll);
        psi.ArgumentList.Add("--help");
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        string stdout = await p.StandardOutput.ReadToEndAsync().WaitAsync(Watchdog);
        await p.WaitForExitAsync().WaitAsync(Watchdog);
        Assert.Equal(0, p.ExitCode);
        Assert.Equal("", await stderr);
        Assert.EndsWith("\n", stdout); // a shell prompt would otherwise follow the last option on its line
        foreach (var option in new[] { "--transport", "--workers", "--max-workers", "--depth", "--max-depth", "--cache", "--data-changes", "-o ", "-d ", "--stats" })
            Assert.Contains(option, stdout);
    }

    [Theory]
    [InlineData("--bogus", "mount", "memfs", "/tmp")]
    [InlineData("mount", "nosuchfs", "/tmp")]
    [InlineData("mount", "memfs", "/tmp", "--workers", "zero")]
    [InlineData("mount", "memfs", "/tmp", "--max-workers", "0")]
    [InlineData("mount", "memfs", "/tmp", "--max-depth", "0")]
    [InlineData("mount", "memfs", "/tmp", "--max-write", "4095")]
    [InlineData("mount", "memfs", "/tmp", "--max-write", "2097152")]
    [InlineData("mount", "passthrough", "/tmp", "/tmp", "--cache", "writeback-ish")]
    [InlineData("mount", "passthrough", "/tmp", "/tmp", "--data-changes", "never")]
    [InlineData("unmount", "/tmp")]
    public void A_bad_argument_exits_non_zero_with_a_one_line_reason(params string[] args)
    {
        using var child = new Child(null, args);
        int code = child.WaitExit();
        Assert.NotEqual(0, code);
        var lines = child.Stderr.Where(l => l.Length > 0).ToArray();
        Assert.True(lines.Length == 1, $"expected one line on stderr{child.Transcript}");
        Assert.StartsWith("fuselage: ", lines[0]);
        Assert.DoesNotContain(child.Stdout, l => l.Contains("mounted on"));
    }

    [Fact]
    public void Mounting_on_a_missing_directory_fails_and_mounts_nothing()
    {
        string missing = Path.Combine(Path.GetTempPath(), "fuselage-missing-" + Guid.NewGuid().ToString("N"));
        using var child = new Child(missing, "mount", "memfs", missing);
        Assert.NotEqual(0, child.WaitExit());
        Assert.Contains(child.Stderr, l => l.Contains(missing));
        Assert.False(Directory.Exists(missing));
        Assert.False(FuseMount.IsMounted(missing));
    }

    [Theory]
    [InlineData("ring")]
    [InlineData("threads")]
    public void Mount_serves_files_until_SIGTERM_then_exits_0_and_unmounts(string transport)
    {
        string dir = NewMountpoint();
        try
        {
            using var child = new Child(dir, "mount", "memfs", dir, "--transport", transport, "--workers", "2");
            string ready = child.WaitReady();
            Assert.Contains(dir, ready);
            Assert.True(FuseMount.IsMounted(dir), $"not mounted after '{ready}'");
            string file = Path.Combine(dir, "hello.txt");
            string read = Watched(dir, () =>
            {
                File.WriteAllText(file, "hello through the fuselage program\n");
                return File.ReadAllText(file);
            });
            Assert.Equal("hello through the fuselage program\n", read);

            child.Signal(Posix.SIGTERM);
            Assert.True(child.WaitExit() == 0, $"exit code not 0{child.Transcript}");
            Assert.False(FuseMount.IsMounted(dir), "still mounted after SIGTERM");
            Assert.Single(child.Stdout, l => l.Contains("mounted on"));
        }
        finally { RemoveMountpoint(dir); }
    }

    [Fact]
    public void Max_write_is_what_INIT_grants_and_files_larger_than_it_round_trip()
    {
        string dir = NewMountpoint();
        try
        {
            using var child = new Child(dir, "mount", "memfs", dir, "--max-write", "65536");
            string ready = child.WaitReady();
            Assert.Contains("max_write 65536", ready);
            var data = new byte[200_000];
            new Random(5).NextBytes(data);
            string file = Path.Combine(dir, "big");
            byte[] read = Watched(dir, () =>
            {
                File.WriteAllBytes(file, data);
                return File.ReadAllBytes(file);
            });
            Assert.Equal(data, read);
            child.Signal(Posix.SIGTERM);
            Assert.True(child.WaitExit() == 0, $"exit code not 0{child.Transcript}");
        }
        finally { RemoveMountpoint(dir); }
    }

    [Fact]
    public void Stats_prints_requests_per_opcode_at_exit()
    {
        string dir = NewMountpoint();
        try
        {
            using var child = new Child(dir, "mount", "memfs", dir, "--stats");
            child.WaitReady();
            Watched(dir, () =>
            {
                File.WriteAllText(Path.Combine(dir, "f"), "x");
                return File.ReadAllText(Path.Combine(dir, "f"));
            });
            child.Signal(Posix.SIGTERM);
            Assert.Equal(0, child.WaitExit());
            string stdout = string.Join("\n", child.Stdout);
            Assert.Contains("requests per opcode:", stdout);
            foreach (var op in new[] { "INIT", "LOOKUP", "CREATE", "WRITE", "OPEN" })
                Assert.Matches($@"(?m)^\s+{op}\s+[1-9][0-9,]*\s*$", stdout);
            Assert.Contains("requests per source:", stdout);
            Assert.Matches(@"(?m)^\s+total\s+[1-9][0-9,]*\s*$", stdout);
        }
        finally { RemoveMountpoint(dir); }
    }

    [Fact]
    public void An_external_umount_ends_the_program_with_exit_0()
    {
        string dir = NewMountpoint();
        try
        {
            using var child = new Child(dir, "mount", "memfs", dir);
            child.WaitReady();
            Watched(dir, () => { File.WriteAllText(Path.Combine(dir, "f"), "x"); return 0; });
            using (var umount = Process.Start(new ProcessStartInfo("umount", [dir]) { RedirectStandardError = true })!)
            {
                Assert.True(umount.WaitForExit(Watchdog), "umount hung");
                Assert.True(umount.ExitCode == 0, $"umount failed: {umount.StandardError.ReadToEnd()}");
            }
            Assert.True(child.WaitExit() == 0, $"exit code not 0{child.Transcript}");
            Assert.False(FuseMount.IsMounted(dir));
        }
        finally { RemoveMountpoint(dir); }
    }

    [Fact]
    public void Uring_transport_with_enable_uring_off_fails_before_mounting()
    {
        string parameter = Fuselage.Transport.UringSupport.ParameterPath;
        if (File.Exists(parameter) && Fuselage.Transport.UringSupport.IsEnabled)
            return; // enable_uring=Y here: nothing to check (xunit 2 cannot skip at run time)
        string dir = NewMountpoint();
        try
        {
            using var child = new Child(dir, "mount", "memfs", dir, "--transport", "uring");
            int code = child.WaitExit();
            Assert.NotEqual(0, code);
            Assert.Contains(child.Stderr, l => l.Contains("enable_uring"));
            Assert.DoesNotContain(child.Stdout, l => l.Contains("mounted on"));
            Assert.False(FuseMount.IsMounted(dir), "mounted although the transport cannot run");
        }
        finally { RemoveMountpoint(dir); }
    }

    [Fact]
    public void A_closed_terminal_SIGHUP_unmounts_and_exits()
    {
        string mountpoint = NewMountpoint();
        try
        {
            using var child = new Child(mountpoint, "mount", "memfs", mountpoint);
            child.WaitReady();
            child.Signal(Posix.SIGHUP);
            int code = child.WaitExit();
            Assert.False(FuseMount.IsMounted(mountpoint), $"still mounted after SIGHUP (exit {code}){child.Transcript}");
            Assert.Equal(0, code);
        }
        finally { RemoveMountpoint(mountpoint); }
    }

    [SkippableFact]
    public void Unprivileged_the_fd_from_fusermount3_is_not_inherited_and_a_busy_mount_is_detached() => AsUnprivileged(devFuseForOthers: true, (program, mountpoint) =>
    {
        using var child = new Child(mountpoint, program, "mount", "memfs", mountpoint);
        child.WaitReady();
        foreach (var link in Directory.GetFiles($"/proc/{child.Pid}/fd"))
        {
            string? target = null;
            try { target = new FileInfo(link).LinkTarget; } catch (IOException) { }
            if (target != "/dev/fuse") continue;
            string flags = File.ReadLines($"/proc/{child.Pid}/fdinfo/{Path.GetFileName(link)}").First(l => l.StartsWith("flags:")).Split('\t')[1];
            Assert.True((Convert.ToInt64(flags, 8) & 0x80000) != 0, $"/dev/fuse fd {Path.GetFileName(link)} without O_CLOEXEC (flags {flags})");
        }
        // Another process of the user sits in the mount: fusermount3 -u refuses (EBUSY); the mount must still go.
        var psi = new ProcessStartInfo(AsNobody[0]) { RedirectStandardOutput = true };
        foreach (var a in AsNobody[1..]) psi.ArgumentList.Add(a);
        foreach (var a in new[] { "sh", "-c", $"cd {mountpoint} && echo inside && exec sleep 60" }) psi.ArgumentList.Add(a);
        using var sitter = Process.Start(psi)!;
        try
        {
            Assert.Equal("inside", sitter.StandardOutput.ReadLine());
            child.Signal(Posix.SIGTERM);
            int code = child.WaitExit();
            Assert.False(FuseMount.IsMounted(mountpoint), $"still mounted after SIGTERM (exit {code}){child.Transcript}");
        }
        finally
        {
            try { sitter.Kill(); } catch (InvalidOperationException) { }
            sitter.WaitForExit();
        }
    });
}
