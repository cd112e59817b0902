using System.Diagnostics;
using Fuselage.Buffers;
using Fuselage.Interop;
using Fuselage.Interop.IoUring;
using Fuselage.Ring;

namespace Fuselage.Transport;

/// <summary>
/// The default transport: each worker (a <see cref="RingThread"/>) owns one io_uring and one non-blocking cloned
/// /dev/fuse fd. It keeps one READ posted into an idle request, writes replies through the same ring, and runs the
/// filesystem's file I/O (<see cref="Request.ReadFileAsync"/>) there too, so a worker never blocks in a syscall.
/// The first worker always reads; each further one reads only while the one before it is loaded, or sees requests
/// of several origins interleave while its methods keep it busy.
/// </summary>
internal sealed class RingTransport : ITransport
{
    private readonly FuseMount _mount;
    private readonly Dispatcher _dispatcher;
    private readonly FuseServerOptions _options;
    private readonly RequestStats? _stats;
    private readonly List<Worker> _workers = [];
    private readonly WorkerCompletion _completion = new();
    private volatile bool _stopping;
    private uint _lastClientPid; // fuse_in_header.pid of the last request any worker read

    private readonly string _sourceName;

    public RingTransport(FuseMount mount, Dispatcher dispatcher, FuseServerOptions options, RequestStats? stats, string sourceName = "ring")
    {
        _sourceName = sourceName;
        _mount = mount;
        _dispatcher = dispatcher;
        _options = options;
        _stats = stats;
    }

    public string Name => "ring";
    public Task Completion => _completion.Task;

    public void Start()
    {
        uint maxWrite = _options.MaxWrite ?? FuseConnection.MaxTransferLimit;
        // Every worker reads its own non-blocking clone: fuse_dev_read() ignores IOCB_NOWAIT, so on a blocking fd
        // io_uring's "readable, read inline" path can lose the request to another reader and then sleep in the
        // kernel on this worker's thread. With O_NONBLOCK that read returns EAGAIN and io_uring polls instead.
        _completion.MakeWorkers(_workers, Math.Max(1, _options.Workers), () => _mount.CloneFd(nonBlocking: true),
            (i, fd) => new Worker(this, i, fd, maxWrite, _stats?.AddSource(_options.Workers > 1 ? $"{_sourceName}/{i}" : _sourceName)));
        foreach (var w in _workers) w.Start();
        foreach (var w in _workers) w.WaitStarted();
    }

    public void Stop()
    {
        _stopping = true;
        foreach (var w in _workers) w.Wake();
    }

    private void WorkerExited(Exception? error)
    {
        if (_completion.Exited(error)) Stop(); // the session is over for everyone once one worker sees it end
    }

    public void Dispose()
    {
        foreach (var w in _workers) w.Dispose();
    }

