namespace Fuselage.Interop.Fuse;

/// <summary>The generic Linux _IOC request encoding (x86_64, arm64): dir&lt;&lt;30 | size&lt;&lt;16 | type&lt;&lt;8 | nr.
/// powerpc/mips/sparc/alpha encode differently and are not supported.</summary>
public static class IoctlEncoding
{
    /// <summary>_IOC_NONE.</summary>
    public const uint DirectionNone = 0;
    /// <summary>_IOC_WRITE: user space writes the argument to the kernel.</summary>
    public const uint DirectionWrite = 1;
    /// <summary>_IOC_READ: the kernel writes the argument back to user space.</summary>
    public const uint DirectionRead = 2;

    /// <summary>_IOC(dir, type, nr, size).</summary>
    public static uint Encode(uint direction, uint type, uint number, uint size) =>
        (direction << 30) | (size << 16) | (type << 8) | number;

    /// <summary>_IO(type, nr).</summary>
    public static uint Io(uint type, uint number) => Encode(DirectionNone, type, number, 0);

    /// <summary>_IOR(type, nr, size).</summary>
    public static uint Ior(uint type, uint number, int size) => Encode(DirectionRead, type, number, (uint)size);

    /// <summary>_IOW(type, nr, size).</summary>
    public static uint Iow(uint type, uint number, int size) => Encode(DirectionWrite, type, number, (uint)size);

    /// <summary>_IOWR(type, nr, size).</summary>
    public static uint Iowr(uint type, uint number, int size) => Encode(DirectionRead | DirectionWrite, type, number, (uint)size);
}
