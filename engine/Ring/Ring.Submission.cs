using System.Diagnostics;
using System.Runtime.CompilerServices;
using Fuselage.Interop;
using Fuselage.Interop.IoUring;

namespace Fuselage.Ring;

public sealed unsafe partial class Ring
{
    /// <summary>Free SQ slots. Without SQPOLL the kernel moves the SQ head only inside io_uring_enter.</summary>
    public uint SqSpaceLeft { get { ThrowIfDisposed(); return FreeSqSlots; } } // the SQ ring is unmapped once disposed

    /// <summary>SQEs handed out (or published) that the kernel has not consumed yet.</summary>
    public uint SubmissionsPending { get { ThrowIfDisposed(); return UnconsumedSqes; } }

    // Unchecked, for the ring's own paths (which check once on entry, or run while Dispose drains).
    private uint FreeSqSlots => SqEntries - UnconsumedSqes;
    private uint UnconsumedSqes => _sqeTail - Volatile.Read(ref *_sqHead);

    /// <summary>
    /// A zeroed 64-byte SQE (on an SQE128 ring, the first half of a zeroed 128-byte slot). When the SQ is full the
    /// queued SQEs are submitted first; throws if the kernel still accepts none (reap completions, then retry).
    /// The SQE is sent by the next Submit/SubmitAndWait.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ref IoUringSqe GetSqe()
    {
        ThrowIfDisposed();
        if (FreeSqSlots == 0)
            MakeSqSpace();
        return ref NextSqe();
    }

    /// <summary>A zeroed 128-byte SQE with its 80-byte command area; only on rings set up with SQE128.</summary>
    public ref IoUringSqe128 GetSqe128()
    {
        if (SqeSize != IoUringConstants.Sqe128Size)
            throw new InvalidOperationException("The ring was not set up with IORING_SETUP_SQE128.");
        return ref Unsafe.As<IoUringSqe, IoUringSqe128>(ref GetSqe());
    }

    /// <summary>SQEs handed out since the ring was made: names the one handed out last (see <see cref="LastSqe"/>).</summary>
    public uint SqesHandedOut => _sqeTail;

    /// <summary>
    /// The SQE handed out last, while the kernel has not consumed it: to add flags (IOSQE_IO_LINK) once the caller
    /// knows what follows it. Throws when it was submitted already.
    /// </summary>
    public ref IoUringSqe LastSqe
    {
        get
        {
            ThrowIfDisposed();
            if (UnconsumedSqes == 0) throw new InvalidOperationException("No SQE is waiting to be submitted.");
            return ref *(IoUringSqe*)(_sqes + ((nuint)((_sqeTail - 1) & _sqMask) << _sqeShift));
        }
    }

