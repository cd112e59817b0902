namespace Fuselage.Interop.Fuse;

/// <summary>INIT capability bits as one 64-bit value: bits 0..31 travel in fuse_init_in/out.flags,
/// bits 32..63 in flags2 (value &gt;&gt; 32). Any bit &gt;= 32 requires <see cref="InitExt"/> in the reply (fuse_kernel.h 7.45).
/// The experimental iomap bit (43) is <c>Fuselage.Interop.Iomap.IomapProtocol.InitFlag</c>, kept out of this enum on purpose.</summary>
[Flags]
public enum FuseInitFlags : ulong
{
    None = 0,
    AsyncRead = 1UL << 0,
    PosixLocks = 1UL << 1,
    /// <summary>Unused.</summary>
    FileOps = 1UL << 2,
    AtomicOTrunc = 1UL << 3,
    ExportSupport = 1UL << 4,
    /// <summary>Legacy; superseded by max_write.</summary>
    BigWrites = 1UL << 5,
    DontMask = 1UL << 6,
    SpliceWrite = 1UL << 7,
    SpliceMove = 1UL << 8,
    SpliceRead = 1UL << 9,
    FlockLocks = 1UL << 10,
    HasIoctlDir = 1UL << 11,
    AutoInvalData = 1UL << 12,
    DoReaddirplus = 1UL << 13,
    ReaddirplusAuto = 1UL << 14,
    AsyncDio = 1UL << 15,
    WritebackCache = 1UL << 16,
    NoOpenSupport = 1UL << 17,
    ParallelDirops = 1UL << 18,
    HandleKillpriv = 1UL << 19,
    PosixAcl = 1UL << 20,
    AbortError = 1UL << 21,
    /// <summary>fuse_init_out.max_pages is valid.</summary>
    MaxPages = 1UL << 22,
    CacheSymlinks = 1UL << 23,
    NoOpendirSupport = 1UL << 24,
    ExplicitInvalData = 1UL << 25,
    /// <summary>fuse_init_out.map_alignment is valid (DAX).</summary>
    MapAlignment = 1UL << 26,
    Submounts = 1UL << 27,
    HandleKillprivV2 = 1UL << 28,
    /// <summary>SETXATTR carries the 16-byte <see cref="FuseSetxattrIn"/>.</summary>
    SetxattrExt = 1UL << 29,
    /// <summary>flags2 is valid; set it whenever any bit &gt;= 32 is used.</summary>
    InitExt = 1UL << 30,
    InitReserved = 1UL << 31,
    // flags2 (bit - 32 in the flags2 word)
    SecurityCtx = 1UL << 32,
    HasInodeDax = 1UL << 33,
    CreateSuppGroup = 1UL << 34,
    HasExpireOnly = 1UL << 35,
    /// <summary>Old alias FUSE_DIRECT_IO_RELAX.</summary>
    DirectIoAllowMmap = 1UL << 36,
    Passthrough = 1UL << 37,
    NoExportSupport = 1UL << 38,
    HasResend = 1UL << 39,
    AllowIdmap = 1UL << 40,
    /// <summary>7.42: FUSE-over-io_uring transport (offered only with fuse.enable_uring=Y).</summary>
    OverIoUring = 1UL << 41,
    /// <summary>7.43: fuse_init_out.request_timeout is valid.</summary>
    RequestTimeout = 1UL << 42,
}

/// <summary><see cref="FuseSetattrIn.Valid"/>: which fields of SETATTR are set (FATTR_*).</summary>
[Flags]
public enum FuseSetattrValid : uint
{
    None = 0,
    Mode = 1u << 0,
    Uid = 1u << 1,
    Gid = 1u << 2,
    Size = 1u << 3,
    Atime = 1u << 4,
    Mtime = 1u << 5,
    /// <summary>Fh is valid.</summary>
    Fh = 1u << 6,
    AtimeNow = 1u << 7,
    MtimeNow = 1u << 8,
    /// <summary>LockOwner is valid.</summary>
    LockOwner = 1u << 9,
    Ctime = 1u << 10,
    /// <summary>Needs <see cref="FuseInitFlags.HandleKillprivV2"/>.</summary>
    KillSuidgid = 1u << 11,
}

/// <summary><see cref="FuseOpenOut.OpenFlags"/>: how the kernel should treat the opened file (FOPEN_*).</summary>
[Flags]
public enum FuseOpenReplyFlags : uint
{
    None = 0,
    DirectIo = 1u << 0,
    KeepCache = 1u << 1,
    NonSeekable = 1u << 2,
    CacheDir = 1u << 3,
    Stream = 1u << 4,
    NoFlush = 1u << 5,
    ParallelDirectWrites = 1u << 6,
    /// <summary>Use <see cref="FuseOpenOut.BackingId"/> (needs <see cref="FuseInitFlags.Passthrough"/>).</summary>
    Passthrough = 1u << 7,
}

/// <summary><see cref="FuseOpenIn.OpenFlags"/> and <see cref="FuseCreateIn.OpenFlags"/> (FUSE_OPEN_*).</summary>
[Flags]
public enum FuseOpenRequestFlags : uint
{
    None = 0,
    /// <summary>FUSE_OPEN_KILL_SUIDGID: O_TRUNC by a non-owner; clear suid/sgid.</summary>
    KillSuidgid = 1u << 0,
}

/// <summary><see cref="FuseAttr.Flags"/> (FUSE_ATTR_*). The iomap per-inode bits are in <c>Fuselage.Interop.Iomap.FuseIomapAttrFlags</c>.</summary>
[Flags]
public enum FuseAttrFlags : uint
{
    None = 0,
    Submount = 1u << 0,
    Dax = 1u << 1,
}

