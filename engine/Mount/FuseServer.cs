using Fuselage.Interop.Fuse;
using Fuselage.Transport;

namespace Fuselage;

/// <summary>
/// Serves one filesystem on one mountpoint: mounts, runs the chosen transport, and on <see cref="Stop"/> (or an
/// external umount) ends the session, unmounts and frees everything. Never leaves a mount behind on dispose.
/// </summary>
public sealed class FuseServer : IDisposable
{
    private readonly FileSystem _fs;
    private readonly TaskCompletionSource<FuseConnection> _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Dispatcher? _dispatcher;
    private ITransport? _transport;
    private int _stopped;

    public FuseServer(FileSystem fs, FuseServerOptions? options = null)
    {
        _fs = fs;
        Options = options ?? new FuseServerOptions();
        Stats = Options.CollectStats ? new RequestStats() : null;
    }

    public FuseServerOptions Options { get; }
    public RequestStats? Stats { get; }
    public FuseMount? Mount { get; private set; }

    /// <summary>Invalidations and other notifications to the kernel; available once started.</summary>
    public Notifications Notify => _notifications ?? throw new InvalidOperationException("the server is not started");
    private Notifications? _notifications;
    public string TransportName => _transport?.Name ?? Options.Transport.ToString().ToLowerInvariant();

    /// <summary>Completes once the kernel's INIT is answered: the mount is usable.</summary>
    public Task<FuseConnection> Ready => _ready.Task;

    /// <summary>Completes when the session ends: unmounted (by us or anyone), aborted, or failed.</summary>
    public Task Completion => _transport?.Completion ?? Task.CompletedTask;

    /// <summary>Mounts <paramref name="mountpoint"/> and starts serving. Throws (leaving nothing mounted) when that fails.</summary>
    public void Start(string mountpoint, MountOptions? mountOptions = null)
    {
        // Once per server: a second mount would outlive it (Stop and Dispose act once, on the first).
        if (Mount is not null || Volatile.Read(ref _stopped) != 0) throw new InvalidOperationException("a FuseServer starts once; make a new one");
        if (Options.Policy.Unsupported is { } why) throw new NotSupportedException(why);
        if (Options.Transport == TransportKind.Uring) UringSupport.ThrowIfDisabled();
        // Every request that can wait at once must fit the interrupt table: each worker (or uring queue, one per
        // possible CPU, beside its /dev/fuse reader) may grow to MaxDepth requests, and the threads transport to
        // MaxWorkers workers.
        int maxInFlight = Options.Transport switch
        {
            TransportKind.Uring => Options.EffectiveMaxDepth * UringTransport.PossibleCpus() + UringTransport.DevFuseDepth,
            TransportKind.Threads => Options.EffectiveMaxDepth * ThreadsTransport.MaxWorkersFor(Options),
            _ => Options.EffectiveMaxDepth * Math.Max(1, Options.Workers),
        };
        _dispatcher = new Dispatcher(_fs, Options, maxInFlight);
        _dispatcher.Initialized += conn => _ready.TrySetResult(conn);
        _dispatcher.InitRefused += reason => _ready.TrySetException(new IOException(reason));
        mountOptions ??= new MountOptions();
        _dispatcher.DefaultPermissions = mountOptions.DefaultPermissions;
        Mount = FuseMount.Mount(mountpoint, mountOptions);
        _notifications = new Notifications(Mount);
        var dispatcher = _dispatcher;
        _fs.BackingFiles = new BackingFiles(Mount, () => dispatcher.Connection is { } c && (c.Granted & FuseInitFlags.Passthrough) != 0, dispatcher.Log);
        try
        {
            _transport = Options.Transport switch
            {
                TransportKind.Threads => new ThreadsTransport(Mount, _dispatcher, Options, Stats),
                TransportKind.Ring => new RingTransport(Mount, _dispatcher, Options, Stats),
                TransportKind.Uring => new UringTransport(Mount, _dispatcher, Options, Stats),
                _ => throw new ArgumentOutOfRangeException(nameof(Options.Transport)),
            };
            _transport.Start();
            _transport.Completion.ContinueWith(t =>
            {
                var reason = _dispatcher.FatalError is { } f ? new IOException(f) : t.Exception?.GetBaseException() ?? new IOException("the session ended before INIT");
                _ready.TrySetException(reason);
            }, TaskScheduler.Default);
        }
        catch
        {
            Teardown(TimeSpan.FromSeconds(5));
            throw;
        }
    }

    /// <summary>Ends the session: unmounts, waits for the workers (aborting the connection if they do not finish), frees buffers.</summary>
    public void Stop(TimeSpan? timeout = null) => Teardown(timeout ?? TimeSpan.FromSeconds(3));

    private void Teardown(TimeSpan timeout)
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0) return;
        // Unmount first: the workers then see the session end (ENODEV) after serving what was in flight.
        try { Mount?.Unmount(lazy: false); }
        catch (Exception e) { _dispatcher?.Log($"fuselage: unmount failed: {e.Message}"); } // umount2 detaches a busy mount itself
        _transport?.Stop();
        // Methods still waiting (on I/O, on a lock, on an interrupt that will never come) are told to give up.
        _dispatcher?.CancelInFlight();
        // Quiesced: the transport holds no request, and its workers wait only for what the connection's end brings.
        bool quiesced = _transport is null || Finished(_transport.Quiesced, timeout);
        // A detached mount still in use keeps the connection, and its callers would wait for replies nobody sends:
        // abort it now. If its last user has left meanwhile, the abort finds the connection gone and does nothing.
        if (quiesced && Mount is { DetachedWhileBusy: true } busy) busy.Abort();
        bool stopped = _transport is null || Finished(_transport.Completion, quiesced ? timeout : TimeSpan.Zero);
        if (!stopped)
        {
            // Workers still busy or blocked in the kernel, so the connection is alive and still ours: abort it, failing every read and waiter.
            _dispatcher?.Log($"fuselage: the {_transport!.Name} transport did not stop within {timeout.TotalMilliseconds:0} ms; aborting the connection");
            Mount?.Abort();
            stopped = Finished(_transport!.Completion, timeout);
        }
        // Buffers are freed only when neither the kernel nor a late method can still write into them.
        if (stopped && (_dispatcher is null || _dispatcher.WaitForPending(timeout)))
        {
            _transport?.Dispose();
            _dispatcher?.EndSession();
        }
        else _dispatcher?.Log("fuselage: requests still running after teardown; leaving their buffers allocated and the filesystem undestroyed");
        Mount?.Dispose();
        _ready.TrySetException(new IOException("stopped"));
    }

    public void Dispose() => Stop();

    /// <summary>Whether the task finished (succeeded or faulted) within <paramref name="timeout"/>.</summary>
    private static bool Finished(Task task, TimeSpan timeout)
    {
        try { return task.Wait(timeout); }
        catch (AggregateException) { return true; }
    }
}
