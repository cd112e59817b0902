using Fuselage.Interop;

namespace Fuselage.Transport;

/// <summary>
/// libfuse's model: blocking read() and write() on /dev/fuse from dedicated threads, one cloned fd each.
/// A method's file I/O blocks its thread, so, like libfuse, the transport starts another worker whenever a read
/// returns with no other worker left waiting for the next request, up to <see cref="FuseServerOptions.MaxWorkers"/>.
/// The reference and fallback for the ring transport.
/// </summary>
internal sealed class ThreadsTransport : ITransport, IThreadPoolWorkItem
{
    private readonly FuseMount _mount;
    private readonly Dispatcher _dispatcher;
    private readonly FuseServerOptions _options;
    private readonly RequestStats? _stats;
    private readonly List<Worker> _workers = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly WorkerCompletion _completion = new();
    private readonly Lock _growing = new();
    private int _maxWorkers;
    private uint _maxWrite;
    private int _readersWaiting; // workers blocked in read(); hot path: two interlocked operations per request
    private volatile int _workerCount;
    private int _growthRequests; // growth asked for and not yet handled by the work item
    private readonly TaskCompletionSource _quiesced = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public ThreadsTransport(FuseMount mount, Dispatcher dispatcher, FuseServerOptions options, RequestStats? stats)
    {
        _mount = mount;
        _dispatcher = dispatcher;
        _options = options;
        _stats = stats;
    }

    public string Name => "threads";
    public Task Completion => _completion.Task;

    /// <summary>Stopped, and every worker still running is blocked in read(), which only the connection's end returns from.</summary>
    public Task Quiesced => _quiesced.Task;

    /// <summary>Workers the threads transport may grow to when <see cref="FuseServerOptions.MaxWorkers"/> is not set (libfuse's max_threads is 10).</summary>
    public const int DefaultMaxWorkers = 16;

    /// <summary>The most workers a threads transport with these options will run (it sizes the interrupt table too).</summary>
    public static int MaxWorkersFor(FuseServerOptions options)
    {
        int initial = Math.Max(1, options.Workers);
        return Math.Max(initial, options.MaxWorkers ?? DefaultMaxWorkers);
    }

    public void Start()
    {
        _maxWrite = _options.MaxWrite ?? FuseConnection.MaxTransferLimit;
        int initial = Math.Max(1, _options.Workers);
        _maxWorkers = MaxWorkersFor(_options);
        lock (_growing)
        {
            // Every worker reads a clone of its own, the first too: a worker still inside a method when teardown gives
            // up on it must not later reply on the mount's fd, closed by then and maybe another file's number.
            _completion.MakeWorkers(_workers, initial, () => _mount.CloneFd(),
                (i, fd) => new Worker(this, i, fd, _maxWrite, _stats?.AddSource($"threads/{i}")));
            _workerCount = _workers.Count;
            foreach (var w in _workers) w.Thread.Start();
        }
    }

    /// <summary>
    /// Called by a worker that took a request while no other worker waits for the next one. The new worker is
    /// made on the thread pool (this instance is the reusable work item), so the worker's own path allocates nothing.
    /// </summary>
    private void RequestGrowth()
    {
        if (_workerCount >= _maxWorkers) return;
        // Counted, not flagged: a request made while a worker is being added (the new one may already be the
        // last reader) must not be lost, or the transport would stop reading with every worker busy.
        if (Interlocked.Increment(ref _growthRequests) == 1) ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
    }

    void IThreadPoolWorkItem.Execute()
    {
        do
        {
            try { Grow(); }
            catch (Exception e) { _dispatcher.Log($"fuselage: threads: adding a worker failed: {e.Message}"); }
        } while (Interlocked.Decrement(ref _growthRequests) != 0);
    }

    private void Grow()
    {
        lock (_growing)
        {
            // TryAdd fails once every worker has exited: the transport is complete and may be disposed.
            if (_stop.IsCancellationRequested || _workers.Count >= _maxWorkers || !_completion.TryAdd()) return;
            int fd;
            try { fd = _mount.CloneFd(); }
            catch (Exception e)
            {
                _maxWorkers = _workers.Count; // don't try again on every request
                _dispatcher.Log($"fuselage: threads: cannot add a worker ({e.Message}); staying at {_workers.Count}");
                _completion.Exited(null); // the worker that was counted never ran
                return;
            }
            var worker = new Worker(this, _workers.Count, fd, _maxWrite, _stats?.AddSource($"threads/{_workers.Count}"));
            _workers.Add(worker);
            _workerCount = _workers.Count;
            worker.Thread.Start();
        }
    }

    public void Stop()
    {
        _stop.Cancel();
        CheckQuiesced();
    }

