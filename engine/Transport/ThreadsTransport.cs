using Fuselage.Interop;

namespace Fuselage.Transport;

/// <summary>
/// libfuse's model: blocking read() and write() on /dev/fuse from dedicated threads, one cloned fd each.
/// The reference and fallback for the ring transport.
/// </summary>
internal sealed class ThreadsTransport : ITransport
{
    private readonly FuseMount _mount;
    private readonly Dispatcher _dispatcher;
    private readonly FuseServerOptions _options;
    private readonly RequestStats? _stats;
    private readonly List<Worker> _workers = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly WorkerCompletion _completion = new();

    public ThreadsTransport(FuseMount mount, Dispatcher dispatcher, FuseServerOptions options, RequestStats? stats)
    {
        _mount = mount;
        _dispatcher = dispatcher;
        _options = options;
        _stats = stats;
    }

    public string Name => "threads";
    public Task Completion => _completion.Task;

    public void Start()
    {
        uint maxWrite = _options.MaxWrite ?? FuseConnection.MaxTransferLimit;
        for (int i = 0; i < Math.Max(1, _options.Workers); i++)
        {
            int fd = i == 0 ? _mount.Fd : _mount.CloneFd();
            _workers.Add(new Worker(this, i, fd, ownsFd: i != 0, maxWrite, _stats?.AddSource($"threads/{i}")));
        }
        _completion.Starting(_workers.Count);
        foreach (var w in _workers) w.Thread.Start();
    }

    public void Stop() => _stop.Cancel();

    private void WorkerExited(Exception? error)
    {
        // Cancel first: once the completion is set, FuseServer disposes this transport (and _stop) at once.
        _stop.Cancel(); // the session is over for everyone once one worker sees it end
        _completion.Exited(error);
    }

    public void Dispose()
    {
        foreach (var w in _workers) w.Dispose();
        _stop.Dispose();
    }

    private sealed class Worker : IReplySink, IDisposable
    {
        private readonly ThreadsTransport _owner;
        private readonly int _fd;
        private readonly bool _ownsFd;
        private readonly long[]? _counts;
        private readonly WorkerRequests _requests;

        public Worker(ThreadsTransport owner, int index, int fd, bool ownsFd, uint maxWrite, long[]? counts)
        {
            _owner = owner;
            _fd = fd;
            _ownsFd = ownsFd;
            _counts = counts;
            _requests = new WorkerRequests(owner._options.Depth, maxWrite, this);
            Thread = new Thread(Run) { Name = $"fuselage-threads-{index}", IsBackground = true };
        }

        public Thread Thread { get; }

        private void Run()
        {
            Exception? error = null;
            try
            {
                var stop = _owner._stop.Token;
                while (!stop.IsCancellationRequested)
                {
                    var req = _requests.Rent(stop);
                    if (req is null) break;
                    nint n = Libc.Read(_fd, req.InputBuffer);
                    if (n < 0)
                    {
                        int errno = Errno.Last;
                        _requests.Return(req);
                        if (errno is Errno.EINTR or Errno.EAGAIN or Errno.ENOENT) continue;
                        if (errno is Errno.ENODEV or Errno.ECONNABORTED) break; // unmounted or aborted
                        throw new ErrnoException("read /dev/fuse", errno);
                    }
                    req.InputLength = (int)n;
                    _owner._dispatcher.Dispatch(req, _counts);
                    RequestStats.SampleAllocations(_counts);
                }
            }
            catch (Exception e) { error = e; }
            _owner.WorkerExited(error);
        }

        public void Complete(Request request)
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
            if (_ownsFd) Libc.close(_fd);
            _requests.Dispose();
        }
    }
}
