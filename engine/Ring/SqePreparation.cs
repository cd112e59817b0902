using Fuselage.Interop.IoUring;

namespace Fuselage.Ring;

/// <summary>
/// Fill a zeroed SQE from <see cref="Ring.GetSqe"/> for one operation. Each returns the same SQE so flags can be
/// chained: <c>ring.GetSqe().PrepareWrite(...).WithFlags(IoSqeFlags.IoLink)</c>. Every address passed must stay
/// valid and unmoved until the operation's CQE is reaped.
/// </summary>
public static class SqePreparation
{
    public static ref IoUringSqe PrepareNop(this ref IoUringSqe sqe, ulong userData)
    {
        sqe.Opcode = IoUringOp.Nop;
        sqe.UserData = userData;
        return ref sqe;
    }

    /// <summary>The common shape of read/write-like operations: fd, address, length, offset.</summary>
    public static ref IoUringSqe PrepareReadWrite(this ref IoUringSqe sqe, IoUringOp op, int fd, nint address, uint length, ulong offset, ulong userData)
    {
        sqe.Opcode = op;
        sqe.Fd = fd;
        sqe.Addr = (ulong)address;
        sqe.Len = length;
        sqe.Off = offset;
        sqe.UserData = userData;
        return ref sqe;
    }

    /// <summary>READ into <paramref name="buffer"/>; <paramref name="offset"/> <see cref="Ring.CurrentPosition"/> uses and advances the file position.</summary>
    public static ref IoUringSqe PrepareRead(this ref IoUringSqe sqe, int fd, nint buffer, uint length, ulong offset, ulong userData) =>
        ref sqe.PrepareReadWrite(IoUringOp.Read, fd, buffer, length, offset, userData);

    public static ref IoUringSqe PrepareWrite(this ref IoUringSqe sqe, int fd, nint buffer, uint length, ulong offset, ulong userData) =>
        ref sqe.PrepareReadWrite(IoUringOp.Write, fd, buffer, length, offset, userData);

    /// <summary>READV over <paramref name="iovecCount"/> <see cref="Fuselage.Interop.Iovec"/>s at <paramref name="iovecs"/>.</summary>
    public static ref IoUringSqe PrepareReadv(this ref IoUringSqe sqe, int fd, nint iovecs, uint iovecCount, ulong offset, ulong userData) =>
        ref sqe.PrepareReadWrite(IoUringOp.Readv, fd, iovecs, iovecCount, offset, userData);

    public static ref IoUringSqe PrepareWritev(this ref IoUringSqe sqe, int fd, nint iovecs, uint iovecCount, ulong offset, ulong userData) =>
        ref sqe.PrepareReadWrite(IoUringOp.Writev, fd, iovecs, iovecCount, offset, userData);

    /// <summary>READ_FIXED: <paramref name="buffer"/> must lie inside registered buffer <paramref name="bufferIndex"/>.</summary>
    public static ref IoUringSqe PrepareReadFixed(this ref IoUringSqe sqe, int fd, nint buffer, uint length, ulong offset, ushort bufferIndex, ulong userData)
    {
        sqe.PrepareReadWrite(IoUringOp.ReadFixed, fd, buffer, length, offset, userData);
        sqe.BufIndex = bufferIndex;
        return ref sqe;
    }

    public static ref IoUringSqe PrepareWriteFixed(this ref IoUringSqe sqe, int fd, nint buffer, uint length, ulong offset, ushort bufferIndex, ulong userData)
    {
        sqe.PrepareReadWrite(IoUringOp.WriteFixed, fd, buffer, length, offset, userData);
        sqe.BufIndex = bufferIndex;
        return ref sqe;
    }

    /// <summary>FSYNC of the whole file; <paramref name="fsyncFlags"/> may be <see cref="IoUringConstants.FsyncDataSync"/>.</summary>
    public static ref IoUringSqe PrepareFsync(this ref IoUringSqe sqe, int fd, uint fsyncFlags, ulong userData)
    {
        sqe.Opcode = IoUringOp.Fsync;
        sqe.Fd = fd;
        sqe.FsyncFlags = fsyncFlags;
        sqe.UserData = userData;
        return ref sqe;
    }