    private sealed class Worker : RingThread
    {
        // user_data = request index << 3 | kind
        private const ulong KindRead = 0, KindWrite = 1, KindFileIo = 2, KindCancel = 3, KindChainedWrite = 4;
        private const int KindBits = 3;
        // Every posted READ is woken by every new request and one of them wins, so at low queue depth a second reader
        // only moves each request to the other CPU: measured at QD1, 2 readers served 15-30% fewer requests than 1,
        // at 25% more CPU each. A worker asks for the next one whenever this many of its requests are in progress;
        // the next one stops reading ("parks") after an interval without such a demand. Not at 2: two QD1 clients keep
        // two file reads in flight on one worker that mostly sleeps, and a second reader there cost 8-17% more CPU
        // per read at 5-10% fewer reads (1.63 against 1.08 context switches per read).
        private const int LoadToWakeNext = 3;
        // Methods that run on the worker's thread never leave two requests in progress, yet requests of several origins
        // can be waiting at once: several client threads, or one thread and the kernel's background requests (a
        // close's RELEASE, pid 0, while the thread already LOOKs UP its next file). A second reader then serves one
        // while the first is busy or not yet awake; creating files, measured +35% with one thread or two. Seen as
        // requests whose fuse_in_header.pid differs from the one read before: at least this many in an interval...
        private const int InterleavedToWakeNext = 8;
        // ...and at least one in this many of the worker's requests (one thread's odd request from elsewhere stays below)...
        private const int InterleavedShareDivisor = 4;
        // ...while the worker spent at least this share of the interval running methods, outside io_uring_enter. Only
        // then can a request wait for it: creating files it was 9-51%, reading files (their reads are in the kernel,
        // and the worker sleeps) 1-2%, where interleaving clients are no reason to wake another reader.
        private const double MethodShareToWakeNext = 0.05;
        // A worker brought in by interleaving clients (not by load) stays only if the transport then serves requests
        // faster than it did without it, over a trial this long...
        private const int TrialMilliseconds = 150;
        // ...by at least this factor. Where a wake-up is dear, two readers serving one client each, each sleeping between
        // that client's requests, are slower than one serving both: creating files from two threads on a VM where a
        // context switch cost ~20 us of CPU, one reader ran 1.4x the rate of two at 0.6x the CPU per request, while on
        // the same VM's earlier host the second reader had added 35%.
        private const double TrialGainToStay = 1.05;
        // After a failed trial interleaving does not bring it in again for this long, doubling up to the maximum...
        private const int FirstRefusalMilliseconds = 1000, MaxRefusalMilliseconds = 8000;
        // ...and after a successful one it parks again after this long, to measure once more (workloads change).
        private const int StayMilliseconds = 1000;
        // How often a worker after the first looks again: whether it is still in demand, or (parked) whether the worker
        // before it is stuck in a method that blocks its thread.
        private const int IntervalMilliseconds = 50;
        private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(IntervalMilliseconds);
        private static readonly long IntervalTicks = Stopwatch.Frequency * IntervalMilliseconds / 1000;
        // /dev/fuse is a stream: io_uring refuses an explicit position on it (EINVAL); -1 means "no position".
        private const ulong StreamPosition = ulong.MaxValue;
        private readonly RingTransport _owner;
        private readonly int _index;
        private readonly int _fd;
        private readonly WorkerRequests _requests;
        // Requests neither read into, nor being served, nor being replied. Only one READ is kept posted per worker:
        // every posted READ is a poller on the connection's queue, and each new request would wake them all.
        private readonly Stack<Request> _idle = new();
        private int _repliesQueued;       // reply WRITEs prepared since the last submit
        private int _repliesInFlight;     // reply WRITEs whose CQE is not in yet
        private Request? _readInto;       // the request the posted READ reads into; null while none is posted
        private bool _sessionOver;
        private int _servedInInterval;
        private int _interleavedInInterval; // requests whose client thread differs from the last one any worker read
        private bool _clientsInterleave;    // as measured over the last whole interval, while methods kept this worker busy
        private long _intervalBegan = Stopwatch.GetTimestamp(); // of the interval interleaving is measured over
        private long _waitTicks;          // Stopwatch ticks inside io_uring_enter since _intervalBegan

        // Shared with the neighbouring workers (see LoadToWakeNext).
        private volatile bool _waiting;   // in io_uring_enter, not running a method
        private long _wakeUps;
        private volatile bool _parked;
        private volatile bool _demanded;  // set by the previous worker while loaded; cleared at each look
        private int _wakeSent;            // the previous worker woke this parked one already
        private long _lastLook;
        private long _previousWakeUpsSeen = -1;
        private long _served;             // requests this worker read, ever (others sum them: the transport's rate)
        private volatile bool _demandedByLoad; // the demand came from the previous worker's requests in progress
        private long _interleaveRefusedUntil;  // Environment.TickCount64; interleaving demands are ignored until then
        private int _refusalMilliseconds = FirstRefusalMilliseconds;
        private long _rateSince, _servedSince;  // parked and demanded by interleaving: where the rate to beat is measured from; 0: not yet
        private double _rateToBeat;       // requests per ms the transport served over that interval
        private long _trialBegan, _servedAtTrial; // 0: no trial under way
        private long _stayUntil;          // after a successful trial: when to park and measure again (0: not joined by a trial)

        public Worker(RingTransport owner, int index, int fd, uint maxWrite, long[]? counts)
            : base($"fuselage-ring-{index}", counts)
        {
            _owner = owner;
            _index = index;
            _fd = fd;
            _requests = new WorkerRequests(owner._options.Depth, maxWrite, this, owner._options.EffectiveMaxDepth, _dataSlabs);
            foreach (var r in _requests.All) r.FileIo = this;
        }

        protected override bool Closing => _sessionOver || _owner._stopping;

        // The requests' input and reply buffers: file writes go from the first, file reads into the second.
        private readonly DataSlabs _dataSlabs = new();
        protected override DataSlabs FileIoSlabs => _dataSlabs;

        protected override void Log(string message) => _owner._dispatcher.Log(message);

