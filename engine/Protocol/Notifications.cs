using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Fuselage.Interop;
using Fuselage.Interop.Fuse;

namespace Fuselage;

/// <summary>
/// Server-to-kernel notifications (unique 0, error = the notification code), written to /dev/fuse — on every
/// transport, FUSE-over-io_uring included. Call them from a thread of your own, never from inside a filesystem
/// method the kernel is waiting on: the kernel may hold the very lock the notification needs (a deadlock).
/// Each returns 0 or <c>-errno</c> (ENOENT: the kernel does not know that inode or name, nothing to do).
/// </summary>
public sealed class Notifications
{
    private readonly FuseMount _mount;

    internal Notifications(FuseMount mount) => _mount = mount;

    /// <summary>Drops cached attributes and, from <paramref name="offset"/> for <paramref name="length"/> bytes (0: to the end), cached data of <paramref name="ino"/>. A negative offset drops attributes only.</summary>
    public int InvalidateInode(ulong ino, long offset = 0, long length = 0)
    {
        Span<byte> message = stackalloc byte[Request.FuseOutHeaderSize + Unsafe.SizeOf<FuseNotifyInvalInodeOut>()];
        MemoryMarshal.Write(message[Request.FuseOutHeaderSize..], new FuseNotifyInvalInodeOut { Ino = ino, Off = offset, Len = length });
        return Send(message, FuseNotifyCode.InvalInode);
    }

    /// <summary>Drops the cached name <paramref name="name"/> in <paramref name="parent"/> (with <paramref name="expireOnly"/>, only marks it stale).</summary>
    public int InvalidateEntry(ulong parent, ReadOnlySpan<byte> name, bool expireOnly = false)
    {
        if (name.Length is 0 or > DirentLayout.NameMax) return -Errno.EINVAL;
        int fixedSize = Request.FuseOutHeaderSize + Unsafe.SizeOf<FuseNotifyInvalEntryOut>();
        Span<byte> message = stackalloc byte[fixedSize + DirentLayout.NameMax + 1];
        MemoryMarshal.Write(message[Request.FuseOutHeaderSize..], new FuseNotifyInvalEntryOut
        {
            Parent = parent, Namelen = (uint)name.Length, Flags = expireOnly ? (uint)FuseNotifyInvalEntryFlags.ExpireOnly : 0,
        });
        name.CopyTo(message[fixedSize..]);
        message[fixedSize + name.Length] = 0; // the kernel wants the NUL and counts it in len
        return Send(message[..(fixedSize + name.Length + 1)], FuseNotifyCode.InvalEntry);
    }

    /// <summary>Tells the kernel <paramref name="name"/> in <paramref name="parent"/> (inode <paramref name="child"/>) was deleted behind its back.</summary>
    public int Delete(ulong parent, ulong child, ReadOnlySpan<byte> name)
    {
        if (name.Length is 0 or > DirentLayout.NameMax) return -Errno.EINVAL;
        int fixedSize = Request.FuseOutHeaderSize + Unsafe.SizeOf<FuseNotifyDeleteOut>();
        Span<byte> message = stackalloc byte[fixedSize + DirentLayout.NameMax + 1];
        MemoryMarshal.Write(message[Request.FuseOutHeaderSize..], new FuseNotifyDeleteOut { Parent = parent, Child = child, Namelen = (uint)name.Length });
        name.CopyTo(message[fixedSize..]);
        message[fixedSize + name.Length] = 0;
        return Send(message[..(fixedSize + name.Length + 1)], FuseNotifyCode.Delete);
    }

    /// <summary>Wakes a poll() waiting on the kernel handle the filesystem received in POLL.</summary>
    public int PollWakeup(ulong kernelHandle)
    {
        Span<byte> message = stackalloc byte[Request.FuseOutHeaderSize + Unsafe.SizeOf<FuseNotifyPollWakeupOut>()];
        MemoryMarshal.Write(message[Request.FuseOutHeaderSize..], new FuseNotifyPollWakeupOut { Kh = kernelHandle });
        return Send(message, FuseNotifyCode.Poll);
    }

    /// <summary>Puts <paramref name="data"/> into the kernel's page cache of <paramref name="ino"/> at <paramref name="offset"/>.</summary>
    public int Store(ulong ino, long offset, ReadOnlySpan<byte> data)
    {
        int fixedSize = Request.FuseOutHeaderSize + Unsafe.SizeOf<FuseNotifyStoreOut>();
        byte[] message = ArrayPool<byte>.Shared.Rent(fixedSize + data.Length);
        try
        {
            MemoryMarshal.Write(message.AsSpan(Request.FuseOutHeaderSize), new FuseNotifyStoreOut { NodeId = ino, Offset = (ulong)offset, Size = (uint)data.Length });
            data.CopyTo(message.AsSpan(fixedSize));
            return Send(message.AsSpan(0, fixedSize + data.Length), FuseNotifyCode.Store);
        }
        finally { ArrayPool<byte>.Shared.Return(message); }
    }

    private int Send(Span<byte> message, FuseNotifyCode code)
    {
        MemoryMarshal.Write(message, new FuseOutHeader { Len = (uint)message.Length, Error = (int)code, Unique = 0 });
        int fd = _mount.Fd;
        if (fd < 0) return -Errno.ENOTCONN;
        return Libc.Write(fd, message) < 0 ? -Errno.Last : 0;
    }
}
