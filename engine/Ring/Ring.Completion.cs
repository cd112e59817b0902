using System.Runtime.CompilerServices;
using Fuselage.Interop;
using Fuselage.Interop.IoUring;

namespace Fuselage.Ring;

public sealed unsafe partial class Ring
{
    /// <summary>CQEs in the CQ ring not yet consumed (acquire-load of the kernel-written tail).</summary>
    public uint CqReady { get { ThrowIfDisposed(); return ReadyCqes; } } // the CQ ring is unmapped once disposed

    private uint ReadyCqes => Volatile.Read(ref *_cqTail) - _cqHeadLocal;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ref IoUringCqe CqeAt(uint index) => ref *(IoUringCqe*)(_cqes + ((nuint)(index & _cqMask) << _cqeShift));

    /// <summary>
    /// The oldest unconsumed CQE, without consuming it (call <see cref="AdvanceCq"/> after handling it).
    /// When the CQ is empty but the kernel holds completions back (overflow, pending task work), they are
    /// flushed into the ring with io_uring_enter(GETEVENTS) first.
    /// </summary>
    public bool TryPeekCqe(out IoUringCqe cqe)
    {
        ThrowIfDisposed();
        bool flushed = false;
        while (true)
        {
            if (Volatile.Read(ref *_cqTail) == _cqHeadLocal)
            {
                if (flushed || !CqNeedsFlush)
                {
                    cqe = default;
                    return false;
                }
                FlushCompletions();
                flushed = true;
                continue;
            }
            ref IoUringCqe head = ref CqeAt(_cqHeadLocal);
            if (IsPadding(in head))
            {
                ReleaseCqes(1);
                continue;
            }
            if (head.UserData >= ReservedUserDataStart)
            {
                HandleInternalCqe(in head);
                ReleaseCqes(1);
                continue;
            }
            cqe = head;
            return true;
        }
    }

    /// <summary>As <see cref="TryPeekCqe"/> on a CQE32 ring, including the extra 16 bytes.</summary>
    public bool TryPeekCqe32(out IoUringCqe32 cqe)
    {
        if (CqeSize != IoUringConstants.Cqe32Size)
            throw new InvalidOperationException("The ring was not set up with IORING_SETUP_CQE32.");
        if (!TryPeekCqe(out _))
        {
            cqe = default;
            return false;
        }
        cqe = Unsafe.As<IoUringCqe, IoUringCqe32>(ref CqeAt(_cqHeadLocal));
        return true;
    }

    /// <summary>Consumes <paramref name="count"/> CQEs returned by <see cref="TryPeekCqe"/> (one at a time).</summary>
    public void AdvanceCq(uint count = 1)
    {
        ThrowIfDisposed();
        if (count > ReadyCqes)
            throw new ArgumentOutOfRangeException(nameof(count), "More CQEs than are ready.");
        ReleaseCqes(count);
    }

    /// <summary>Peeks and consumes the oldest CQE.</summary>
    public bool TryReapCqe(out IoUringCqe cqe)
    {
        if (!TryPeekCqe(out cqe))
            return false;
        ReleaseCqes(1);
        return true;
    }

    /// <summary>Copies up to <paramref name="destination"/>.Length CQEs out and consumes them. Returns the count.</summary>
    public int ReapCqes(Span<IoUringCqe> destination)
    {
        int copied = 0;
        while (copied < destination.Length && TryPeekCqe(out destination[copied]))
        {
            ReleaseCqes(1);
            copied++;
        }
        return copied;
    }

    /// <summary>
    /// Hands every ready CQE to <paramref name="handler"/>, releasing each batch with one store of the CQ head,
    /// and flushes completions the kernel held back. Returns how many CQEs were handled.
    /// </summary>
    public int ForEachCqe<THandler>(ref THandler handler) where THandler : struct, ICqeHandler
    {
        ThrowIfDisposed();
        try
        {
            return ForEachCqeCore(ref handler);
        }
        catch
        {
            // The CQEs consumed before the handler threw (and the one it threw on) go back to the kernel now, or
            // io_uring_enter would count them as still waiting and end every wait at once.
            Volatile.Write(ref *_cqHead, _cqHeadLocal);
            throw;
        }
    }