        protected override Fuselage.Ring.Ring CreateRing()
        {
            int depth = _requests.MaxDepth; // room for the requests it may grow to
            // DEFER_TASKRUN: completions (polled /dev/fuse reads, file I/O) run as task work only when this thread
            // waits for them, not as interruptions of whatever it is doing; TASKRUN_FLAG shows pending work so a CQ
            // drain can fetch it.
            return new Fuselage.Ring.Ring((uint)(2 * depth + 4), new RingOptions
            {
                Flags = IoUringSetupFlags.SingleIssuer | IoUringSetupFlags.DeferTaskRun | IoUringSetupFlags.TaskRunFlag | IoUringSetupFlags.SubmitAll,
                CompletionQueueEntries = (uint)(4 * depth + 8),
                EnableWake = true,
            });
        }

        protected override void Prime()
        {
            for (int i = _requests.All.Length - 1; i >= 0; i--) _idle.Push(_requests.All[i]);
            _parked = _index > 0;
            EnsureReadPosted();
        }

        protected override void Exited(Exception? error) => _owner.WorkerExited(error);

        protected override ulong FileIoUserData(int requestIndex) => UserData(requestIndex, KindFileIo);

        protected override void Serve()
        {
            var ring = Ring!;
            var handler = new CqeHandler(this);
            bool timedOut = false;
            while (true)
            {
                DrainCompletedElsewhere();
                if (_owner._stopping || _sessionOver) break;
                Balance(timedOut);
                if (_readInto is null && _idle.Count == 0) GrowIfEveryRequestWaits();
                _waiting = true;
                // A reply WRITE to /dev/fuse completes during the submit (fuse_dev_write never waits), so its CQE is
                // ready at once: wait for one more, or every reply would cost a second io_uring_enter. Only while a
                // READ is posted: then a request, a wake-up or the session's end is bound to come.
                uint waitFor = 1 + (_readInto is not null ? (uint)_repliesQueued : 0);
                _repliesQueued = 0;
                long waitBegan = Stopwatch.GetTimestamp();
                if (_index > 0) timedOut = !ring.SubmitAndWait(waitFor, Interval);
                else ring.SubmitAndWait(waitFor);
                _waitTicks += Stopwatch.GetTimestamp() - waitBegan;
                // Counted before _waiting clears (IsStuck reads them the other way round): one that just woke is not stuck.
                Volatile.Write(ref _wakeUps, _wakeUps + 1);
                _waiting = false;
                ring.ForEachCqe(ref handler);
                RequestStats.SampleAllocations(Counts);
            }
        }

        /// <summary>
        /// Takes more requests when every one is held by a method waiting on something other than this worker (no
        /// file I/O, no reply of its own in flight): what they wait for (an unlock, an INTERRUPT) can come only as a
        /// request this worker, or another, reads.
        /// </summary>
        private void GrowIfEveryRequestWaits()
        {
            if (_parked || FileIoInFlight > 0 || _repliesInFlight > 0 || !_requests.TryGrow(out var added)) return;
            foreach (var r in added)
            {
                r.FileIo = this;
                _idle.Push(r);
            }
            _owner._dispatcher.Log($"fuselage: ring/{_index}: all {_requests.All.Length - added.Length} requests wait on the filesystem; now {_requests.All.Length} (at most {_requests.MaxDepth})");
            EnsureReadPosted();
        }

        private bool Alone => _owner._workers.Count == 1; // nothing to balance: no interval measures, no demands
        private Worker? Previous => _index > 0 ? _owner._workers[_index - 1] : null;
        private Worker? Next => _index + 1 < _owner._workers.Count ? _owner._workers[_index + 1] : null;

        /// <summary>Asks for the next worker while this one is loaded; parks or unparks this one (never the first).</summary>
        private void Balance(bool timedOut)
        {
            if (Alone) return;
            int busy = _requests.All.Length - _idle.Count - (_readInto is not null ? 1 : 0) - _repliesQueued;
            long now = Environment.TickCount64;
            MeasureInterleaving();
            var next = Next;
            bool loaded = busy >= LoadToWakeNext;
            if (next is not null && (loaded || _clientsInterleave)) next.Demand(byLoad: loaded);
            if (Previous is not { } previous) return;
            if (_parked)
            {
                bool stuck = timedOut && IsStuck(previous);
                bool byInterleaving = _demanded && !_demandedByLoad && !stuck;
                // Interleaving alone brings it in on trial only: the demand waits until the rate to beat is measured.
                if (byInterleaving && !MeasuredRateToBeat(now)) return;
                if (_demanded || stuck)
                {
                    if (byInterleaving) BeginTrial(now);
                    _rateSince = 0;
                    _parked = false;
                    _demanded = false;
                    _demandedByLoad = false;
                    Volatile.Write(ref _wakeSent, 0);
                    _lastLook = now;
                    EnsureReadPosted();
                }
                return;
            }
            if (now - _lastLook < IntervalMilliseconds) return;
            _lastLook = now;
            if (TrialOrStayOver(now)) return;
            bool demanded = _demanded;
            _demanded = false;
            // Not while the previous worker is inside a (possibly blocking) method, nor before the next one parked,
            // nor while this one still sees clients interleave (the previous one may then see only its own client).
            if (!demanded && previous._waiting && next is not { _parked: false } && !_clientsInterleave) Park();
        }

