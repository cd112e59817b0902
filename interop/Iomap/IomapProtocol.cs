using Fuselage.Interop.Fuse;

namespace Fuselage.Interop.Iomap;

// The experimental FUSE iomap extension (Darrick J. Wong, v7 posting 2026-02-23, protocol "7.99").
// Unmerged and unstable: kept out of Fuselage.Interop.Fuse so nothing negotiates it by accident.

/// <summary>Protocol-level constants of the iomap extension.</summary>
public static class IomapProtocol
{
    /// <summary>FUSE_KERNEL_MINOR_VERSION of iomap kernels. The server must reply with minor &gt;= 99
    /// or the kernel ignores FUSE_ATTR_EXCLUSIVE (and therefore iomap).</summary>
    public const uint KernelMinorVersion = 99;

    /// <summary>FUSE_IOMAP = 1ULL &lt;&lt; 43 (flags2 bit 11, 0x800); requires <see cref="FuseInitFlags.InitExt"/>.</summary>
    public const FuseInitFlags InitFlag = (FuseInitFlags)(1UL << 43);

    /// <summary>FUSE_IOMAP_DEV_NULL: device cookie meaning "no device".</summary>
    public const uint DevNull = 0;

    /// <summary>FUSE_IOMAP_NULL_ADDR: <see cref="FuseIomapIo.Addr"/> when the mapping has no device address.</summary>
    public const ulong NullAddr = ulong.MaxValue;

    /// <summary>FUSE_IOMAP_INVAL_TO_EOF: a <see cref="FuseRange.Length"/> meaning "to end of file".</summary>
    public const ulong InvalToEof = ulong.MaxValue;

    /// <summary>Device cookies (backing ids) are allocated in [1, 1024].</summary>
    public const uint MaxDeviceCookie = 1024;

    /// <summary>Default per-inode mapping-cache limit (bytes) sent in <see cref="FuseIomapConfigIn.CacheMaxbytes"/>.</summary>
    public const uint DefaultCacheMaxbytes = 262144;

    /// <summary>The kernel clamps <see cref="FuseIomapConfigOut.CacheMaxbytes"/> to at least this.</summary>
    public const uint MinCacheMaxbytes = 256;

    /// <summary>The kernel clamps <see cref="FuseIomapConfigOut.CacheMaxbytes"/> to at most this (2 MiB).</summary>
    public const uint MaxCacheMaxbytes = 2 * 1024 * 1024;

    /// <summary>Size of <see cref="FuseIomapConfigOut"/> without CacheMaxbytes (what libfuse v7 sends); the reply is variable-length.</summary>
    public const int ConfigOutSizeWithoutCacheMaxbytes = 96;

    /// <summary>Mapping flags a server may send (bits 0-7); <see cref="FuseIomapMappingFlags.SizeChanged"/> and
    /// <see cref="FuseIomapMappingFlags.Stale"/> only come from the kernel.</summary>
    public const FuseIomapMappingFlags ServerMappingFlags = (FuseIomapMappingFlags)0xFF;

    /// <summary>Operations that count as writes (kernel and libfuse agree; the header's exact mask is UNVERIFIED).</summary>
    public const FuseIomapOpFlags WriteOps =
        FuseIomapOpFlags.Write | FuseIomapOpFlags.Zero | FuseIomapOpFlags.Unshare | FuseIomapOpFlags.Writeback;
}

/// <summary>iomap request opcodes (in <see cref="FuseInHeader.Opcode"/>); CUSE_INIT stays 4096.</summary>
public enum FuseIomapOpcode : uint
{
    /// <summary>Node id = root; body <see cref="FuseFreezefsIn"/>; empty reply.</summary>
    FreezeFs = 4089,
    /// <summary>Node id = root; no body; empty reply.</summary>
    UnfreezeFs = 4090,
    /// <summary>Node id = root; body <see cref="FuseShutdownfsIn"/>; empty reply.</summary>
    ShutdownFs = 4091,
    /// <summary>Node id 0, once right after INIT; body <see cref="FuseIomapConfigIn"/>; reply <see cref="FuseIomapConfigOut"/> (variable, up to 104).</summary>
    IomapConfig = 4092,
    /// <summary>Body <see cref="FuseIomapIoendIn"/>; reply <see cref="FuseIomapIoendOut"/>.</summary>
    IomapIoend = 4093,
    /// <summary>Body <see cref="FuseIomapBeginIn"/>; reply <see cref="FuseIomapBeginOut"/>.</summary>
    IomapBegin = 4094,
    /// <summary>Body <see cref="FuseIomapEndIn"/>; empty reply.</summary>
    IomapEnd = 4095,
}