    /// <summary>Once stopped a worker reads no more after its request is answered: those left are the ones in read().</summary>
    private void CheckQuiesced()
    {
        // _stop may be disposed by now (after the last worker's exit): reading its state is still safe.
        if (_stop.IsCancellationRequested && Volatile.Read(ref _readersWaiting) >= _completion.Running) _quiesced.TrySetResult();
    }

    private void WorkerExited(Exception? error)
    {
        // Cancel first: once the completion is set, FuseServer disposes this transport (and _stop) at once.
        _stop.Cancel(); // the session is over for everyone once one worker sees it end
        // A worker that failed leaves the others blocked in read(2), which nothing but the connection's end wakes:
        // end it, or the transport would never complete and the mount would hang unserved.
        if (error is not null) _mount.Abort();
        _completion.Exited(error);
        CheckQuiesced();
    }

    public void Dispose()
    {
        lock (_growing) foreach (var w in _workers) w.Dispose();
        _stop.Dispose();
    }

    private sealed class Worker : IReplySink, IDisposable
    {
        private readonly ThreadsTransport _owner;
        private readonly int _fd;
        private readonly long[]? _counts;
        private readonly WorkerRequests _requests;

        public Worker(ThreadsTransport owner, int index, int fd, uint maxWrite, long[]? counts)
        {
            _owner = owner;
            _fd = fd;
            _counts = counts;
            _requests = new WorkerRequests(owner._options.Depth, maxWrite, this, owner._options.EffectiveMaxDepth);
            _mayGrow = MayGrow;
            Thread = new Thread(Run) { Name = $"fuselage-threads-{index}", IsBackground = true };
        }

        public Thread Thread { get; }

        private readonly Func<bool> _mayGrow;
        private int _completingElsewhere;

        /// <summary>
        /// With every request of this worker taken: whether to take more rather than wait. Only when each waits on the
        /// filesystem and no other worker is reading (that one would read what they wait for); a reply being written
        /// on another thread gives its request back in a moment.
        /// </summary>
        private bool MayGrow() => Volatile.Read(ref _completingElsewhere) == 0 && Volatile.Read(ref _owner._readersWaiting) == 0;

        private void Grown(int before) =>
            _owner._dispatcher.Log($"fuselage: {Thread.Name}: all {before} requests wait on the filesystem; now {_requests.All.Length} (at most {_requests.MaxDepth})");

        private void Run()
        {
            Exception? error = null;
            try
            {
                RequestStats.StartAllocationCount(_counts); // a worker started later must not count its own start-up
                var stop = _owner._stop.Token;
                while (!stop.IsCancellationRequested)
                {
                    int before = _requests.All.Length;
                    var req = _requests.Rent(stop, _mayGrow);
                    if (req is null) break;
                    if (_requests.All.Length != before) Grown(before);
                    Interlocked.Increment(ref _owner._readersWaiting);
                    if (stop.IsCancellationRequested) _owner.CheckQuiesced(); // stopped after this worker's check: it reads once more
                    nint n = Libc.Read(_fd, req.InputBuffer);
                    bool lastReader = Interlocked.Decrement(ref _owner._readersWaiting) == 0;
                    if (n < 0)
                    {
                        int errno = Errno.Last;
                        _requests.Return(req);
                        if (errno is Errno.EINTR or Errno.EAGAIN or Errno.ENOENT) continue;
                        if (errno is Errno.ENODEV or Errno.ECONNABORTED) break; // unmounted or aborted
                        throw new ErrnoException("read /dev/fuse", errno);
                    }
                    req.InputLength = (int)n;
                    if (lastReader) _owner.RequestGrowth(); // this request may block here: keep someone reading
                    _owner._dispatcher.Dispatch(req, _counts);
                    RequestStats.SampleAllocations(_counts);
                }
            }
            catch (Exception e) { error = e; }
            _owner.WorkerExited(error);
        }

        public void Complete(Request request)
        {
            // A method finishing on another thread: its request is about to come back (see MayGrow).
            bool elsewhere = Environment.CurrentManagedThreadId != Thread.ManagedThreadId;
            if (elsewhere) Interlocked.Increment(ref _completingElsewhere);
            try { Reply(request); }
            finally { if (elsewhere) Interlocked.Decrement(ref _completingElsewhere); }
        }

        private void Reply(Request request)
        {
            if (request.ReplyLength > 0 && Libc.Write(_fd, request.ReplyBuffer[..request.ReplyLength]) < 0)
            {
                int errno = Errno.Last;
                // ENOENT: the kernel no longer waits for it (interrupted, aborted); ENODEV: the session ended.
                if (errno is not (Errno.ENOENT or Errno.ENODEV or Errno.ECONNABORTED))
                    _owner._dispatcher.Log($"fuselage: reply to unique {request.Unique} rejected: errno {errno}");
            }
            _requests.Return(request);
        }

        public void Dispose()
        {
            Libc.close(_fd);
            _requests.Dispose();
        }
    }
}
