namespace Fuselage.Interop.IoUring;

/// <summary><c>IORING_SETUP_*</c>: io_uring_params.flags.</summary>
[Flags]
public enum IoUringSetupFlags : uint
{
    None = 0,
    IoPoll = 1u << 0,
    SqPoll = 1u << 1,
    SqAff = 1u << 2,
    CqSize = 1u << 3,
    Clamp = 1u << 4,
    AttachWq = 1u << 5,
    RDisabled = 1u << 6,
    SubmitAll = 1u << 7,
    CoopTaskRun = 1u << 8,
    TaskRunFlag = 1u << 9,
    Sqe128 = 1u << 10,
    Cqe32 = 1u << 11,
    SingleIssuer = 1u << 12,
    DeferTaskRun = 1u << 13,
    NoMmap = 1u << 14,
    RegisteredFdOnly = 1u << 15,
    NoSqArray = 1u << 16,
    HybridIoPoll = 1u << 17,
    CqeMixed = 1u << 18,
    /// <summary>Refused (EINVAL) by Linux 6.18.</summary>
    SqeMixed = 1u << 19,
    /// <summary>Refused (EINVAL) by Linux 6.18.</summary>
    SqRewind = 1u << 20,
}

/// <summary><c>IORING_FEAT_*</c>: io_uring_params.features, written by the kernel.</summary>
[Flags]
public enum IoUringFeatures : uint
{
    None = 0,
    SingleMmap = 1u << 0,
    NoDrop = 1u << 1,
    SubmitStable = 1u << 2,
    RwCurPos = 1u << 3,
    CurPersonality = 1u << 4,
    FastPoll = 1u << 5,
    Poll32Bits = 1u << 6,
    SqPollNonFixed = 1u << 7,
    ExtArg = 1u << 8,
    NativeWorkers = 1u << 9,
    RsrcTags = 1u << 10,
    CqeSkip = 1u << 11,
    LinkedFile = 1u << 12,
    RegRegRing = 1u << 13,
    RecvSendBundle = 1u << 14,
    MinTimeout = 1u << 15,
    RwAttr = 1u << 16,
    NoIoWait = 1u << 17,
}

/// <summary><c>IORING_ENTER_*</c>: io_uring_enter flags.</summary>
[Flags]
public enum IoUringEnterFlags : uint
{
    None = 0,
    GetEvents = 1u << 0,
    SqWakeup = 1u << 1,
    SqWait = 1u << 2,
    ExtArg = 1u << 3,
    RegisteredRing = 1u << 4,
    AbsTimer = 1u << 5,
    ExtArgReg = 1u << 6,
    NoIoWait = 1u << 7,
}

/// <summary><c>IOSQE_*</c>: io_uring_sqe.flags.</summary>
[Flags]
public enum IoSqeFlags : byte
{
    None = 0,
    FixedFile = 1 << 0,
    IoDrain = 1 << 1,
    IoLink = 1 << 2,
    IoHardLink = 1 << 3,
    Async = 1 << 4,
    BufferSelect = 1 << 5,
    CqeSkipSuccess = 1 << 6,
}

/// <summary><c>IORING_CQE_F_*</c>: io_uring_cqe.flags.</summary>
[Flags]
public enum IoUringCqeFlags : uint
{
    None = 0,
    Buffer = 1u << 0,
    More = 1u << 1,
    SockNonEmpty = 1u << 2,
    Notif = 1u << 3,
    BufMore = 1u << 4,
    Skip = 1u << 5,
    /// <summary>A 32-byte CQE on a <see cref="IoUringSetupFlags.CqeMixed"/> ring.</summary>
    Cqe32 = 1u << 15,
}

/// <summary><c>IORING_SQ_*</c>: the kernel-written SQ ring flags word.</summary>
[Flags]
public enum IoUringSqRingFlags : uint
{
    None = 0,
    NeedWakeup = 1u << 0,
    CqOverflow = 1u << 1,
    TaskRun = 1u << 2,
}

/// <summary><c>IORING_CQ_*</c>: the application-writable CQ ring flags word.</summary>
[Flags]
public enum IoUringCqRingFlags : uint
{
    None = 0,
    EventFdDisabled = 1u << 0,
}

/// <summary><c>IORING_ASYNC_CANCEL_*</c>: cancel_flags of <see cref="IoUringOp.AsyncCancel"/>.</summary>
[Flags]
public enum IoUringAsyncCancelFlags : uint
{
    None = 0,
    All = 1u << 0,
    Fd = 1u << 1,
    Any = 1u << 2,
    FdFixed = 1u << 3,
    UserData = 1u << 4,
    Op = 1u << 5,
}

/// <summary><c>IORING_POLL_*</c>: the len field of <see cref="IoUringOp.PollAdd"/> / <see cref="IoUringOp.PollRemove"/>.</summary>
[Flags]
public enum IoUringPollFlags : uint
{
    None = 0,
    AddMulti = 1u << 0,
    UpdateEvents = 1u << 1,
    UpdateUserData = 1u << 2,
    AddLevel = 1u << 3,
}

/// <summary><c>IORING_TIMEOUT_*</c>: timeout_flags.</summary>
[Flags]
public enum IoUringTimeoutFlags : uint
{
    None = 0,
    Abs = 1u << 0,
    Update = 1u << 1,
    BootTime = 1u << 2,
    RealTime = 1u << 3,
    LinkTimeoutUpdate = 1u << 4,
    EtimeSuccess = 1u << 5,
    Multishot = 1u << 6,
}

/// <summary>Event bits of poll(2), used in poll32_events.</summary>
[Flags]
public enum PollEvents : uint
{
    None = 0,
    In = 0x001,
    Pri = 0x002,
    Out = 0x004,
    Err = 0x008,
    Hup = 0x010,
    Nval = 0x020,
    RdNorm = 0x040,
    RdBand = 0x080,
    WrNorm = 0x100,
    WrBand = 0x200,
    Msg = 0x400,
    RdHup = 0x2000,
}
