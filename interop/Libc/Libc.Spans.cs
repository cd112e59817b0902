namespace Fuselage.Interop;

/// <summary>Span overloads of the raw calls, so code above interop never touches pointers. Negative result = failure, errno in <see cref="Errno.Last"/>.</summary>
public static unsafe partial class Libc
{
    public static nint Read(int fd, Span<byte> buffer)
    {
        fixed (byte* p = buffer) return read(fd, p, (nuint)buffer.Length);
    }

    public static nint Write(int fd, ReadOnlySpan<byte> buffer)
    {
        fixed (byte* p = buffer) return write(fd, p, (nuint)buffer.Length);
    }

    /// <summary>One write of <paramref name="head"/> followed by <paramref name="tail"/> (writev), so a message
    /// whose tail is someone else's memory goes out without being copied.</summary>
    public static nint Write(int fd, ReadOnlySpan<byte> head, ReadOnlySpan<byte> tail)
    {
        fixed (byte* h = head)
        fixed (byte* t = tail)
        {
            var iov = stackalloc Iovec[2];
            iov[0] = new Iovec((nint)h, (nuint)head.Length);
            iov[1] = new Iovec((nint)t, (nuint)tail.Length);
            return writev(fd, iov, 2);
        }
    }

    public static nint PRead(int fd, Span<byte> buffer, long offset)
    {
        fixed (byte* p = buffer) return pread(fd, p, (nuint)buffer.Length, offset);
    }

    public static nint PWrite(int fd, ReadOnlySpan<byte> buffer, long offset)
    {
        fixed (byte* p = buffer) return pwrite(fd, p, (nuint)buffer.Length, offset);
    }

    /// <summary>ioctl whose argument is a struct passed by address (FUSE_DEV_IOC_BACKING_OPEN takes fuse_backing_map).</summary>
    public static int IoctlStruct<T>(int fd, ulong request, ref T argument) where T : unmanaged
    {
        fixed (T* p = &argument) return ioctl(fd, request, p);
    }

    /// <summary>ioctl with a 32-bit in/out argument (FUSE_DEV_IOC_CLONE takes the source fd this way).</summary>
    public static int IoctlInt(int fd, ulong request, ref uint argument) => IoctlStruct(fd, request, ref argument);
}
