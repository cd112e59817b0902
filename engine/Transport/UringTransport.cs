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
/// <para>
/// The kernel (6.18) hands every request to the queue of the CPU its caller runs on, so one client, however deep
/// its queue, is served by one thread. With <see cref="FuseServerOptions.UringQueueSharing"/> a thread already
/// serving a request hands a newly arrived one that moves at least 128 KiB to a queue thread serving fewer (MSG_RING),
/// which answers it from its own ring. The kernel delivers an entry's next request to the ring that sent its last command, so the entry stays
/// with that thread until it is handed on again: entries of one queue end up served by several threads.
/// </para>
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
    private volatile bool _sessionOver; // unmounted or aborted, as one queue heard; those holding no entry would not
    private volatile Queue[] _sharing = []; // by qid, once every queue started: whom a busy queue may hand requests to

    // Every queue's entries, by id (a request's PoolIndex): any queue thread may serve any of them. Replaced, never
    // changed in place, when entries are added; the buffers live as long as the transport.
    private Entry[] _entries = [];
    private readonly Lock _entriesLock = new();
    private int[] _entriesPerQueue = [];
    private readonly List<BufferPool> _buffers = [];
    private int _maxPayload;
    private volatile bool _growthRefused; // the kernel refused an added entry: none is added after one

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
        _maxPayload = maxPayload;
        _entriesPerQueue = new int[count];
        var placement = new QueuePlacement(count);
        _queuesDone.Starting(count);
        _queuesQuiesced.Starting(count);
        try
        {
            for (int q = 0; q < count; q++)
            {
                var queue = new Queue(this, q, count, Math.Max(1, _options.Depth), _options.EffectiveMaxDepth, placement, _stats?.AddSource($"uring/q{q}"));
                lock (_queues) _queues.Add(queue);
                queue.Start();
            }
            foreach (var q in Queues()) q.WaitStarted();
            if (_options.UringQueueSharing && count > 1) _sharing = Queues();
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

    /// <summary>Entry <paramref name="id"/>, whichever queue it belongs to.</summary>
    private Entry EntryAt(int id) => Volatile.Read(ref _entries)[id];

    private Entry[] Entries => Volatile.Read(ref _entries);

    /// <summary>
    /// Makes <paramref name="count"/> more entries for queue <paramref name="qid"/>, with buffers of their own, first
    /// served by <paramref name="server"/>, which REGISTERs them (up to the queue's <paramref name="maxDepth"/>).
    /// </summary>
    private Span<Entry> AddEntries(int qid, int count, int maxDepth, Queue server, bool grown)
    {
        lock (_entriesLock)
        {
            count = Math.Min(count, maxDepth - _entriesPerQueue[qid]);
            if (count <= 0) return [];
            var headers = Keep(new BufferPool(NativeSlab.PageSize, count));
            var payloads = Keep(new BufferPool(Queue.Scratch + _maxPayload, count));
            var replyScratch = Keep(new BufferPool(_maxPayload, count));
            _dataSlabs.Add(payloads);
            _dataSlabs.Add(replyScratch);
            var iovecs = Keep(new BufferPool(count * 2 * Marshal.SizeOf<Iovec>(), 1)).Rent();
            var old = _entries;
            var entries = new Entry[old.Length + count];
            old.CopyTo(entries, 0);
            for (int i = 0; i < count; i++)
            {
                int id = old.Length + i;
                var header = headers.Rent();
                var payload = payloads.Rent();
                var e = entries[id] = new Entry
                {
                    Id = id, Qid = qid, Grown = grown,
                    Request = new Request(payload, header, server, id),
                    Header = header, Payload = payload, ReplyScratch = replyScratch.Rent(),
                    Iovecs = iovecs.Address + i * 2 * Marshal.SizeOf<Iovec>(),
                };
                e.Request.FileIo = server;
                // iov[0] = header (>= 288 bytes), iov[1] = payload (>= max payload); the kernel reads them at REGISTER.
                var pair = MemoryMarshal.Cast<byte, Iovec>(iovecs.Span.Slice(i * 2 * Marshal.SizeOf<Iovec>(), 2 * Marshal.SizeOf<Iovec>()));
                pair[0] = new Iovec(header.Address, (nuint)header.Length);
                pair[1] = new Iovec(payload.Address + Queue.Scratch, (nuint)_maxPayload);
            }
            _entriesPerQueue[qid] += count;
            // Published after the entries are complete: another thread reads the array without the lock.
            Volatile.Write(ref _entries, entries);
            return entries.AsSpan(old.Length);
        }
    }

    // Every entry's payload and reply scratch: any queue thread may serve any entry's file I/O (hand-overs move them).
    private readonly DataSlabs _dataSlabs = new();

    private BufferPool Keep(BufferPool pool)
    {
        _buffers.Add(pool);
        return pool;
    }

    /// <summary>Queue <paramref name="qid"/>'s entry count (under the lock that adds them).</summary>
    private int EntriesOf(int qid)
    {
        lock (_entriesLock) return _entriesPerQueue[qid];
    }

    /// <summary>A queue saw the connection end: the others may hold no entry the kernel would tell.</summary>
    private void SessionEnded()
    {
        if (_sessionOver) return;
        _sessionOver = true;
        foreach (var q in Queues()) q.Wake();
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
        foreach (var pool in _buffers) pool.Dispose();
        _devFuse.Dispose();
    }

    /// <summary>One entry of a kernel queue: its buffers and the request they carry.</summary>
    private sealed class Entry
    {
        public required int Id;           // its index in the transport's entries, and its request's PoolIndex
        public required int Qid;          // the kernel queue it belongs to, named in each of its commands
        public required bool Grown;       // added while others waited, not at start
        public required Request Request;
        public required BufferLease Header, Payload, ReplyScratch;
        public nint Iovecs;
        public ulong CommitId;
        public bool Registered;
        public bool RepliedFromScratch;
        public volatile bool WithKernel;  // a REGISTER or COMMIT_AND_FETCH of it is prepared or in flight
        public bool CommitLinked;         // its COMMIT_AND_FETCH went linked to its request's file read; no CQE of it yet
    }

    /// <summary>One kernel queue's thread: its SQE128 ring, and the entries whose last command went through it.</summary>
    private sealed class Queue : RingThread
    {
        internal const int Scratch = 4096;                // room in front of the payload for the copied headers
        private const int InOutOffset = 0;                // fuse_in_header in, fuse_out_header out
        private const int OpInOffset = 128;               // the request's fixed argument
        private const int CommitIdOffset = 256 + 8;       // fuse_uring_ent_in_out.commit_id
        private const int PayloadSizeOffset = 256 + 16;   // fuse_uring_ent_in_out.payload_sz

        private readonly UringTransport _owner;
        private readonly int _qid;
        private readonly int _depth, _maxDepth;
        private readonly int[] _withKernelByQueue; // scratch for GrowIfEveryEntryWaits
        private readonly Entry[] _initialEntries; // REGISTERed at start
        private readonly ulong[] _inheritedCpus = new ulong[Libc.CpuSetWords];
        private bool _inheritedCpusKnown;
        private readonly QueuePlacement _placement;
        private QueuePlacement.QueueView _placementView;
        private int _parked;            // commands on this ring (REGISTER, COMMIT_AND_FETCH) whose CQE is not in
        private int _serving;           // requests this thread serves: from their arrival (or hand-over) to their COMMIT
        private int _linked;            // requests whose COMMIT went linked to their file read, until that COMMIT's CQE
        private int _incoming;          // requests handed to this thread and not taken yet (other threads add to it)
        private bool _quiesced;         // told the transport (on stopping, or on leaving)
        private bool _handOverFailureLogged;

        public Queue(UringTransport owner, int qid, int queues, int depth, int maxDepth, QueuePlacement placement, long[]? counts)
            // A wake-up hands the thread every request that arrived meanwhile; their file I/O, hand-overs and answers go
            // to the kernel together with its next wait. Submitting each file I/O and hand-over at once instead (one
            // io_uring_enter and one disk doorbell each) cost, on a day this VM's disk outran the daemons (9 paired
            // runs): 4k reads at QD16 0.69-0.90x, 4k writes 0.81-0.96x, two QD16 jobs 0.57-0.69x, the memory disk
            // 0.79-0.81x; it had gained 9-14% on 4k reads on days the disk was the bound.
            : base($"fuselage-uring-q{qid}", counts)
        {
            _owner = owner;
            _placement = placement;
            _qid = qid;
            _depth = depth;
            _maxDepth = Math.Max(depth, maxDepth);
            _withKernelByQueue = new int[queues];
            _initialEntries = owner.AddEntries(qid, depth, _maxDepth, this, grown: false).ToArray();
        }

        protected override DataSlabs FileIoSlabs => _owner._dataSlabs;

        protected override void Log(string message) => _owner._dispatcher.Log(message);

        /// <summary>
        /// REGISTERs <c>depth</c> more entries for a queue (up to MaxDepth) once every request this thread serves is
        /// held by a method waiting on something other than this thread (no file I/O in flight) and at most one entry
        /// of that request's queue is with the kernel: the requests those methods wait for, routed to that queue,
        /// would otherwise find no entry. Ahead of need, because a request the kernel queues while no entry is free
        /// waits for a COMMIT on that queue: a REGISTER does not take it (6.18), only requests that come after it.
        /// Submitted at once for the same reason.
        /// </summary>
        private void GrowIfEveryEntryWaits()
        {
            if (_serving == 0 || FileIoInFlight > 0 || _owner._growthRefused || _owner._sessionOver || _owner._stopping) return;
            var entries = _owner.Entries;
            var withKernel = _withKernelByQueue.AsSpan();
            withKernel.Clear();
            foreach (var e in entries) if (e.WithKernel) withKernel[e.Qid]++;
            foreach (var e in entries)
            {
                if (e.WithKernel || e.Request.Sink != this || withKernel[e.Qid] > 1) continue;
                int before = _owner.EntriesOf(e.Qid);
                var added = _owner.AddEntries(e.Qid, _depth, _maxDepth, this, grown: true);
                if (added.IsEmpty) continue; // at MaxDepth
                foreach (var a in added) PrepareCommand(a, FuseUringCommand.Register);
                Ring!.Submit();
                _owner._dispatcher.Log($"fuselage: uring/q{e.Qid}: {before - withKernel[e.Qid]} of {before} entries wait on the filesystem; now {before + added.Length} (at most {_maxDepth})");
                return;
            }
        }

        protected override bool Closing => _owner._sessionOver;

        protected override Fuselage.Ring.Ring CreateRing()
        {
            // The kernel routes a request to the queue of the CPU its caller runs on: serve it from that CPU, until
            // QueuePlacement finds this queue serving alone. Best effort; an offline CPU leaves the thread unpinned.
            _inheritedCpusKnown = Libc.GetCurrentThreadAffinity(_inheritedCpus) == 0;
            Libc.PinCurrentThread(_qid);
            // Entries move between threads, so a ring may hold the commands of other queues' entries too. Sized for
            // all of them up to a bound (4096 CQEs, 64 KiB per ring on a many-CPU machine); past it the kernel holds
            // completions back (IORING_FEAT_NODROP) and the ring flushes them.
            int entries = _maxDepth * _withKernelByQueue.Length;
            return new Fuselage.Ring.Ring((uint)(2 * _maxDepth + 4), new RingOptions
            {
                // SQE128 is mandatory: without it REGISTER fails in a way that leaves the connection hanging.
                Flags = IoUringSetupFlags.Sqe128 | IoUringSetupFlags.SubmitAll | IoUringSetupFlags.SingleIssuer | IoUringSetupFlags.CoopTaskRun,
                CompletionQueueEntries = (uint)Math.Max(4 * _maxDepth + 8, Math.Min(CompletionEntriesBound, 4 * entries + 8)),
                EnableWake = true,
            });
        }

        private const int CompletionEntriesBound = 4096;

        protected override void Prime()
        {
            if ((Ring!.AcceptedFlags & IoUringSetupFlags.Sqe128) == 0) throw new NotSupportedException("the kernel refused 128-byte SQEs");
            foreach (var e in _initialEntries) PrepareCommand(e, FuseUringCommand.Register);
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
                // Leave only when the kernel has given back every entry this ring holds (B9: never close a ring it
                // still uses) and no request handed to this thread is on its way.
                bool sessionOver = _owner._sessionOver;
                if ((sessionOver || _owner._stopping) && _parked == 0 && Volatile.Read(ref _incoming) == 0)
                {
                    if (ring.SubmissionsPending == 0) break;
                    // Hand-overs of the last wake-up: the threads they go to wait for them before leaving. A refused
                    // one is reported at once, and served here.
                    ring.Submit();
                    ring.ForEachCqe(ref handler);
                    continue;
                }
                if (_owner._stopping && !sessionOver) Quiesce();
                GrowIfEveryEntryWaits();
                ring.SubmitAndWait(1);
                ring.ForEachCqe(ref handler);
                RequestStats.SampleAllocations(Counts);
            }
        }

        /// <summary>
        /// Stopping, with the connection still alive (a busy mount, detached): the kernel gives the entries back only
        /// when it ends. Cancels this thread's file I/O, so the methods waiting on it reply; once it serves no request,
        /// has none on its way and its replies are sent, tells the transport that only the connection's end is left.
        /// </summary>
        private void Quiesce()
        {
            CancelFileIo(_owner.Entries.Length);
            if (_quiesced || _serving > 0 || Volatile.Read(ref _incoming) > 0 || FileIoInFlight > 0) return;
            Ring!.Submit(); // the last COMMITs: their replies reach the callers before anyone aborts the connection
            ReportQuiesced();
        }

        /// <summary>Tells the transport, once, that this thread holds no request any more.</summary>
        private void ReportQuiesced()
        {
            if (_quiesced) return;
            _quiesced = true;
            _owner._queuesQuiesced.Exited(null);
        }

        private void PrepareCommand(Entry e, FuseUringCommand command, ulong kind = KindCommand)
        {
            ref var sqe = ref Ring!.GetSqe128();
            sqe.PrepareUringCmd(_owner._mount.Fd, (uint)command, UserData(e.Id, kind));
            if (command == FuseUringCommand.Register)
            {
                sqe.Sqe.Addr = (ulong)e.Iovecs;
                sqe.Sqe.Len = 2; // FUSE_URING_IOV_SEGS
            }
            var cmd = new FuseUringCmdReq { CommitId = command == FuseUringCommand.CommitAndFetch ? e.CommitId : 0, Qid = (ushort)e.Qid };
            MemoryMarshal.Write(sqe.Cmd, in cmd);
            e.WithKernel = true;
            _parked++;
        }

        // user_data = entry id | kind << 32
        private const ulong KindCommand = 0, KindFileIo = 1, KindHandOver = 2, KindHandOverFailed = 3, KindLinkedCommit = 4;
        private static ulong UserData(int id, ulong kind) => (uint)id | kind << 32;

        private void OnCqe(in IoUringCqe cqe)
        {
            var e = _owner.EntryAt((int)(uint)cqe.UserData);
            switch (cqe.UserData >> 32)
            {
                case KindFileIo when e.CommitLinked:
                    LinkedReadFailed(e, cqe.Res); // a whole one posts none
                    return;
                case KindFileIo:
                    CompleteFileIo(e.Request, cqe.Res);
                    return;
                case KindLinkedCommit:
                    // The whole read's reply went out; what follows is the entry's next request, as for any COMMIT_AND_FETCH.
                    e.CommitLinked = false;
                    _linked--;
                    LinkedReplyCompleted(e.Request, e.Request.QueuedReadLength, replySent: true);
                    break;
                case KindHandOver:
                    Interlocked.Decrement(ref _incoming);
                    Serve(e);
                    return;
                case KindHandOverFailed:
                    HandOverFailed(e, cqe.Res);
                    return;
            }
            _parked--;
            e.WithKernel = false;
            switch (-cqe.Res)
            {
                case 0:
                    e.Registered = true;
                    Fetched(e);
                    return;
                case Errno.EAGAIN or Errno.EINTR:
                    // EAGAIN: INIT not processed yet (REGISTER raced the reply). Resubmit the same command.
                    PrepareCommand(e, e.Registered ? FuseUringCommand.CommitAndFetch : FuseUringCommand.Register);
                    return;
                case Errno.ENOTCONN or Errno.ECONNABORTED or Errno.ENODEV:
                    _owner.SessionEnded(); // unmounted or aborted: the kernel hands every entry back like this
                    return;
                case var _ when !e.Registered && e.Grown:
                    // An entry added while the others wait: the queues serve on with those they have.
                    if (!_owner._growthRefused) _owner._dispatcher.Log($"fuselage: uring/q{e.Qid}: the kernel refused another entry (errno {-cqe.Res}); no more are added");
                    _owner._growthRefused = true;
                    return;
                default:
                    throw new ErrnoException($"FUSE-over-io_uring {(e.Registered ? "COMMIT_AND_FETCH" : "REGISTER")} on queue {e.Qid}", -cqe.Res);
            }
        }

        // Only reads that are never handed on (see MovesMuchData): a linked one counts as served until its next request
        // arrives, longer than it is.
        protected override bool CanLinkReply(Request request) =>
            !_owner._sessionOver && !_owner._stopping && !_owner.EntryAt(request.PoolIndex).RepliedFromScratch
            && request.QueuedReadLength < HandOverMinData;

        /// <summary>
        /// Queues the entry's COMMIT_AND_FETCH right behind its request's file read: the kernel sends the reply when the
        /// data is in, and the CQE that follows is the entry's next request. This thread wakes once per request, not twice.
        /// </summary>
        protected override void PrepareLinkedReply(Request req)
        {
            var e = _owner.EntryAt(req.PoolIndex);
            _serving--; // as in SendReply: its reply is on its way
            _linked++;
            MemoryMarshal.Write(e.Header.Span[PayloadSizeOffset..], (uint)(req.ReplyLength - Request.FuseOutHeaderSize));
            PrepareCommand(e, FuseUringCommand.CommitAndFetch, KindLinkedCommit);
            e.CommitLinked = true;
            RequestStats.CountLinkedReply(Counts, dropped: false);
        }

        /// <summary>
        /// A read with a linked COMMIT came back short or failed: the kernel dropped that COMMIT, and posts no CQE for it
        /// (the read asked to skip its own on success, and a failing head skips its chain's). Reply with what was read.
        /// </summary>
        private void LinkedReadFailed(Entry e, int result)
        {
            e.CommitLinked = false;
            e.WithKernel = false;
            _parked--;
            _serving++; // served again, until its usual COMMIT
            _linked--;
            RequestStats.CountLinkedReply(Counts, dropped: true);
            LinkedReplyCompleted(e.Request, result, replySent: false);
        }

        /// <summary>A request arrived in the entry: put its headers in front of its payload so it reads as on /dev/fuse, then serve it.</summary>
        private void Fetched(Entry e)
        {
            Place(_placement.Fetched(_qid, ref _placementView));
            var header = e.Header.Span;
            var inHeader = MemoryMarshal.Read<FuseInHeader>(header);
            uint payloadSize = MemoryMarshal.Read<uint>(header[PayloadSizeOffset..]);
            e.CommitId = MemoryMarshal.Read<ulong>(header[CommitIdOffset..]);
            long opArg = (long)inHeader.Len - Request.FuseInHeaderSize - payloadSize;
            var req = e.Request;
            int maxPayload = _owner._maxPayload;
            e.RepliedFromScratch = payloadSize != 0;
            // Replies to requests that carry a payload (names, data) go through scratch, so the filesystem never
            // overwrites the input it is still reading; READ and friends write straight into the entry's payload.
            if (e.RepliedFromScratch) req.SetReplyAreas(e.Header, InOutOffset, e.ReplyScratch, 0, maxPayload);
            else req.SetReplyAreas(e.Header, InOutOffset, e.Payload, Scratch, maxPayload);
            if (opArg < 0 || opArg > FuseUring.OpInOutSize || payloadSize > maxPayload)
            {
                _owner._dispatcher.Log($"fuselage: uring/q{e.Qid}: malformed entry (len {inHeader.Len}, payload {payloadSize}); replied EIO");
                MemoryMarshal.Write(header, new FuseOutHeader { Len = 16, Error = -Errno.EIO, Unique = inHeader.Unique });
                MemoryMarshal.Write(header[PayloadSizeOffset..], 0u);
                PrepareCommand(e, FuseUringCommand.CommitAndFetch);
                return;
            }
            int start = Scratch - Request.FuseInHeaderSize - (int)opArg;
            var input = e.Payload.Span;
            header[..Request.FuseInHeaderSize].CopyTo(input[start..]);
            header.Slice(OpInOffset, (int)opArg).CopyTo(input[(start + Request.FuseInHeaderSize)..]);
            req.InputStart = start;
            req.InputLength = (int)inHeader.Len;
            if (MovesMuchData(inHeader.Opcode, header, payloadSize) && LessLoadedSibling() is { } sibling) HandOver(e, sibling);
            else Serve(e);
        }

        /// <summary>
        /// Whether the request reads or writes at least <see cref="HandOverMinData"/>: only then is it worth waking
        /// another thread for. Copying a large WRITE's data into its entry, or a large READ's out of it, takes the
        /// kernel longer than a wake-up, and two threads copy in parallel; a 4 KiB request costs less than the wake-up.
        /// Handing on no 4 KiB request, against handing on any (paired runs, one client, on this VM's PVM host): 4k reads
        /// at QD16 1.30-1.54x (3 pairs), 4k writes 0.98-1.17x (6), two QD16 jobs 1.18-1.50x (2); 1 MiB reads and writes
        /// keep their sharing (handing none on: 0.90-1.00x, 2 pairs each).
        /// </summary>
        private static bool MovesMuchData(uint opcode, ReadOnlySpan<byte> header, uint payloadSize) => opcode switch
        {
            (uint)FuseOpcode.Write => payloadSize >= HandOverMinData,
            (uint)FuseOpcode.Read => MemoryMarshal.Read<FuseReadIn>(header[OpInOffset..]).Size >= HandOverMinData,
            _ => false,
        };

        /// <summary>The data a request moves from which it may be handed to another thread (32 pages, the kernel's default request size).</summary>
        private const int HandOverMinData = 128 * 1024;

        /// <summary>Dispatches the entry's request on this thread: its file I/O, its reply and its entry's next request come here.</summary>
        private void Serve(Entry e)
        {
            _serving++;
            var req = e.Request;
            req.Sink = this;
            req.FileIo = this;
            _owner._dispatcher.Dispatch(req, Counts);
        }

        /// <summary>
        /// Another queue's thread serving fewer requests than this one (counting those on their way to it); null when
        /// sharing is off, and while this one serves none: a lone request stays. Handing only to an idle thread, against
        /// no sharing (one client, 4-8 paired runs): 4k writes at QD16 1.04-1.51x, 1 MiB writes at QD4 0.98-1.87x, 1 MiB
        /// reads 1.01-1.31x, 4k reads at QD16 0.97-1.06x; handing on only from three served, 4k writes came out at 0.79x
        /// of ring (0.95x from two). To one serving fewer rather than none (8 paired runs): 4k writes at QD16 1.10x, 4k
        /// reads at QD16 1.07x, 1 MiB writes 1.10x, 1 MiB reads 0.96x. Instead re-arming every second large entry from the
        /// other thread (its COMMIT passed over MSG_RING, so the kernel copies consecutive requests on two threads; tried
        /// in 6241dac, reverted): 1 MiB writes 0.90x ring against 0.89x, 1 MiB reads 1.08x against 1.04x (10 paired
        /// runs), at 8-10% more CPU per request, each second reply waiting for the other thread to wake.
        /// </summary>
        private Queue? LessLoadedSibling()
        {
            var queues = _owner._sharing;
            int load = Load;
            if (load == 0) return null;
            for (int i = 1; i < queues.Length; i++)
            {
                var q = queues[(_qid + i) % queues.Length];
                if (q.Load + Volatile.Read(ref q._incoming) < load) return q;
            }
            return null;
        }

        /// <summary>
        /// The requests this thread serves, as other threads see them: its linked ones count until their COMMIT's CQE, as
        /// their reads may still be under way (a whole read tells nothing sooner).
        /// </summary>
        private int Load => Volatile.Read(ref _serving) + Volatile.Read(ref _linked);

        /// <summary>Posts the entry to <paramref name="to"/>'s ring (MSG_RING; a CQE there only) with this thread's next submit.</summary>
        private void HandOver(Entry e, Queue to)
        {
            Interlocked.Increment(ref to._incoming);
            // Stop may have come meanwhile, and with it that thread's leaving once nothing is on its way to it: counted
            // first, checked after, so either it sees this hand-over coming or this thread sees the stop.
            if (_owner._stopping)
            {
                Interlocked.Decrement(ref to._incoming);
                Serve(e);
                return;
            }
            e.Request.Sink = to; // already: it no longer counts as this thread's (GrowIfEveryEntryWaits), and a failed post finds it
            ref var sqe = ref Ring!.GetSqe128();
            sqe.Sqe.PrepareMsgRing(to.Ring!.Fd, 0, UserData(e.Id, KindHandOver), UserData(e.Id, KindHandOverFailed));
            sqe.WithFlags(IoSqeFlags.CqeSkipSuccess);
        }

        /// <summary>The kernel refused to post a hand-over: serve the request here.</summary>
        private void HandOverFailed(Entry e, int result)
        {
            var to = (Queue)e.Request.Sink;
            Interlocked.Decrement(ref to._incoming);
            to.Wake(); // it may be waiting for this hand-over to leave
            if (!_handOverFailureLogged)
            {
                _handOverFailureLogged = true;
                _owner._dispatcher.Log($"fuselage: uring/q{_qid}: handing a request to q{to._qid} failed (errno {-result}); served here");
            }
            Serve(e);
        }

        private void Place(QueuePlacement.Move move)
        {
            if (move == QueuePlacement.Move.Pin) Libc.PinCurrentThread(_qid);
            else if (move == QueuePlacement.Move.Float && _inheritedCpusKnown) Libc.SetCurrentThreadAffinity(_inheritedCpus);
        }

        /// <summary>fuse_out_header is already in the header buffer; place the payload and its size, then COMMIT_AND_FETCH.</summary>
        protected override void SendReply(Request req)
        {
            var e = _owner.EntryAt(req.PoolIndex);
            _serving--;
            // Session over: the kernel took the entry back already. Finishing: the queue has stopped; a COMMIT now
            // would park an entry again, which nothing can cancel.
            if (_owner._sessionOver || Finishing) return;
            var header = e.Header.Span;
            int payload = 0;
            if (req.ReplyLength == 0)
                MemoryMarshal.Write(header, new FuseOutHeader { Len = 16, Error = 0, Unique = req.Unique });
            else
                payload = req.ReplyLength - Request.FuseOutHeaderSize;
            if (e.RepliedFromScratch && payload > 0)
                e.ReplyScratch.Span[..payload].CopyTo(e.Payload.Span[Scratch..]);
            MemoryMarshal.Write(header[PayloadSizeOffset..], (uint)payload);
            PrepareCommand(e, FuseUringCommand.CommitAndFetch);
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
    }
}