        /// <summary>Counts requests whose client thread is not the one of the last request any worker read.</summary>
        private void CountClient(uint pid)
        {
            _servedInInterval++;
            if (pid == _owner._lastClientPid) return;
            _owner._lastClientPid = pid; // a plain racy store: only a hint shared between workers
            _interleavedInInterval++;
        }

        /// <summary>At the end of each interval, whether requests of several client threads interleaved in it.</summary>
        private void MeasureInterleaving()
        {
            long timestamp = Stopwatch.GetTimestamp(), elapsed = timestamp - _intervalBegan;
            if (elapsed < IntervalTicks) return;
            _clientsInterleave = _interleavedInInterval >= InterleavedToWakeNext
                && _interleavedInInterval * InterleavedShareDivisor >= _servedInInterval
                && elapsed - _waitTicks >= MethodShareToWakeNext * elapsed;
            _interleavedInInterval = _servedInInterval = 0;
            _waitTicks = 0;
            _intervalBegan = timestamp;
        }

        /// <summary>
        /// Called by the previous worker while it is loaded (<paramref name="byLoad"/>) or sees clients interleave: keep
        /// reading, or start again; for interleaving, not while a failed trial's refusal lasts.
        /// </summary>
        private void Demand(bool byLoad)
        {
            if (byLoad) { if (!_demandedByLoad) _demandedByLoad = true; }
            else if (Environment.TickCount64 < Volatile.Read(ref _interleaveRefusedUntil)) return;
            if (!_demanded) _demanded = true;
            if (_parked && Interlocked.Exchange(ref _wakeSent, 1) == 0) Wake();
        }

        /// <summary>
        /// Whether <paramref name="previous"/> has been inside a method, not waiting, since the last check, or has held a
        /// chain (no READ posted) for an interval.
        /// </summary>
        private bool IsStuck(Worker previous)
        {
            bool waiting = previous._waiting;
            long wakeUps = Volatile.Read(ref previous._wakeUps);
            bool stuck = !waiting && wakeUps == _previousWakeUpsSeen;
            _previousWakeUpsSeen = wakeUps;
            long chainedSince = Volatile.Read(ref previous._chainedSince);
            return stuck || chainedSince != 0 && Environment.TickCount64 - chainedSince >= IntervalMilliseconds;
        }

        /// <summary>The transport's requests read so far, by every worker.</summary>
        private long TotalServed()
        {
            long total = 0;
            foreach (var w in _owner._workers) total += Volatile.Read(ref w._served);
            return total;
        }

        /// <summary>
        /// Parked and demanded by interleaving clients: measures the transport's rate over one whole interval from the
        /// demand on, the rate a trial must beat. True once it is measured.
        /// </summary>
        private bool MeasuredRateToBeat(long now)
        {
            if (_rateSince == 0)
            {
                _rateSince = now;
                _servedSince = TotalServed();
                return false;
            }
            if (now - _rateSince < IntervalMilliseconds) return false;
            _rateToBeat = (double)(TotalServed() - _servedSince) / (now - _rateSince);
            return true;
        }

        private void BeginTrial(long now)
        {
            _trialBegan = now;
            _servedAtTrial = TotalServed();
        }

        /// <summary>
        /// Ends a trial that has run its time: a worker that did not raise the rate parks, and interleaving will not bring
        /// it in for a while (longer each time); one that did stays, until it parks to measure again. True when parked.
        /// </summary>
        private bool TrialOrStayOver(long now)
        {
            if (_stayUntil != 0 && now >= _stayUntil)
            {
                _stayUntil = 0;
                Park();
                return true;
            }
            if (_trialBegan == 0 || now - _trialBegan < TrialMilliseconds) return false;
            double rate = (double)(TotalServed() - _servedAtTrial) / (now - _trialBegan);
            _trialBegan = 0;
            if (rate >= _rateToBeat * TrialGainToStay)
            {
                _refusalMilliseconds = FirstRefusalMilliseconds;
                _stayUntil = now + StayMilliseconds;
                return false;
            }
            Volatile.Write(ref _interleaveRefusedUntil, now + _refusalMilliseconds);
            _refusalMilliseconds = Math.Min(2 * _refusalMilliseconds, MaxRefusalMilliseconds);
            Park();
            return true;
        }