/// <summary>iomap notification codes (in <see cref="FuseOutHeader.Error"/>, unique 0).</summary>
public enum FuseIomapNotifyCode : int
{
    /// <summary>Body <see cref="FuseIomapDevInvalOut"/>: drop the block device's own page cache for a range.</summary>
    DevInval = 99,
    /// <summary>Body <see cref="FuseIomapUpsertMappingsOut"/>.</summary>
    UpsertMappings = 100,
    /// <summary>Body <see cref="FuseIomapInvalMappingsOut"/>.</summary>
    InvalMappings = 101,
}

/// <summary><see cref="FuseIomapIo.Type"/> (FUSE_IOMAP_TYPE_*; 0-4 equal the kernel IOMAP_* values).</summary>
public enum FuseIomapType : ushort
{
    /// <summary>dev 0, addr ~0.</summary>
    Hole = 0,
    /// <summary>Reserved, not allocated; dev 0, addr ~0.</summary>
    Delalloc = 1,
    /// <summary>dev registered, addr valid.</summary>
    Mapped = 2,
    /// <summary>Allocated, reads as zeros; dev registered, addr valid.</summary>
    Unwritten = 3,
    /// <summary>Data via FUSE_READ/FUSE_WRITE; dev 0, addr ~0.</summary>
    Inline = 4,
    /// <summary>Upsert only: leave this tree alone. Illegal in BEGIN replies.</summary>
    NoCache = 253,
    /// <summary>"I upserted into the kernel cache, look it up again"; flags 0, dev 0, addr ~0.</summary>
    RetryCache = 254,
    /// <summary>Write slot only: write where the read mapping says; flags 0, dev 0, addr ~0.</summary>
    PureOverwrite = 255,
}

/// <summary><see cref="FuseIomapIo.Flags"/> (FUSE_IOMAP_F_*).</summary>
[Flags]
public enum FuseIomapMappingFlags : ushort
{
    None = 0,
    /// <summary>Freshly allocated; zero around partial writes.</summary>
    New = 1 << 0,
    /// <summary>Uncommitted metadata needed to reach the data.</summary>
    Dirty = 1 << 1,
    /// <summary>Blocks shared (copy on write).</summary>
    Shared = 1 << 2,
    /// <summary>Report only (FIEMAP).</summary>
    Merged = 1 << 3,
    /// <summary>Do not merge ioends across this mapping.</summary>
    Boundary = 1 << 4,
    AnonWrite = 1 << 5,
    /// <summary>Issue REQ_ATOMIC bios (required for atomic writes).</summary>
    AtomicBio = 1 << 6,
    /// <summary>Force an IOMAP_END call for this mapping.</summary>
    WantIomapEnd = 1 << 7,
    /// <summary>Kernel to server only (in IOMAP_END): the write extended i_size.</summary>
    SizeChanged = 1 << 8,
    /// <summary>Kernel to server only (in IOMAP_END).</summary>
    Stale = 1 << 9,
}

/// <summary>Operation flags (<see cref="FuseIomapBeginIn.OpFlags"/>, <see cref="FuseIomapEndIn.OpFlags"/>; FUSE_IOMAP_OP_*).</summary>
[Flags]
public enum FuseIomapOpFlags : uint
{
    None = 0,
    Write = 1u << 0,
    Zero = 1u << 1,
    /// <summary>FIEMAP, SEEK_DATA/HOLE, bmap.</summary>
    Report = 1u << 2,
    Fault = 1u << 3,
    Direct = 1u << 4,
    NoWait = 1u << 5,
    OverwriteOnly = 1u << 6,
    Unshare = 1u << 7,
    Dax = 1u << 8,
    Atomic = 1u << 9,
    DontCache = 1u << 10,
    /// <summary>fuse-private: swapfile activation.</summary>
    Swapfile = 1u << 30,
    /// <summary>fuse-private: page-cache writeback.</summary>
    Writeback = 1u << 31,
}

/// <summary><see cref="FuseIomapIoendIn.Flags"/> (FUSE_IOMAP_IOEND_*).</summary>
[Flags]
public enum FuseIomapIoendFlags : uint
{
    None = 0,
    /// <summary>Out-of-place (COW) write completed: remap the new blocks.</summary>
    Shared = 1u << 0,
    /// <summary>Wrote into an unwritten extent: convert it.</summary>
    Unwritten = 1u << 1,
    Boundary = 1u << 2,
    Direct = 1u << 3,
    /// <summary>Write ends beyond the kernel's on-disk size: persist the new size.</summary>
    Append = 1u << 4,
    Writeback = 1u << 5,
    Swapoff = 1u << 6,
}

