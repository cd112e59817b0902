using System.Collections.Concurrent;
using Fuselage.Buffers;
using Fuselage.Interop.IoUring;
using Fuselage.Ring;

namespace Fuselage.Transport;

/// <summary>
/// One thread owning one io_uring, the shape the ring workers and the uring queues share. The ring is created on
/// the thread itself (SINGLE_ISSUER ties it to its submitter), served there and disposed there, so the kernel
/// cancels and drains whatever is still posted before the buffers can go. The filesystem's file I/O goes through
/// the same ring while the method runs on this thread; a method that completes on another thread hands its
/// request back through a queue and wakes the ring, and the reply still leaves from here.
/// </summary>
internal abstract class RingThread : IReplySink, IFileIo, IDisposable
{
    private readonly Thread _thread;
    private readonly ManualResetEventSlim _started = new();
    private readonly ConcurrentQueue<Request> _completedElsewhere = new();
    private Exception? _startError;
    private int _fileIoInFlight;
    private long _fileIoSubmitted, _fileIoSubmittedAtCancel;

    /// <param name="counts">The thread's <see cref="RequestStats"/> counters; null when none are kept.</param>
    protected RingThread(string name, long[]? counts)
    {
        _thread = new Thread(Run) { Name = name, IsBackground = true };
        Counts = counts;
    }

    /// <summary>The thread's <see cref="RequestStats"/> counters (only it writes them); null when none are kept.</summary>
    protected long[]? Counts { get; }

    /// <summary>The thread's ring; null until <see cref="CreateRing"/> returned on the thread.</summary>
    protected Fuselage.Ring.Ring? Ring { get; private set; }

    /// <summary>True once nothing more will be submitted: file I/O then falls back to a syscall.</summary>
    protected abstract bool Closing { get; }

    /// <summary>On the thread: creates the ring (and pins the thread, if it wants to be pinned).</summary>
    protected abstract Fuselage.Ring.Ring CreateRing();

    /// <summary>On the thread, right after <see cref="CreateRing"/>: posts what the kernel must hold before serving.</summary>
    protected abstract void Prime();

    /// <summary>Waits for completions and handles them until the session is over; returns to end the thread.</summary>
    protected abstract void Serve();

    /// <summary>Sends a finished request's reply; always on this thread.</summary>
    protected abstract void SendReply(Request request);

    /// <summary>Hands every ready CQE of <see cref="Ring"/> to the subclass's handler.</summary>
    protected abstract void HandleCompletions();

    /// <summary>After <see cref="Serve"/>: the session is over and nothing more is sent, only file I/O is finished.</summary>
    protected bool Finishing { get; private set; }

    // Bounds the wait for file I/O that ignores its cancellation (a read the disk still holds).
    private static readonly TimeSpan FinishFileIoTimeout = TimeSpan.FromSeconds(5);

    /// <summary>The user_data of a file I/O submitted for the request at <paramref name="requestIndex"/>.</summary>
    protected abstract ulong FileIoUserData(int requestIndex);

    /// <summary>The slabs this thread's file I/O reads into and writes from, registered as fixed buffers.</summary>
    protected abstract DataSlabs FileIoSlabs { get; }

    /// <summary>Where the thread says, once, what it could not do and did instead.</summary>
    protected abstract void Log(string message);

    // Made on the thread with the ring.
    private FixedBufferTable? _fixedBuffers;

    /// <summary>The thread has ended, with the error that ended it (null when the session ended).</summary>
    protected abstract void Exited(Exception? error);

    /// <summary>On the thread, when <see cref="Serve"/> failed: before its file I/O is finished and the ring closed.</summary>
    protected virtual void ServeFailed(Exception error) { }

    public void Start() => _thread.Start();

    public void WaitStarted()
    {
        _started.Wait();
        if (_startError is not null) throw new IOException($"{_thread.Name} could not start: {_startError.Message}", _startError);
    }

    public void Wake() => Ring?.Wake();

    private bool OnOwnThread => Environment.CurrentManagedThreadId == _thread.ManagedThreadId;

    private void Run()
    {
        try
        {
            Ring = CreateRing();
            _fixedBuffers = new FixedBufferTable(Ring, FileIoSlabs, Log);
            Prime();
        }
        catch (Exception e) { _startError = e; }
        _started.Set();
        if (_startError is not null) { Exited(_startError); return; }

        Exception? error = null;
        try { Serve(); }
        catch (Exception e) { error = e; }
        if (error is not null)
        {
            try { ServeFailed(error); }
            catch (Exception e) { error = new AggregateException(error, e); }
        }
        try { FinishFileIo(); }
        catch (Exception e) { error ??= e; }
        try { Ring?.Dispose(); }
        catch (Exception e) { error ??= e; }
        Exited(error);
    }

    /// <summary>
    /// Cancels the file I/O still in flight and hands its CQEs to the methods waiting on them, which end with
    /// -ECANCELED (or their result, if it came first). The ring's disposal would reap those CQEs itself and the methods
    /// would wait forever, holding their requests, so teardown could free neither the buffers nor the filesystem.
    /// </summary>
    private void FinishFileIo()
    {
        Finishing = true;
        if (_fileIoInFlight + _linksInFlight == 0 || Ring is not { } ring) return;
        ring.CancelAll(); // also submits file I/O that was prepared and not yet sent: its method hears back too
        long deadline = Environment.TickCount64 + (long)FinishFileIoTimeout.TotalMilliseconds;
        while (true)
        {
            HandleCompletions();
            long remaining = deadline - Environment.TickCount64;
            if (_fileIoInFlight + _linksInFlight == 0 || remaining <= 0) return;
            ring.SubmitAndWait(1, TimeSpan.FromMilliseconds(Math.Min(remaining, 100)));
        }
    }