    private void MakeSqSpace()
    {
        Submit();
        if (FreeSqSlots == 0 && IsSqPoll)
            WaitForSqSpace();
        if (FreeSqSlots == 0)
            throw new InvalidOperationException("The submission queue is full and the kernel accepted none of it; reap completions first.");
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ref IoUringSqe NextSqe()
    {
        byte* slot = _sqes + ((nuint)(_sqeTail & _sqMask) << _sqeShift);
        Unsafe.InitBlockUnaligned(slot, 0, (uint)SqeSize);
        _sqeTail++;
        return ref *(IoUringSqe*)slot;
    }

    /// <summary>Submits the queued SQEs without waiting. Returns how many the kernel consumed.</summary>
    public int Submit()
    {
        ThrowIfDisposed();
        return Enter(0, wait: false, timeout: null, out _);
    }

    /// <summary>
    /// Asks the kernel to cancel every operation in flight and submits that with whatever else is queued. Their final
    /// CQEs follow (-ECANCELED, or their result when they finished first); operations that cannot be cancelled run on.
    /// </summary>
    public void CancelAll()
    {
        ThrowIfDisposed();
        if (FreeSqSlots == 0) MakeSqSpace(); // as GetSqe: a Submit alone leaves the SQ full on SQPOLL or after EAGAIN
        NextSqe().PrepareCancelAll(InternalCancelUserData);
        Submit();
    }

    /// <summary>
    /// Queues an ASYNC_CANCEL of the operation submitted with <paramref name="targetUserData"/>, sent with the next
    /// submit. That operation still posts its CQE (-ECANCELED, or its result when it finished first); the cancel's own
    /// CQE stays internal, also when nothing matched.
    /// </summary>
    public void Cancel(ulong targetUserData) => GetSqe().PrepareCancel(targetUserData, InternalCancelUserData);

    /// <summary>
    /// Submits the queued SQEs and waits until at least <paramref name="minComplete"/> CQEs are ready
    /// (a wake-up counts as one). Returns how many SQEs the kernel consumed.
    /// </summary>
    public int SubmitAndWait(uint minComplete)
    {
        ThrowIfDisposed();
        return Enter(minComplete, wait: true, timeout: null, out _);
    }

    /// <summary>As <see cref="SubmitAndWait(uint)"/>, giving up after <paramref name="timeout"/>; returns false on timeout.</summary>
    public bool SubmitAndWait(uint minComplete, TimeSpan timeout)
    {
        ThrowIfDisposed();
        long ticks = Math.Max(0, timeout.Ticks);
        var ts = new KernelTimespec
        {
            Seconds = ticks / TimeSpan.TicksPerSecond,
            Nanoseconds = ticks % TimeSpan.TicksPerSecond * 100,
        };
        Enter(minComplete, wait: true, &ts, out bool timedOut);
        return !timedOut;
    }

    private bool IsSqPoll => (AcceptedFlags & IoUringSetupFlags.SqPoll) != 0;

    /// <summary>SQPOLL only: the kernel thread consumes SQEs on its own; wait until it has made room.</summary>
    private void WaitForSqSpace()
    {
        while (FreeSqSlots == 0)
        {
            if (Libc.io_uring_enter(_ringFd, 0, 0, IoUringEnterFlags.SqWait, null, 0) < 0 && Errno.Last != Errno.EINTR)
                throw new ErrnoException("io_uring_enter(SQ_WAIT)", Errno.Last);
        }
    }

    /// <summary>True when the kernel holds completions back (CQ overflow list, or task work with TASKRUN_FLAG).</summary>
    private bool CqNeedsFlush =>
        (Volatile.Read(ref *_sqFlags) & (uint)(IoUringSqRingFlags.CqOverflow | IoUringSqRingFlags.TaskRun)) != 0;

    /// <summary>Makes the queued SQEs visible to the kernel: release-store of the tail after the SQE stores.</summary>
    private void PublishSqes()
    {
        uint tail = _sqeTail;
        for (uint index = _sqPublished; index != tail; index++)
        {
            var flags = (IoSqeFlags)_sqes[((nuint)(index & _sqMask) << _sqeShift) + 1];
            if ((flags & IoSqeFlags.CqeSkipSuccess) == 0)
                _inFlight++;
        }
        _sqPublished = tail;
        Volatile.Write(ref *_sqTail, tail);
    }

    private int Enter(uint minComplete, bool wait, KernelTimespec* timeout, out bool timedOut)
    {
        timedOut = false;
        // No more than the CQ holds can be ready at once: the kernel caps min_complete the same way (io_cqring_wait)
        // and returns with the CQ full, which would never satisfy the ReadyCqes check below.
        minComplete = Math.Min(minComplete, CqEntries);
        ArmWakeIfNeeded();
        PublishSqes();

        IoUringGeteventsArg extArg = default;
        void* arg = null;
        nuint argSize = 0;
        var baseFlags = IoUringEnterFlags.None;
        // The kernel's timeout is relative and restarts with every call; a call that also submitted returns the
        // count even when its wait timed out, so each further call waits only for what is left.
        KernelTimespec remaining = default;
        long deadline = 0;
        if (timeout != null)
        {
            remaining = *timeout;
            deadline = Stopwatch.GetTimestamp() + (long)((timeout->Seconds + timeout->Nanoseconds / 1e9) * Stopwatch.Frequency);
            extArg.Ts = (ulong)&remaining;
            arg = &extArg;
            argSize = (nuint)sizeof(IoUringGeteventsArg);
            baseFlags |= IoUringEnterFlags.ExtArg;
        }

        int consumedTotal = 0;
        bool holdSubmissions = false; // after EAGAIN/EBUSY: only wait, let completions free kernel resources
        for (bool again = false; ; again = true)
        {
            uint toSubmit = holdSubmissions ? 0 : UnconsumedSqes;
            bool waitNow = wait && ReadyCqes < minComplete;
            var flags = baseFlags;
            if (IsSqPoll)
            {
                // The kernel thread picks SQEs up by itself; it only needs a kick when it went to sleep.
                // Full fence between the tail store and the flags load, as the kernel orders the other way round.
                Interlocked.MemoryBarrier();
                bool sleeping = (Volatile.Read(ref *_sqFlags) & (uint)IoUringSqRingFlags.NeedWakeup) != 0;
                if (sleeping && toSubmit != 0)
                    flags |= IoUringEnterFlags.SqWakeup;
                else
                    toSubmit = 0;
            }
            if (waitNow || CqNeedsFlush)
                flags |= IoUringEnterFlags.GetEvents;
            if (toSubmit == 0 && flags == baseFlags)
                return consumedTotal; // nothing to submit, nothing to wait for, nothing to flush
            if (timeout != null && again)
            {
                long left = deadline - Stopwatch.GetTimestamp();
                if (left <= 0)
                {
                    timedOut = true;
                    return consumedTotal;
                }
                double seconds = (double)left / Stopwatch.Frequency;
                remaining = new KernelTimespec { Seconds = (long)seconds, Nanoseconds = (long)((seconds - Math.Floor(seconds)) * 1e9) };
            }

            int result = Libc.io_uring_enter(_ringFd, toSubmit, waitNow ? minComplete : 0, flags, arg, argSize);
            if (result >= 0)
            {
                consumedTotal += result;
                // The kernel reports consumed SQEs even when its wait was cut short (signal): re-check the CQ.
                if (!wait || ReadyCqes >= minComplete)
                    return consumedTotal;
                continue;
            }

            int errno = Errno.Last;
            switch (errno)
            {
                case Errno.EINTR:
                    continue;
                case Errno.ETIME:
                    timedOut = true;
                    return consumedTotal;
                case Errno.EAGAIN:
                case Errno.EBUSY:
                    if (!wait || holdSubmissions || ReadyCqes > 0)
                        return consumedTotal;
                    holdSubmissions = true;
                    continue;
                default:
                    throw new ErrnoException("io_uring_enter", errno);
            }
        }
    }
}
