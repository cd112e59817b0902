using System.Runtime.CompilerServices;

namespace Fuselage.Interop.Fuse;

/// <summary>ioctl requests on a /dev/fuse fd (fuse_kernel.h 7.45 + Linux 6.18 SYNC_INIT).
/// The experimental iomap ioctls are in <c>Fuselage.Interop.Iomap.IomapDeviceIoctl</c>.</summary>
public static class FuseDeviceIoctl
{
    /// <summary>FUSE_DEV_IOC_MAGIC (0xE5).</summary>
    public const uint Magic = 229;

    /// <summary>FUSE_DEV_IOC_CLONE = _IOR(229, 0, uint32_t): attach this new fd to the connection of the fd passed as a u32.</summary>
    public static readonly uint Clone = IoctlEncoding.Ior(Magic, 0, sizeof(uint));

    /// <summary>FUSE_DEV_IOC_BACKING_OPEN = _IOW(229, 1, struct fuse_backing_map): returns a backing id.</summary>
    public static readonly uint BackingOpen = IoctlEncoding.Iow(Magic, 1, Unsafe.SizeOf<FuseBackingMap>());

    /// <summary>FUSE_DEV_IOC_BACKING_CLOSE = _IOW(229, 2, uint32_t): release a backing id.</summary>
    public static readonly uint BackingClose = IoctlEncoding.Iow(Magic, 2, sizeof(uint));

    /// <summary>FUSE_DEV_IOC_SYNC_INIT = _IO(229, 3) (Linux 6.18): call before mount(2) so mount waits for the INIT reply.</summary>
    public static readonly uint SyncInit = IoctlEncoding.Io(Magic, 3);
}