        private void Park()
        {
            _parked = true;
            _trialBegan = _stayUntil = 0;
            if (_readInto is { } posted) Ring!.GetSqe().PrepareCancel(UserData(posted.PoolIndex, KindRead), UserData(0, KindCancel));
        }

        private static ulong UserData(int requestIndex, ulong kind) => ((ulong)requestIndex << KindBits) | kind;

        /// <summary>Posts a READ into an idle request, unless one is posted already or every request is busy.</summary>
        private void EnsureReadPosted()
        {
            if (_readInto is not null || _parked || _sessionOver || _owner._stopping || !_idle.TryPop(out var r)) return;
            PostRead(r);
        }

        private void PostRead(Request r)
        {
            ref var sqe = ref Ring!.GetSqe();
            uint length = (uint)(_requests.InputBufferSize - r.InputStart);
            // Not READ_FIXED: fuse_dev_read() refuses iterators that are not user-backed (EINVAL, seen on 6.18).
            sqe.PrepareRead(_fd, r.InputAddress, length, StreamPosition, UserData(r.PoolIndex, KindRead));
            _readInto = r;
        }

        /// <summary>WRITEs the reply; the request goes idle when the kernel has taken it (or at once when there is none).</summary>
        protected override void SendReply(Request r)
        {
            if (_sessionOver || _owner._stopping || Finishing) return; // nothing will be read again; the ring's disposal cancels the rest
            if (r.ReplyLength > 0)
            {
                ref var sqe = ref Ring!.GetSqe();
                sqe.PrepareWrite(_fd, r.ReplyAddress, (uint)r.ReplyLength, StreamPosition, UserData(r.PoolIndex, KindWrite));
                _repliesQueued++;
                _repliesInFlight++;
                return;
            }
            _idle.Push(r);
            EnsureReadPosted();
        }

        private void OnCqe(in IoUringCqe cqe)
        {
            var r = _requests.All[(int)(cqe.UserData >> KindBits)];
            ulong kind = cqe.UserData & ((1 << KindBits) - 1);
            if (kind == KindCancel) return; // the cancelled READ reports itself (ECANCELED, or the request it read)
            if (kind == KindFileIo)
            {
                if (r == _chained)
                {
                    ChainBrokenByItsRead(r, cqe.Res);
                    return;
                }
                CompleteFileIo(r, cqe.Res); // the method's continuation runs here, and its reply is queued on this ring
                return;
            }
            if (kind == KindChainedWrite)
            {
                ChainBrokenByItsReply(r, cqe.Res);
                return;
            }
            if (kind == KindWrite)
            {
                _repliesInFlight--;
                LogRejectedReply(cqe.Res);
                _idle.Push(r);
                EnsureReadPosted();
                return;
            }
            if (r == _chained) ChainCompleted(r); // its READ is the last link: the reply went out before it
            _readInto = null;
            int res = cqe.Res;
            if (res < 0)
            {
                switch (-res)
                {
                    case Errno.ENODEV or Errno.ECONNABORTED:
                        _sessionOver = true; // unmounted or aborted
                        return;
                    case Errno.ECANCELED or Errno.EINTR or Errno.EAGAIN or Errno.ENOENT:
                        _idle.Push(r);
                        EnsureReadPosted();
                        return;
                    default:
                        throw new ErrnoException("read /dev/fuse (io_uring)", -res);
                }
            }
            r.InputLength = res;
            Volatile.Write(ref _served, _served + 1);
            if (res >= Request.FuseInHeaderSize) CountArrival(r.Pid);
            // The next READ is posted after the dispatch (it is submitted with the next wait either way): a READ whose
            // reply went linked to its file read brings the next request in itself.
            _owner._dispatcher.Dispatch(r, Counts);
            EnsureReadPosted();
        }

        private void LogRejectedReply(int result)
        {
            // ENOENT: the kernel stopped waiting (interrupted, aborted); nothing to do.
            if (result < 0 && result != -Errno.ENOENT && result != -Errno.ECANCELED)
                _owner._dispatcher.Log($"fuselage: ring/{_index}: reply rejected: errno {-result}");
        }

