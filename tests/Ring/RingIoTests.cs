using System.Runtime.InteropServices;
using Fuselage.Interop;
using Fuselage.Interop.IoUring;
using Fuselage.Ring;

namespace Fuselage.Tests.Rings;

using Ring = Fuselage.Ring.Ring;

public class RingIoTests
{
    [Fact]
    public void WriteThenRead_WithPlainBuffers_RoundTripsTheBytes()
    {
        using var file = new TempFile();
        using var ring = new Ring(8);
        var source = PinnedBuffer.WithPattern(8192, seed: 3);
        var target = new PinnedBuffer(8192);

        ring.GetSqe().PrepareWrite(file.Fd, source.Address, (uint)source.Length, offset: 4096, userData: 1);
        Assert.Equal(8192, RingAssert.Single(RingAssert.WaitFor(ring, 1), 1).Res);

        ring.GetSqe().PrepareRead(file.Fd, target.Address, (uint)target.Length, offset: 4096, userData: 2);
        Assert.Equal(8192, RingAssert.Single(RingAssert.WaitFor(ring, 1), 2).Res);
        Assert.Equal(source.Array, target.Array);
        Assert.Equal(4096 + 8192, new FileInfo(file.Path).Length);
    }

    [Fact]
    public void ReadPastTheEnd_ReturnsZero_AndABadFdReturnsEbadf()
    {
        using var file = new TempFile();
        using var ring = new Ring(8);
        var buffer = new PinnedBuffer(512);
        ring.GetSqe().PrepareRead(file.Fd, buffer.Address, 512, offset: 0, userData: 1);
        ring.GetSqe().PrepareRead(-1, buffer.Address, 512, offset: 0, userData: 2);
        var cqes = RingAssert.WaitFor(ring, 2);
        Assert.Equal(0, RingAssert.Single(cqes, 1).Res);
        Assert.Equal(-Errno.EBADF, RingAssert.Single(cqes, 2).Res);
    }

    [Fact]
    public void WriteFixedThenReadFixed_WithRegisteredBuffers_RoundTripsTheBytes()
    {
        using var file = new TempFile();
        using var ring = new Ring(8);
        var source = PinnedBuffer.WithPattern(16384, seed: 11);
        var target = new PinnedBuffer(16384);
        ring.RegisterBuffers([new Iovec(source.Address, (nuint)source.Length), new Iovec(target.Address, (nuint)target.Length)]);

        // A sub-range inside each registered buffer.
        ring.GetSqe().PrepareWriteFixed(file.Fd, source.Address + 4096, 8192, offset: 0, bufferIndex: 0, userData: 1);
        Assert.Equal(8192, RingAssert.Single(RingAssert.WaitFor(ring, 1), 1).Res);
        ring.GetSqe().PrepareReadFixed(file.Fd, target.Address + 1024, 8192, offset: 0, bufferIndex: 1, userData: 2);
        Assert.Equal(8192, RingAssert.Single(RingAssert.WaitFor(ring, 1), 2).Res);
        Assert.Equal(source.Array.AsSpan(4096, 8192).ToArray(), target.Array.AsSpan(1024, 8192).ToArray());

        // An address outside the named buffer is refused by the kernel, not written.
        ring.GetSqe().PrepareReadFixed(file.Fd, source.Address, 512, offset: 0, bufferIndex: 1, userData: 3);
        Assert.Equal(-Errno.EFAULT, RingAssert.Single(RingAssert.WaitFor(ring, 1), 3).Res);

        ring.UnregisterBuffers();
        ring.GetSqe().PrepareReadFixed(file.Fd, target.Address, 512, offset: 0, bufferIndex: 0, userData: 4);
        Assert.True(RingAssert.Single(RingAssert.WaitFor(ring, 1), 4).Res < 0);
    }

    [Fact]
    public void WritevThenReadv_ScatterAndGatherAcrossSegments()
    {
        using var file = new TempFile();
        using var ring = new Ring(8);
        var first = PinnedBuffer.WithPattern(1000, seed: 1);
        var second = PinnedBuffer.WithPattern(3000, seed: 2);
        var writeVectors = GC.AllocateArray<Iovec>(2, pinned: true);
        writeVectors[0] = new Iovec(first.Address, 1000);
        writeVectors[1] = new Iovec(second.Address, 3000);

        ring.GetSqe().PrepareWritev(file.Fd, Marshal.UnsafeAddrOfPinnedArrayElement(writeVectors, 0), 2, offset: 0, userData: 1);
        Assert.Equal(4000, RingAssert.Single(RingAssert.WaitFor(ring, 1), 1).Res);

        var readA = new PinnedBuffer(2500);
        var readB = new PinnedBuffer(1500);
        var readVectors = GC.AllocateArray<Iovec>(2, pinned: true);
        readVectors[0] = new Iovec(readA.Address, 2500);
        readVectors[1] = new Iovec(readB.Address, 1500);
        ring.GetSqe().PrepareReadv(file.Fd, Marshal.UnsafeAddrOfPinnedArrayElement(readVectors, 0), 2, offset: 0, userData: 2);
        Assert.Equal(4000, RingAssert.Single(RingAssert.WaitFor(ring, 1), 2).Res);

        byte[] written = [.. first.Array, .. second.Array];
        byte[] read = [.. readA.Array, .. readB.Array];
        Assert.Equal(written, read);
    }

