namespace Fuselage.Interop.IoUring;

/// <summary>Scalar io_uring constants: syscall numbers, mmap offsets and per-opcode flag values.</summary>
public static class IoUringConstants
{
    // x86_64 (and the generic table used by arm64).
    public const int SysIoUringSetup = 425;
    public const int SysIoUringEnter = 426;
    public const int SysIoUringRegister = 427;

    /// <summary>mmap offsets selecting what a mapping of the ring fd returns.</summary>
    public const long OffSqRing = 0;
    public const long OffCqRing = 0x8000000;
    public const long OffSqes = 0x10000000;
    public const long OffPbufRing = 0x80000000;
    public const int OffPbufShift = 16;
    public const long OffMmapMask = 0xf8000000;

    public const int SqeSize = 64;
    public const int Sqe128Size = 128;
    public const int CqeSize = 16;
    public const int Cqe32Size = 32;

    /// <summary>Buffer id position in <see cref="IoUringCqe.Flags"/> with <see cref="IoUringCqeFlags.Buffer"/>.</summary>
    public const int CqeBufferShift = 16;

    /// <summary>IORING_FSYNC_DATASYNC (fsync_flags).</summary>
    public const uint FsyncDataSync = 1u << 0;

    /// <summary>IORING_URING_CMD_FIXED (uring_cmd_flags): use the registered buffer buf_index.</summary>
    public const uint UringCmdFixed = 1u << 0;

    /// <summary>IORING_FILE_INDEX_ALLOC: let the kernel pick a free fixed-file slot.</summary>
    public const uint FileIndexAlloc = ~0u;

    /// <summary>IORING_REGISTER_FILES_SKIP: leave this slot unchanged in a files update.</summary>
    public const int RegisterFilesSkip = -2;

    /// <summary>IORING_RSRC_REGISTER_SPARSE (io_uring_rsrc_register.flags).</summary>
    public const uint RsrcRegisterSparse = 1u << 0;

    /// <summary>IO_URING_OP_SUPPORTED (io_uring_probe_op.flags).</summary>
    public const ushort OpSupported = 1;

    /// <summary>IORING_MSG_DATA / IORING_MSG_SEND_FD: addr of <see cref="IoUringOp.MsgRing"/>.</summary>
    public const ulong MsgData = 0;
    public const ulong MsgSendFd = 1;

    /// <summary>IORING_MSG_RING_CQE_SKIP / IORING_MSG_RING_FLAGS_PASS (msg_ring_flags).</summary>
    public const uint MsgRingCqeSkip = 1u << 0;
    public const uint MsgRingFlagsPass = 1u << 1;

    /// <summary>IORING_NOP_INJECT_RESULT (nop_flags): the NOP completes with sqe.len as res.</summary>
    public const uint NopInjectResult = 1u << 0;
}
