using System.Runtime.InteropServices;
using Fuselage.Buffers;
using Fuselage.Interop;
using Fuselage.Interop.Fuse;
using Fuselage.Interop.IoUring;
using Fuselage.Ring;

namespace Fuselage.Transport;

/// <summary>
/// The kernel's FUSE-over-io_uring queues (Linux 6.14+, enable_uring=Y): one queue per possible CPU, each
/// owned by one thread with its own SQE128 ring and <c>depth</c> entries (a header buffer and a payload
/// buffer the kernel copies requests into); where each thread runs is <see cref="QueuePlacement"/>'s call.
/// Requests are answered with COMMIT_AND_FETCH, which re-arms the entry in the same submission. /dev/fuse stays
/// served by a small ring reader for INIT, FORGET and INTERRUPT, which therefore reach requests that arrived on a
/// queue too.
/// </summary>
internal sealed class UringTransport : ITransport
{
    private readonly FuseMount _mount;
    private readonly Dispatcher _dispatcher;
    private readonly FuseServerOptions _options;
    private readonly RequestStats? _stats;
    private readonly RingTransport _devFuse;
    private readonly List<Queue> _queues = [];
    private readonly WorkerCompletion _queuesDone = new();
    private readonly WorkerCompletion _queuesQuiesced = new(); // each queue once: on stopping with every entry back with the kernel, or on leaving
    private volatile bool _stopping;
    private int _queuesClaimed; // 1 once either INIT started the queues or Stop ruled them out

    public UringTransport(FuseMount mount, Dispatcher dispatcher, FuseServerOptions options, RequestStats? stats)
    {
        _mount = mount;
        _dispatcher = dispatcher;
        _options = options;
        _stats = stats;
        // /dev/fuse carries INIT, FORGET, INTERRUPT (and everything until the queues are ready): one worker is enough.
        var devOptions = new FuseServerOptions
        {
            Transport = TransportKind.Ring, Workers = 1, Depth = DevFuseDepth, MaxDepth = DevFuseDepth, MaxWrite = options.MaxWrite,
            Policy = options.Policy, Debug = options.Debug, Log = options.Log, CollectStats = options.CollectStats,
        };
        _devFuse = new RingTransport(mount, dispatcher, devOptions, stats, sourceName: "/dev/fuse");
        Completion = Task.WhenAll(_devFuse.Completion, _queuesDone.Task);
        Quiesced = Task.WhenAll(_devFuse.Completion, _queuesQuiesced.Task);
    }

    /// <summary>Requests of the /dev/fuse reader; none of them waits (INIT, FORGET, INTERRUPT), so it never grows.</summary>
    internal const int DevFuseDepth = 4;

    public string Name => "uring";
    public Task Completion { get; }

    /// <summary>
    /// Stopped with no request in a queue's hands: what the queues still wait for, their entries, the kernel gives
    /// back only when the connection ends, which a busy (detached) mount delays until its last user leaves.
    /// </summary>
    public Task Quiesced { get; }

    /// <summary>Queue count: the kernel makes one per possible CPU and needs every one registered.</summary>
    public static int PossibleCpus()
    {
        string text = File.ReadAllText("/sys/devices/system/cpu/possible").Trim();
        int max = 0;
        foreach (var part in text.Split(','))
        {
            var range = part.Split('-');
            max = Math.Max(max, int.Parse(range[^1]));
        }
        return max + 1;
    }

    public void Start()
    {
        _dispatcher.Initialized += StartQueues;
        _devFuse.Start();
    }

