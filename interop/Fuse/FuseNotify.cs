using System.Runtime.InteropServices;

namespace Fuselage.Interop.Fuse;

// Notification bodies, written after a FuseOutHeader{Unique = 0, Error = code} (fuse_kernel.h 7.45).

/// <summary>fuse_notify_poll_wakeup_out (8 bytes): <see cref="FuseNotifyCode.Poll"/>.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct FuseNotifyPollWakeupOut
{
    /// <summary>The <see cref="FusePollIn.Kh"/> received.</summary>
    public ulong Kh;
}

/// <summary>fuse_notify_inval_inode_out (24 bytes): <see cref="FuseNotifyCode.InvalInode"/>.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct FuseNotifyInvalInodeOut
{
    public ulong Ino;
    /// <summary>Negative: invalidate attributes only.</summary>
    public long Off;
    /// <summary>&lt;= 0: to end of file.</summary>
    public long Len;
}

/// <summary>fuse_notify_inval_entry_out (16 bytes): <see cref="FuseNotifyCode.InvalEntry"/>; name + NUL follow.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct FuseNotifyInvalEntryOut
{
    public ulong Parent;
    /// <summary>Without the NUL.</summary>
    public uint Namelen;
    /// <summary><see cref="FuseNotifyInvalEntryFlags"/>.</summary>
    public uint Flags;
}

/// <summary>fuse_notify_delete_out (24 bytes): <see cref="FuseNotifyCode.Delete"/>; name + NUL follow.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct FuseNotifyDeleteOut
{
    public ulong Parent;
    public ulong Child;
    /// <summary>Without the NUL.</summary>
    public uint Namelen;
    public uint Padding;
}

/// <summary>fuse_notify_store_out (24 bytes): <see cref="FuseNotifyCode.Store"/>; Size data bytes follow.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct FuseNotifyStoreOut
{
    public ulong NodeId;
    public ulong Offset;
    public uint Size;
    public uint Padding;
}

/// <summary>fuse_notify_retrieve_out (32 bytes): <see cref="FuseNotifyCode.Retrieve"/>.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct FuseNotifyRetrieveOut
{
    /// <summary>Comes back as the unique of the <see cref="FuseOpcode.NotifyReply"/> request.</summary>
    public ulong NotifyUnique;
    public ulong NodeId;
    public ulong Offset;
    public uint Size;
    public uint Padding;
}

/// <summary>fuse_notify_retrieve_in (40 bytes): argument of the <see cref="FuseOpcode.NotifyReply"/> request; cached data follows.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct FuseNotifyRetrieveIn
{
    public ulong Dummy1;
    public ulong Offset;
    public uint Size;
    public uint Dummy2;
    public ulong Dummy3;
    public ulong Dummy4;
}

/// <summary>fuse_notify_prune_out (16 bytes): <see cref="FuseNotifyCode.Prune"/> (7.45); Count u64 node ids follow.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct FuseNotifyPruneOut
{
    public uint Count;
    public uint Padding;
    public ulong Spare;
}
