using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Fuselage.Interop;
using Fuselage.Interop.IoUring;

namespace Fuselage.Tests.Interop;

// Expected values are the kernel uapi (linux/io_uring.h, Linux 6.18) written out literally.
public class IoUringAbiTests
{
    private static int Offset<T>(string field) => (int)Marshal.OffsetOf<T>(field);

    [Fact]
    public void StructSizes()
    {
        Assert.Equal(120, Unsafe.SizeOf<IoUringParams>());
        Assert.Equal(40, Unsafe.SizeOf<IoSqringOffsets>());
        Assert.Equal(40, Unsafe.SizeOf<IoCqringOffsets>());
        Assert.Equal(64, Unsafe.SizeOf<IoUringSqe>());
        Assert.Equal(128, Unsafe.SizeOf<IoUringSqe128>());
        Assert.Equal(16, Unsafe.SizeOf<IoUringCqe>());
        Assert.Equal(32, Unsafe.SizeOf<IoUringCqe32>());
        Assert.Equal(16, Unsafe.SizeOf<IoUringRsrcUpdate>());
        Assert.Equal(32, Unsafe.SizeOf<IoUringRsrcRegister>());
        Assert.Equal(32, Unsafe.SizeOf<IoUringRsrcUpdate2>());
        Assert.Equal(16, Unsafe.SizeOf<IoUringProbe>());
        Assert.Equal(8, Unsafe.SizeOf<IoUringProbeOp>());
        Assert.Equal(24, Unsafe.SizeOf<IoUringGeteventsArg>());
        Assert.Equal(16, Unsafe.SizeOf<KernelTimespec>());
        Assert.Equal(16, Unsafe.SizeOf<Iovec>());
    }

    [Theory]
    [InlineData(nameof(IoUringParams.SqEntries), 0)]
    [InlineData(nameof(IoUringParams.CqEntries), 4)]
    [InlineData(nameof(IoUringParams.Flags), 8)]
    [InlineData(nameof(IoUringParams.SqThreadCpu), 12)]
    [InlineData(nameof(IoUringParams.SqThreadIdle), 16)]
    [InlineData(nameof(IoUringParams.Features), 20)]
    [InlineData(nameof(IoUringParams.WqFd), 24)]
    [InlineData(nameof(IoUringParams.Resv), 28)]
    [InlineData(nameof(IoUringParams.SqOff), 40)]
    [InlineData(nameof(IoUringParams.CqOff), 80)]
    public void ParamsOffsets(string field, int offset) => Assert.Equal(offset, Offset<IoUringParams>(field));

    [Theory]
    [InlineData(nameof(IoSqringOffsets.Head), 0)]
    [InlineData(nameof(IoSqringOffsets.Tail), 4)]
    [InlineData(nameof(IoSqringOffsets.RingMask), 8)]
    [InlineData(nameof(IoSqringOffsets.RingEntries), 12)]
    [InlineData(nameof(IoSqringOffsets.Flags), 16)]
    [InlineData(nameof(IoSqringOffsets.Dropped), 20)]
    [InlineData(nameof(IoSqringOffsets.Array), 24)]
    [InlineData(nameof(IoSqringOffsets.Resv1), 28)]
    [InlineData(nameof(IoSqringOffsets.UserAddr), 32)]
    public void SqRingOffsetsOffsets(string field, int offset) => Assert.Equal(offset, Offset<IoSqringOffsets>(field));

    [Theory]
    [InlineData(nameof(IoCqringOffsets.Head), 0)]
    [InlineData(nameof(IoCqringOffsets.Tail), 4)]
    [InlineData(nameof(IoCqringOffsets.RingMask), 8)]
    [InlineData(nameof(IoCqringOffsets.RingEntries), 12)]
    [InlineData(nameof(IoCqringOffsets.Overflow), 16)]
    [InlineData(nameof(IoCqringOffsets.Cqes), 20)]
    [InlineData(nameof(IoCqringOffsets.Flags), 24)]
    [InlineData(nameof(IoCqringOffsets.Resv1), 28)]
    [InlineData(nameof(IoCqringOffsets.UserAddr), 32)]
    public void CqRingOffsetsOffsets(string field, int offset) => Assert.Equal(offset, Offset<IoCqringOffsets>(field));