    [Fact]
    public void RegisteredFiles_AreUsedByIndex_AndAnUpdateEmptiesTheSlot()
    {
        using var file = new TempFile();
        using var ring = new Ring(8);
        var data = PinnedBuffer.WithPattern(100, seed: 5);
        ring.RegisterFiles([-1, file.Fd]);

        ring.GetSqe().PrepareWrite(1, data.Address, 100, offset: 0, userData: 1).WithFlags(IoSqeFlags.FixedFile);
        Assert.Equal(100, RingAssert.Single(RingAssert.WaitFor(ring, 1), 1).Res);
        Assert.Equal(100, new FileInfo(file.Path).Length);

        Assert.Equal(1, ring.UpdateRegisteredFiles(1, [-1]));
        ring.GetSqe().PrepareWrite(1, data.Address, 100, offset: 0, userData: 2).WithFlags(IoSqeFlags.FixedFile);
        Assert.Equal(-Errno.EBADF, RingAssert.Single(RingAssert.WaitFor(ring, 1), 2).Res);
        ring.UnregisterFiles();
    }

    [Fact]
    public void Fsync_Completes()
    {
        using var file = new TempFile();
        using var ring = new Ring(4);
        var data = PinnedBuffer.WithPattern(4096, seed: 9);
        ring.GetSqe().PrepareWrite(file.Fd, data.Address, 4096, 0, userData: 1).WithFlags(IoSqeFlags.IoLink);
        ring.GetSqe().PrepareFsync(file.Fd, IoUringConstants.FsyncDataSync, userData: 2);
        var cqes = RingAssert.WaitFor(ring, 2);
        Assert.Equal(4096, RingAssert.Single(cqes, 1).Res);
        Assert.Equal(0, RingAssert.Single(cqes, 2).Res);
    }

    [Fact]
    public void LinkedWriteThenRead_RunInOrder()
    {
        using var file = new TempFile();
        using var ring = new Ring(8);
        var source = PinnedBuffer.WithPattern(4096, seed: 21);
        var target = new PinnedBuffer(4096);
        ring.GetSqe().PrepareWrite(file.Fd, source.Address, 4096, 0, userData: 1).WithFlags(IoSqeFlags.IoLink);
        ring.GetSqe().PrepareRead(file.Fd, target.Address, 4096, 0, userData: 2);
        var cqes = RingAssert.WaitFor(ring, 2);
        Assert.Equal([1UL, 2UL], cqes.Select(c => c.UserData));
        Assert.Equal(4096, cqes[0].Res);
        Assert.Equal(4096, cqes[1].Res);
        Assert.Equal(source.Array, target.Array);
    }

    [Fact]
    public void AFailingLink_CancelsTheRestOfTheChain()
    {
        using var file = new TempFile();
        using var ring = new Ring(8);
        var buffer = new PinnedBuffer(64);
        ring.GetSqe().PrepareRead(-1, buffer.Address, 64, 0, userData: 1).WithFlags(IoSqeFlags.IoLink);
        ring.GetSqe().PrepareWrite(file.Fd, buffer.Address, 64, 0, userData: 2).WithFlags(IoSqeFlags.IoLink);
        ring.GetSqe().PrepareNop(userData: 3);
        var cqes = RingAssert.WaitFor(ring, 3);
        Assert.Equal(-Errno.EBADF, RingAssert.Single(cqes, 1).Res);
        Assert.Equal(-Errno.ECANCELED, RingAssert.Single(cqes, 2).Res);
        Assert.Equal(-Errno.ECANCELED, RingAssert.Single(cqes, 3).Res);
        Assert.Equal(0, new FileInfo(file.Path).Length);
    }

    [Fact]
    public void CqeSkipSuccess_PostsNothingOnSuccess_ButStillReportsAFailure()
    {
        using var ring = new Ring(8);
        var buffer = new PinnedBuffer(64);
        ring.GetSqe().PrepareNop(userData: 1).WithFlags(IoSqeFlags.CqeSkipSuccess);
        ring.GetSqe().PrepareRead(-1, buffer.Address, 64, 0, userData: 2).WithFlags(IoSqeFlags.CqeSkipSuccess);
        ring.GetSqe().PrepareNop(userData: 3);
        var cqes = RingAssert.WaitFor(ring, 2);
        Assert.Equal([2UL, 3UL], cqes.Select(c => c.UserData).Order());
        Assert.False(ring.TryPeekCqe(out _));
    }

