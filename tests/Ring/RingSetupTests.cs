using Fuselage.Interop;
using Fuselage.Interop.IoUring;
using Fuselage.Ring;

namespace Fuselage.Tests.Rings;

using Ring = Fuselage.Ring.Ring;

public class RingSetupTests
{
    private static void AssertNopRoundTrip(Ring ring, ulong userData)
    {
        ring.GetSqe().PrepareNop(userData);
        var cqe = Assert.Single(RingAssert.WaitFor(ring, 1));
        Assert.Equal(userData, cqe.UserData);
        Assert.Equal(0, cqe.Res);
    }

    [Fact]
    public void RefusedOptionalFlags_ArePeeledOff_AndTheRingComesUp()
    {
        // SQE_MIXED is unknown to 6.18; DEFER_TASKRUN without SINGLE_ISSUER is an invalid combination.
        var requested = IoUringSetupFlags.SqeMixed | IoUringSetupFlags.DeferTaskRun | IoUringSetupFlags.CoopTaskRun
            | IoUringSetupFlags.TaskRunFlag | IoUringSetupFlags.SubmitAll;
        using var ring = new Ring(16, new RingOptions { Flags = requested });

        Assert.Equal(requested, ring.RequestedFlags);
        Assert.Equal(IoUringSetupFlags.CoopTaskRun | IoUringSetupFlags.TaskRunFlag | IoUringSetupFlags.SubmitAll, ring.AcceptedFlags);
        AssertNopRoundTrip(ring, 7);
    }

    [Fact]
    public void AValidFlagSet_IsAcceptedWhole()
    {
        var requested = IoUringSetupFlags.SingleIssuer | IoUringSetupFlags.DeferTaskRun | IoUringSetupFlags.SubmitAll
            | IoUringSetupFlags.NoSqArray;
        using var ring = new Ring(16, new RingOptions { Flags = requested, CompletionQueueEntries = 64 });
        Assert.Equal(requested | IoUringSetupFlags.CqSize, ring.AcceptedFlags);
        Assert.Equal(16u, ring.SqEntries);
        Assert.Equal(64u, ring.CqEntries);
        for (ulong i = 1; i <= 100; i++) // wraps the 16-entry SQ several times without an SQ array
            AssertNopRoundTrip(ring, i);
    }

    [Fact]
    public void ARefusedRequiredSetting_Throws()
    {
        // CQSIZE with a zero CQ size is invalid and CQSIZE is never peeled off.
        var error = Assert.Throws<ErrnoException>(() => new Ring(8, new RingOptions { Flags = IoUringSetupFlags.CqSize }));
        Assert.Equal(Errno.EINVAL, error.Errno);
    }

    [Fact]
    public void EntriesAreRoundedUpToAPowerOfTwo_AndTheCqIsTwiceTheSq()
    {
        using var ring = new Ring(5);
        Assert.Equal(8u, ring.SqEntries);
        Assert.Equal(16u, ring.CqEntries);
        Assert.Equal(64, ring.SqeSize);
        Assert.Equal(16, ring.CqeSize);
        Assert.True(ring.Features.HasFlag(IoUringFeatures.SingleMmap));
    }

    [Fact]
    public void TheProbeReportsWhatThisKernelImplements()
    {
        using var ring = new Ring(4);
        Assert.True(ring.IsSupported(IoUringOp.Nop));
        Assert.True(ring.IsSupported(IoUringOp.Read));
        Assert.True(ring.IsSupported(IoUringOp.UringCmd));
        Assert.True(ring.IsSupported(IoUringOp.Pipe)); // last opcode of 6.18
        Assert.False(ring.IsSupported(IoUringOp.UringCmd128)); // after 6.18
    }

    [Fact]
    public void Cqe32Ring_DeliversCompletionsWithTheBigCqe()
    {
        using var ring = new Ring(4, new RingOptions { Flags = IoUringSetupFlags.Cqe32 });
        Assert.Equal(32, ring.CqeSize);
        for (ulong i = 1; i <= 20; i++)
        {
            ring.GetSqe().PrepareNop(i);
            Assert.True(ring.SubmitAndWait(1, TimeSpan.FromSeconds(30)));
            Assert.True(ring.TryPeekCqe32(out var cqe));
            Assert.Equal(i, cqe.Cqe.UserData);
            Assert.Equal(0, cqe.Cqe.Res);
            ring.AdvanceCq();
        }
    }

    private struct Records(List<ulong> seen) : ICqeHandler
    {
        public readonly void Handle(in IoUringCqe cqe) => seen.Add(cqe.UserData);
    }

    [Fact]
    public void CqeMixedRing_Delivers32ByteCqesOnce_AndSkipsTheWrapPadding()
    {
        const uint nopCqe32 = 1u << 5; // IORING_NOP_CQE32: the NOP posts a 32-byte CQE (two slots of a CQE_MIXED ring)
        using var ring = new Ring(4, new RingOptions { Flags = IoUringSetupFlags.CqeMixed });
        Assert.True(ring.AcceptedFlags.HasFlag(IoUringSetupFlags.CqeMixed));
        Assert.Equal(8u, ring.CqEntries);
        // Three slots a round over an 8-slot CQ: a 32-byte CQE lands on the last slot before the wrap in round 5,
        // where the kernel posts a one-slot IORING_CQE_F_SKIP padding entry first.
        for (ulong round = 0; round < 16; round++)
        {
            ref var big = ref ring.GetSqe().PrepareNop(100 + round);
            big.NopFlags = nopCqe32;
            ring.GetSqe().PrepareNop(200 + round);
            Assert.True(ring.SubmitAndWait(3, TimeSpan.FromSeconds(30)));
            var seen = new List<ulong>();
            if (round % 2 == 0)
            {
                var handler = new Records(seen);
                ring.ForEachCqe(ref handler);
            }
            else
            {
                while (ring.TryReapCqe(out var cqe))
                    seen.Add(cqe.UserData);
            }
            Assert.Equal([100 + round, 200 + round], seen);
            Assert.Equal(0, ring.OperationsInFlight);
        }
    }