    [Theory]
    [InlineData(nameof(IoUringSqe.Opcode), 0)]
    [InlineData(nameof(IoUringSqe.Flags), 1)]
    [InlineData(nameof(IoUringSqe.IoPrio), 2)]
    [InlineData(nameof(IoUringSqe.Fd), 4)]
    [InlineData(nameof(IoUringSqe.Off), 8)]
    [InlineData(nameof(IoUringSqe.Addr2), 8)]
    [InlineData(nameof(IoUringSqe.CmdOp), 8)]
    [InlineData(nameof(IoUringSqe.Pad1), 12)]
    [InlineData(nameof(IoUringSqe.Addr), 16)]
    [InlineData(nameof(IoUringSqe.SpliceOffIn), 16)]
    [InlineData(nameof(IoUringSqe.Level), 16)]
    [InlineData(nameof(IoUringSqe.OptName), 20)]
    [InlineData(nameof(IoUringSqe.Len), 24)]
    [InlineData(nameof(IoUringSqe.RwFlags), 28)]
    [InlineData(nameof(IoUringSqe.FsyncFlags), 28)]
    [InlineData(nameof(IoUringSqe.PollEvents), 28)]
    [InlineData(nameof(IoUringSqe.Poll32Events), 28)]
    [InlineData(nameof(IoUringSqe.SyncRangeFlags), 28)]
    [InlineData(nameof(IoUringSqe.MsgFlags), 28)]
    [InlineData(nameof(IoUringSqe.TimeoutFlags), 28)]
    [InlineData(nameof(IoUringSqe.AcceptFlags), 28)]
    [InlineData(nameof(IoUringSqe.CancelFlags), 28)]
    [InlineData(nameof(IoUringSqe.OpenFlags), 28)]
    [InlineData(nameof(IoUringSqe.StatxFlags), 28)]
    [InlineData(nameof(IoUringSqe.FadviseAdvice), 28)]
    [InlineData(nameof(IoUringSqe.SpliceFlags), 28)]
    [InlineData(nameof(IoUringSqe.RenameFlags), 28)]
    [InlineData(nameof(IoUringSqe.UnlinkFlags), 28)]
    [InlineData(nameof(IoUringSqe.HardlinkFlags), 28)]
    [InlineData(nameof(IoUringSqe.XattrFlags), 28)]
    [InlineData(nameof(IoUringSqe.MsgRingFlags), 28)]
    [InlineData(nameof(IoUringSqe.UringCmdFlags), 28)]
    [InlineData(nameof(IoUringSqe.WaitidFlags), 28)]
    [InlineData(nameof(IoUringSqe.FutexFlags), 28)]
    [InlineData(nameof(IoUringSqe.InstallFdFlags), 28)]
    [InlineData(nameof(IoUringSqe.NopFlags), 28)]
    [InlineData(nameof(IoUringSqe.PipeFlags), 28)]
    [InlineData(nameof(IoUringSqe.UserData), 32)]
    [InlineData(nameof(IoUringSqe.BufIndex), 40)]
    [InlineData(nameof(IoUringSqe.BufGroup), 40)]
    [InlineData(nameof(IoUringSqe.Personality), 42)]
    [InlineData(nameof(IoUringSqe.SpliceFdIn), 44)]
    [InlineData(nameof(IoUringSqe.FileIndex), 44)]
    [InlineData(nameof(IoUringSqe.OptLen), 44)]
    [InlineData(nameof(IoUringSqe.AddrLen), 44)]
    [InlineData(nameof(IoUringSqe.Pad3), 46)]
    [InlineData(nameof(IoUringSqe.Addr3), 48)]
    [InlineData(nameof(IoUringSqe.AttrPtr), 48)]
    [InlineData(nameof(IoUringSqe.OptVal), 48)]
    [InlineData(nameof(IoUringSqe.Pad2), 56)]
    [InlineData(nameof(IoUringSqe.AttrTypeMask), 56)]
    public void SqeOffsets(string field, int offset) => Assert.Equal(offset, Offset<IoUringSqe>(field));

