using System.Collections.Concurrent;

namespace Fuselage.Transport;

/// <summary>
/// A transport with no kernel: a test plays the kernel, handing in request bytes and taking reply bytes.
/// Requests are dispatched on the caller's thread; replies of asynchronous methods arrive when they complete.
/// </summary>
public sealed class InMemoryTransport : IDisposable
{
    private readonly WorkerRequests _requests;
    private readonly ConcurrentQueue<Request> _replies = new();
    private readonly WaitList _replyArrived = new(); // taking a reply takes no lock: only a waiter is signalled
    private readonly Sink _sink;
    private readonly long[]? _counts;

    public InMemoryTransport(FileSystem fs, FuseServerOptions? options = null)
    {
        options ??= new FuseServerOptions();
        Options = options;
        Stats = options.CollectStats ? new RequestStats() : null;
        _counts = Stats?.AddSource("in-memory");
        Dispatcher = new Dispatcher(fs, options, options.Depth);
        _sink = new Sink(this);
        _requests = new WorkerRequests(options.Depth, options.MaxWrite ?? FuseConnection.MaxTransferLimit, _sink);
    }

    public FuseServerOptions Options { get; }
    public RequestStats? Stats { get; }
    internal Dispatcher Dispatcher { get; }
    public FuseConnection? Connection => Dispatcher.Connection;

    /// <summary>Largest request the transport accepts (its input buffer).</summary>
    public int MaxRequestLength => _requests.InputBufferSize - Request.AlignedInputStart;

    /// <summary>Serves one request. Returns false (and serves nothing) when it does not fit an input buffer or all requests are busy.</summary>
    public bool Send(ReadOnlySpan<byte> request)
    {
        if (request.Length > MaxRequestLength || !_requests.TryRent(out var req)) return false;
        request.CopyTo(req.InputBuffer);
        req.InputLength = request.Length;
        Dispatcher.Dispatch(req, _counts);
        return true;
    }

    /// <summary>Replies waiting to be taken, in completion order (requests that need no reply produce none).</summary>
    public int PendingReplies => _replies.Count;

    /// <summary>Waits until a reply is ready (an asynchronous method finished); false on timeout (<see cref="Timeout.InfiniteTimeSpan"/>: none).</summary>
    public bool WaitForReply(TimeSpan timeout)
    {
        if (!_replies.IsEmpty) return true;
        bool forever = timeout == Timeout.InfiniteTimeSpan;
        long deadline = forever ? 0 : Environment.TickCount64 + (long)timeout.TotalMilliseconds;
        using var waiting = _replyArrived.Register();
        while (_replies.IsEmpty)
        {
            int left = forever ? Timeout.Infinite : (int)Math.Clamp(deadline - Environment.TickCount64, 0, int.MaxValue);
            if (!_replyArrived.Wait(left)) return !_replies.IsEmpty;
        }
        return true;
    }

    /// <summary>Callers inside <see cref="WaitForReply"/> (for tests).</summary>
    internal int ReplyWaiters => _replyArrived.Count;

    /// <summary>Copies the oldest reply into <paramref name="destination"/>.</summary>
    public bool TryReceive(Span<byte> destination, out int length)
    {
        if (!_replies.TryDequeue(out var req)) { length = 0; return false; }
        length = req.ReplyLength;
        req.ReplyBuffer[..length].CopyTo(destination);
        _requests.Return(req);
        return true;
    }

    public void Dispose()
    {
        _requests.Dispose();
        _replyArrived.Dispose();
    }

    private sealed class Sink(InMemoryTransport owner) : IReplySink
    {
        public void Complete(Request request)
        {
            if (request.ReplyLength == 0) { owner._requests.Return(request); return; }
            owner._replies.Enqueue(request);
            owner._replyArrived.Signal();
        }
    }
}