        // ---- one client, one request at a time: file read, reply and next READ go to the kernel as one chain ----

        // A client that waits for each answer before its next request (reads at queue depth 1) keeps the worker waking
        // twice per request: for the file read's completion, to send the reply, and for the next request. Chained (the
        // read skips its CQE when whole, the reply WRITE skips its CQE when taken, and the request's own READ follows),
        // the kernel sends the reply as the data lands and the thread wakes once, with the next request.
        // Only while one client's requests come alone: while the chain's file read runs no READ is posted, so a second
        // client's request would wait for it. Requests of one client thread, each arriving with no other in progress,
        // this many in a row:
        private const int SoloArrivalsToChain = 8;
        // And only with a parked next worker, which takes the requests in when a chain's read lasts longer than an
        // interval (a read of a pipe, of a slow disk): see IsStuck.
        private Request? _chained;    // the request whose file read, reply and next READ are in flight as one chain
        private long _chainedSince;   // Environment.TickCount64 when that chain went to the kernel; 0: none
        private int _soloArrivals;    // requests in a row of one client thread that arrived with no other in progress
        private uint _lastArrivalPid;

        private void CountArrival(uint pid)
        {
            if (!Alone) CountClient(pid);
            bool alone = _requests.All.Length - _idle.Count == 1; // this one only: no READ is posted meanwhile
            _soloArrivals = alone && pid == _lastArrivalPid ? Math.Min(_soloArrivals + 1, SoloArrivalsToChain) : 0;
            _lastArrivalPid = pid;
        }

        // Worker 0 only: it never parks (parking cancels the posted READ, and a chain's READ, a link still waiting for
        // the ones before it, need not be found to cancel).
        protected override bool CanLinkReply(Request r) =>
            // The solo arrivals count this request's own arrival: no other request is in progress.
            _index == 0 && _soloArrivals >= SoloArrivalsToChain && _chained is null && _readInto is null
            && Next is { _parked: true } && Ring!.SqSpaceLeft >= 2
            && !_sessionOver && !_owner._stopping;

        protected override void PrepareLinkedReply(Request r)
        {
            var ring = Ring!;
            ring.GetSqe().PrepareWrite(_fd, r.ReplyAddress, (uint)r.ReplyLength, StreamPosition, UserData(r.PoolIndex, KindChainedWrite))
                .WithFlags(IoSqeFlags.IoLink | IoSqeFlags.CqeSkipSuccess);
            PostRead(r);
            _chained = r;
            Volatile.Write(ref _chainedSince, Environment.TickCount64);
            RequestStats.CountLinkedReply(Counts, dropped: false);
        }

        /// <summary>The chain is over: its READ has completed or was dropped, and no READ is posted.</summary>
        private void Unchain()
        {
            _chained = null;
            _readInto = null;
            Volatile.Write(ref _chainedSince, 0);
        }

        /// <summary>The chain's READ completed (a request, or the session's end): the reply before it went out.</summary>
        private void ChainCompleted(Request r)
        {
            Unchain();
            LinkedReplyCompleted(r, r.QueuedReadLength, replySent: true);
        }

        /// <summary>Short or failed: the kernel dropped the reply and the READ behind it, without CQEs; reply as usual.</summary>
        private void ChainBrokenByItsRead(Request r, int result)
        {
            Unchain();
            RequestStats.CountLinkedReply(Counts, dropped: true);
            LinkedReplyCompleted(r, result, replySent: false); // its reply WRITE is queued, and frees the request
            EnsureReadPosted();
        }

        /// <summary>The kernel refused the reply (the caller was interrupted, ...) and dropped the READ behind it.</summary>
        private void ChainBrokenByItsReply(Request r, int result)
        {
            Unchain();
            LogRejectedReply(result);
            LinkedReplyCompleted(r, r.QueuedReadLength, replySent: true);
            _idle.Push(r);
            EnsureReadPosted();
        }

        protected override void HandleCompletions()
        {
            var handler = new CqeHandler(this);
            Ring!.ForEachCqe(ref handler);
        }

        private struct CqeHandler(Worker worker) : ICqeHandler
        {
            public readonly void Handle(in IoUringCqe cqe) => worker.OnCqe(cqe);
        }

        public override void Dispose()
        {
            base.Dispose();
            Libc.close(_fd);
            _requests.Dispose();
        }
    }
}