    /// <summary>Runs on the /dev/fuse reader right after the INIT reply is queued; REGISTERs that race it get EAGAIN and are retried.</summary>
    private void StartQueues(FuseConnection conn)
    {
        if (Interlocked.Exchange(ref _queuesClaimed, 1) != 0) return; // stopped before INIT
        int maxPages = (conn.Granted & FuseInitFlags.MaxPages) != 0 ? (int)((conn.MaxWrite + FuseConnection.PageSize - 1) / FuseConnection.PageSize) : 32;
        int maxPayload = Math.Max((int)FuseConnection.MinTransferRoom, Math.Max((int)conn.MaxWrite, maxPages * (int)FuseConnection.PageSize));
        int count = PossibleCpus();
        var placement = new QueuePlacement(count);
        _queuesDone.Starting(count);
        _queuesQuiesced.Starting(count);
        try
        {
            for (int q = 0; q < count; q++)
            {
                var queue = new Queue(this, q, Math.Max(1, _options.Depth), _options.EffectiveMaxDepth, maxPayload, placement, _stats?.AddSource($"uring/q{q}"));
                lock (_queues) _queues.Add(queue);
                queue.Start();
            }
            foreach (var q in Queues()) q.WaitStarted();
        }
        catch (Exception e)
        {
            // Requests now wait for queues that will never be ready: end the connection rather than hang callers.
            _dispatcher.Log($"fuselage: uring queues could not start: {e.Message}; aborting the connection");
            _mount.Abort();
            // Queues never made count as exited; those running end with the connection, and only then is the
            // transport complete (its disposal frees their rings and buffers).
            for (int missing = count - Queues().Length; missing > 0; missing--)
            {
                _queuesQuiesced.Exited(null);
                _queuesDone.Exited(e);
            }
        }
    }

    public void Stop()
    {
        _stopping = true;
        if (Interlocked.Exchange(ref _queuesClaimed, 1) == 0)
        {
            _queuesQuiesced.NoWorkers(); // INIT never came: no queues to wait for
            _queuesDone.NoWorkers();
        }
        _devFuse.Stop();
        foreach (var q in Queues()) q.Wake();
    }

    /// <summary>The queues made so far (the /dev/fuse thread adds them while Stop may already run).</summary>
    private Queue[] Queues()
    {
        lock (_queues) return [.. _queues];
    }

    private void QueueExited(Exception? error)
    {
        // A queue that failed (to start, or while serving) is never ready again: callers would wait for it forever.
        if (error is not null) _mount.Abort();
        _queuesDone.Exited(error);
    }

    public void Dispose()
    {
        foreach (var q in Queues()) q.Dispose();
        _devFuse.Dispose();
    }

    /// <summary>One kernel queue: its thread, its SQE128 ring and its entries.</summary>
    private sealed class Queue : RingThread
    {
        private const int Scratch = 4096;                 // room in front of the payload for the copied headers
        private const int InOutOffset = 0;                // fuse_in_header in, fuse_out_header out
        private const int OpInOffset = 128;               // the request's fixed argument
        private const int CommitIdOffset = 256 + 8;       // fuse_uring_ent_in_out.commit_id
        private const int PayloadSizeOffset = 256 + 16;   // fuse_uring_ent_in_out.payload_sz

        private readonly UringTransport _owner;
        private readonly int _qid;
        private readonly int _maxPayload;
        private readonly long[]? _counts;
        private readonly int _depth, _maxDepth;
        private int _refusedEntries;    // added entries the kernel would not take: never parked; none is added after one
        private readonly List<BufferPool> _buffers = [];
        private Entry[] _entries = [];
        private readonly ulong[] _inheritedCpus = new ulong[Libc.CpuSetWords];
        private bool _inheritedCpusKnown;
        private readonly QueuePlacement _placement;
        private QueuePlacement.QueueView _placementView;
        private int _parked;            // entries whose REGISTER/COMMIT the kernel holds
        private bool _sessionOver;
        private bool _quiesced;         // told the transport (on stopping, or on leaving)

        private sealed class Entry
        {
            public required Request Request;
            public required BufferLease Header, Payload, ReplyScratch;
            public nint Iovecs;
            public ulong CommitId;
            public bool Registered;
            public bool RepliedFromScratch;
        }

        public Queue(UringTransport owner, int qid, int depth, int maxDepth, int maxPayload, QueuePlacement placement, long[]? counts)
            // A wake-up hands the queue every request that arrived meanwhile (QD16 from one client: often all 16).
            // Submitting each file I/O at once while others are in flight: 4k random reads at QD16 +9-14%.
            : base($"fuselage-uring-q{qid}", submitFileIoAtOnceWhileBusy: true)
        {
            _owner = owner;
            _placement = placement;
            _qid = qid;
            _depth = depth;
            _maxDepth = Math.Max(depth, maxDepth);
            _maxPayload = maxPayload;
            _counts = counts;
            AddEntries(depth);
        }