    public bool TrySubmit(Request request, bool write, int fd, nint address, int length, long offset)
    {
        // Only the owning thread touches the ring; a method that moved to another thread falls back to a syscall.
        if (!OnOwnThread || Closing || Finishing) return false;
        var ring = Ring!;
        ref var sqe = ref ring.GetSqe();
        bool registered = _fixedBuffers!.TryFind(address, length, out ushort index);
        var op = registered ? (write ? IoUringOp.WriteFixed : IoUringOp.ReadFixed) : (write ? IoUringOp.Write : IoUringOp.Read);
        sqe.PrepareReadWrite(op, fd, address, (uint)length, (ulong)offset, FileIoUserData(request.PoolIndex)).BufIndex = index;
        RequestStats.CountFileIo(Counts, registered);
        // The thread's next wait submits it, with whatever else this wake-up prepared: one io_uring_enter for all.
        _fileIoInFlight++;
        _fileIoSubmitted++;
        _lastFileIo = request;
        _lastFileIoSqe = ring.SqesHandedOut;
        return true;
    }

    // The request whose file I/O was queued last, and which SQE that was: only that one can still be linked to.
    private Request? _lastFileIo;
    private uint _lastFileIoSqe;

    // The read must be the last SQE queued and still unsubmitted, with room behind it: a GetSqe on a full SQ would
    // submit the read alone, and the reply would then go out at once, before its data.
    bool IFileIo.CanLinkReply(Request request) =>
        OnOwnThread && !Closing && !Finishing && request == _lastFileIo && Ring!.SqesHandedOut == _lastFileIoSqe
        && Ring.SubmissionsPending > 0 && Ring.SqSpaceLeft > 0 && (Ring.Features & IoUringFeatures.CqeSkip) != 0
        && CanLinkReply(request);

    void IFileIo.LinkReply(Request request)
    {
        // A whole read posts no CQE; a short or failed one posts its own, and the kernel drops the reply, without a CQE.
        Ring!.LastSqe.Flags |= IoSqeFlags.IoLink | IoSqeFlags.CqeSkipSuccess;
        PrepareLinkedReply(request);
        // Not file I/O to wait for any more (the kernel answers the request when the read completes, and only a later
        // CQE tells, which may come long after) but a link to see resolved before the ring goes.
        _fileIoInFlight--;
        _linksInFlight++;
    }

    /// <summary>Whether this thread can send the request's reply linked to its file read.</summary>
    protected virtual bool CanLinkReply(Request request) => false;

    /// <summary>
    /// Queues the request's reply right behind its file read (<see cref="IFileIo.LinkReply"/>). The subclass reports its
    /// outcome with <see cref="LinkedReplyCompleted"/>.
    /// </summary>
    protected virtual void PrepareLinkedReply(Request request) => throw new NotSupportedException();

    /// <summary>
    /// The outcome of a linked reply: sent (the whole read completed, and its CQE was skipped), or dropped by a short or
    /// failed read whose CQE came with its result (the method then replies as usual, through <see cref="SendReply"/>).
    /// </summary>
    protected void LinkedReplyCompleted(Request request, int readResult, bool replySent)
    {
        _linksInFlight--;
        request.CompleteFileIo(readResult);
        request.Dispatcher!.CompleteLinkedReply(request, replySent);
    }

    private int _linksInFlight; // linked replies not resolved yet (their request's method still counts as pending)

    /// <summary>
    /// Cancels the file I/O in flight for requests 0 to <paramref name="requestCount"/> - 1 and leaves the ring's other
    /// operations alone; the methods waiting on it hear -ECANCELED (or their result, if it came first) and reply. Once
    /// per batch: file I/O submitted since the last call is cancelled by the next one.
    /// </summary>
    protected void CancelFileIo(int requestCount)
    {
        if (_fileIoInFlight == 0 || _fileIoSubmitted == _fileIoSubmittedAtCancel) return;
        _fileIoSubmittedAtCancel = _fileIoSubmitted;
        for (int i = 0; i < requestCount; i++) Ring!.Cancel(FileIoUserData(i));
    }

    /// <summary>File I/O submitted (or prepared) whose CQE is not in yet.</summary>
    protected int FileIoInFlight => _fileIoInFlight;

    /// <summary>On the CQE of a <see cref="TrySubmit"/>: hands the result to the request, whose method continues here.</summary>
    protected void CompleteFileIo(Request request, int result)
    {
        _fileIoInFlight--;
        request.CompleteFileIo(result);
    }

    public void Complete(Request request)
    {
        if (OnOwnThread) { SendReply(request); return; }
        _completedElsewhere.Enqueue(request);
        Ring?.Wake();
    }

    /// <summary>Replies to the requests whose methods completed on other threads.</summary>
    protected void DrainCompletedElsewhere()
    {
        while (_completedElsewhere.TryDequeue(out var request)) SendReply(request);
    }

    public virtual void Dispose()
    {
        Ring?.Dispose(); // normally done by the thread itself; a second call does nothing
        _started.Dispose();
    }
}
