using System.Diagnostics.CodeAnalysis;
using System.Runtime.InteropServices;

namespace Fuselage.Interop.IoUring;

/// <summary>
/// <c>struct io_uring_sqe</c> (64 bytes). C unions are overlapping fields at the same offset.
/// With <see cref="IoUringSetupFlags.Sqe128"/> every slot is 128 bytes: see <see cref="IoUringSqe128"/>.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 64)]
public struct IoUringSqe
{
    [FieldOffset(0)] public IoUringOp Opcode;
    [FieldOffset(1)] public IoSqeFlags Flags;
    [FieldOffset(2)] public ushort IoPrio;
    /// <summary>File descriptor, or registered-file index with <see cref="IoSqeFlags.FixedFile"/>.</summary>
    [FieldOffset(4)] public int Fd;

    // union { off; addr2; { cmd_op; __pad1 } }
    [FieldOffset(8)] public ulong Off;
    [FieldOffset(8)] public ulong Addr2;
    [FieldOffset(8)] public uint CmdOp;
    [FieldOffset(12)] public uint Pad1;

    // union { addr; splice_off_in; { level; optname } }
    [FieldOffset(16)] public ulong Addr;
    [FieldOffset(16)] public ulong SpliceOffIn;
    [FieldOffset(16)] public uint Level;
    [FieldOffset(20)] public uint OptName;

    [FieldOffset(24)] public uint Len;

    // The per-opcode flags union.
    [FieldOffset(28)] public uint RwFlags;
    [FieldOffset(28)] public uint FsyncFlags;
    [FieldOffset(28)] public ushort PollEvents;
    [FieldOffset(28)] public uint Poll32Events;
    [FieldOffset(28)] public uint SyncRangeFlags;
    [FieldOffset(28)] public uint MsgFlags;
    [FieldOffset(28)] public uint TimeoutFlags;
    [FieldOffset(28)] public uint AcceptFlags;
    [FieldOffset(28)] public uint CancelFlags;
    [FieldOffset(28)] public uint OpenFlags;
    [FieldOffset(28)] public uint StatxFlags;
    [FieldOffset(28)] public uint FadviseAdvice;
    [FieldOffset(28)] public uint SpliceFlags;
    [FieldOffset(28)] public uint RenameFlags;
    [FieldOffset(28)] public uint UnlinkFlags;
    [FieldOffset(28)] public uint HardlinkFlags;
    [FieldOffset(28)] public uint XattrFlags;
    [FieldOffset(28)] public uint MsgRingFlags;
    [FieldOffset(28)] public uint UringCmdFlags;
    [FieldOffset(28)] public uint WaitidFlags;
    [FieldOffset(28)] public uint FutexFlags;
    [FieldOffset(28)] public uint InstallFdFlags;
    [FieldOffset(28)] public uint NopFlags;
    [FieldOffset(28)] public uint PipeFlags;

    /// <summary>Opaque value returned unchanged in the CQE.</summary>
    [FieldOffset(32)] public ulong UserData;

    // Packed union { buf_index; buf_group }.
    [FieldOffset(40)] public ushort BufIndex;
    [FieldOffset(40)] public ushort BufGroup;
    [FieldOffset(42)] public ushort Personality;

    // union { splice_fd_in; file_index; zcrx_ifq_idx; optlen; { addr_len; __pad3 } }
    [FieldOffset(44)] public int SpliceFdIn;
    [FieldOffset(44)] public uint FileIndex;
    [FieldOffset(44)] public uint OptLen;
    [FieldOffset(44)] public ushort AddrLen;
    [FieldOffset(46)] public ushort Pad3;

    // union { { addr3; __pad2[1] }; { attr_ptr; attr_type_mask }; optval; cmd[0] }
    [FieldOffset(48)] public ulong Addr3;
    [FieldOffset(48)] public ulong AttrPtr;
    [FieldOffset(48)] public ulong OptVal;
    [FieldOffset(56)] public ulong Pad2;
    [FieldOffset(56)] public ulong AttrTypeMask;
}

/// <summary>
/// A 128-byte SQE slot (rings set up with <see cref="IoUringSetupFlags.Sqe128"/>): the ordinary SQE
/// whose <c>cmd</c> area runs from byte 48 to 127 (80 bytes), used by <see cref="IoUringOp.UringCmd"/>.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 128)]
public unsafe struct IoUringSqe128
{
    public const int CommandOffset = 48;
    public const int CommandSize = 80;

    [FieldOffset(0)] public IoUringSqe Sqe;
    [FieldOffset(CommandOffset)] public fixed byte Command[CommandSize];

    /// <summary>The 80-byte command area (overlaps addr3/pad2 of <see cref="Sqe"/>).</summary>
    [UnscopedRef]
    public Span<byte> Cmd => MemoryMarshal.CreateSpan(ref Command[0], CommandSize);
}