        /// <summary>Makes <paramref name="count"/> more entries, with buffers of their own; the caller REGISTERs them.</summary>
        private void AddEntries(int count)
        {
            var headers = Keep(new BufferPool(NativeSlab.PageSize, count));
            var payloads = Keep(new BufferPool(Scratch + _maxPayload, count));
            var replyScratch = Keep(new BufferPool(_maxPayload, count));
            var iovecs = Keep(new BufferPool(count * 2 * Marshal.SizeOf<Iovec>(), 1)).Rent();
            int first = _entries.Length;
            var entries = new Entry[first + count];
            _entries.CopyTo(entries, 0);
            for (int i = 0; i < count; i++)
            {
                var header = headers.Rent();
                var payload = payloads.Rent();
                var e = entries[first + i] = new Entry
                {
                    Request = new Request(payload, header, this, first + i),
                    Header = header, Payload = payload, ReplyScratch = replyScratch.Rent(),
                    Iovecs = iovecs.Address + i * 2 * Marshal.SizeOf<Iovec>(),
                };
                e.Request.FileIo = this;
                // iov[0] = header (>= 288 bytes), iov[1] = payload (>= max payload); the kernel reads them at REGISTER.
                var pair = MemoryMarshal.Cast<byte, Iovec>(iovecs.Span.Slice(i * 2 * Marshal.SizeOf<Iovec>(), 2 * Marshal.SizeOf<Iovec>()));
                pair[0] = new Iovec(header.Address, (nuint)header.Length);
                pair[1] = new Iovec(payload.Address + Scratch, (nuint)_maxPayload);
            }
            _entries = entries;
        }

        private BufferPool Keep(BufferPool pool)
        {
            _buffers.Add(pool);
            return pool;
        }

        /// <summary>
        /// REGISTERs <c>depth</c> more entries (up to MaxDepth) once at most one entry is with the kernel and every other
        /// is held by a method waiting on something other than this queue (no file I/O in flight): the requests those
        /// methods wait for, routed to this queue, would otherwise find no entry. Ahead of need, because a request the
        /// kernel queues while no entry is free waits for a COMMIT on this queue: a REGISTER does not take it (6.18),
        /// only requests that come after it. Submitted at once for the same reason.
        /// </summary>
        private void GrowIfEveryEntryWaits()
        {
            int waiting = _entries.Length - _parked - FileIoInFlight;
            if (_parked > 1 || waiting == 0 || FileIoInFlight > 0 || _refusedEntries > 0 || _sessionOver || _owner._stopping
                || _entries.Length >= _maxDepth) return;
            int first = _entries.Length;
            AddEntries(Math.Min(_depth, _maxDepth - first));
            for (int i = first; i < _entries.Length; i++) PrepareCommand(i, FuseUringCommand.Register);
            Ring!.Submit();
            _owner._dispatcher.Log($"fuselage: uring/q{_qid}: {waiting} of {first} entries wait on the filesystem; now {_entries.Length} (at most {_maxDepth})");
        }

        protected override bool Closing => _sessionOver;

        protected override Fuselage.Ring.Ring CreateRing()
        {
            // The kernel routes a request to the queue of the CPU its caller runs on: serve it from that CPU, until
            // QueuePlacement finds this queue serving alone. Best effort; an offline CPU leaves the thread unpinned.
            _inheritedCpusKnown = Libc.GetCurrentThreadAffinity(_inheritedCpus) == 0;
            Libc.PinCurrentThread(_qid);
            return new Fuselage.Ring.Ring((uint)(2 * _maxDepth + 4), new RingOptions
            {
                // SQE128 is mandatory: without it REGISTER fails in a way that leaves the connection hanging.
                Flags = IoUringSetupFlags.Sqe128 | IoUringSetupFlags.SubmitAll | IoUringSetupFlags.SingleIssuer | IoUringSetupFlags.CoopTaskRun,
                CompletionQueueEntries = (uint)(4 * _maxDepth + 8),
                EnableWake = true,
            });
        }

        protected override void Prime()
        {
            if ((Ring!.AcceptedFlags & IoUringSetupFlags.Sqe128) == 0) throw new NotSupportedException("the kernel refused 128-byte SQEs");
            for (int i = 0; i < _entries.Length; i++) PrepareCommand(i, FuseUringCommand.Register);
            Ring.Submit();
        }

