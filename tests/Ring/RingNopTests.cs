using System.Runtime.InteropServices;
using Fuselage.Interop.IoUring;
using Fuselage.Ring;

namespace Fuselage.Tests.Rings;

using Ring = Fuselage.Ring.Ring;

public class RingNopTests
{
    [Fact]
    public void TenThousandNopRoundTrips_ReturnEveryUserDataOnce()
    {
        const int total = 10_000;
        const int batch = 50; // divides the total
        using var ring = new Ring(64);
        var seen = new bool[total];
        var cqes = new IoUringCqe[batch];
        for (int start = 0; start < total; start += batch)
        {
            for (int i = 0; i < batch; i++)
                ring.GetSqe().PrepareNop((ulong)(start + i) + 1);
            Assert.Equal(batch, ring.SubmitAndWait(batch));
            Assert.Equal(batch, ring.ReapCqes(cqes));
            foreach (var cqe in cqes)
            {
                Assert.Equal(0, cqe.Res);
                int index = (int)cqe.UserData - 1;
                Assert.InRange(index, start, start + batch - 1);
                Assert.False(seen[index], $"user_data {cqe.UserData} completed twice");
                seen[index] = true;
            }
        }
        Assert.All(seen, Assert.True);
        Assert.Equal(0, ring.OperationsInFlight);
    }

    private struct CountingHandler(bool[] seen) : ICqeHandler
    {
        public int Errors;
        public int Duplicates;

        public void Handle(in IoUringCqe cqe)
        {
            if (cqe.Res != 0)
                Errors++;
            if (seen[cqe.UserData])
                Duplicates++;
            seen[cqe.UserData] = true;
        }
    }

    [Fact]
    public void SubmittingFarMoreThanTheCqHolds_WithoutReaping_LosesNoCompletion()
    {
        const int total = 1_000;
        using var ring = new Ring(8); // CQ: 16 entries
        Assert.Equal(16u, ring.CqEntries);
        Assert.True(ring.Features.HasFlag(IoUringFeatures.NoDrop));

        for (int i = 0; i < total; i++)
            ring.GetSqe().PrepareNop((ulong)i); // GetSqe submits by itself whenever the SQ is full
        ring.Submit();

        Assert.Equal(0u, ring.SubmissionsPending);
        Assert.Equal(ring.CqEntries, ring.CqReady); // the ring is full, the rest waits in the kernel's overflow list
        Assert.Equal(total, ring.OperationsInFlight);

        var seen = new bool[total];
        var handler = new CountingHandler(seen);
        Assert.Equal(total, ring.ForEachCqe(ref handler));
        Assert.Equal(0, handler.Errors);
        Assert.Equal(0, handler.Duplicates);
        Assert.All(seen, Assert.True);
        Assert.Equal(0u, ring.CqOverflowDropped);
        Assert.Equal(0, ring.OperationsInFlight);
        Assert.False(ring.TryPeekCqe(out _));
    }

    [Fact]
    public void OverflowedCompletions_AreAlsoDeliveredThroughTryPeek()
    {
        const int total = 200;
        using var ring = new Ring(4, new RingOptions { CompletionQueueEntries = 8 });
        for (int i = 0; i < total; i++)
            ring.GetSqe().PrepareNop((ulong)i);
        ring.Submit();

        var order = new List<ulong>();
        while (ring.TryPeekCqe(out var cqe))
        {
            order.Add(cqe.UserData);
            ring.AdvanceCq();
        }
        // NOPs complete in submission order, and the overflow list is flushed in order behind the ring.
        Assert.Equal(Enumerable.Range(0, total).Select(i => (ulong)i), order);
    }

