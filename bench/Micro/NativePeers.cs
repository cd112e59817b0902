using System.Reflection;
using System.Runtime.InteropServices;
using Fuselage.Bench.E2e;

namespace Fuselage.Bench.Micro;

/// <summary>
/// The C programs the micro benchmarks compare against, measured in the same run: libfuse serving the same
/// fixed-data filesystem from memory (<c>native/libfuse_peer.c</c>) and liburing making the same NOP round trips
/// (<c>native/liburing_peer.c</c>). They are compiled here against the system's libfuse3 and liburing; BenchmarkDotNet
/// runs each benchmark in a child process, which finds them through <see cref="DirectoryVariable"/>.
/// </summary>
public static class NativePeers
{
    public const string DirectoryVariable = "FUSELAGE_BENCH_PEERS";
    internal const string Libfuse = "libfuse_peer";
    internal const string Liburing = "liburing_peer";
    private static int _resolverSet;

    /// <summary>What compiling the peers needs, and whether each is installed.</summary>
    public static (string Package, bool Present)[] BuildPackages =>
        [Prerequisites.Gcc, Prerequisites.PkgConfig, Prerequisites.LibfuseDev, Prerequisites.LiburingDev];

    /// <summary>Installs gcc, pkg-config, libfuse3-dev and liburing-dev when missing and compiles both peers.</summary>
    public static string Build(string buildDirectory, Action<string> progress)
    {
        Prerequisites.InstallMissing(progress, BuildPackages);
        Directory.CreateDirectory(buildDirectory);
        foreach (var (name, package) in new[] { (Libfuse, "fuse3"), (Liburing, "liburing") })
        {
            string source = Path.Combine(AppContext.BaseDirectory, "Micro", "native", name + ".c");
            var flags = Shell.Check("pkg-config", "--cflags", "--libs", package).Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            progress($"peers: gcc -O2 -shared {name}.c $(pkg-config --cflags --libs {package}) ({package} {Shell.Check("pkg-config", "--modversion", package).Trim()})");
            Shell.Check("gcc", ["-O2", "-Wall", "-shared", "-fPIC", "-o", Path.Combine(buildDirectory, name + ".so"), source, .. flags]);
        }
        return buildDirectory;
    }

    /// <summary>Makes <see cref="Libfuse"/> and <see cref="Liburing"/> resolve to the peers built in <paramref name="directory"/>.</summary>
    public static void Use(string directory)
    {
        Environment.SetEnvironmentVariable(DirectoryVariable, directory);
        EnsureResolver();
    }

    /// <summary>Before the first call into a peer: resolves the peers' names through <see cref="DirectoryVariable"/>.</summary>
    internal static void EnsureResolver()
    {
        if (Interlocked.Exchange(ref _resolverSet, 1) == 0)
            NativeLibrary.SetDllImportResolver(typeof(NativePeers).Assembly, Resolve);
    }

    private static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (name != Libfuse && name != Liburing) return IntPtr.Zero;
        string directory = Environment.GetEnvironmentVariable(DirectoryVariable)
            ?? throw new InvalidOperationException($"{DirectoryVariable} is not set: run the micro benchmarks through the bench program, which builds the C peers");
        return NativeLibrary.Load(Path.Combine(directory, name + ".so"));
    }
}

/// <summary>libfuse serving <see cref="FixedDataFs"/>'s twin from memory, one request per <see cref="Call"/>.</summary>
public sealed class LibfusePeer : IDisposable
{
    private IntPtr _peer;

    public LibfusePeer()
    {
        NativePeers.EnsureResolver();
        _peer = peer_create();
        if (_peer == IntPtr.Zero) throw new InvalidOperationException("libfuse peer: fuse_session_new or fuse_session_custom_io failed");
    }

    /// <summary>Copies the request in, lets libfuse receive and process it, copies the reply out; returns its error field.</summary>
    public int Call(byte[] request) => peer_call(_peer, request, request.Length);

    /// <summary>The last reply's bytes.</summary>
    public byte[] LastReply()
    {
        int length = peer_last_reply(_peer, [], 0);
        var reply = new byte[length];
        peer_last_reply(_peer, reply, length);
        return reply;
    }

    public void Dispose()
    {
        peer_destroy(_peer);
        _peer = IntPtr.Zero;
    }

    [DllImport(NativePeers.Libfuse)] private static extern IntPtr peer_create();
    [DllImport(NativePeers.Libfuse)] private static extern int peer_call(IntPtr peer, byte[] request, int length);
    [DllImport(NativePeers.Libfuse)] private static extern int peer_last_reply(IntPtr peer, byte[] destination, int capacity);
    [DllImport(NativePeers.Libfuse)] private static extern void peer_destroy(IntPtr peer);
}

/// <summary>A liburing ring with no setup flags, making the NOP round trips <see cref="RingBenchmarks"/> makes.</summary>
public sealed class LiburingPeer : IDisposable
{
    private IntPtr _peer;

    public LiburingPeer(uint entries)
    {
        NativePeers.EnsureResolver();
        _peer = peer_create(entries);
        if (_peer == IntPtr.Zero) throw new InvalidOperationException("liburing peer: io_uring_queue_init failed");
    }

    public int NopRoundTrip() => peer_nop_round_trip(_peer);
    public int NopBatch(int count) => peer_nop_batch(_peer, count);

    public void Dispose()
    {
        peer_destroy(_peer);
        _peer = IntPtr.Zero;
    }

    [DllImport(NativePeers.Liburing)] private static extern IntPtr peer_create(uint entries);
    [DllImport(NativePeers.Liburing)] private static extern int peer_nop_round_trip(IntPtr peer);
    [DllImport(NativePeers.Liburing)] private static extern int peer_nop_batch(IntPtr peer, int count);
    [DllImport(NativePeers.Liburing)] private static extern void peer_destroy(IntPtr peer);
}