    [Fact]
    public void Sqe128Ring_RunsNops_AndAUringCmdOnAnUnsupportingFileFailsInItsCqe()
    {
        using var ring = new Ring(8, new RingOptions { Flags = IoUringSetupFlags.Sqe128 });
        Assert.Equal(128, ring.SqeSize);
        Assert.True(ring.AcceptedFlags.HasFlag(IoUringSetupFlags.Sqe128));
        for (ulong i = 1; i <= 20; i++)
            AssertNopRoundTrip(ring, i);

        using var file = new TempFile();
        ref var sqe = ref ring.GetSqe128().PrepareUringCmd(file.Fd, commandOp: 1, userData: 99);
        Assert.Equal(80, sqe.Cmd.Length);
        sqe.Cmd.Fill(0xAB); // a command payload runs up to byte 127 of the slot
        Assert.Equal(0xABABABABABABABABUL, sqe.Sqe.Addr3);

        var cqe = Assert.Single(RingAssert.WaitFor(ring, 1));
        Assert.Equal(99UL, cqe.UserData);
        Assert.True(cqe.Res < 0, $"URING_CMD on a regular file returned {cqe.Res}");

        AssertNopRoundTrip(ring, 100); // the ring is still healthy
    }

    [Fact]
    public void SqPollRing_CompletesNopsSubmittedByTheKernelThread()
    {
        using var ring = new Ring(8, new RingOptions { Flags = IoUringSetupFlags.SqPoll });
        Assert.True(ring.AcceptedFlags.HasFlag(IoUringSetupFlags.SqPoll));
        var seen = new HashSet<ulong>();
        void Reap()
        {
            while (ring.TryReapCqe(out var cqe))
            {
                Assert.Equal(0, cqe.Res);
                Assert.True(seen.Add(cqe.UserData), $"user_data {cqe.UserData} twice");
            }
        }
        for (ulong i = 1; i <= 200; i++) // more than the SQ holds, so GetSqe also has to wait for room
        {
            ring.GetSqe().PrepareNop(i);
            if (i % 50 == 0)
            {
                Assert.True(ring.SubmitAndWait(1, TimeSpan.FromSeconds(30)));
                Reap();
            }
        }
        while (seen.Count < 200)
        {
            Assert.True(ring.SubmitAndWait(1, TimeSpan.FromSeconds(30)), $"only {seen.Count} of 200 completed");
            Reap();
        }
        Assert.Equal(Enumerable.Range(1, 200).Select(i => (ulong)i), seen.Order());
    }

    [Fact]
    public void CancelAll_OnAFullSqPollRing_WaitsForRoom_InsteadOfOverwritingAQueuedSqe()
    {
        // One SQ slot: the NOP fills it, so CancelAll has to make room. Submitting does not make any on an SQPOLL ring
        // (the kernel thread consumes the SQE when it gets to it), so the cancel must wait for the thread, not take the
        // slot of the NOP the thread is about to read.
        using var ring = new Ring(1, new RingOptions { Flags = IoUringSetupFlags.SqPoll });
        Assert.True(ring.AcceptedFlags.HasFlag(IoUringSetupFlags.SqPoll));
        Assert.Equal(1u, ring.SqEntries);
        var seen = new List<ulong>();
        for (ulong i = 1; i <= 20; i++) // overran in round 2 before the fix; few rounds keep the SQ thread's spinning short
        {
            ring.GetSqe().PrepareNop(i);
            ring.CancelAll();
            Assert.True(ring.SubmissionsPending <= ring.SqEntries, $"round {i}: {ring.SubmissionsPending} SQEs queued in an SQ of {ring.SqEntries}");
            while (!seen.Contains(i))
            {
                Assert.True(ring.SubmitAndWait(1, TimeSpan.FromSeconds(30)), $"round {i}: the NOP never completed");
                while (ring.TryReapCqe(out var cqe))
                    seen.Add(cqe.UserData);
            }
        }
        Assert.Equal(Enumerable.Range(1, 20).Select(i => (ulong)i), seen);
    }

    [Fact]
    public void GetSqe128_OnA64ByteRing_Throws()
    {
        using var ring = new Ring(4);
        Assert.Throws<InvalidOperationException>(() => ring.GetSqe128());
    }

    [Fact]
    public void MsgRing_PostsACompletionOnAnotherRing()
    {
        using var sender = new Ring(4);
        using var receiver = new Ring(4);
        sender.GetSqe().PrepareMsgRing(receiver.Fd, result: 42, targetUserData: 0x1234, userData: 1);
        var sent = Assert.Single(RingAssert.WaitFor(sender, 1));
        Assert.Equal(0, sent.Res);

        var received = Assert.Single(RingAssert.WaitFor(receiver, 1));
        Assert.Equal(0x1234UL, received.UserData);
        Assert.Equal(42, received.Res);
    }
}
