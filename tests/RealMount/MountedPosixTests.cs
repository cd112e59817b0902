using System.Diagnostics;
using Fuselage.Samples;

namespace Fuselage.Tests;

/// <summary>
/// The sample filesystems mounted for real, driven by system calls. Every scenario runs twice — on a native
/// directory and on the mount — and the two transcripts (results and errnos of every call) must be equal,
/// besides the POSIX answers each scenario asserts itself.
/// </summary>
[Collection("real mounts")]
public class MountedPosixTests
{
    public static IEnumerable<object[]> Cases()
    {
        foreach (var fs in new[] { "memfs", "passthrough" })
            foreach (var transport in new[] { TransportKind.Ring, TransportKind.Threads, TransportKind.Uring })
                foreach (var (name, _) in PosixScenarios.All)
                    yield return [fs, transport, name];
        // Kernel passthrough: reads and writes of open files never reach the server, whatever the transport.
        foreach (var (name, _) in PosixScenarios.All)
            yield return ["passthrough-kernel", TransportKind.Ring, name];
    }

    private static (MountedFs Mount, string? Source) MountSample(string fs, TransportKind transport)
    {
        if (fs == "memfs") return (new MountedFs(new MemFs(), transport), null);
        string source = Directory.CreateTempSubdirectory("fuselage-src-").FullName;
        Action<FuseServerOptions>? configure = fs == "passthrough-kernel" ? RealMount.KernelPassthroughTests.Declare : null;
        return (new MountedFs(new PassthroughFs(source), transport, configure: configure), source);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Scenario_matches_a_native_directory(string fs, TransportKind transport, string scenario)
    {
        var run = PosixScenarios.All.Single(s => s.Name == scenario).Run;
        string native = Directory.CreateTempSubdirectory("fuselage-native-").FullName;
        var (m, source) = MountSample(fs, transport);
        try
        {
            var expected = run(native);
            var actual = m.Run(() => run(m.Root));
            Assert.Equal(expected, actual);
        }
        finally
        {
            m.Dispose();
            Directory.Delete(native, recursive: true);
            if (source is not null) Directory.Delete(source, recursive: true);
        }
    }

    [Theory]
    [InlineData("memfs", TransportKind.Ring)]
    [InlineData("memfs", TransportKind.Threads)]
    [InlineData("passthrough", TransportKind.Ring)]
    [InlineData("passthrough", TransportKind.Uring)]
    public void Two_processes_write_disjoint_ranges_of_one_file(string fs, TransportKind transport)
    {
        var (m, source) = MountSample(fs, transport);
        try
        {
            string file = m.PathOf("shared");
            m.Run(() =>
            {
                File.WriteAllBytes(file, []);
                Process Writer(char c, int seekBlocks) => Process.Start("sh", ["-c", $"yes {c} | head -c 262144 | dd of='{file}' bs=4096 seek={seekBlocks} conv=notrunc status=none"]);
                using var a = Writer('A', 0);
                using var b = Writer('B', 64);
                a.WaitForExit();
                b.WaitForExit();
                Assert.Equal(0, a.ExitCode);
                Assert.Equal(0, b.ExitCode);
                var data = File.ReadAllBytes(file);
                Assert.Equal(2 * 262144, data.Length);
                Assert.True(data.AsSpan(0, 262144).IndexOfAnyExcept("A\n"u8) < 0, "first range corrupted");
                Assert.True(data.AsSpan(262144).IndexOfAnyExcept("B\n"u8) < 0, "second range corrupted");
            });
        }
        finally
        {
            m.Dispose();
            if (source is not null) Directory.Delete(source, recursive: true);
        }
    }
}
