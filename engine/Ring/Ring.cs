using System.Runtime.CompilerServices;
using Fuselage.Interop;
using Fuselage.Interop.IoUring;

namespace Fuselage.Ring;

/// <summary>
/// One io_uring instance: setup, the mapped SQ/CQ rings, SQE acquisition, submission, completion reaping,
/// registered buffers/files and a cross-thread wake-up.
/// </summary>
/// <remarks>
/// Single issuer: everything except <see cref="Wake"/> must be called from the thread that owns the ring
/// (with <see cref="IoUringSetupFlags.SingleIssuer"/>, the thread that created it). Nothing on the
/// submit/reap path allocates or locks.
/// user_data values from <see cref="ReservedUserDataStart"/> up are the ring's own and never reach callers.
/// </remarks>
public sealed unsafe partial class Ring : IDisposable
{
    /// <summary>user_data values at or above this are used internally (wake-up read, cancellations).</summary>
    public const ulong ReservedUserDataStart = 0xFFFF_FFFF_FFFF_FF00;

    internal const ulong WakeUserData = ulong.MaxValue;
    internal const ulong InternalCancelUserData = ulong.MaxValue - 1;

    /// <summary>Offset value meaning "the file's current position" for READ/WRITE/READV/WRITEV.</summary>
    public const ulong CurrentPosition = ulong.MaxValue;

    /// <summary>
    /// Flags dropped, in this order, when io_uring_setup answers EINVAL. Each one is a performance hint or
    /// bookkeeping aid that the ring works without; anything else the caller asked for is required.
    /// </summary>
    public static ReadOnlySpan<IoUringSetupFlags> OptionalSetupFlags =>
    [
        IoUringSetupFlags.SqRewind,
        IoUringSetupFlags.SqeMixed,
        IoUringSetupFlags.CqeMixed,
        IoUringSetupFlags.HybridIoPoll,
        IoUringSetupFlags.NoSqArray,
        IoUringSetupFlags.DeferTaskRun,
        IoUringSetupFlags.TaskRunFlag,
        IoUringSetupFlags.CoopTaskRun,
        IoUringSetupFlags.SingleIssuer,
        IoUringSetupFlags.SubmitAll,
    ];

    private readonly int _ringFd;
    private readonly TimeSpan _disposeDrainTimeout;

    private readonly void* _ringMap;
    private readonly nuint _ringMapSize;
    private readonly void* _cqMap; // only without IORING_FEAT_SINGLE_MMAP
    private readonly nuint _cqMapSize;
    private readonly void* _sqeMap;
    private readonly nuint _sqeMapSize;

    // SQ ring words (kernel-shared) and our private producer state.
    private readonly uint* _sqHead;
    private readonly uint* _sqTail;
    private readonly uint* _sqFlags;
    private readonly uint* _sqDropped;
    private readonly uint _sqMask;
    private readonly byte* _sqes;
    private readonly int _sqeShift;
    private uint _sqeTail;      // next slot to hand out
    private uint _sqPublished;  // tail value last made visible to the kernel

    // CQ ring words (kernel-shared) and our private consumer state.
    private readonly uint* _cqHead;
    private readonly uint* _cqTail;
    private readonly uint* _cqOverflow;
    private readonly uint _cqMask;
    private readonly byte* _cqes;
    private readonly int _cqeShift;
    private readonly bool _cqeMixed; // CQE_MIXED: 32-byte CQEs take two slots, and F_SKIP entries pad before a wrap
    private uint _cqHeadLocal;

    private long _inFlight;
    private bool _draining; // set while Dispose cancels and reaps, when the ring is still usable internally
    private int _disposed;

