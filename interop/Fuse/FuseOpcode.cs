namespace Fuselage.Interop.Fuse;

/// <summary>Request opcodes carried in <see cref="FuseInHeader.Opcode"/> (enum fuse_opcode, fuse_kernel.h 7.45).
/// 7 and 19 do not exist. The experimental iomap opcodes live in <c>Fuselage.Interop.Iomap.FuseIomapOpcode</c>.</summary>
public enum FuseOpcode : uint
{
    Lookup = 1,
    Forget = 2,
    Getattr = 3,
    Setattr = 4,
    Readlink = 5,
    Symlink = 6,
    Mknod = 8,
    Mkdir = 9,
    Unlink = 10,
    Rmdir = 11,
    Rename = 12,
    Link = 13,
    Open = 14,
    Read = 15,
    Write = 16,
    Statfs = 17,
    Release = 18,
    Fsync = 20,
    Setxattr = 21,
    Getxattr = 22,
    Listxattr = 23,
    Removexattr = 24,
    Flush = 25,
    Init = 26,
    Opendir = 27,
    Readdir = 28,
    Releasedir = 29,
    Fsyncdir = 30,
    Getlk = 31,
    Setlk = 32,
    Setlkw = 33,
    Access = 34,
    Create = 35,
    Interrupt = 36,
    Bmap = 37,
    Destroy = 38,
    Ioctl = 39,
    Poll = 40,
    /// <summary>The kernel's answer to a <see cref="FuseNotifyCode.Retrieve"/>; never replied to.</summary>
    NotifyReply = 41,
    BatchForget = 42,
    Fallocate = 43,
    Readdirplus = 44,
    Rename2 = 45,
    Lseek = 46,
    CopyFileRange = 47,
    /// <summary>virtiofs DAX only.</summary>
    SetupMapping = 48,
    /// <summary>virtiofs DAX only.</summary>
    RemoveMapping = 49,
    Syncfs = 50,
    Tmpfile = 51,
    Statx = 52,
    /// <summary>7.45: like <see cref="CopyFileRange"/> but answered with a 64-bit <see cref="FuseCopyFileRangeOut"/>.</summary>
    CopyFileRange64 = 53,

    /// <summary>CUSE only.</summary>
    CuseInit = 4096,
}

/// <summary>Server-to-kernel notification codes, sent in <see cref="FuseOutHeader.Error"/> with
/// <see cref="FuseOutHeader.Unique"/> = 0 (enum fuse_notify_code, fuse_kernel.h 7.45).
/// The iomap notifications (99-101) live in <c>Fuselage.Interop.Iomap.FuseIomapNotifyCode</c>.</summary>
public enum FuseNotifyCode : int
{
    /// <summary>Body: <see cref="FuseNotifyPollWakeupOut"/>.</summary>
    Poll = 1,
    /// <summary>Body: <see cref="FuseNotifyInvalInodeOut"/>.</summary>
    InvalInode = 2,
    /// <summary>Body: <see cref="FuseNotifyInvalEntryOut"/> + name + NUL.</summary>
    InvalEntry = 3,
    /// <summary>Body: <see cref="FuseNotifyStoreOut"/> + data.</summary>
    Store = 4,
    /// <summary>Body: <see cref="FuseNotifyRetrieveOut"/>; answered by a <see cref="FuseOpcode.NotifyReply"/> request.</summary>
    Retrieve = 5,
    /// <summary>Body: <see cref="FuseNotifyDeleteOut"/> + name + NUL.</summary>
    Delete = 6,
    /// <summary>7.40, no body: re-queue every request read but not answered (needs <see cref="FuseInitFlags.HasResend"/>).</summary>
    Resend = 7,
    /// <summary>7.44, no body: bump the connection epoch, invalidating older dentries.</summary>
    IncEpoch = 8,
    /// <summary>7.45. Body: <see cref="FuseNotifyPruneOut"/> + count u64 node ids.</summary>
    Prune = 9,
}