    [Fact]
    public void Sqe128CommandArea_Spans48To127()
    {
        Assert.Equal(0, Offset<IoUringSqe128>(nameof(IoUringSqe128.Sqe)));
        Assert.Equal(48, Offset<IoUringSqe128>(nameof(IoUringSqe128.Command)));
        Assert.Equal(48, IoUringSqe128.CommandOffset);
        Assert.Equal(80, IoUringSqe128.CommandSize);
        var sqe = new IoUringSqe128();
        sqe.Cmd[0] = 0x11;
        sqe.Cmd[79] = 0x22;
        Assert.Equal(0x11UL, sqe.Sqe.Addr3);
        Assert.Equal(80, sqe.Cmd.Length);
    }

    [Theory]
    [InlineData(nameof(IoUringCqe.UserData), 0)]
    [InlineData(nameof(IoUringCqe.Res), 8)]
    [InlineData(nameof(IoUringCqe.Flags), 12)]
    public void CqeOffsets(string field, int offset) => Assert.Equal(offset, Offset<IoUringCqe>(field));

    [Fact]
    public void Cqe32AndAuxiliaryStructOffsets()
    {
        Assert.Equal(16, Offset<IoUringCqe32>(nameof(IoUringCqe32.BigCqe0)));
        Assert.Equal(24, Offset<IoUringCqe32>(nameof(IoUringCqe32.BigCqe1)));
        Assert.Equal(0, Offset<IoUringRsrcUpdate>(nameof(IoUringRsrcUpdate.Offset)));
        Assert.Equal(4, Offset<IoUringRsrcUpdate>(nameof(IoUringRsrcUpdate.Resv)));
        Assert.Equal(8, Offset<IoUringRsrcUpdate>(nameof(IoUringRsrcUpdate.Data)));
        Assert.Equal(0, Offset<IoUringRsrcUpdate2>(nameof(IoUringRsrcUpdate2.Offset)));
        Assert.Equal(8, Offset<IoUringRsrcUpdate2>(nameof(IoUringRsrcUpdate2.Data)));
        Assert.Equal(16, Offset<IoUringRsrcUpdate2>(nameof(IoUringRsrcUpdate2.Tags)));
        Assert.Equal(24, Offset<IoUringRsrcUpdate2>(nameof(IoUringRsrcUpdate2.Nr)));
        Assert.Equal(0, Offset<IoUringRsrcRegister>(nameof(IoUringRsrcRegister.Nr)));
        Assert.Equal(4, Offset<IoUringRsrcRegister>(nameof(IoUringRsrcRegister.Flags)));
        Assert.Equal(8, Offset<IoUringRsrcRegister>(nameof(IoUringRsrcRegister.Resv2)));
        Assert.Equal(16, Offset<IoUringRsrcRegister>(nameof(IoUringRsrcRegister.Data)));
        Assert.Equal(24, Offset<IoUringRsrcRegister>(nameof(IoUringRsrcRegister.Tags)));
        Assert.Equal(0, Offset<IoUringProbe>(nameof(IoUringProbe.LastOp)));
        Assert.Equal(1, Offset<IoUringProbe>(nameof(IoUringProbe.OpsLen)));
        Assert.Equal(2, Offset<IoUringProbe>(nameof(IoUringProbe.Resv)));
        Assert.Equal(4, Offset<IoUringProbe>(nameof(IoUringProbe.Resv2)));
        Assert.Equal(0, Offset<IoUringProbeOp>(nameof(IoUringProbeOp.Op)));
        Assert.Equal(1, Offset<IoUringProbeOp>(nameof(IoUringProbeOp.Resv)));
        Assert.Equal(2, Offset<IoUringProbeOp>(nameof(IoUringProbeOp.Flags)));
        Assert.Equal(4, Offset<IoUringProbeOp>(nameof(IoUringProbeOp.Resv2)));
        Assert.Equal(0, Offset<IoUringGeteventsArg>(nameof(IoUringGeteventsArg.SigMask)));
        Assert.Equal(8, Offset<IoUringGeteventsArg>(nameof(IoUringGeteventsArg.SigMaskSize)));
        Assert.Equal(12, Offset<IoUringGeteventsArg>(nameof(IoUringGeteventsArg.MinWaitUsec)));
        Assert.Equal(16, Offset<IoUringGeteventsArg>(nameof(IoUringGeteventsArg.Ts)));
        Assert.Equal(0, Offset<Iovec>(nameof(Iovec.Base)));
        Assert.Equal(8, Offset<Iovec>(nameof(Iovec.Length)));
    }

