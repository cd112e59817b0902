using Fuselage.Bench.Micro;

namespace Fuselage.Tests.Bench;

/// <summary>Compiles the micro benchmarks' C peers once for the tests below (and removes them afterwards).</summary>
public sealed class NativePeersFixture : IDisposable
{
    /// <summary>Why the peers cannot be built here, or null when they can (the tests do not install packages; CI does).</summary>
    public static string? Missing =>
        NativePeers.BuildPackages.FirstOrDefault(p => !p.Present) is { Package: { } package } ? $"needs {package}" : null;

    private readonly string _directory = Directory.CreateTempSubdirectory("fuselage-peers-").FullName;

    public NativePeersFixture()
    {
        if (Missing is null) NativePeers.Use(NativePeers.Build(_directory, _ => { }));
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}

/// <summary>The micro benchmarks' baselines do the same work as the Fuselage side they are compared with.</summary>
public class NativePeersTests : IClassFixture<NativePeersFixture>
{
    [SkippableTheory]
    [InlineData(ProtocolBenchmarks.Operation.Lookup)]
    [InlineData(ProtocolBenchmarks.Operation.GetAttr)]
    [InlineData(ProtocolBenchmarks.Operation.Read4K)]
    [InlineData(ProtocolBenchmarks.Operation.Read128K)]
    [InlineData(ProtocolBenchmarks.Operation.Write4K)]
    [InlineData(ProtocolBenchmarks.Operation.ReadDirPlus)]
    public void Libfuse_answers_each_benchmark_request_with_the_bytes_Fuselage_answers(ProtocolBenchmarks.Operation op)
    {
        Skip.If(NativePeersFixture.Missing is not null, NativePeersFixture.Missing);
        using var kernel = new InMemoryKernel(new FixedDataFs());
        using var libfuse = new LibfusePeer();
        Assert.Equal(0, libfuse.Call(kernel.InitRequest));
        byte[] request = ProtocolBenchmarks.Build(kernel, op);

        var fuselageReply = new byte[(1 << 20) + 4096];
        Assert.True(kernel.Transport.Send(request));
        Assert.True(kernel.Transport.TryReceive(fuselageReply, out int length));
        Assert.Equal(0, libfuse.Call(request));

        Assert.Equal(fuselageReply.AsSpan(0, length).ToArray(), libfuse.LastReply());
    }

    [SkippableFact]
    public void Libfuse_refuses_a_request_before_INIT_as_the_kernel_protocol_requires()
    {
        Skip.If(NativePeersFixture.Missing is not null, NativePeersFixture.Missing);
        using var kernel = new InMemoryKernel(new FixedDataFs());
        using var libfuse = new LibfusePeer();
        // Proves the peer's replies come from libfuse's own processing, not from a shortcut in the C file.
        Assert.Equal(-5, libfuse.Call(ProtocolBenchmarks.Build(kernel, ProtocolBenchmarks.Operation.GetAttr))); // EIO
    }

    [SkippableFact]
    public void Liburing_completes_single_and_batched_NOPs()
    {
        Skip.If(NativePeersFixture.Missing is not null, NativePeersFixture.Missing);
        using var liburing = new LiburingPeer(64);
        for (int i = 0; i < 100; i++) Assert.Equal(0, liburing.NopRoundTrip());
        Assert.Equal(0, liburing.NopBatch(32));
    }
}
