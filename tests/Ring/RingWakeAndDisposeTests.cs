using Fuselage.Interop;
using Fuselage.Interop.IoUring;
using Fuselage.Ring;

namespace Fuselage.Tests.Rings;

using Ring = Fuselage.Ring.Ring;

public class RingWakeAndDisposeTests
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(30);

    public static TheoryData<IoUringSetupFlags> WaitingModes =>
    [
        IoUringSetupFlags.None,
        IoUringSetupFlags.CoopTaskRun | IoUringSetupFlags.TaskRunFlag,
        IoUringSetupFlags.SingleIssuer | IoUringSetupFlags.DeferTaskRun,
    ];

    [Theory]
    [MemberData(nameof(WaitingModes))]
    public void ARingWaitingOnItsOwnThread_IsWokenFromAnotherThread(IoUringSetupFlags flags)
    {
        const int rounds = 50;
        using var waiting = new SemaphoreSlim(0);
        using var woken = new SemaphoreSlim(0);
        Ring? shared = null;
        int wakesObserved = 0;
        int userCqesSeen = 0;
        Exception? failure = null;

        // The ring is created on, and owned by, the waiting thread (SINGLE_ISSUER binds it to its creator).
        var owner = new Thread(() =>
        {
            try
            {
                using var ring = new Ring(8, new RingOptions { Flags = flags, EnableWake = true });
                Volatile.Write(ref shared, ring);
                for (int i = 0; i < rounds; i++)
                {
                    waiting.Release();
                    // Only a Wake can end this wait: nothing else is in flight. The timeout only turns a hang into a failure.
                    if (!ring.SubmitAndWait(1, TimeSpan.FromSeconds(60)))
                        throw new TimeoutException($"round {i}: the wait was not woken");
                    while (ring.TryReapCqe(out _))
                        userCqesSeen++; // the wake CQE itself is internal and never shows up here
                    wakesObserved++;
                    woken.Release();
                }
            }
            catch (Exception e)
            {
                failure = e;
                waiting.Release(rounds);
            }
        }) { IsBackground = true, Name = "ring owner" };
        owner.Start();

        for (int i = 0; i < rounds; i++)
        {
            Assert.True(waiting.Wait(Generous), $"round {i}: owner never started waiting");
            Assert.Null(failure);
            Volatile.Read(ref shared)!.Wake();
            Assert.True(woken.Wait(Generous), $"round {i}: the owner was not woken ({failure})");
        }
        Assert.True(owner.Join(Generous));
        Assert.Null(failure);
        Assert.Equal(rounds, wakesObserved);
        Assert.Equal(0, userCqesSeen);
    }

    [Fact]
    public void AWakeBeforeTheWait_IsNotLost()
    {
        using var ring = new Ring(4, new RingOptions { EnableWake = true });
        ring.Wake();
        Assert.True(ring.SubmitAndWait(1, Generous));
        Assert.False(ring.TryPeekCqe(out _));

        // And it is re-armed: a second wake also ends a wait.
        ring.Wake();
        Assert.True(ring.SubmitAndWait(1, Generous));
    }

    [Fact]
    public void WakeWithoutEnableWake_Throws()
    {
        using var ring = new Ring(4);
        Assert.Throws<InvalidOperationException>(ring.Wake);
    }

    [Fact]
    public void WakeAfterDispose_DoesNothing()
    {
        var ring = new Ring(4, new RingOptions { EnableWake = true });
        ring.Dispose();
        ring.Wake();
    }

    [Fact]
    public void AWaitWithATimeout_ReturnsFalseWhenNothingCompletes()
    {
        using var ring = new Ring(4);
        Assert.False(ring.SubmitAndWait(1, TimeSpan.FromMilliseconds(20)));
    }

    [Theory]
    [MemberData(nameof(WaitingModes))]
    public void DisposeWithPendingPollAndRead_ReturnsAndDrains(IoUringSetupFlags flags)
    {
        using var pollPipe = new Pipe();
        using var readPipe = new Pipe();
        var buffer = new PinnedBuffer(4096);
        long inFlightAfterDispose = -1;

        RingAssert.CompletesOnOwnThread(() =>
        {
            var ring = new Ring(8, new RingOptions { Flags = flags, EnableWake = true });
            ring.GetSqe().PreparePollAdd(pollPipe.ReadFd, PollEvents.In, userData: 1);
            ring.GetSqe().PrepareRead(readPipe.ReadFd, buffer.Address, 4096, Ring.CurrentPosition, userData: 2);
            ring.Submit();
            Assert.False(ring.TryPeekCqe(out _));
            Assert.Equal(3, ring.OperationsInFlight); // the poll, the read and the wake read
            ring.Dispose();
            inFlightAfterDispose = ring.OperationsInFlight;
        }, Generous, "a ring disposed with operations in flight");
        Assert.Equal(0, inFlightAfterDispose);

        // The pipes are intact and no longer read by anyone.
        using var writer = new FileStream(new Microsoft.Win32.SafeHandles.SafeFileHandle(readPipe.WriteFd, ownsHandle: false), FileAccess.Write, bufferSize: 0);
        writer.WriteByte(7);
        using var reader = new FileStream(new Microsoft.Win32.SafeHandles.SafeFileHandle(readPipe.ReadFd, ownsHandle: false), FileAccess.Read, bufferSize: 0);
        Assert.Equal(7, reader.ReadByte());
    }

    [Fact]
    public void DisposeFromAnotherThread_StillReturns()
    {
        using var pipe = new Pipe();
        var ring = new Ring(8, new RingOptions { Flags = IoUringSetupFlags.SingleIssuer | IoUringSetupFlags.DeferTaskRun });
        ring.GetSqe().PreparePollAdd(pipe.ReadFd, PollEvents.In, userData: 1);
        ring.Submit();
        RingAssert.CompletesOnOwnThread(ring.Dispose, Generous, "Dispose from a non-owner thread");
        Assert.Throws<ObjectDisposedException>(() => ring.Submit());
    }

    [Fact]
    public void DisposeTwice_IsHarmless()
    {
        var ring = new Ring(4);
        ring.GetSqe().PrepareNop(1);
        ring.Dispose();
        ring.Dispose();
        Assert.Throws<ObjectDisposedException>(() => ring.GetSqe());
    }

    [Fact]
    public void TheRingCounters_AfterDispose_ThrowObjectDisposed_InsteadOfReadingTheUnmappedRing()
    {
        var ring = new Ring(4);
        ring.GetSqe().PrepareNop(1);
        ring.Submit();
        ring.Dispose();
        // Each of these reads a word of the SQ/CQ ring mapping, which Dispose unmapped: before the fix the first one
        // killed the process (AccessViolationException is not catchable), or read whatever was mapped there next.
        Assert.Throws<ObjectDisposedException>(() => ring.SqSpaceLeft);
        Assert.Throws<ObjectDisposedException>(() => ring.SubmissionsPending);
        Assert.Throws<ObjectDisposedException>(() => ring.CqReady);
        Assert.Throws<ObjectDisposedException>(() => ring.CqOverflowDropped);
        Assert.Throws<ObjectDisposedException>(() => ring.SqDropped);
        Assert.Equal(0, ring.OperationsInFlight); // ring-owned state, still readable (Dispose's contract relies on it)
    }
}
