using BenchmarkDotNet.Attributes;
using Fuselage.Interop.Fuse;

namespace Fuselage.Bench.Micro;

/// <summary>
/// One request through an engine with no kernel: parse the header and arguments, dispatch to the filesystem,
/// build the reply, hand it back. Fuselage goes through its in-memory transport; the baseline is libfuse's own
/// receive-and-process loop over a custom I/O in memory (<see cref="LibfusePeer"/>), serving a C twin of
/// <see cref="FixedDataFs"/> from the same request bytes. Each benchmark is one request and one reply; Fuselage's
/// target is 0 B allocated (the column counts managed memory only: libfuse's own allocations are not in it).
/// </summary>
[MemoryDiagnoser]
public class ProtocolBenchmarks
{
    public enum Operation { Lookup, GetAttr, Read4K, Read128K, Write4K, ReadDirPlus }

    [ParamsAllValues]
    public Operation Op { get; set; }

    private InMemoryKernel _kernel = null!;
    private LibfusePeer _libfuse = null!;
    private byte[] _request = null!;

    [GlobalSetup]
    public void Setup()
    {
        _kernel = new InMemoryKernel(new FixedDataFs());
        _libfuse = new LibfusePeer();
        if (_libfuse.Call(_kernel.InitRequest) != 0) throw new InvalidOperationException("libfuse refused the INIT");
        _request = Build(_kernel, Op);
        if (_kernel.Call(_request) is var error and not 0) throw new InvalidOperationException($"Fuselage answered {Op} with {error}");
        if (_libfuse.Call(_request) is var peerError and not 0) throw new InvalidOperationException($"libfuse answered {Op} with {peerError}");
    }

    /// <summary>The request each operation sends (the same bytes to both engines).</summary>
    public static byte[] Build(InMemoryKernel kernel, Operation op) => op switch
    {
        Operation.Lookup => kernel.BuildNamed(FuseOpcode.Lookup, FuseProtocol.RootId, "file-0001.dat"),
        Operation.GetAttr => kernel.Build(FuseOpcode.Getattr, FixedDataFs.FileIno, new FuseGetattrIn()),
        Operation.Read4K => kernel.Build(FuseOpcode.Read, FixedDataFs.FileIno, new FuseReadIn { Fh = 1, Offset = 8192, Size = 4096 }),
        Operation.Read128K => kernel.Build(FuseOpcode.Read, FixedDataFs.FileIno, new FuseReadIn { Fh = 1, Offset = 0, Size = 128 * 1024 }),
        Operation.Write4K => kernel.Build(FuseOpcode.Write, FixedDataFs.FileIno, new FuseWriteIn { Fh = 1, Offset = 4096, Size = 4096 }, new byte[4096]),
        // 32 entries with attributes asked for in 4 KiB: as many as fit.
        Operation.ReadDirPlus => kernel.Build(FuseOpcode.Readdirplus, FuseProtocol.RootId, new FuseReadIn { Fh = 1, Offset = 0, Size = 4096 }),
        _ => throw new ArgumentOutOfRangeException(nameof(op)),
    };

    [GlobalCleanup]
    public void Cleanup()
    {
        _kernel.Dispose();
        _libfuse.Dispose();
    }

    [Benchmark(Baseline = true)] public int Libfuse() => _libfuse.Call(_request);
    [Benchmark] public int Fuselage() => _kernel.Call(_request);
}
