using System.Runtime.InteropServices;

namespace Fuselage.Interop.Fuse;

// Per-operation argument and reply structs (fuse_kernel.h 7.45; offsets checked with gcc on x86_64).

/// <summary>fuse_forget_in (8 bytes); node id is in the header.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct FuseForgetIn
{
    public ulong Nlookup;
}

/// <summary>fuse_forget_one (16 bytes): one entry of BATCH_FORGET.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct FuseForgetOne
{
    public ulong NodeId;
    public ulong Nlookup;
}

/// <summary>fuse_batch_forget_in (8 bytes); Count <see cref="FuseForgetOne"/> follow.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct FuseBatchForgetIn
{
    public uint Count;
    public uint Dummy;
}

/// <summary>fuse_mknod_in (16 bytes); name\0 follows.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct FuseMknodIn
{
    public uint Mode;
    public uint Rdev;
    public uint Umask;
    public uint Padding;
}

/// <summary>fuse_mkdir_in (8 bytes); name\0 follows.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct FuseMkdirIn
{
    public uint Mode;
    public uint Umask;
}

/// <summary>fuse_rename_in (8 bytes); old\0 new\0 follow.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct FuseRenameIn
{
    public ulong NewDir;
}

/// <summary>fuse_rename2_in (16 bytes); old\0 new\0 follow.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct FuseRename2In
{
    public ulong NewDir;
    /// <summary><see cref="FuseRenameFlags"/>.</summary>
    public uint Flags;
    public uint Padding;
}

/// <summary>fuse_link_in (8 bytes); header node id is the new parent, newname\0 follows.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct FuseLinkIn
{
    public ulong OldNodeId;
}

/// <summary>fuse_open_in (8 bytes): OPEN and OPENDIR.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct FuseOpenIn
{
    /// <summary>open(2) flags (O_CREAT/O_EXCL/O_NOCTTY stripped).</summary>
    public uint Flags;
    /// <summary><see cref="FuseOpenRequestFlags"/>.</summary>
    public uint OpenFlags;
}

/// <summary>fuse_create_in (16 bytes): CREATE and TMPFILE; name\0 follows.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct FuseCreateIn
{
    public uint Flags;
    public uint Mode;
    public uint Umask;
    /// <summary><see cref="FuseOpenRequestFlags"/>.</summary>
    public uint OpenFlags;
}

/// <summary>fuse_open_out (16 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct FuseOpenOut
{
    public ulong Fh;
    /// <summary><see cref="FuseOpenReplyFlags"/>.</summary>
    public uint OpenFlags;
    /// <summary>From FUSE_DEV_IOC_BACKING_OPEN, with <see cref="FuseOpenReplyFlags.Passthrough"/>.</summary>
    public int BackingId;
}

/// <summary>fuse_release_in (24 bytes): RELEASE and RELEASEDIR.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct FuseReleaseIn
{
    public ulong Fh;
    public uint Flags;
    /// <summary><see cref="FuseReleaseFlags"/>.</summary>
    public uint ReleaseFlags;
    public ulong LockOwner;
}

/// <summary>fuse_flush_in (24 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct FuseFlushIn
{
    public ulong Fh;
    public uint Unused;
    public uint Padding;
    public ulong LockOwner;
}

/// <summary>fuse_read_in (40 bytes): READ, READDIR, READDIRPLUS.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct FuseReadIn
{
    public ulong Fh;
    public ulong Offset;
    public uint Size;
    /// <summary><see cref="FuseReadFlags"/>.</summary>
    public uint ReadFlags;
    public ulong LockOwner;
    /// <summary>File open flags.</summary>
    public uint Flags;
    public uint Padding;
}

/// <summary>fuse_write_in (40 bytes); data follows.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct FuseWriteIn
{
    public ulong Fh;
    public ulong Offset;
    public uint Size;
    /// <summary><see cref="FuseWriteFlags"/>.</summary>
    public uint WriteFlags;
    public ulong LockOwner;
    /// <summary>File open flags.</summary>
    public uint Flags;
    public uint Padding;
}

/// <summary>fuse_write_out (8 bytes): reply to WRITE and COPY_FILE_RANGE.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct FuseWriteOut
{
    public uint Size;
    public uint Padding;
}

/// <summary>fuse_fsync_in (16 bytes): FSYNC and FSYNCDIR.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct FuseFsyncIn
{
    public ulong Fh;
    /// <summary><see cref="FuseFsyncFlags"/>.</summary>
    public uint FsyncFlags;
    public uint Padding;
}

/// <summary>fuse_setxattr_in (16 bytes; only the first <see cref="FuseProtocol.CompatSetxattrInSize"/> without SETXATTR_EXT); name\0 value follow.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct FuseSetxattrIn
{
    /// <summary>Value length.</summary>
    public uint Size;
    /// <summary><see cref="FuseXattrSetMode"/>.</summary>
    public uint Flags;
    /// <summary><see cref="FuseSetxattrFlags"/>.</summary>
    public uint SetxattrFlags;
    public uint Padding;
}

/// <summary>fuse_getxattr_in (8 bytes): GETXATTR (name\0 follows) and LISTXATTR.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct FuseGetxattrIn
{
    public uint Size;
    public uint Padding;
}

/// <summary>fuse_getxattr_out (8 bytes): reply when the request's size was 0.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct FuseGetxattrOut
{
    public uint Size;
    public uint Padding;
}

