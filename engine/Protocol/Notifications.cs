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
/// A kernel older than a notification fails it with EINVAL (the code is unknown to it): <see cref="IncrementEpoch"/>
/// needs protocol 7.44 (Linux 6.16), <see cref="Prune"/> 7.45 (Linux 6.18).
/// </summary>
public sealed class Notifications
{
    private readonly FuseMount _mount;

    internal Notifications(FuseMount mount) => _mount = mount;

    /// <summary>Drops cached attributes and, from <paramref name="offset"/> for <paramref name="length"/> bytes (0: to the end), cached data of <paramref name="ino"/>. A negative offset drops attributes only.</summary>
    public int InvalidateInode(ulong ino, long offset = 0, long length = 0)
        => Send(new FuseNotifyInvalInodeOut { Ino = ino, Off = offset, Len = length }, FuseNotifyCode.InvalInode);

    /// <summary>Drops the cached name <paramref name="name"/> in <paramref name="parent"/> (with <paramref name="expireOnly"/>, only marks it stale).</summary>
    public int InvalidateEntry(ulong parent, ReadOnlySpan<byte> name, bool expireOnly = false)
    {
        if (name.Length is 0 or > DirentLayout.NameMax) return -Errno.EINVAL;
        Span<byte> terminated = stackalloc byte[DirentLayout.NameMax + 1];
        return Send(new FuseNotifyInvalEntryOut
        {
            Parent = parent, Namelen = (uint)name.Length, Flags = expireOnly ? (uint)FuseNotifyInvalEntryFlags.ExpireOnly : 0,
        }, FuseNotifyCode.InvalEntry, Terminated(name, terminated));
    }

    /// <summary>Tells the kernel <paramref name="name"/> in <paramref name="parent"/> (inode <paramref name="child"/>) was deleted behind its back.</summary>
    public int Delete(ulong parent, ulong child, ReadOnlySpan<byte> name)
    {
        if (name.Length is 0 or > DirentLayout.NameMax) return -Errno.EINVAL;
        Span<byte> terminated = stackalloc byte[DirentLayout.NameMax + 1];
        return Send(new FuseNotifyDeleteOut { Parent = parent, Child = child, Namelen = (uint)name.Length },
            FuseNotifyCode.Delete, Terminated(name, terminated));
    }

    /// <summary>The name and its NUL, which the kernel wants after the struct (and counts in the length).</summary>
    private static ReadOnlySpan<byte> Terminated(ReadOnlySpan<byte> name, Span<byte> buffer)
    {
        name.CopyTo(buffer);
        buffer[name.Length] = 0;
        return buffer[..(name.Length + 1)];
    }

    /// <summary>Wakes a poll() waiting on the kernel handle the filesystem received in POLL.</summary>
    public int PollWakeup(ulong kernelHandle) => Send(new FuseNotifyPollWakeupOut { Kh = kernelHandle }, FuseNotifyCode.Poll);

    /// <summary>Puts <paramref name="data"/> into the kernel's page cache of <paramref name="ino"/> at <paramref name="offset"/>.</summary>
    public int Store(ulong ino, long offset, ReadOnlySpan<byte> data)
        => Send(new FuseNotifyStoreOut { NodeId = ino, Offset = (ulong)offset, Size = (uint)data.Length }, FuseNotifyCode.Store, data);

    // Retrieve uniques: even, with bit 62 set. The kernel numbers its own requests 2, 4, 6, ... (bit 0 marks an
    // interrupt) and never comes near bit 62, so the answer cannot be mistaken for a live request. That matters on
    // FUSE-over-io_uring, where the answer is committed by its unique and the kernel looks that up among the
    // queue's requests in flight: a clash would end the other request with the answer's empty reply.
    private const ulong RetrieveUniqueBit = 1UL << 62;
    private const ulong RetrieveUniqueMask = 1UL << 63 | RetrieveUniqueBit | 1;
    private long _retrievesIssued;

    /// <summary>A fresh unique for one <see cref="Retrieve"/>. Note what it is for before calling Retrieve: the
    /// answer can reach <see cref="FileSystem.RetrieveReply"/> before Retrieve returns.</summary>
    public ulong NextRetrieveUnique() => RetrieveUniqueBit | (ulong)Interlocked.Increment(ref _retrievesIssued) << 1;