/// <summary><see cref="FuseReleaseIn.ReleaseFlags"/> (FUSE_RELEASE_*).</summary>
[Flags]
public enum FuseReleaseFlags : uint
{
    None = 0,
    Flush = 1u << 0,
    FlockUnlock = 1u << 1,
}

/// <summary><see cref="FuseGetattrIn.GetattrFlags"/> and <see cref="FuseStatxIn.GetattrFlags"/> (FUSE_GETATTR_*).</summary>
[Flags]
public enum FuseGetattrFlags : uint
{
    None = 0,
    /// <summary>FUSE_GETATTR_FH: Fh is valid.</summary>
    Fh = 1u << 0,
}

/// <summary><see cref="FuseLkIn.LkFlags"/> (FUSE_LK_*).</summary>
[Flags]
public enum FuseLockFlags : uint
{
    None = 0,
    /// <summary>FUSE_LK_FLOCK: a BSD flock(), not a POSIX lock.</summary>
    Flock = 1u << 0,
}

/// <summary><see cref="FuseFileLock.Type"/>: F_RDLCK/F_WRLCK/F_UNLCK as on Linux x86_64/arm64.</summary>
public enum FuseLockType : uint
{
    ReadLock = 0,
    WriteLock = 1,
    Unlock = 2,
}

/// <summary><see cref="FuseWriteIn.WriteFlags"/> (FUSE_WRITE_*).</summary>
[Flags]
public enum FuseWriteFlags : uint
{
    None = 0,
    /// <summary>Delayed write from the page cache; fh is guessed.</summary>
    Cache = 1u << 0,
    /// <summary>LockOwner is valid.</summary>
    LockOwner = 1u << 1,
    /// <summary>Clear suid/sgid (old name FUSE_WRITE_KILL_PRIV).</summary>
    KillSuidgid = 1u << 2,
}

/// <summary><see cref="FuseReadIn.ReadFlags"/> (FUSE_READ_*).</summary>
[Flags]
public enum FuseReadFlags : uint
{
    None = 0,
    /// <summary>LockOwner is valid.</summary>
    LockOwner = 1u << 1,
}

/// <summary><see cref="FuseIoctlIn.Flags"/> / <see cref="FuseIoctlOut.Flags"/> (FUSE_IOCTL_*).</summary>
[Flags]
public enum FuseIoctlFlags : uint
{
    None = 0,
    /// <summary>32-bit compat ioctl on a 64-bit machine.</summary>
    Compat = 1u << 0,
    /// <summary>Not restricted to well-formed ioctls; retry allowed.</summary>
    Unrestricted = 1u << 1,
    /// <summary>Reply: retry with the returned iovecs.</summary>
    Retry = 1u << 2,
    /// <summary>FUSE_IOCTL_32BIT: the caller is a 32-bit process.</summary>
    Is32Bit = 1u << 3,
    /// <summary>Ioctl on a directory.</summary>
    Dir = 1u << 4,
    /// <summary>x32 compat ioctl on a 64-bit machine.</summary>
    CompatX32 = 1u << 5,
}

/// <summary><see cref="FuseFsyncIn.FsyncFlags"/> (FUSE_FSYNC_*).</summary>
[Flags]
public enum FuseFsyncFlags : uint
{
    None = 0,
    /// <summary>FUSE_FSYNC_FDATASYNC: sync data only.</summary>
    DataSync = 1u << 0,
}

/// <summary><see cref="FusePollIn.Flags"/> (FUSE_POLL_*).</summary>
[Flags]
public enum FusePollFlags : uint
{
    None = 0,
    /// <summary>Send a <see cref="FuseNotifyCode.Poll"/> with the kernel handle when ready.</summary>
    ScheduleNotify = 1u << 0,
}

/// <summary><see cref="FuseSetupMappingIn.Flags"/> (FUSE_SETUPMAPPING_FLAG_*, virtiofs DAX).</summary>
[Flags]
public enum FuseSetupMappingFlags : ulong
{
    None = 0,
    Write = 1UL << 0,
    Read = 1UL << 1,
}

/// <summary><see cref="FuseNotifyInvalEntryOut.Flags"/>.</summary>
[Flags]
public enum FuseNotifyInvalEntryFlags : uint
{
    None = 0,
    /// <summary>FUSE_EXPIRE_ONLY: expire the dentry instead of dropping it (needs <see cref="FuseInitFlags.HasExpireOnly"/>).</summary>
    ExpireOnly = 1u << 0,
}

/// <summary><see cref="FuseSetxattrIn.SetxattrFlags"/> (FUSE_SETXATTR_*).</summary>
[Flags]
public enum FuseSetxattrFlags : uint
{
    None = 0,
    /// <summary>FUSE_SETXATTR_ACL_KILL_SGID: clear sgid when setting a POSIX ACL.</summary>
    AclKillSgid = 1u << 0,
}

/// <summary><see cref="FuseSetxattrIn.Flags"/>: setxattr(2) XATTR_CREATE/XATTR_REPLACE.</summary>
[Flags]
public enum FuseXattrSetMode : uint
{
    CreateOrReplace = 0,
    Create = 1,
    Replace = 2,
}

/// <summary><see cref="FuseRename2In.Flags"/>: renameat2(2) RENAME_* flags.</summary>
[Flags]
public enum FuseRenameFlags : uint
{
    None = 0,
    NoReplace = 1u << 0,
    Exchange = 1u << 1,
    Whiteout = 1u << 2,
}

/// <summary><see cref="CuseInitIn.Flags"/> / <see cref="CuseInitOut.Flags"/> (CUSE_*).</summary>
[Flags]
public enum CuseInitFlags : uint
{
    None = 0,
    /// <summary>CUSE_UNRESTRICTED_IOCTL.</summary>
    UnrestrictedIoctl = 1u << 0,
}
