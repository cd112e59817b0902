namespace Fuselage.Interop.Fuse;

/// <summary>Protocol-wide constants of the FUSE kernel ABI (fuse_kernel.h 7.45, Linux 6.18).</summary>
public static class FuseProtocol
{
    /// <summary>FUSE_KERNEL_VERSION: the major version; both sides must agree.</summary>
    public const uint KernelVersion = 7;

    /// <summary>FUSE_KERNEL_MINOR_VERSION on Linux 6.18. Both sides use the smaller minor.</summary>
    public const uint KernelMinorVersion = 45;

    /// <summary>FUSE_ROOT_ID: node id of the mount root; never looked up, never forgotten.</summary>
    public const ulong RootId = 1;

    /// <summary>FUSE_MIN_READ_BUFFER: a read() of /dev/fuse must offer at least this many bytes
    /// (and at least in_header + write_in + max_write), else EINVAL.</summary>
    public const int MinReadBuffer = 8192;

    /// <summary>sizeof(fuse_in_header) + sizeof(fuse_write_in): what a read buffer needs on top of max_write.</summary>
    public const int ReadBufferOverhead = 80;

    /// <summary>Pages per request the kernel uses unless <see cref="FuseInitFlags.MaxPages"/> is negotiated.</summary>
    public const int DefaultMaxPages = 32;

    /// <summary>FUSE_INVALID_UIDGID: uid/gid in <see cref="FuseInHeader"/> that has no mapping (idmapped mounts).</summary>
    public const uint InvalidUidGid = 0xFFFF_FFFF;

    // Request ids (fs/fuse/dev.c).
    /// <summary>FUSE_REQ_ID_STEP: ids the kernel hands out are even, stepping by 2.</summary>
    public const ulong RequestIdStep = 1UL << 1;

    /// <summary>FUSE_INT_REQ_BIT: an INTERRUPT's own unique is the target's unique with this bit set.</summary>
    public const ulong InterruptRequestBit = 1UL << 0;

    /// <summary>FUSE_UNIQUE_RESEND: set in unique on requests re-queued after <see cref="FuseNotifyCode.Resend"/>.</summary>
    public const ulong UniqueResendBit = 1UL << 63;

    // Byte-swap detection values: never valid, only tell that the peer has the other endianness.
    /// <summary>FUSE_INIT_BSWAP_RESERVED.</summary>
    public const uint InitBswapReserved = 436207616;

    /// <summary>CUSE_INIT_BSWAP_RESERVED.</summary>
    public const uint CuseInitBswapReserved = 1048576;

    // Short struct sizes used by old minors (FUSE_COMPAT_*).
    /// <summary>FUSE_COMPAT_ENTRY_OUT_SIZE: fuse_entry_out for minor &lt; 9.</summary>
    public const int CompatEntryOutSize = 120;

    /// <summary>FUSE_COMPAT_ATTR_OUT_SIZE: fuse_attr_out for minor &lt; 9.</summary>
    public const int CompatAttrOutSize = 96;

    /// <summary>FUSE_COMPAT_MKNOD_IN_SIZE: fuse_mknod_in without umask (minor &lt; 12).</summary>
    public const int CompatMknodInSize = 8;

    /// <summary>FUSE_COMPAT_WRITE_IN_SIZE: fuse_write_in without lock_owner/flags (minor &lt; 9).</summary>
    public const int CompatWriteInSize = 24;

    /// <summary>FUSE_COMPAT_STATFS_SIZE: fuse_statfs_out without frsize/spare (minor &lt; 4).</summary>
    public const int CompatStatfsSize = 48;

    /// <summary>FUSE_COMPAT_SETXATTR_IN_SIZE: fuse_setxattr_in sent when <see cref="FuseInitFlags.SetxattrExt"/> is not negotiated.</summary>
    public const int CompatSetxattrInSize = 8;

    /// <summary>FUSE_COMPAT_INIT_OUT_SIZE: fuse_init_out for minor &lt; 5.</summary>
    public const int CompatInitOutSize = 8;

    /// <summary>FUSE_COMPAT_22_INIT_OUT_SIZE: fuse_init_out for minor &lt; 23.</summary>
    public const int Compat22InitOutSize = 24;

    // Directory records.
    /// <summary>FUSE_NAME_OFFSET: the name of a <see cref="FuseDirent"/> record starts here.</summary>
    public const int NameOffset = 24;

    /// <summary>FUSE_NAME_OFFSET_DIRENTPLUS: the name of a <see cref="FuseDirentplus"/> record starts here.</summary>
    public const int NameOffsetDirentplus = 152;

    /// <summary>FUSE_NAME_MAX (PATH_MAX - 1 since Linux 6.14): longest name the kernel accepts in a directory record,
    /// and in LOOKUP and entry notifications once <see cref="FuseInitFlags.MaxPages"/> gives max_pages &gt; 1.</summary>
    public const int NameMax = 4095;

    /// <summary>FUSE_NAME_LOW_MAX: the kernel's name limit for LOOKUP and entry notifications without max_pages &gt; 1.</summary>
    public const int NameLowMax = 1024;

    /// <summary>FUSE_DIRENT_ALIGN / FUSE_REC_ALIGN: round a record size up to 8 bytes.</summary>
    public static int RecordAlign(int size) => (size + 7) & ~7;

    /// <summary>Size of a READDIR record with a name of <paramref name="nameLength"/> bytes (FUSE_DIRENT_SIZE).</summary>
    public static int DirentSize(int nameLength) => RecordAlign(NameOffset + nameLength);

    /// <summary>Size of a READDIRPLUS record with a name of <paramref name="nameLength"/> bytes (FUSE_DIRENTPLUS_SIZE).</summary>
    public static int DirentplusSize(int nameLength) => RecordAlign(NameOffsetDirentplus + nameLength);

    /// <summary>FUSE_IOCTL_MAX_IOV: most iovecs an unrestricted ioctl reply may ask for.</summary>
    public const int IoctlMaxIov = 256;

    /// <summary>CUSE_INIT_INFO_MAX: longest device-info string after cuse_init_out.</summary>
    public const int CuseInitInfoMax = 4096;

    /// <summary>FUSE_MAX_NR_SECCTX: extension types 0..31 are the legacy security-context block.</summary>
    public const uint MaxNrSecctx = 31;
}

/// <summary>Type of a request extension record (<see cref="FuseExtHeader.Type"/>, enum fuse_ext_type).
/// Types 0..<see cref="FuseProtocol.MaxNrSecctx"/> are a <see cref="FuseSecctxHeader"/> block.</summary>
public enum FuseExtensionType : uint
{
    /// <summary>FUSE_EXT_GROUPS: a <see cref="FuseSuppGroups"/> record follows the header.</summary>
    Groups = 32,
}
