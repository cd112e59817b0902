using System.Runtime.InteropServices;

namespace Fuselage.Interop.IoUring;

/// <summary><c>struct io_uring_rsrc_update</c> (16 bytes): IORING_REGISTER_FILES_UPDATE argument.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct IoUringRsrcUpdate
{
    public uint Offset;
    public uint Resv;
    /// <summary>Address of an <c>int[]</c> of fds (-1 empty, -2 skip).</summary>
    public ulong Data;
}

/// <summary><c>struct io_uring_rsrc_update2</c> (32 bytes): IORING_REGISTER_FILES_UPDATE2 / BUFFERS_UPDATE argument.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct IoUringRsrcUpdate2
{
    public uint Offset;
    public uint Resv;
    /// <summary>Address of the new entries: <c>int[]</c> of fds, or <c>iovec[]</c> of buffers.</summary>
    public ulong Data;
    public ulong Tags;
    public uint Nr;
    public uint Resv2;
}

/// <summary><c>struct io_uring_rsrc_register</c> (32 bytes): IORING_REGISTER_FILES2 / BUFFERS2 argument.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct IoUringRsrcRegister
{
    public uint Nr;
    public uint Flags;
    public ulong Resv2;
    public ulong Data;
    public ulong Tags;
}

/// <summary><c>struct io_uring_probe_op</c> (8 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct IoUringProbeOp
{
    public IoUringOp Op;
    public byte Resv;
    public ushort Flags;
    public uint Resv2;
}

/// <summary><c>struct io_uring_probe</c> (16-byte header, followed by <see cref="OpsLen"/> <see cref="IoUringProbeOp"/>s).</summary>
[StructLayout(LayoutKind.Sequential)]
public unsafe struct IoUringProbe
{
    public byte LastOp;
    public byte OpsLen;
    public ushort Resv;
    public fixed uint Resv2[3];
}

/// <summary><c>struct __kernel_timespec</c> (16 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct KernelTimespec
{
    public long Seconds;
    public long Nanoseconds;
}

/// <summary><c>struct io_uring_getevents_arg</c> (24 bytes), passed with <see cref="IoUringEnterFlags.ExtArg"/>.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct IoUringGeteventsArg
{
    public ulong SigMask;
    public uint SigMaskSize;
    public uint MinWaitUsec;
    /// <summary>Address of a <see cref="KernelTimespec"/>, or 0 for no timeout.</summary>
    public ulong Ts;
}