    [Fact]
    public void SyscallNumbersAndMmapOffsets()
    {
        Assert.Equal(425, IoUringConstants.SysIoUringSetup);
        Assert.Equal(426, IoUringConstants.SysIoUringEnter);
        Assert.Equal(427, IoUringConstants.SysIoUringRegister);
        Assert.Equal(0L, IoUringConstants.OffSqRing);
        Assert.Equal(0x8000000L, IoUringConstants.OffCqRing);
        Assert.Equal(0x10000000L, IoUringConstants.OffSqes);
        Assert.Equal(0x80000000L, IoUringConstants.OffPbufRing);
        Assert.Equal(16, IoUringConstants.OffPbufShift);
        Assert.Equal(0xf8000000L, IoUringConstants.OffMmapMask);
        Assert.Equal(16, IoUringConstants.CqeBufferShift);
    }

    [Fact]
    public void OpFlagValues()
    {
        Assert.Equal(1u, IoUringConstants.FsyncDataSync);
        Assert.Equal(1u, IoUringConstants.UringCmdFixed);
        Assert.Equal(0xFFFFFFFFu, IoUringConstants.FileIndexAlloc);
        Assert.Equal(-2, IoUringConstants.RegisterFilesSkip);
        Assert.Equal(1u, IoUringConstants.RsrcRegisterSparse);
        Assert.Equal((ushort)1, IoUringConstants.OpSupported);
        Assert.Equal(0UL, IoUringConstants.MsgData);
        Assert.Equal(1UL, IoUringConstants.MsgSendFd);
        Assert.Equal(1u, IoUringConstants.MsgRingCqeSkip);
        Assert.Equal(2u, IoUringConstants.MsgRingFlagsPass);
        Assert.Equal(1u, IoUringConstants.NopInjectResult);

        Assert.Equal(1u, (uint)IoUringAsyncCancelFlags.All);
        Assert.Equal(2u, (uint)IoUringAsyncCancelFlags.Fd);
        Assert.Equal(4u, (uint)IoUringAsyncCancelFlags.Any);
        Assert.Equal(8u, (uint)IoUringAsyncCancelFlags.FdFixed);
        Assert.Equal(16u, (uint)IoUringAsyncCancelFlags.UserData);
        Assert.Equal(32u, (uint)IoUringAsyncCancelFlags.Op);

        Assert.Equal(1u, (uint)IoUringPollFlags.AddMulti);
        Assert.Equal(2u, (uint)IoUringPollFlags.UpdateEvents);
        Assert.Equal(4u, (uint)IoUringPollFlags.UpdateUserData);
        Assert.Equal(8u, (uint)IoUringPollFlags.AddLevel);

        Assert.Equal(1u, (uint)IoUringTimeoutFlags.Abs);
        Assert.Equal(2u, (uint)IoUringTimeoutFlags.Update);
        Assert.Equal(4u, (uint)IoUringTimeoutFlags.BootTime);
        Assert.Equal(8u, (uint)IoUringTimeoutFlags.RealTime);
        Assert.Equal(16u, (uint)IoUringTimeoutFlags.LinkTimeoutUpdate);
        Assert.Equal(32u, (uint)IoUringTimeoutFlags.EtimeSuccess);
        Assert.Equal(64u, (uint)IoUringTimeoutFlags.Multishot);

        Assert.Equal(0x1u, (uint)PollEvents.In);
        Assert.Equal(0x2u, (uint)PollEvents.Pri);
        Assert.Equal(0x4u, (uint)PollEvents.Out);
        Assert.Equal(0x8u, (uint)PollEvents.Err);
        Assert.Equal(0x10u, (uint)PollEvents.Hup);
        Assert.Equal(0x20u, (uint)PollEvents.Nval);
        Assert.Equal(0x40u, (uint)PollEvents.RdNorm);
        Assert.Equal(0x80u, (uint)PollEvents.RdBand);
        Assert.Equal(0x100u, (uint)PollEvents.WrNorm);
        Assert.Equal(0x200u, (uint)PollEvents.WrBand);
        Assert.Equal(0x400u, (uint)PollEvents.Msg);
        Assert.Equal(0x2000u, (uint)PollEvents.RdHup);
    }