/// <summary>fuse_file_lock (24 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct FuseFileLock
{
    public ulong Start;
    public ulong End;
    /// <summary><see cref="FuseLockType"/>.</summary>
    public uint Type;
    public uint Pid;
}

/// <summary>fuse_lk_in (48 bytes): GETLK, SETLK, SETLKW.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct FuseLkIn
{
    public ulong Fh;
    public ulong Owner;
    public FuseFileLock Lk;
    /// <summary><see cref="FuseLockFlags"/>.</summary>
    public uint LkFlags;
    public uint Padding;
}

/// <summary>fuse_lk_out (24 bytes): reply to GETLK.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct FuseLkOut
{
    public FuseFileLock Lk;
}

/// <summary>fuse_access_in (8 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct FuseAccessIn
{
    /// <summary>R_OK 4, W_OK 2, X_OK 1, F_OK 0.</summary>
    public uint Mask;
    public uint Padding;
}

/// <summary>fuse_interrupt_in (8 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct FuseInterruptIn
{
    /// <summary>Unique of the request to interrupt.</summary>
    public ulong Unique;
}

/// <summary>fuse_bmap_in (16 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct FuseBmapIn
{
    public ulong Block;
    public uint Blocksize;
    public uint Padding;
}

/// <summary>fuse_bmap_out (8 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct FuseBmapOut
{
    public ulong Block;
}

/// <summary>fuse_ioctl_in (32 bytes); in data follows.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct FuseIoctlIn
{
    public ulong Fh;
    /// <summary><see cref="FuseIoctlFlags"/>.</summary>
    public uint Flags;
    public uint Cmd;
    public ulong Arg;
    public uint InSize;
    public uint OutSize;
}

/// <summary>fuse_ioctl_iovec (16 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct FuseIoctlIovec
{
    public ulong Base;
    public ulong Len;
}

/// <summary>fuse_ioctl_out (16 bytes); out data or iovecs follow.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct FuseIoctlOut
{
    public int Result;
    /// <summary><see cref="FuseIoctlFlags"/>.</summary>
    public uint Flags;
    public uint InIovs;
    public uint OutIovs;
}

/// <summary>fuse_poll_in (24 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct FusePollIn
{
    public ulong Fh;
    /// <summary>Kernel handle to pass back in <see cref="FuseNotifyPollWakeupOut"/>.</summary>
    public ulong Kh;
    /// <summary><see cref="FusePollFlags"/>.</summary>
    public uint Flags;
    public uint Events;
}

/// <summary>fuse_poll_out (8 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct FusePollOut
{
    public uint Revents;
    public uint Padding;
}

/// <summary>fuse_fallocate_in (32 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct FuseFallocateIn
{
    public ulong Fh;
    public ulong Offset;
    public ulong Length;
    /// <summary>FALLOC_FL_* bits.</summary>
    public uint Mode;
    public uint Padding;
}

/// <summary>fuse_lseek_in (24 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct FuseLseekIn
{
    public ulong Fh;
    public ulong Offset;
    /// <summary>SEEK_DATA 3 or SEEK_HOLE 4 (others are handled by the kernel).</summary>
    public uint Whence;
    public uint Padding;
}

/// <summary>fuse_lseek_out (8 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct FuseLseekOut
{
    public ulong Offset;
}

/// <summary>fuse_copy_file_range_in (56 bytes): COPY_FILE_RANGE and COPY_FILE_RANGE_64; header node id = input inode.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct FuseCopyFileRangeIn
{
    public ulong FhIn;
    public ulong OffIn;
    public ulong NodeIdOut;
    public ulong FhOut;
    public ulong OffOut;
    public ulong Len;
    public ulong Flags;
}

/// <summary>fuse_copy_file_range_out (8 bytes): reply to COPY_FILE_RANGE_64 (7.45).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct FuseCopyFileRangeOut
{
    public ulong BytesCopied;
}

/// <summary>fuse_setupmapping_in (40 bytes, virtiofs DAX).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct FuseSetupMappingIn
{
    public ulong Fh;
    /// <summary>File offset where the mapping starts.</summary>
    public ulong FileOffset;
    public ulong Len;
    /// <summary><see cref="FuseSetupMappingFlags"/>.</summary>
    public ulong Flags;
    /// <summary>Offset in the DAX memory window.</summary>
    public ulong MemoryOffset;
}

/// <summary>fuse_removemapping_in (4 bytes, virtiofs DAX); Count <see cref="FuseRemoveMappingOne"/> follow.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct FuseRemoveMappingIn
{
    public uint Count;
}

/// <summary>fuse_removemapping_one (16 bytes, virtiofs DAX).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct FuseRemoveMappingOne
{
    /// <summary>Offset in the DAX memory window.</summary>
    public ulong MemoryOffset;
    public ulong Len;
}

/// <summary>fuse_syncfs_in (8 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct FuseSyncfsIn
{
    public ulong Padding;
}

/// <summary>fuse_backing_map (16 bytes): argument of FUSE_DEV_IOC_BACKING_OPEN.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct FuseBackingMap
{
    /// <summary>The backing file (or, with iomap, block device) fd.</summary>
    public int Fd;
    /// <summary>0 on 6.18; the iomap series puts a backing type in the low byte.</summary>
    public uint Flags;
    public ulong Padding;
}
