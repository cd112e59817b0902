using System.Runtime.InteropServices;
using Fuselage.Interop.Fuse;

namespace Fuselage.Interop.Iomap;

// iomap extension structs (v7 uapi header, offsets checked with a C compiler on x86_64).

/// <summary>fuse_iomap_io (32 bytes): one mapping.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct FuseIomapIo
{
    /// <summary>File offset, bytes.</summary>
    public ulong Offset;
    /// <summary>Bytes.</summary>
    public ulong Length;
    /// <summary>Device offset in bytes, or <see cref="IomapProtocol.NullAddr"/>.</summary>
    public ulong Addr;
    /// <summary><see cref="FuseIomapType"/>.</summary>
    public ushort Type;
    /// <summary><see cref="FuseIomapMappingFlags"/>.</summary>
    public ushort Flags;
    /// <summary>Device cookie (backing id); <see cref="IomapProtocol.DevNull"/> = none.</summary>
    public uint Dev;
}

/// <summary>fuse_iomap_begin_in (32 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct FuseIomapBeginIn
{
    /// <summary><see cref="FuseIomapOpFlags"/>.</summary>
    public uint OpFlags;
    public uint Reserved;
    /// <summary>The inode's <see cref="FuseAttr.Ino"/>.</summary>
    public ulong AttrIno;
    public ulong Pos;
    public ulong Count;
}

/// <summary>fuse_iomap_begin_out (64 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct FuseIomapBeginOut
{
    /// <summary>Where the current data lives.</summary>
    public FuseIomapIo Read;
    /// <summary>Where written data must go (<see cref="FuseIomapType.PureOverwrite"/> = same as Read).</summary>
    public FuseIomapIo Write;
}

/// <summary>fuse_iomap_end_in (72 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct FuseIomapEndIn
{
    /// <summary><see cref="FuseIomapOpFlags"/>.</summary>
    public uint OpFlags;
    public uint Reserved;
    public ulong AttrIno;
    public ulong Pos;
    public ulong Count;
    /// <summary>Bytes processed.</summary>
    public long Written;
    /// <summary>The mapping the kernel acted on.</summary>
    public FuseIomapIo Map;
}

/// <summary>fuse_iomap_ioend_in (48 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct FuseIomapIoendIn
{
    /// <summary><see cref="FuseIomapIoendFlags"/>.</summary>
    public uint Flags;
    /// <summary>0 or -errno.</summary>
    public int Error;
    public ulong AttrIno;
    public ulong Pos;
    /// <summary>Header says bytes; writeback passes a 512-byte sector (UNVERIFIED).</summary>
    public ulong NewAddr;
    public ulong Written;
    public uint Dev;
    public uint Pad;
}

/// <summary>fuse_iomap_ioend_out (8 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct FuseIomapIoendOut
{
    /// <summary>New on-disk size.</summary>
    public ulong NewSize;
}

/// <summary>fuse_iomap_config_in (64 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct FuseIomapConfigIn
{
    /// <summary><see cref="FuseIomapConfigFlags"/> the kernel understands.</summary>
    public ulong Flags;
    /// <summary>Kernel maximum file size (MAX_LFS_FILESIZE).</summary>
    public long Maxbytes;
    /// <summary>Current mapping-cache limit.</summary>
    public uint CacheMaxbytes;
    public uint Zero;
    public UInt64Array5 Padding;
}

/// <summary>fuse_iomap_config_out (104 bytes incl. 4 tail-pad bytes); a shorter reply leaves the tail zero.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct FuseIomapConfigOut
{
    /// <summary><see cref="FuseIomapConfigFlags"/> of the fields filled in.</summary>
    public ulong Flags;
    public ByteArray32 SId;
    public ByteArray16 SUuid;
    public byte SUuidLen;
    /// <summary>Must be zero.</summary>
    public ByteArray3 SPad;
    public uint SBlocksize;
    public uint SMaxLinks;
    /// <summary>ns, 1..1e9.</summary>
    public uint STimeGran;
    /// <summary>Seconds.</summary>
    public long STimeMin;
    /// <summary>Seconds.</summary>
    public long STimeMax;
    public long SMaxbytes;
    public uint CacheMaxbytes;
}

/// <summary>fuse_range (16 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct FuseRange
{
    public ulong Offset;
    /// <summary>0 = nothing; <see cref="IomapProtocol.InvalToEof"/> = to end of file.</summary>
    public ulong Length;
}

/// <summary>fuse_iomap_dev_inval_out (24 bytes): <see cref="FuseIomapNotifyCode.DevInval"/>.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct FuseIomapDevInvalOut
{
    public uint Dev;
    /// <summary>Must be zero.</summary>
    public uint Reserved;
    public FuseRange Range;
}

/// <summary>fuse_iomap_inval_mappings_out (48 bytes): <see cref="FuseIomapNotifyCode.InvalMappings"/>.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct FuseIomapInvalMappingsOut
{
    public ulong NodeId;
    public ulong AttrIno;
    public FuseRange Read;
    public FuseRange Write;
}

/// <summary>fuse_iomap_upsert_mappings_out (80 bytes): <see cref="FuseIomapNotifyCode.UpsertMappings"/>.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct FuseIomapUpsertMappingsOut
{
    public ulong NodeId;
    public ulong AttrIno;
    /// <summary><see cref="FuseIomapType.NoCache"/> = leave the read tree alone.</summary>
    public FuseIomapIo Read;
    /// <summary><see cref="FuseIomapType.NoCache"/> = leave the write tree alone.</summary>
    public FuseIomapIo Write;
}

/// <summary>fuse_freezefs_in (8 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct FuseFreezefsIn
{
    /// <summary>sb->s_remove_count.</summary>
    public ulong Unlinked;
}

/// <summary>fuse_shutdownfs_in (8 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct FuseShutdownfsIn
{
    /// <summary>0.</summary>
    public ulong Flags;
}

/// <summary>fuse_iomap_support (16 bytes): filled by FUSE_DEV_IOC_IOMAP_SUPPORT.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct FuseIomapSupport
{
    /// <summary><see cref="FuseIomapSupportFlags"/>.</summary>
    public ulong Flags;
    public ulong Padding;
}

/// <summary>fuse_iomap_backing_info (8 bytes): argument of FUSE_DEV_IOC_IOMAP_SET_BLOCKSIZE.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct FuseIomapBackingInfo
{
    public uint BackingId;
    public uint Blocksize;
}