    [Fact]
    public void SetupFlagValues()
    {
        Assert.Equal(1u << 0, (uint)IoUringSetupFlags.IoPoll);
        Assert.Equal(1u << 1, (uint)IoUringSetupFlags.SqPoll);
        Assert.Equal(1u << 2, (uint)IoUringSetupFlags.SqAff);
        Assert.Equal(1u << 3, (uint)IoUringSetupFlags.CqSize);
        Assert.Equal(1u << 4, (uint)IoUringSetupFlags.Clamp);
        Assert.Equal(1u << 5, (uint)IoUringSetupFlags.AttachWq);
        Assert.Equal(1u << 6, (uint)IoUringSetupFlags.RDisabled);
        Assert.Equal(1u << 7, (uint)IoUringSetupFlags.SubmitAll);
        Assert.Equal(1u << 8, (uint)IoUringSetupFlags.CoopTaskRun);
        Assert.Equal(1u << 9, (uint)IoUringSetupFlags.TaskRunFlag);
        Assert.Equal(1u << 10, (uint)IoUringSetupFlags.Sqe128);
        Assert.Equal(1u << 11, (uint)IoUringSetupFlags.Cqe32);
        Assert.Equal(1u << 12, (uint)IoUringSetupFlags.SingleIssuer);
        Assert.Equal(1u << 13, (uint)IoUringSetupFlags.DeferTaskRun);
        Assert.Equal(1u << 14, (uint)IoUringSetupFlags.NoMmap);
        Assert.Equal(1u << 15, (uint)IoUringSetupFlags.RegisteredFdOnly);
        Assert.Equal(1u << 16, (uint)IoUringSetupFlags.NoSqArray);
        Assert.Equal(1u << 17, (uint)IoUringSetupFlags.HybridIoPoll);
        Assert.Equal(1u << 18, (uint)IoUringSetupFlags.CqeMixed);
        Assert.Equal(1u << 19, (uint)IoUringSetupFlags.SqeMixed);
        Assert.Equal(1u << 20, (uint)IoUringSetupFlags.SqRewind);
    }