    /// <summary>Creates a ring with at least <paramref name="entries"/> SQ entries (the kernel rounds up to a power of two).</summary>
    public Ring(uint entries, RingOptions? options = null)
    {
        options ??= RingOptions.Default;
        _disposeDrainTimeout = options.DisposeDrainTimeout;

        var flags = options.Flags;
        if (options.CompletionQueueEntries != 0)
            flags |= IoUringSetupFlags.CqSize;
        RequestedFlags = flags;

        IoUringParams p;
        while (true)
        {
            p = default;
            p.Flags = flags;
            p.CqEntries = options.CompletionQueueEntries;
            _ringFd = Libc.io_uring_setup(entries, &p);
            if (_ringFd >= 0)
                break;
            int errno = Errno.Last;
            if (errno == Errno.EINTR)
                continue;
            if (errno != Errno.EINVAL || !TryDropOptionalFlag(ref flags))
                throw new ErrnoException("io_uring_setup", errno);
        }

        AcceptedFlags = flags;
        Features = p.Features;
        SqEntries = p.SqEntries;
        CqEntries = p.CqEntries;
        SqeSize = (flags & IoUringSetupFlags.Sqe128) != 0 ? IoUringConstants.Sqe128Size : IoUringConstants.SqeSize;
        CqeSize = (flags & IoUringSetupFlags.Cqe32) != 0 ? IoUringConstants.Cqe32Size : IoUringConstants.CqeSize;
        _sqeShift = SqeSize == 128 ? 7 : 6;
        _cqeShift = CqeSize == 32 ? 5 : 4;
        _cqeMixed = (flags & IoUringSetupFlags.CqeMixed) != 0;

        try
        {
            bool hasSqArray = (flags & IoUringSetupFlags.NoSqArray) == 0;
            // Without an SQ array the SQ part of the mapping ends before the CQEs; the CQ part decides the size.
            nuint sqSize = (hasSqArray ? p.SqOff.Array : p.SqOff.Dropped + sizeof(uint)) + p.SqEntries * sizeof(uint);
            nuint cqSize = p.CqOff.Cqes + ((nuint)p.CqEntries << _cqeShift);
            byte* sqRing;
            byte* cqRing;
            if ((p.Features & IoUringFeatures.SingleMmap) != 0)
            {
                _ringMapSize = Math.Max(sqSize, cqSize);
                _ringMap = Map(_ringMapSize, IoUringConstants.OffSqRing);
                sqRing = cqRing = (byte*)_ringMap;
            }
            else
            {
                _ringMapSize = sqSize;
                _ringMap = Map(sqSize, IoUringConstants.OffSqRing);
                _cqMapSize = cqSize;
                _cqMap = Map(cqSize, IoUringConstants.OffCqRing);
                sqRing = (byte*)_ringMap;
                cqRing = (byte*)_cqMap;
            }
            _sqeMapSize = (nuint)p.SqEntries << _sqeShift;
            _sqeMap = Map(_sqeMapSize, IoUringConstants.OffSqes);

            _sqHead = (uint*)(sqRing + p.SqOff.Head);
            _sqTail = (uint*)(sqRing + p.SqOff.Tail);
            _sqFlags = (uint*)(sqRing + p.SqOff.Flags);
            _sqDropped = (uint*)(sqRing + p.SqOff.Dropped);
            _sqMask = *(uint*)(sqRing + p.SqOff.RingMask);
            _sqes = (byte*)_sqeMap;
            if (hasSqArray)
            {
                // Identity mapping once: the SQE for tail t is always slot t & mask.
                uint* array = (uint*)(sqRing + p.SqOff.Array);
                for (uint i = 0; i < p.SqEntries; i++)
                    array[i] = i;
            }

            _cqHead = (uint*)(cqRing + p.CqOff.Head);
            _cqTail = (uint*)(cqRing + p.CqOff.Tail);
            _cqOverflow = (uint*)(cqRing + p.CqOff.Overflow);
            _cqMask = *(uint*)(cqRing + p.CqOff.RingMask);
            _cqes = cqRing + p.CqOff.Cqes;

            _sqeTail = _sqPublished = *_sqTail;
            _cqHeadLocal = *_cqHead;

            if (options.EnableWake)
                SetUpWake();
        }
        catch
        {
            ReleaseResources(drained: false);
            GC.SuppressFinalize(this);
            throw;
        }
    }

    ~Ring() => Release(disposing: false);

    /// <summary>The ring file descriptor (for MSG_RING targets and diagnostics).</summary>
    public int Fd => _ringFd;

    /// <summary>The setup flags asked for, including CQSIZE when a CQ size was given.</summary>
    public IoUringSetupFlags RequestedFlags { get; }

    /// <summary>The setup flags the kernel accepted (requested minus the optional ones it refused).</summary>
    public IoUringSetupFlags AcceptedFlags { get; }

    public IoUringFeatures Features { get; }
    public uint SqEntries { get; }
    public uint CqEntries { get; }

