using BenchmarkDotNet.Attributes;
using Fuselage.Ring;

namespace Fuselage.Bench.Micro;

/// <summary>The cost of the ring itself: one NOP through submit, the kernel and reaping (one io_uring_enter).</summary>
[MemoryDiagnoser]
public class RingBenchmarks
{
    private Fuselage.Ring.Ring _ring = null!;
    private ulong _userData;

    [GlobalSetup]
    public void Setup() => _ring = new Fuselage.Ring.Ring(64);

    [GlobalCleanup]
    public void Cleanup() => _ring.Dispose();

    [Benchmark]
    public int NopRoundTrip()
    {
        _ring.GetSqe().PrepareNop(++_userData);
        _ring.SubmitAndWait(1);
        _ring.TryPeekCqe(out var cqe);
        _ring.AdvanceCq();
        return cqe.Res;
    }

    private const int Batch = 32;

    /// <summary>32 NOPs per io_uring_enter; BenchmarkDotNet reports per invocation, so divide by 32 for per-op cost.</summary>
    [Benchmark(OperationsPerInvoke = Batch)]
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