    [Fact]
    public void FeatureFlagValues()
    {
        Assert.Equal(1u << 0, (uint)IoUringFeatures.SingleMmap);
        Assert.Equal(1u << 1, (uint)IoUringFeatures.NoDrop);
        Assert.Equal(1u << 2, (uint)IoUringFeatures.SubmitStable);
        Assert.Equal(1u << 3, (uint)IoUringFeatures.RwCurPos);
        Assert.Equal(1u << 4, (uint)IoUringFeatures.CurPersonality);
        Assert.Equal(1u << 5, (uint)IoUringFeatures.FastPoll);
        Assert.Equal(1u << 6, (uint)IoUringFeatures.Poll32Bits);
        Assert.Equal(1u << 7, (uint)IoUringFeatures.SqPollNonFixed);
        Assert.Equal(1u << 8, (uint)IoUringFeatures.ExtArg);
        Assert.Equal(1u << 9, (uint)IoUringFeatures.NativeWorkers);
        Assert.Equal(1u << 10, (uint)IoUringFeatures.RsrcTags);
        Assert.Equal(1u << 11, (uint)IoUringFeatures.CqeSkip);
        Assert.Equal(1u << 12, (uint)IoUringFeatures.LinkedFile);
        Assert.Equal(1u << 13, (uint)IoUringFeatures.RegRegRing);
        Assert.Equal(1u << 14, (uint)IoUringFeatures.RecvSendBundle);
        Assert.Equal(1u << 15, (uint)IoUringFeatures.MinTimeout);
        Assert.Equal(1u << 16, (uint)IoUringFeatures.RwAttr);
        Assert.Equal(1u << 17, (uint)IoUringFeatures.NoIoWait);
    }

    [Fact]
    public void EnterSqeCqeAndRingFlagValues()
    {
        Assert.Equal(1u << 0, (uint)IoUringEnterFlags.GetEvents);
        Assert.Equal(1u << 1, (uint)IoUringEnterFlags.SqWakeup);
        Assert.Equal(1u << 2, (uint)IoUringEnterFlags.SqWait);
        Assert.Equal(1u << 3, (uint)IoUringEnterFlags.ExtArg);
        Assert.Equal(1u << 4, (uint)IoUringEnterFlags.RegisteredRing);
        Assert.Equal(1u << 5, (uint)IoUringEnterFlags.AbsTimer);
        Assert.Equal(1u << 6, (uint)IoUringEnterFlags.ExtArgReg);
        Assert.Equal(1u << 7, (uint)IoUringEnterFlags.NoIoWait);

        Assert.Equal(1, (int)IoSqeFlags.FixedFile);
        Assert.Equal(2, (int)IoSqeFlags.IoDrain);
        Assert.Equal(4, (int)IoSqeFlags.IoLink);
        Assert.Equal(8, (int)IoSqeFlags.IoHardLink);
        Assert.Equal(16, (int)IoSqeFlags.Async);
        Assert.Equal(32, (int)IoSqeFlags.BufferSelect);
        Assert.Equal(64, (int)IoSqeFlags.CqeSkipSuccess);

        Assert.Equal(1u << 0, (uint)IoUringCqeFlags.Buffer);
        Assert.Equal(1u << 1, (uint)IoUringCqeFlags.More);
        Assert.Equal(1u << 2, (uint)IoUringCqeFlags.SockNonEmpty);
        Assert.Equal(1u << 3, (uint)IoUringCqeFlags.Notif);
        Assert.Equal(1u << 4, (uint)IoUringCqeFlags.BufMore);
        Assert.Equal(1u << 5, (uint)IoUringCqeFlags.Skip);
        Assert.Equal(1u << 15, (uint)IoUringCqeFlags.Cqe32);

        Assert.Equal(1u, (uint)IoUringSqRingFlags.NeedWakeup);
        Assert.Equal(2u, (uint)IoUringSqRingFlags.CqOverflow);
        Assert.Equal(4u, (uint)IoUringSqRingFlags.TaskRun);
        Assert.Equal(1u, (uint)IoUringCqRingFlags.EventFdDisabled);
    }