    /// <summary>64, or 128 with SQE128.</summary>
    public int SqeSize { get; }

    /// <summary>16, or 32 with CQE32.</summary>
    public int CqeSize { get; }

    /// <summary>
    /// Operations submitted to the kernel whose final CQE has not been reaped yet (SQEs with CQE_SKIP_SUCCESS
    /// are not counted; multishot CQEs flagged MORE do not end an operation). Includes the internal wake read.
    /// </summary>
    public long OperationsInFlight => _inFlight;

    /// <summary>CQEs the kernel had to drop (stays 0 with IORING_FEAT_NODROP).</summary>
    public uint CqOverflowDropped { get { ThrowIfDisposed(); return Volatile.Read(ref *_cqOverflow); } } // unmapped once disposed

    /// <summary>SQEs the kernel found invalid and skipped.</summary>
    public uint SqDropped { get { ThrowIfDisposed(); return Volatile.Read(ref *_sqDropped); } }

    private static bool TryDropOptionalFlag(ref IoUringSetupFlags flags)
    {
        foreach (var optional in OptionalSetupFlags)
        {
            if ((flags & optional) != 0)
            {
                flags &= ~optional;
                return true;
            }
        }
        return false;
    }

    private void* Map(nuint size, long offset)
    {
        void* address = Libc.mmap(null, size, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_SHARED | Libc.MAP_POPULATE, _ringFd, offset);
        if (address == Libc.MAP_FAILED)
            throw new ErrnoException("mmap(io_uring)", Errno.Last);
        return address;
    }

    /// <summary>
    /// Cancels every operation in flight, waits (bounded) for their CQEs, then closes the ring and unmaps it.
    /// Buffers owned by the ring are freed only when every operation was seen to finish; otherwise they are
    /// leaked on purpose, since the kernel could still write into them. Callers should likewise keep their own
    /// buffers alive if <see cref="OperationsInFlight"/> is non-zero after Dispose.
    /// Must run on the owning thread to drain; from another thread it only closes.
    /// </summary>
    public void Dispose()
    {
        Release(disposing: true);
        GC.SuppressFinalize(this);
    }

    private void Release(bool disposing)
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        _draining = true;
        bool drained = disposing && TryCancelAndDrain();
        _draining = false;
        ReleaseResources(drained);
    }

    private void ReleaseResources(bool drained)
    {
        _wakeEventFd?.Dispose();
        if (_ringFd >= 0)
            Libc.close(_ringFd); // the kernel cancels whatever is left and tears the ring down asynchronously
        if (_sqeMap != null)
            Libc.munmap(_sqeMap, _sqeMapSize);
        if (_cqMap != null)
            Libc.munmap(_cqMap, _cqMapSize);
        if (_ringMap != null)
            Libc.munmap(_ringMap, _ringMapSize);
        if (drained)
            FreeWakeBuffer();
    }

    private bool TryCancelAndDrain()
    {
        try
        {
            // SQEs handed out but never published are simply forgotten.
            _sqeTail = _sqPublished;
            if (_inFlight <= 0 && UnconsumedSqes == 0)
                return true;

            long deadline = Environment.TickCount64 + (long)_disposeDrainTimeout.TotalMilliseconds;
            if (FreeSqSlots == 0)
                Submit();
            if (FreeSqSlots > 0)
                NextSqe().PrepareCancelAll(InternalCancelUserData);

            var discard = new DiscardingHandler();
            Submit();
            while (true)
            {
                ForEachCqe(ref discard);
                if (_inFlight <= 0)
                    return true;
                long remaining = deadline - Environment.TickCount64;
                if (remaining <= 0)
                    return false;
                SubmitAndWait(1, TimeSpan.FromMilliseconds(Math.Min(remaining, 100)));
            }
        }
        catch (ErrnoException)
        {
            // e.g. EEXIST: a SINGLE_ISSUER ring disposed from a thread that is not its issuer.
            return false;
        }
    }

    private struct DiscardingHandler : ICqeHandler
    {
        public readonly void Handle(in IoUringCqe cqe) { }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void ThrowIfDisposed()
    {
        if (_disposed != 0 && !_draining)
            ThrowDisposed();
    }

    private static void ThrowDisposed() => throw new ObjectDisposedException(nameof(Ring));
}