    /// <summary>POLL_ADD: completes with the ready events (one-shot, or repeatedly with CQE_F_MORE when multishot).</summary>
    public static ref IoUringSqe PreparePollAdd(this ref IoUringSqe sqe, int fd, PollEvents events, ulong userData, bool multishot = false)
    {
        sqe.Opcode = IoUringOp.PollAdd;
        sqe.Fd = fd;
        sqe.Poll32Events = (uint)events;
        sqe.Len = multishot ? (uint)IoUringPollFlags.AddMulti : 0;
        sqe.UserData = userData;
        return ref sqe;
    }

    /// <summary>POLL_REMOVE of the poll submitted with <paramref name="targetUserData"/>.</summary>
    public static ref IoUringSqe PreparePollRemove(this ref IoUringSqe sqe, ulong targetUserData, ulong userData)
    {
        sqe.Opcode = IoUringOp.PollRemove;
        sqe.Fd = -1;
        sqe.Addr = targetUserData;
        sqe.UserData = userData;
        return ref sqe;
    }

    /// <summary>
    /// ASYNC_CANCEL of the operation submitted with <paramref name="targetUserData"/> (add <see cref="IoUringAsyncCancelFlags.All"/>
    /// for every match). The cancelled operation still posts its CQE (usually -ECANCELED); this one posts 0, -ENOENT or -EALREADY.
    /// </summary>
    public static ref IoUringSqe PrepareCancel(this ref IoUringSqe sqe, ulong targetUserData, ulong userData, IoUringAsyncCancelFlags flags = IoUringAsyncCancelFlags.None)
    {
        sqe.Opcode = IoUringOp.AsyncCancel;
        sqe.Fd = -1;
        sqe.Addr = targetUserData;
        sqe.CancelFlags = (uint)flags;
        sqe.UserData = userData;
        return ref sqe;
    }

    /// <summary>ASYNC_CANCEL of everything in flight (ANY | ALL); res is the number cancelled or -ENOENT.</summary>
    public static ref IoUringSqe PrepareCancelAll(this ref IoUringSqe sqe, ulong userData) =>
        ref sqe.PrepareCancel(0, userData, IoUringAsyncCancelFlags.Any | IoUringAsyncCancelFlags.All);

    /// <summary>ASYNC_CANCEL of every operation on <paramref name="fd"/> (FD | ALL).</summary>
    public static ref IoUringSqe PrepareCancelFd(this ref IoUringSqe sqe, int fd, ulong userData)
    {
        sqe.PrepareCancel(0, userData, IoUringAsyncCancelFlags.Fd | IoUringAsyncCancelFlags.All);
        sqe.Fd = fd;
        return ref sqe;
    }

    /// <summary>MSG_RING: posts a CQE with <paramref name="result"/> and <paramref name="targetUserData"/> on the ring <paramref name="targetRingFd"/>.</summary>
    public static ref IoUringSqe PrepareMsgRing(this ref IoUringSqe sqe, int targetRingFd, uint result, ulong targetUserData, ulong userData)
    {
        sqe.Opcode = IoUringOp.MsgRing;
        sqe.Fd = targetRingFd;
        sqe.Addr = IoUringConstants.MsgData;
        sqe.Len = result;
        sqe.Off = targetUserData;
        sqe.UserData = userData;
        return ref sqe;
    }

    /// <summary>URING_CMD (SQE128 ring): <paramref name="commandOp"/> goes to cmd_op; fill <see cref="IoUringSqe128.Cmd"/> afterwards.</summary>
    public static ref IoUringSqe128 PrepareUringCmd(this ref IoUringSqe128 sqe, int fd, uint commandOp, ulong userData, uint uringCmdFlags = 0)
    {
        sqe.Sqe.Opcode = IoUringOp.UringCmd;
        sqe.Sqe.Fd = fd;
        sqe.Sqe.CmdOp = commandOp;
        sqe.Sqe.UringCmdFlags = uringCmdFlags;
        sqe.Sqe.UserData = userData;
        return ref sqe;
    }

    /// <summary>ORs IOSQE_* flags in (IO_LINK, FIXED_FILE, CQE_SKIP_SUCCESS...).</summary>
    public static ref IoUringSqe WithFlags(this ref IoUringSqe sqe, IoSqeFlags flags)
    {
        sqe.Flags |= flags;
        return ref sqe;
    }

    public static ref IoUringSqe WithUserData(this ref IoUringSqe sqe, ulong userData)
    {
        sqe.UserData = userData;
        return ref sqe;
    }

    public static ref IoUringSqe128 WithFlags(this ref IoUringSqe128 sqe, IoSqeFlags flags)
    {
        sqe.Sqe.Flags |= flags;
        return ref sqe;
    }
}
