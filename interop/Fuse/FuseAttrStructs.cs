using System.Runtime.InteropServices;

namespace Fuselage.Interop.Fuse;

// Attributes, entries, statx, statfs (fuse_kernel.h 7.45).

/// <summary>fuse_attr (88 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct FuseAttr
{
    public ulong Ino;
    public ulong Size;
    /// <summary>512-byte units.</summary>
    public ulong Blocks;
    public ulong Atime;
    public ulong Mtime;
    public ulong Ctime;
    public uint AtimeNsec;
    public uint MtimeNsec;
    public uint CtimeNsec;
    /// <summary>S_IFMT | permission bits.</summary>
    public uint Mode;
    public uint Nlink;
    public uint Uid;
    public uint Gid;
    public uint Rdev;
    public uint Blksize;
    /// <summary><see cref="FuseAttrFlags"/> (plus iomap bits on iomap connections).</summary>
    public uint Flags;
}

/// <summary>fuse_entry_out (128 bytes): reply to LOOKUP, MKNOD, MKDIR, SYMLINK, LINK, CREATE, TMPFILE.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct FuseEntryOut
{
    /// <summary>0 with a non-zero EntryValid = cached negative entry.</summary>
    public ulong NodeId;
    public ulong Generation;
    /// <summary>Seconds.</summary>
    public ulong EntryValid;
    /// <summary>Seconds.</summary>
    public ulong AttrValid;
    public uint EntryValidNsec;
    public uint AttrValidNsec;
    public FuseAttr Attr;
}

/// <summary>fuse_attr_out (104 bytes): reply to GETATTR and SETATTR.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct FuseAttrOut
{
    /// <summary>Seconds.</summary>
    public ulong AttrValid;
    public uint AttrValidNsec;
    public uint Dummy;
    public FuseAttr Attr;
}

/// <summary>fuse_getattr_in (16 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct FuseGetattrIn
{
    /// <summary><see cref="FuseGetattrFlags"/>.</summary>
    public uint GetattrFlags;
    public uint Dummy;
    public ulong Fh;
}

/// <summary>fuse_setattr_in (88 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct FuseSetattrIn
{
    /// <summary><see cref="FuseSetattrValid"/>.</summary>
    public uint Valid;
    public uint Padding;
    public ulong Fh;
    public ulong Size;
    public ulong LockOwner;
    public ulong Atime;
    public ulong Mtime;
    public ulong Ctime;
    public uint AtimeNsec;
    public uint MtimeNsec;
    public uint CtimeNsec;
    public uint Mode;
    public uint Unused4;
    public uint Uid;
    public uint Gid;
    public uint Unused5;
}

/// <summary>fuse_sx_time (16 bytes): a statx timestamp.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct FuseSxTime
{
    public long TvSec;
    public uint TvNsec;
    public int Reserved;
}

/// <summary>fuse_statx (256 bytes), bit-compatible with struct statx.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct FuseStatx
{
    /// <summary>STATX_* bits of the fields filled in.</summary>
    public uint Mask;
    public uint Blksize;
    public ulong Attributes;
    public uint Nlink;
    public uint Uid;
    public uint Gid;
    public ushort Mode;
    public ushort Spare0;
    public ulong Ino;
    public ulong Size;
    public ulong Blocks;
    public ulong AttributesMask;
    public FuseSxTime Atime;
    public FuseSxTime Btime;
    public FuseSxTime Ctime;
    public FuseSxTime Mtime;
    public uint RdevMajor;
    public uint RdevMinor;
    public uint DevMajor;
    public uint DevMinor;
    public UInt64Array14 Spare2;
}

/// <summary>fuse_statx_in (24 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct FuseStatxIn
{
    /// <summary><see cref="FuseGetattrFlags"/>.</summary>
    public uint GetattrFlags;
    public uint Reserved;
    public ulong Fh;
    /// <summary>AT_STATX_* flags.</summary>
    public uint SxFlags;
    /// <summary>STATX_* mask requested.</summary>
    public uint SxMask;
}

/// <summary>fuse_statx_out (288 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct FuseStatxOut
{
    public ulong AttrValid;
    public uint AttrValidNsec;
    public uint Flags;
    public UInt64Array2 Spare;
    public FuseStatx Stat;
}

/// <summary>fuse_kstatfs (80 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct FuseKstatfs
{
    public ulong Blocks;
    public ulong Bfree;
    public ulong Bavail;
    public ulong Files;
    public ulong Ffree;
    public uint Bsize;
    public uint Namelen;
    public uint Frsize;
    public uint Padding;
    public UInt32Array6 Spare;
}

/// <summary>fuse_statfs_out (80 bytes): reply to STATFS.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct FuseStatfsOut
{
    public FuseKstatfs St;
}

/// <summary>fuse_dirent (24 bytes + name, no NUL): one READDIR record; size <see cref="FuseProtocol.DirentSize"/>.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct FuseDirent
{
    public ulong Ino;
    /// <summary>Cookie of the *next* entry.</summary>
    public ulong Off;
    public uint Namelen;
    /// <summary>d_type: (mode &amp; S_IFMT) &gt;&gt; 12.</summary>
    public uint Type;
}

/// <summary>fuse_direntplus (152 bytes + name): one READDIRPLUS record; size <see cref="FuseProtocol.DirentplusSize"/>.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct FuseDirentplus
{
    public FuseEntryOut EntryOut;
    public FuseDirent Dirent;
}