        protected override void Exited(Exception? error)
        {
            ReportQuiesced();
            _owner.QueueExited(error);
        }

        // The kernel hands the entries back only when the connection ends (ASYNC_CANCEL does not reach them): abort
        // it now, or closing the ring would wait for them, then leave callers routed to this queue blocked for good.
        protected override void ServeFailed(Exception error) => _owner._mount.Abort();

        protected override ulong FileIoUserData(int requestIndex) => UserData(requestIndex, KindFileIo);

        protected override void Serve()
        {
            var ring = Ring!;
            var handler = new CqeHandler(this);
            while (true)
            {
                DrainCompletedElsewhere();
                // Leave only when the kernel has given back every entry (B9: never close a ring it still uses).
                if (_parked == 0 && (_sessionOver || _owner._stopping)) break;
                if (_owner._stopping && !_sessionOver) Quiesce();
                GrowIfEveryEntryWaits();
                ring.SubmitAndWait(1);
                ring.ForEachCqe(ref handler);
                RequestStats.SampleAllocations(_counts);
            }
        }

        /// <summary>
        /// Stopping, with the connection still alive (a busy mount, detached): the kernel gives the entries back only
        /// when it ends. Cancels this queue's file I/O, so the methods waiting on it reply; once every entry is back
        /// with the kernel and its reply sent, tells the transport that only the connection's end is left to wait for.
        /// </summary>
        private void Quiesce()
        {
            CancelFileIo(_entries.Length);
            if (_quiesced || _parked != _entries.Length - _refusedEntries || FileIoInFlight > 0) return;
            Ring!.Submit(); // the last COMMITs: their replies reach the callers before anyone aborts the connection
            ReportQuiesced();
        }

        /// <summary>Tells the transport, once, that this queue holds no request any more.</summary>
        private void ReportQuiesced()
        {
            if (_quiesced) return;
            _quiesced = true;
            _owner._queuesQuiesced.Exited(null);
        }

        private void PrepareCommand(int index, FuseUringCommand command)
        {
            var e = _entries[index];
            ref var sqe = ref Ring!.GetSqe128();
            sqe.PrepareUringCmd(_owner._mount.Fd, (uint)command, UserData(index, KindCommand));
            if (command == FuseUringCommand.Register)
            {
                sqe.Sqe.Addr = (ulong)e.Iovecs;
                sqe.Sqe.Len = 2; // FUSE_URING_IOV_SEGS
            }
            var cmd = new FuseUringCmdReq { CommitId = command == FuseUringCommand.CommitAndFetch ? e.CommitId : 0, Qid = (ushort)_qid };
            MemoryMarshal.Write(sqe.Cmd, in cmd);
            _parked++;
        }

        // user_data = entry index | kind << 32
        private const ulong KindCommand = 0, KindFileIo = 1;
        private static ulong UserData(int index, ulong kind) => (uint)index | kind << 32;

        private void OnCqe(in IoUringCqe cqe)
        {
            int index = (int)(uint)cqe.UserData;
            var e = _entries[index];
            if (cqe.UserData >> 32 == KindFileIo)
            {
                CompleteFileIo(e.Request, cqe.Res);
                return;
            }
            _parked--;
            switch (-cqe.Res)
            {
                case 0:
                    e.Registered = true;
                    Fetched(e);
                    return;
                case Errno.EAGAIN or Errno.EINTR:
                    // EAGAIN: INIT not processed yet (REGISTER raced the reply). Resubmit the same command.
                    PrepareCommand(index, e.Registered ? FuseUringCommand.CommitAndFetch : FuseUringCommand.Register);
                    return;
                case Errno.ENOTCONN or Errno.ECONNABORTED or Errno.ENODEV:
                    _sessionOver = true; // unmounted or aborted: the kernel hands every entry back like this
                    return;
                case var _ when !e.Registered && index >= _depth:
                    // An entry added while the others wait: the queue serves on with those it has.
                    if (_refusedEntries++ == 0) _owner._dispatcher.Log($"fuselage: uring/q{_qid}: the kernel refused another entry (errno {-cqe.Res}); no more are added");
                    return;
                default:
                    throw new ErrnoException($"FUSE-over-io_uring {(e.Registered ? "COMMIT_AND_FETCH" : "REGISTER")} on queue {_qid}", -cqe.Res);
            }
        }