    [Fact]
    public void NopRoundTrips_AfterWarmUp_AllocateNothing()
    {
        using var ring = new Ring(8);
        RoundTrips(ring, 10_000); // past tiered compilation's promotions, which may allocate once
        long before = GC.GetAllocatedBytesForCurrentThread();
        RoundTrips(ring, 100_000);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated / 100_000 == 0, $"{allocated} bytes over 100,000 NOPs");
    }

    [Fact]
    public void BatchedReapingThroughAStructHandler_AllocatesNothing()
    {
        using var ring = new Ring(32);
        var seen = new bool[32];
        BatchRounds(ring, seen, 2_000); // past tiered compilation's promotions (a one-off OSR step allocated 7 KB once)
        long before = GC.GetAllocatedBytesForCurrentThread();
        BatchRounds(ring, seen, 3_000);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated / (3_000 * 32) == 0, $"{allocated} bytes over {3_000 * 32} NOPs");
    }

    private static void RoundTrips(Ring ring, int count)
    {
        for (int i = 0; i < count; i++)
        {
            ring.GetSqe().PrepareNop((ulong)i);
            ring.SubmitAndWait(1);
            if (!ring.TryPeekCqe(out var cqe) || cqe.UserData != (ulong)i)
                throw new InvalidOperationException($"round trip {i}: missing or wrong CQE");
            ring.AdvanceCq(1);
        }
    }

    private static void BatchRounds(Ring ring, bool[] seen, int rounds)
    {
        for (int round = 0; round < rounds; round++)
        {
            for (int i = 0; i < 32; i++)
                ring.GetSqe().PrepareNop((ulong)i);
            ring.SubmitAndWait(32);
            var handler = new CountingHandler(seen);
            if (ring.ForEachCqe(ref handler) != 32 || handler.Errors != 0)
                throw new InvalidOperationException($"round {round}: wrong completions");
        }
    }

    private struct ThrowsOnSecond(List<ulong> seen) : ICqeHandler
    {
        public readonly void Handle(in IoUringCqe cqe)
        {
            seen.Add(cqe.UserData);
            if (cqe.UserData == 2) throw new InvalidOperationException("handler failed");
        }
    }

    private struct Records(List<ulong> seen) : ICqeHandler
    {
        public readonly void Handle(in IoUringCqe cqe) => seen.Add(cqe.UserData);
    }

    [Fact]
    public void AHandlerThatThrows_DoesNotSeeTheCompletionsItHandled_Again()
    {
        using var pipe = new Pipe();
        var buffer = new PinnedBuffer(8);
        using var ring = new Ring(8);
        ring.GetSqe().PrepareRead(pipe.ReadFd, buffer.Address, 8, Ring.CurrentPosition, 100); // stays in flight
        ring.GetSqe().PrepareNop(1);
        ring.GetSqe().PrepareNop(2);
        ring.GetSqe().PrepareNop(3);
        ring.SubmitAndWait(3);

        var first = new List<ulong>();
        var throwing = new ThrowsOnSecond(first);
        Assert.Throws<InvalidOperationException>(() => ring.ForEachCqe(ref throwing));
        var second = new List<ulong>();
        var recording = new Records(second);
        ring.ForEachCqe(ref recording);

        Assert.Equal([1UL, 2UL], first);
        Assert.Equal([3UL], second);
        Assert.Equal(1, ring.OperationsInFlight); // only the pipe READ: nothing was counted twice
    }

    [DllImport("libc", EntryPoint = "clock_gettime")]
    private static extern int ClockGetTime(int clock, long[] timespec);

    private static TimeSpan ThreadCpuTime()
    {
        const int ClockThreadCpuTime = 3; // CLOCK_THREAD_CPUTIME_ID
        var ts = new long[2];
        Assert.Equal(0, ClockGetTime(ClockThreadCpuTime, ts));
        return TimeSpan.FromTicks(ts[0] * TimeSpan.TicksPerSecond + ts[1] / 100);
    }

    private struct ThrowsAlways : ICqeHandler
    {
        public readonly void Handle(in IoUringCqe cqe) => throw new InvalidOperationException("handler failed");
    }

    [Fact]
    public void AfterAHandlerThrew_AWaitWithNothingToComplete_Sleeps_InsteadOfSpinning()
    {
        using var ring = new Ring(4);
        ring.GetSqe().PrepareNop(1);
        ring.SubmitAndWait(1);
        var throwing = new ThrowsAlways();
        Assert.Throws<InvalidOperationException>(() => ring.ForEachCqe(ref throwing));
        Assert.Equal(0u, ring.CqReady); // the CQE counts as consumed...

        // ...so the kernel must see it consumed too: io_uring_enter waits for min_complete CQEs past the shared CQ head,
        // and a head left behind makes it return at once, every time, until the timeout.
        var wait = TimeSpan.FromMilliseconds(300);
        var cpuBefore = ThreadCpuTime();
        Assert.False(ring.SubmitAndWait(1, wait));
        var cpu = ThreadCpuTime() - cpuBefore;
        Assert.True(cpu < wait / 3, $"the {wait.TotalMilliseconds} ms wait used {cpu.TotalMilliseconds} ms of CPU");
        AssertNopRoundTripAfter(ring);
    }

    private static void AssertNopRoundTripAfter(Ring ring)
    {
        ring.GetSqe().PrepareNop(2);
        var cqe = Assert.Single(RingAssert.WaitFor(ring, 1));
        Assert.Equal(2UL, cqe.UserData);
        Assert.Equal(0, ring.OperationsInFlight);
    }

    [Fact]
    public void WaitingForMoreCompletionsThanTheCqHolds_ReturnsOnceTheCqIsFull_InsteadOfSpinning()
    {
        using var ring = new Ring(4); // CQ: 8 entries
        Assert.Equal(8u, ring.CqEntries);
        for (ulong i = 0; i < 12; i++)
            ring.GetSqe().PrepareNop(i); // GetSqe submits by itself whenever the SQ is full

        // Twelve can never be ready at once: the kernel caps min_complete at the CQ size and returns with the CQ full,
        // the rest held in its overflow list until we reap.
        var wait = TimeSpan.FromSeconds(2);
        var cpuBefore = ThreadCpuTime();
        Assert.True(ring.SubmitAndWait(12, wait), "the wait timed out with the CQ full");
        Assert.True(ThreadCpuTime() - cpuBefore < wait / 4, "the wait spun");
        Assert.Equal(ring.CqEntries, ring.CqReady);

        var seen = new bool[12];
        var handler = new CountingHandler(seen);
        Assert.Equal(12, ring.ForEachCqe(ref handler));
        Assert.All(seen, Assert.True);
        Assert.Equal(0, ring.OperationsInFlight);
    }
}