/// <summary><see cref="FuseIomapConfigIn.Flags"/> / <see cref="FuseIomapConfigOut.Flags"/> (FUSE_IOMAP_CONFIG_*): which fields are set.</summary>
[Flags]
public enum FuseIomapConfigFlags : ulong
{
    None = 0,
    Sid = 1UL << 0,
    Uuid = 1UL << 1,
    Blocksize = 1UL << 2,
    MaxLinks = 1UL << 3,
    Time = 1UL << 4,
    Maxbytes = 1UL << 5,
    CacheMaxbytes = 1UL << 6,
}

/// <summary>iomap per-inode bits of <see cref="FuseAttr.Flags"/> (FUSE_ATTR_*, beside <see cref="FuseAttrFlags"/>).
/// Read when the kernel instantiates the inode (entry replies), not on later GETATTR.</summary>
[Flags]
public enum FuseIomapAttrFlags : uint
{
    None = 0,
    /// <summary>Only this mount modifies the file; honoured only with negotiated minor &gt;= 99.</summary>
    Exclusive = 1u << 2,
    /// <summary>Use iomap for this regular file; ignored without <see cref="Exclusive"/>.</summary>
    Iomap = 1u << 3,
    /// <summary>Untorn (atomic) writes.</summary>
    Atomic = 1u << 4,
    /// <summary>S_SYNC.</summary>
    Sync = 1u << 5,
    /// <summary>S_IMMUTABLE.</summary>
    Immutable = 1u << 6,
    /// <summary>S_APPEND.</summary>
    Append = 1u << 7,
}

/// <summary><see cref="FuseIomapSupport.Flags"/> (FUSE_IOMAP_SUPPORT_*).</summary>
[Flags]
public enum FuseIomapSupportFlags : ulong
{
    None = 0,
    FileIo = 1UL << 0,
    Atomic = 1UL << 1,
}

/// <summary>Backing type in the low byte of <see cref="FuseBackingMap.Flags"/> (FUSE_BACKING_TYPE_*, iomap series).</summary>
public enum FuseBackingType : uint
{
    Passthrough = 0,
    /// <summary>A block device for iomap; the returned backing id is the device cookie.</summary>
    Iomap = 1,
}

/// <summary>Masks for <see cref="FuseBackingType"/>.</summary>
public static class FuseBackingTypeBits
{
    /// <summary>FUSE_BACKING_TYPE_MASK.</summary>
    public const uint Mask = 0xFF;

    /// <summary>FUSE_BACKING_MAX_TYPE.</summary>
    public const uint MaxType = 1;
}

/// <summary>iomap ioctls on /dev/fuse (v7 numbering; earlier postings differ).</summary>
public static class IomapDeviceIoctl
{
    /// <summary>FUSE_DEV_IOC_IOMAP_SUPPORT = _IOR(229, 99, struct fuse_iomap_support); usable before mount.</summary>
    public static readonly uint IomapSupport = IoctlEncoding.Ior(FuseDeviceIoctl.Magic, 99, System.Runtime.CompilerServices.Unsafe.SizeOf<FuseIomapSupport>());

    /// <summary>FUSE_DEV_IOC_SET_NOFS = _IOW(229, 100, uint32_t): 1 sets PF_MEMALLOC_NOFS on the calling thread, 0 clears.</summary>
    public static readonly uint SetNofs = IoctlEncoding.Iow(FuseDeviceIoctl.Magic, 100, sizeof(uint));

    /// <summary>FUSE_DEV_IOC_ADD_IOMAP = _IO(229, 101): privileged pre-approval of an unattached fd.</summary>
    public static readonly uint AddIomap = IoctlEncoding.Io(FuseDeviceIoctl.Magic, 101);

    /// <summary>FUSE_DEV_IOC_IOMAP_SET_BLOCKSIZE = _IOW(229, 102, struct fuse_iomap_backing_info).</summary>
    public static readonly uint IomapSetBlocksize = IoctlEncoding.Iow(FuseDeviceIoctl.Magic, 102, System.Runtime.CompilerServices.Unsafe.SizeOf<FuseIomapBackingInfo>());
}
