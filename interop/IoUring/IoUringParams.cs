using System.Runtime.InteropServices;

namespace Fuselage.Interop.IoUring;

/// <summary><c>struct io_sqring_offsets</c> (40 bytes): byte offsets of the SQ ring words inside the ring mapping.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct IoSqringOffsets
{
    public uint Head;
    public uint Tail;
    public uint RingMask;
    public uint RingEntries;
    public uint Flags;
    public uint Dropped;
    /// <summary>Offset of the SQ index array; 0 (meaningless) with <see cref="IoUringSetupFlags.NoSqArray"/>.</summary>
    public uint Array;
    public uint Resv1;
    /// <summary>Only with <see cref="IoUringSetupFlags.NoMmap"/>.</summary>
    public ulong UserAddr;
}

/// <summary><c>struct io_cqring_offsets</c> (40 bytes): byte offsets of the CQ ring words inside the ring mapping.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct IoCqringOffsets
{
    public uint Head;
    public uint Tail;
    public uint RingMask;
    public uint RingEntries;
    public uint Overflow;
    public uint Cqes;
    public uint Flags;
    public uint Resv1;
    public ulong UserAddr;
}

/// <summary><c>struct io_uring_params</c> (120 bytes), in/out argument of io_uring_setup.</summary>
[StructLayout(LayoutKind.Sequential)]
public unsafe struct IoUringParams
{
    public uint SqEntries;
    /// <summary>Input with <see cref="IoUringSetupFlags.CqSize"/>; output always.</summary>
    public uint CqEntries;
    public IoUringSetupFlags Flags;
    public uint SqThreadCpu;
    public uint SqThreadIdle;
    public IoUringFeatures Features;
    public uint WqFd;
    public fixed uint Resv[3];
    public IoSqringOffsets SqOff;
    public IoCqringOffsets CqOff;
}