        /// <summary>A request arrived in the entry: put its headers in front of its payload so it reads as on /dev/fuse, then dispatch.</summary>
        private void Fetched(Entry e)
        {
            Place(_placement.Fetched(_qid, ref _placementView));
            var header = e.Header.Span;
            var inHeader = MemoryMarshal.Read<FuseInHeader>(header);
            uint payloadSize = MemoryMarshal.Read<uint>(header[PayloadSizeOffset..]);
            e.CommitId = MemoryMarshal.Read<ulong>(header[CommitIdOffset..]);
            long opArg = (long)inHeader.Len - Request.FuseInHeaderSize - payloadSize;
            var req = e.Request;
            e.RepliedFromScratch = payloadSize != 0;
            // Replies to requests that carry a payload (names, data) go through scratch, so the filesystem never
            // overwrites the input it is still reading; READ and friends write straight into the entry's payload.
            if (e.RepliedFromScratch) req.SetReplyAreas(e.Header, InOutOffset, e.ReplyScratch, 0, _maxPayload);
            else req.SetReplyAreas(e.Header, InOutOffset, e.Payload, Scratch, _maxPayload);
            if (opArg < 0 || opArg > FuseUring.OpInOutSize || payloadSize > _maxPayload)
            {
                _owner._dispatcher.Log($"fuselage: uring/q{_qid}: malformed entry (len {inHeader.Len}, payload {payloadSize}); replied EIO");
                MemoryMarshal.Write(header, new FuseOutHeader { Len = 16, Error = -Errno.EIO, Unique = inHeader.Unique });
                MemoryMarshal.Write(header[PayloadSizeOffset..], 0u);
                PrepareCommand(e.Request.PoolIndex, FuseUringCommand.CommitAndFetch);
                return;
            }
            int start = Scratch - Request.FuseInHeaderSize - (int)opArg;
            var input = e.Payload.Span;
            header[..Request.FuseInHeaderSize].CopyTo(input[start..]);
            header.Slice(OpInOffset, (int)opArg).CopyTo(input[(start + Request.FuseInHeaderSize)..]);
            req.InputStart = start;
            req.InputLength = (int)inHeader.Len;
            _owner._dispatcher.Dispatch(req, _counts);
        }

        private void Place(QueuePlacement.Move move)
        {
            if (move == QueuePlacement.Move.Pin) Libc.PinCurrentThread(_qid);
            else if (move == QueuePlacement.Move.Float && _inheritedCpusKnown) Libc.SetCurrentThreadAffinity(_inheritedCpus);
        }

        /// <summary>fuse_out_header is already in the header buffer; place the payload and its size, then COMMIT_AND_FETCH.</summary>
        protected override void SendReply(Request req)
        {
            var e = _entries[req.PoolIndex];
            // Session over: the kernel took the entry back already. Finishing: the queue has stopped; a COMMIT now
            // would park an entry again, which nothing can cancel.
            if (_sessionOver || Finishing) return;
            var header = e.Header.Span;
            int payload = 0;
            if (req.ReplyLength == 0)
                MemoryMarshal.Write(header, new FuseOutHeader { Len = 16, Error = 0, Unique = req.Unique });
            else
                payload = req.ReplyLength - Request.FuseOutHeaderSize;
            if (e.RepliedFromScratch && payload > 0)
                e.ReplyScratch.Span[..payload].CopyTo(e.Payload.Span[Scratch..]);
            MemoryMarshal.Write(header[PayloadSizeOffset..], (uint)payload);
            PrepareCommand(req.PoolIndex, FuseUringCommand.CommitAndFetch);
        }

        protected override void HandleCompletions()
        {
            var handler = new CqeHandler(this);
            Ring!.ForEachCqe(ref handler);
        }

        private struct CqeHandler(Queue queue) : ICqeHandler
        {
            public readonly void Handle(in IoUringCqe cqe) => queue.OnCqe(cqe);
        }

        public override void Dispose()
        {
            base.Dispose();
            foreach (var pool in _buffers) pool.Dispose();
        }
    }
}
