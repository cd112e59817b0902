using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Fuselage.Ring;

namespace Fuselage.Bench.Micro;

/// <summary>
/// The cost of the ring itself: NOPs through submit, the kernel and reaping, one io_uring_enter per round trip or
/// per batch. The baseline of each is the same through liburing (<see cref="LiburingPeer"/>), in the same run.
/// </summary>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class RingBenchmarks
{
    private const string RoundTrip = "one NOP";
    private const string Batched = "32 NOPs per enter";
    private const int Batch = 32;

    private Fuselage.Ring.Ring _ring = null!;
    private LiburingPeer _liburing = null!;
    private ulong _userData;

    [GlobalSetup]
    public void Setup()
    {
        _ring = new Fuselage.Ring.Ring(64);
        _liburing = new LiburingPeer(64);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _ring.Dispose();
        _liburing.Dispose();
    }

    [Benchmark(Baseline = true), BenchmarkCategory(RoundTrip)]
    public int LiburingNopRoundTrip() => _liburing.NopRoundTrip();

    [Benchmark, BenchmarkCategory(RoundTrip)]
    public int NopRoundTrip()
    {
        _ring.GetSqe().PrepareNop(++_userData);
        _ring.SubmitAndWait(1);
        _ring.TryPeekCqe(out var cqe);
        _ring.AdvanceCq();
        return cqe.Res;
    }

    /// <summary>BenchmarkDotNet reports per operation (per NOP) for both batch benchmarks.</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = Batch), BenchmarkCategory(Batched)]
    public int LiburingNopBatchOf32() => _liburing.NopBatch(Batch);

    [Benchmark(OperationsPerInvoke = Batch), BenchmarkCategory(Batched)]
    public int NopBatchOf32()
    {
        for (int i = 0; i < Batch; i++)
            _ring.GetSqe().PrepareNop(++_userData);
        _ring.SubmitAndWait(Batch);
        int sum = 0;
        while (_ring.TryReapCqe(out var cqe))
            sum += cqe.Res;
        return sum;
    }
}