    [Fact]
    public void CancellingAPendingPoll_CompletesThePollWithEcanceled_AndTheCancelWithZero()
    {
        using var pipe = new Pipe();
        using var ring = new Ring(8);
        ring.GetSqe().PreparePollAdd(pipe.ReadFd, PollEvents.In, userData: 1);
        ring.Submit();
        Assert.False(ring.TryPeekCqe(out _)); // nothing to read: the poll stays pending
        Assert.Equal(1, ring.OperationsInFlight);

        ring.GetSqe().PrepareCancel(targetUserData: 1, userData: 2);
        var cqes = RingAssert.WaitFor(ring, 2);
        Assert.Equal(-Errno.ECANCELED, RingAssert.Single(cqes, 1).Res);
        Assert.Equal(0, RingAssert.Single(cqes, 2).Res);
        Assert.Equal(0, ring.OperationsInFlight);
    }

    [Fact]
    public void APollCompletesWhenThePipeBecomesReadable()
    {
        using var pipe = new Pipe();
        using var ring = new Ring(8);
        ring.GetSqe().PreparePollAdd(pipe.ReadFd, PollEvents.In, userData: 1);
        ring.Submit();
        using (var writer = new FileStream(new Microsoft.Win32.SafeHandles.SafeFileHandle(pipe.WriteFd, ownsHandle: false), FileAccess.Write, bufferSize: 0))
            writer.WriteByte(1);
        var cqe = Assert.Single(RingAssert.WaitFor(ring, 1));
        Assert.True((cqe.Res & (int)PollEvents.In) != 0);
    }

    [Fact]
    public void CancellingAnUnknownUserData_ReportsEnoent()
    {
        using var ring = new Ring(4);
        ring.GetSqe().PrepareCancel(targetUserData: 12345, userData: 1);
        Assert.Equal(-Errno.ENOENT, Assert.Single(RingAssert.WaitFor(ring, 1)).Res);
    }

    /// <summary>
    /// What linking a reply to its file read relies on (the uring transport's COMMIT behind a READ), on the running
    /// kernel: a whole read posts no CQE (CQE_SKIP_SUCCESS) and only then does the linked write run, with the bytes
    /// read. A short read or a failed one posts its own CQE and drops the write: it writes nothing and, the read having
    /// asked to skip its CQE, posts none either (6.18: a failing head with CQE_SKIP_SUCCESS skips its chain's CQEs).
    /// </summary>
    [Fact]
    public void A_write_linked_to_a_read_runs_after_a_whole_read_and_a_short_or_failed_read_drops_it_silently()
    {
        using var file = new TempFile();
        using var pipe = new Pipe();
        using var ring = new Ring(8);
        var content = PinnedBuffer.WithPattern(6000, seed: 5);
        Assert.Equal(6000, Libc.PWrite(file.Fd, content.Span, 0));
        var buffer = new PinnedBuffer(4096);

        IoUringCqe[] ReadThenWrite(int fd, long offset, ulong readData, ulong writeData)
        {
            ring.GetSqe().PrepareRead(fd, buffer.Address, 4096, (ulong)offset, readData);
            uint linked = ring.SqesHandedOut;
            ring.LastSqe.Flags |= IoSqeFlags.IoLink | IoSqeFlags.CqeSkipSuccess;
            ring.GetSqe().PrepareWrite(pipe.WriteFd, buffer.Address, 4096, ulong.MaxValue, writeData);
            Assert.Equal(linked + 1, ring.SqesHandedOut);
            // A NOP behind the pair: once its CQE is in, whatever the pair was to post is in too.
            ring.GetSqe().PrepareNop(99);
            var cqes = new List<IoUringCqe>();
            var batch = new IoUringCqe[8];
            while (!cqes.Exists(c => c.UserData == 99))
            {
                Assert.True(ring.SubmitAndWait(1, TimeSpan.FromSeconds(30)), "no CQE within 30 s");
                cqes.AddRange(batch.AsSpan(0, ring.ReapCqes(batch)).ToArray());
            }
            cqes.RemoveAll(c => c.UserData == 99);
            return cqes.ToArray();
        }

        var whole = Assert.Single(ReadThenWrite(file.Fd, 0, readData: 1, writeData: 2));
        Assert.Equal((2UL, 4096), (whole.UserData, whole.Res));
        Assert.Throws<InvalidOperationException>(() => ring.LastSqe); // submitted: too late to link

        var shortRead = Assert.Single(ReadThenWrite(file.Fd, 4096, readData: 3, writeData: 4)); // 1904 bytes left
        Assert.Equal((3UL, 1904), (shortRead.UserData, shortRead.Res));

        var failed = Assert.Single(ReadThenWrite(-1, 0, readData: 5, writeData: 6));
        Assert.Equal((5UL, -Errno.EBADF), (failed.UserData, failed.Res));

        // Only the whole read's bytes reached the pipe: a marker written after them comes next.
        Assert.Equal(1, Libc.Write(pipe.WriteFd, [0xA5]));
        var received = new byte[4097];
        Assert.Equal(4097, Libc.Read(pipe.ReadFd, received));
        Assert.Equal(content.Array.AsSpan(0, 4096).ToArray(), received.AsSpan(0, 4096).ToArray());
        Assert.Equal(0xA5, received[4096]);
    }
}
