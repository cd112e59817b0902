using System.Runtime.InteropServices;

namespace Fuselage.Interop.Fuse;

// Message headers and INIT (fuse_kernel.h 7.45; offsets checked with gcc on x86_64).

/// <summary>fuse_in_header (40 bytes): starts every request read from /dev/fuse.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct FuseInHeader
{
    /// <summary>Total bytes of the request including this header.</summary>
    public uint Len;
    /// <summary>A <see cref="FuseOpcode"/> (or an iomap opcode).</summary>
    public uint Opcode;
    /// <summary>Request id; echo it in the reply.</summary>
    public ulong Unique;
    public ulong NodeId;
    public uint Uid;
    public uint Gid;
    public uint Pid;
    /// <summary>Length of trailing extensions in 8-byte units (7.38+).</summary>
    public ushort TotalExtlen;
    public ushort Padding;
}

/// <summary>fuse_out_header (16 bytes): starts every reply and notification.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct FuseOutHeader
{
    /// <summary>Total bytes written, including this header.</summary>
    public uint Len;
    /// <summary>0 or a negative errno; for notifications the <see cref="FuseNotifyCode"/>.</summary>
    public int Error;
    /// <summary>Request being answered; 0 for a notification.</summary>
    public ulong Unique;
}

/// <summary>fuse_init_in (64 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct FuseInitIn
{
    public uint Major;
    public uint Minor;
    public uint MaxReadahead;
    /// <summary>Low 32 bits of <see cref="FuseInitFlags"/>.</summary>
    public uint Flags;
    /// <summary>High 32 bits of <see cref="FuseInitFlags"/>, valid when <see cref="FuseInitFlags.InitExt"/> is set.</summary>
    public uint Flags2;
    public UInt32Array11 Unused;
}

/// <summary>fuse_init_out (64 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct FuseInitOut
{
    public uint Major;
    public uint Minor;
    public uint MaxReadahead;
    /// <summary>Low 32 bits of <see cref="FuseInitFlags"/>.</summary>
    public uint Flags;
    public ushort MaxBackground;
    public ushort CongestionThreshold;
    public uint MaxWrite;
    /// <summary>Timestamp granularity in ns.</summary>
    public uint TimeGran;
    /// <summary>Used only with <see cref="FuseInitFlags.MaxPages"/>.</summary>
    public ushort MaxPages;
    /// <summary>log2 DAX mapping alignment (<see cref="FuseInitFlags.MapAlignment"/>).</summary>
    public ushort MapAlignment;
    /// <summary>High 32 bits of <see cref="FuseInitFlags"/>; set <see cref="FuseInitFlags.InitExt"/> in Flags too.</summary>
    public uint Flags2;
    /// <summary>Backing stack depth with <see cref="FuseInitFlags.Passthrough"/>.</summary>
    public uint MaxStackDepth;
    /// <summary>Seconds; used only with <see cref="FuseInitFlags.RequestTimeout"/>.</summary>
    public ushort RequestTimeout;
    public UInt16Array11 Unused;
}

/// <summary>cuse_init_in (16 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct CuseInitIn
{
    public uint Major;
    public uint Minor;
    public uint Unused;
    /// <summary><see cref="CuseInitFlags"/>.</summary>
    public uint Flags;
}

/// <summary>cuse_init_out (72 bytes); device info strings (up to <see cref="FuseProtocol.CuseInitInfoMax"/>) follow.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct CuseInitOut
{
    public uint Major;
    public uint Minor;
    public uint Unused;
    /// <summary><see cref="CuseInitFlags"/>.</summary>
    public uint Flags;
    public uint MaxRead;
    public uint MaxWrite;
    /// <summary>Character device major.</summary>
    public uint DevMajor;
    /// <summary>Character device minor.</summary>
    public uint DevMinor;
    public UInt32Array10 Spare;
}

/// <summary>fuse_ext_header (8 bytes): one request extension record (7.38+); Size includes this header.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct FuseExtHeader
{
    public uint Size;
    /// <summary><see cref="FuseExtensionType"/>, or 0..31 for a security-context block.</summary>
    public uint Type;
}

/// <summary>fuse_supp_groups (4 bytes + NrGroups u32 group ids).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct FuseSuppGroups
{
    public uint NrGroups;
}

/// <summary>fuse_secctx_header (8 bytes): starts the security-context extension; NrSecctx <see cref="FuseSecctx"/> follow.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct FuseSecctxHeader
{
    public uint Size;
    public uint NrSecctx;
}

/// <summary>fuse_secctx (8 bytes): one security context, followed by name\0 and the label.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct FuseSecctx
{
    public uint Size;
    public uint Padding;
}