    [Theory]
    [InlineData(IoUringOp.Nop, 0)]
    [InlineData(IoUringOp.Readv, 1)]
    [InlineData(IoUringOp.Writev, 2)]
    [InlineData(IoUringOp.Fsync, 3)]
    [InlineData(IoUringOp.ReadFixed, 4)]
    [InlineData(IoUringOp.WriteFixed, 5)]
    [InlineData(IoUringOp.PollAdd, 6)]
    [InlineData(IoUringOp.PollRemove, 7)]
    [InlineData(IoUringOp.SyncFileRange, 8)]
    [InlineData(IoUringOp.SendMsg, 9)]
    [InlineData(IoUringOp.RecvMsg, 10)]
    [InlineData(IoUringOp.Timeout, 11)]
    [InlineData(IoUringOp.TimeoutRemove, 12)]
    [InlineData(IoUringOp.Accept, 13)]
    [InlineData(IoUringOp.AsyncCancel, 14)]
    [InlineData(IoUringOp.LinkTimeout, 15)]
    [InlineData(IoUringOp.Connect, 16)]
    [InlineData(IoUringOp.Fallocate, 17)]
    [InlineData(IoUringOp.OpenAt, 18)]
    [InlineData(IoUringOp.Close, 19)]
    [InlineData(IoUringOp.FilesUpdate, 20)]
    [InlineData(IoUringOp.Statx, 21)]
    [InlineData(IoUringOp.Read, 22)]
    [InlineData(IoUringOp.Write, 23)]
    [InlineData(IoUringOp.Fadvise, 24)]
    [InlineData(IoUringOp.Madvise, 25)]
    [InlineData(IoUringOp.Send, 26)]
    [InlineData(IoUringOp.Recv, 27)]
    [InlineData(IoUringOp.OpenAt2, 28)]
    [InlineData(IoUringOp.EpollCtl, 29)]
    [InlineData(IoUringOp.Splice, 30)]
    [InlineData(IoUringOp.ProvideBuffers, 31)]
    [InlineData(IoUringOp.RemoveBuffers, 32)]
    [InlineData(IoUringOp.Tee, 33)]
    [InlineData(IoUringOp.Shutdown, 34)]
    [InlineData(IoUringOp.RenameAt, 35)]
    [InlineData(IoUringOp.UnlinkAt, 36)]
    [InlineData(IoUringOp.MkdirAt, 37)]
    [InlineData(IoUringOp.SymlinkAt, 38)]
    [InlineData(IoUringOp.LinkAt, 39)]
    [InlineData(IoUringOp.MsgRing, 40)]
    [InlineData(IoUringOp.FSetXattr, 41)]
    [InlineData(IoUringOp.SetXattr, 42)]
    [InlineData(IoUringOp.FGetXattr, 43)]
    [InlineData(IoUringOp.GetXattr, 44)]
    [InlineData(IoUringOp.Socket, 45)]
    [InlineData(IoUringOp.UringCmd, 46)]
    [InlineData(IoUringOp.SendZc, 47)]
    [InlineData(IoUringOp.SendMsgZc, 48)]
    [InlineData(IoUringOp.ReadMultishot, 49)]
    [InlineData(IoUringOp.WaitId, 50)]
    [InlineData(IoUringOp.FutexWait, 51)]
    [InlineData(IoUringOp.FutexWake, 52)]
    [InlineData(IoUringOp.FutexWaitV, 53)]
    [InlineData(IoUringOp.FixedFdInstall, 54)]
    [InlineData(IoUringOp.Ftruncate, 55)]
    [InlineData(IoUringOp.Bind, 56)]
    [InlineData(IoUringOp.Listen, 57)]
    [InlineData(IoUringOp.RecvZc, 58)]
    [InlineData(IoUringOp.EpollWait, 59)]
    [InlineData(IoUringOp.ReadvFixed, 60)]
    [InlineData(IoUringOp.WritevFixed, 61)]
    [InlineData(IoUringOp.Pipe, 62)]
    [InlineData(IoUringOp.Nop128, 63)]
    [InlineData(IoUringOp.UringCmd128, 64)]
    public void OpcodeValues(IoUringOp op, int value) => Assert.Equal(value, (int)op);

