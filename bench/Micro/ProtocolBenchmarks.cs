using BenchmarkDotNet.Attributes;
using Fuselage.Interop.Fuse;

namespace Fuselage.Bench.Micro;

/// <summary>
/// One request through the engine with no kernel: parse the header and arguments, dispatch to the filesystem,
/// build the reply, hand it back. Each benchmark is one request and one reply; the target is 0 B allocated.
/// </summary>
[MemoryDiagnoser]
public class ProtocolBenchmarks
{
    private InMemoryKernel _kernel = null!;
    private byte[] _lookup = null!, _getattr = null!, _read4K = null!, _read128K = null!, _write4K = null!, _readdirplus = null!;

    [GlobalSetup]
    public void Setup()
    {
        _kernel = new InMemoryKernel(new FixedDataFs());
        _lookup = _kernel.BuildNamed(FuseOpcode.Lookup, FuseProtocol.RootId, "file-0001.dat");
        _getattr = _kernel.Build(FuseOpcode.Getattr, FixedDataFs.FileIno, new FuseGetattrIn());
        _read4K = _kernel.Build(FuseOpcode.Read, FixedDataFs.FileIno, new FuseReadIn { Fh = 1, Offset = 8192, Size = 4096 });
        _read128K = _kernel.Build(FuseOpcode.Read, FixedDataFs.FileIno, new FuseReadIn { Fh = 1, Offset = 0, Size = 128 * 1024 });
        _write4K = _kernel.Build(FuseOpcode.Write, FixedDataFs.FileIno, new FuseWriteIn { Fh = 1, Offset = 4096, Size = 4096 }, new byte[4096]);
        _readdirplus = _kernel.Build(FuseOpcode.Readdirplus, FuseProtocol.RootId, new FuseReadIn { Fh = 1, Offset = 0, Size = 4096 });
        foreach (var request in new[] { _lookup, _getattr, _read4K, _read128K, _write4K, _readdirplus })
        {
            int error = _kernel.Call(request);
            if (error != 0) throw new InvalidOperationException($"setup request failed with {error}");
        }
    }

    [GlobalCleanup]
    public void Cleanup() => _kernel.Dispose();

    [Benchmark] public int Lookup() => _kernel.Call(_lookup);
    [Benchmark] public int GetAttr() => _kernel.Call(_getattr);
    [Benchmark] public int Read4K() => _kernel.Call(_read4K);
    [Benchmark] public int Read128K() => _kernel.Call(_read128K);
    [Benchmark] public int Write4K() => _kernel.Call(_write4K);
    /// <summary>32 entries with attributes in one 4 KiB reply (as many as fit).</summary>
    [Benchmark] public int ReadDirPlus() => _kernel.Call(_readdirplus);
}