    /// <summary>
    /// Asks the kernel for the cached data of <paramref name="ino"/> from <paramref name="offset"/>, up to
    /// <paramref name="size"/> bytes. On 0 the answer comes once, as <see cref="FileSystem.RetrieveReply"/> with
    /// <paramref name="notifyUnique"/>: the pages cached contiguously from <paramref name="offset"/> (it stops at the
    /// first page not cached), at most max_write bytes and never past the kernel's file size; possibly no bytes.
    /// <paramref name="notifyUnique"/> must come from <see cref="NextRetrieveUnique"/> (EINVAL otherwise).
    /// ENOENT: the kernel does not know the inode, and no answer comes.
    /// </summary>
    public int Retrieve(ulong ino, long offset, uint size, ulong notifyUnique)
    {
        if (offset < 0 || (notifyUnique & RetrieveUniqueMask) != RetrieveUniqueBit) return -Errno.EINVAL;
        return Send(new FuseNotifyRetrieveOut { NotifyUnique = notifyUnique, NodeId = ino, Offset = (ulong)offset, Size = size },
            FuseNotifyCode.Retrieve);
    }

    /// <summary>
    /// Protocol 7.44: every name the kernel has cached so far is looked up again at its next use (the kernel
    /// compares each name's epoch with the connection's; kernels whose fuse module has the <c>inval_wq</c> parameter,
    /// set, also drop them in the background). For "everything may have changed", without naming each entry.
    /// </summary>
    public int IncrementEpoch() => SendHeaderOnly(FuseNotifyCode.IncEpoch);

    /// <summary>
    /// Protocol 7.40 (Linux 6.9): the kernel queues again every request a worker read from /dev/fuse and has not
    /// answered yet, each with <see cref="Request.IsResend"/> set (bit 63 of its unique), and the workers read them
    /// anew — for a filesystem that lost requests (a backend reconnected, a worker's state was reset) and wants
    /// them back instead of leaving their callers blocked. The first delivery's answer, if one still comes, is
    /// dropped by the kernel (ENOENT, which the engine ignores), so a method may run twice for one call.
    /// Requests that arrived on FUSE-over-io_uring queues are not resent: the kernel resends only what was read
    /// from /dev/fuse.
    /// </summary>
    public int Resend() => SendHeaderOnly(FuseNotifyCode.Resend);

    /// <summary>The kernel reads a notification in one write(2), which moves at most MAX_RW_COUNT bytes: INT_MAX
    /// rounded down to a page (taken as 64 KiB, the largest page size, so the limit holds everywhere).</summary>
    private const int MaxNotificationBytes = int.MaxValue & ~0xFFFF;
    private const int PruneOutSize = 16; // fuse_notify_prune_out

    /// <summary>Most node ids one <see cref="Prune"/> takes: what fits in one notification.</summary>
    public const int MaxPruneCount = (MaxNotificationBytes - Request.FuseOutHeaderSize - PruneOutSize) / sizeof(ulong);

    /// <summary>
    /// Protocol 7.45: drops the kernel's unused cached names and inodes for <paramref name="nodeIds"/>, which it then
    /// FORGETs. Ids the kernel does not hold, or still uses (an open file, a working directory), are skipped without
    /// an error. EINVAL for no ids or more than <see cref="MaxPruneCount"/>.
    /// </summary>
    public int Prune(ReadOnlySpan<ulong> nodeIds)
    {
        if (nodeIds.IsEmpty || nodeIds.Length > MaxPruneCount) return -Errno.EINVAL;
        return Send(new FuseNotifyPruneOut { Count = (uint)nodeIds.Length }, FuseNotifyCode.Prune, MemoryMarshal.AsBytes(nodeIds));
    }

    /// <summary>Header and <paramref name="body"/>, then <paramref name="tail"/> (a name, data, node ids) straight from
    /// the caller's memory: one write, nothing copied or allocated however large the tail.</summary>
    private int Send<T>(T body, FuseNotifyCode code, ReadOnlySpan<byte> tail = default) where T : unmanaged
    {
        Span<byte> message = stackalloc byte[Request.FuseOutHeaderSize + Unsafe.SizeOf<T>()];
        MemoryMarshal.Write(message[Request.FuseOutHeaderSize..], body);
        return Send(message, code, tail);
    }

    private int SendHeaderOnly(FuseNotifyCode code)
    {
        Span<byte> message = stackalloc byte[Request.FuseOutHeaderSize];
        return Send(message, code);
    }

    private int Send(Span<byte> message, FuseNotifyCode code, ReadOnlySpan<byte> tail = default)
    {
        MemoryMarshal.Write(message, new FuseOutHeader { Len = (uint)(message.Length + tail.Length), Error = (int)code, Unique = 0 });
        if (!_mount.TryBorrowFd(out int fd)) return -Errno.ENOTCONN;
        try
        {
            nint written = tail.IsEmpty ? Libc.Write(fd, message) : Libc.Write(fd, message, tail);
            return written < 0 ? -Errno.Last : 0;
        }
        finally { _mount.ReturnFd(); }
    }
}