    [Theory]
    [InlineData(IoUringRegisterOp.RegisterBuffers, 0u)]
    [InlineData(IoUringRegisterOp.UnregisterBuffers, 1u)]
    [InlineData(IoUringRegisterOp.RegisterFiles, 2u)]
    [InlineData(IoUringRegisterOp.UnregisterFiles, 3u)]
    [InlineData(IoUringRegisterOp.RegisterEventFd, 4u)]
    [InlineData(IoUringRegisterOp.UnregisterEventFd, 5u)]
    [InlineData(IoUringRegisterOp.RegisterFilesUpdate, 6u)]
    [InlineData(IoUringRegisterOp.RegisterEventFdAsync, 7u)]
    [InlineData(IoUringRegisterOp.RegisterProbe, 8u)]
    [InlineData(IoUringRegisterOp.RegisterPersonality, 9u)]
    [InlineData(IoUringRegisterOp.UnregisterPersonality, 10u)]
    [InlineData(IoUringRegisterOp.RegisterRestrictions, 11u)]
    [InlineData(IoUringRegisterOp.RegisterEnableRings, 12u)]
    [InlineData(IoUringRegisterOp.RegisterFiles2, 13u)]
    [InlineData(IoUringRegisterOp.RegisterFilesUpdate2, 14u)]
    [InlineData(IoUringRegisterOp.RegisterBuffers2, 15u)]
    [InlineData(IoUringRegisterOp.RegisterBuffersUpdate, 16u)]
    [InlineData(IoUringRegisterOp.RegisterIoWqAff, 17u)]
    [InlineData(IoUringRegisterOp.UnregisterIoWqAff, 18u)]
    [InlineData(IoUringRegisterOp.RegisterIoWqMaxWorkers, 19u)]
    [InlineData(IoUringRegisterOp.RegisterRingFds, 20u)]
    [InlineData(IoUringRegisterOp.UnregisterRingFds, 21u)]
    [InlineData(IoUringRegisterOp.RegisterPbufRing, 22u)]
    [InlineData(IoUringRegisterOp.UnregisterPbufRing, 23u)]
    [InlineData(IoUringRegisterOp.RegisterSyncCancel, 24u)]
    [InlineData(IoUringRegisterOp.RegisterFileAllocRange, 25u)]
    [InlineData(IoUringRegisterOp.RegisterPbufStatus, 26u)]
    [InlineData(IoUringRegisterOp.RegisterNapi, 27u)]
    [InlineData(IoUringRegisterOp.UnregisterNapi, 28u)]
    [InlineData(IoUringRegisterOp.RegisterClock, 29u)]
    [InlineData(IoUringRegisterOp.RegisterCloneBuffers, 30u)]
    [InlineData(IoUringRegisterOp.RegisterSendMsgRing, 31u)]
    [InlineData(IoUringRegisterOp.RegisterZcrxIfq, 32u)]
    [InlineData(IoUringRegisterOp.RegisterResizeRings, 33u)]
    [InlineData(IoUringRegisterOp.RegisterMemRegion, 34u)]
    [InlineData(IoUringRegisterOp.UseRegisteredRing, 0x80000000u)]
    public void RegisterOpcodeValues(IoUringRegisterOp op, uint value) => Assert.Equal(value, (uint)op);

    [Fact]
    public void LibcConstantValues()
    {
        Assert.Equal(1, Libc.PROT_READ);
        Assert.Equal(2, Libc.PROT_WRITE);
        Assert.Equal(1, Libc.MAP_SHARED);
        Assert.Equal(0x8000, Libc.MAP_POPULATE);
        Assert.Equal(0x80000, Libc.EFD_CLOEXEC);
        Assert.Equal(0x800, Libc.EFD_NONBLOCK);
        Assert.Equal(2, Libc.O_RDWR);
        Assert.Equal(0x40, Libc.O_CREAT);
        Assert.Equal(0x4000, Libc.O_DIRECT);
        Assert.Equal(0x80000, Libc.O_CLOEXEC);
        Assert.Equal(0x410000, Libc.O_TMPFILE);
    }
}