    private int ForEachCqeCore<THandler>(ref THandler handler) where THandler : struct, ICqeHandler
    {
        int handled = 0;
        while (true)
        {
            uint tail = Volatile.Read(ref *_cqTail);
            uint head = _cqHeadLocal;
            if (head == tail)
            {
                if (!CqNeedsFlush || !FlushCompletions())
                    return handled;
                continue;
            }
            for (; head != tail; head++)
            {
                ref IoUringCqe cqe = ref CqeAt(head);
                if (IsPadding(in cqe))
                    continue;
                head += CqeSlots(in cqe) - 1; // the loop steps over the first slot
                if (cqe.UserData >= ReservedUserDataStart)
                {
                    HandleInternalCqe(in cqe);
                    continue;
                }
                AccountCompletion(cqe.Flags);
                // Consumed before it is handled: a handler that throws must not see it (nor count it) again.
                _cqHeadLocal = head + 1;
                handler.Handle(in cqe);
                handled++;
            }
            _cqHeadLocal = head;
            Volatile.Write(ref *_cqHead, head); // release: the kernel may reuse the slots only after our reads
        }
    }

    /// <summary>Advances the CQ head by <paramref name="count"/> user CQEs (internal ones are accounted where handled).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void ReleaseCqes(uint count)
    {
        uint head = _cqHeadLocal;
        for (uint i = 0; i < count; i++)
        {
            ref IoUringCqe cqe = ref CqeAt(head);
            if (cqe.UserData < ReservedUserDataStart && !IsPadding(in cqe))
                AccountCompletion(cqe.Flags);
            head += CqeSlots(in cqe);
        }
        _cqHeadLocal = head;
        Volatile.Write(ref *_cqHead, _cqHeadLocal);
    }

    /// <summary>A CQE_MIXED ring's IORING_CQE_F_SKIP entry: it only fills the last slot before a wrap, no operation posted it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool IsPadding(in IoUringCqe cqe) => _cqeMixed && (cqe.Flags & IoUringCqeFlags.Skip) != 0;

    /// <summary>CQ slots the CQE takes: two for a 32-byte CQE (IORING_CQE_F_32) on a CQE_MIXED ring, otherwise one.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private uint CqeSlots(in IoUringCqe cqe) => _cqeMixed && (cqe.Flags & IoUringCqeFlags.Cqe32) != 0 ? 2u : 1u;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void AccountCompletion(IoUringCqeFlags flags)
    {
        // Clamped: CQEs we did not submit (MSG_RING from another ring) must not drive the count negative.
        if ((flags & IoUringCqeFlags.More) == 0 && _inFlight > 0)
            _inFlight--;
    }

    private void HandleInternalCqe(in IoUringCqe cqe)
    {
        AccountCompletion(cqe.Flags);
        if (cqe.UserData == WakeUserData && (cqe.Flags & IoUringCqeFlags.More) == 0)
            _wakeReadArmed = false; // re-posted by the next submit
    }

    /// <summary>Asks the kernel to move held-back completions into the CQ ring. Returns true if any are ready now.</summary>
    private bool FlushCompletions()
    {
        // Release the head first so the kernel sees the room we made.
        Volatile.Write(ref *_cqHead, _cqHeadLocal);
        while (true)
        {
            int result = Libc.io_uring_enter(_ringFd, 0, 0, IoUringEnterFlags.GetEvents, null, 0);
            if (result >= 0)
                break;
            int errno = Errno.Last;
            if (errno == Errno.EINTR)
                continue;
            if (errno == Errno.EAGAIN || errno == Errno.EBUSY)
                break;
            throw new ErrnoException("io_uring_enter(GETEVENTS)", errno);
        }
        return Volatile.Read(ref *_cqTail) != _cqHeadLocal;
    }
}
