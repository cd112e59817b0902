using System.Runtime.InteropServices;

namespace Fuselage.Interop.Fuse;

// FUSE-over-io_uring transport structs (fuse_kernel.h 7.42+, as in Linux 6.18).

/// <summary>Sizes and counts of the FUSE-over-io_uring transport.</summary>
public static class FuseUring
{
    /// <summary>FUSE_URING_IN_OUT_HEADER_SZ: room for fuse_in_header / fuse_out_header in <see cref="FuseUringReqHeader.InOut"/>.</summary>
    public const int InOutHeaderSize = 128;

    /// <summary>FUSE_URING_OP_IN_OUT_SZ: room for the op's fixed argument in <see cref="FuseUringReqHeader.OpIn"/>.</summary>
    public const int OpInOutSize = 128;

    /// <summary>FUSE_URING_IOV_SEGS: a REGISTER command passes exactly two iovecs (header, payload).</summary>
    public const int IovSegments = 2;

    /// <summary>Where <see cref="FuseUringCmdReq"/> sits inside a 128-byte SQE (the command area).</summary>
    public const int CmdReqSqeOffset = 48;
}

/// <summary>enum fuse_uring_cmd: the SQE cmd_op of an IORING_OP_URING_CMD on /dev/fuse.</summary>
public enum FuseUringCommand : uint
{
    Invalid = 0,
    /// <summary>FUSE_IO_URING_CMD_REGISTER: hand an entry (two buffers) to a queue.</summary>
    Register = 1,
    /// <summary>FUSE_IO_URING_CMD_COMMIT_AND_FETCH: reply to the entry's request and re-arm it.</summary>
    CommitAndFetch = 2,
}

/// <summary>fuse_uring_ent_in_out (32 bytes): at offset 256 of <see cref="FuseUringReqHeader"/>.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct FuseUringEntInOut
{
    public ulong Flags;
    /// <summary>Kernel to server; pass it back in <see cref="FuseUringCmdReq.CommitId"/>.</summary>
    public ulong CommitId;
    /// <summary>Bytes in the payload buffer (both directions).</summary>
    public uint PayloadSz;
    public uint Padding;
    public ulong Reserved;
}

/// <summary>fuse_uring_req_header (288 bytes): the header buffer (iov[0]) of a ring entry.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct FuseUringReqHeader
{
    /// <summary><see cref="FuseInHeader"/> (kernel to server) or <see cref="FuseOutHeader"/> (server to kernel) at +0.</summary>
    public ByteArray128 InOut;
    /// <summary>The request's fixed argument, if any.</summary>
    public ByteArray128 OpIn;
    public FuseUringEntInOut RingEntInOut;
}

/// <summary>fuse_uring_cmd_req (24 bytes): the SQE128 command area (SQE offset 48).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct FuseUringCmdReq
{
    /// <summary>Unused on 6.18; write 0.</summary>
    public ulong Flags;
    /// <summary>COMMIT_AND_FETCH: <see cref="FuseUringEntInOut.CommitId"/> received; REGISTER: 0.</summary>
    public ulong CommitId;
    /// <summary>Queue index (= CPU number).</summary>
    public ushort Qid;
    public ByteArray6 Padding;
}
