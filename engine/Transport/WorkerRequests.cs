using Fuselage.Buffers;
using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.ObjectPool;

namespace Fuselage.Transport;

/// <summary>
/// One worker's requests: <c>depth</c> contexts, each with a pinned input buffer and a pinned reply buffer, and room
/// to grow to <c>maxDepth</c>, <c>depth</c> at a time (<see cref="TryGrow"/>), when every one waits on the filesystem.
/// Renting and returning take no lock and allocate nothing (ObjectPool keeps them; its policy creates none, so an
/// empty pool means every request is busy); only a renter that finds the pool empty and cannot grow it waits, and a
/// return wakes renters only when some wait.
/// </summary>
internal sealed class WorkerRequests : IDisposable
{
    /// <summary>Room for the 40-byte header, the 40-byte WRITE header and names around max_write (libfuse uses max_write + 4096).</summary>
    public const int HeaderRoom = 4096;

    private readonly ObjectPool<Request> _free;
    private readonly WaitList _returned = new();
    private readonly List<(BufferPool Inputs, BufferPool Replies)> _buffers = [];
    private readonly int _depth, _maxDepth, _inputSize, _replySize;
    private readonly IReplySink _sink;

    private readonly DataSlabs? _dataSlabs;

    /// <param name="dataSlabs">Where every input and reply slab made is published (for a ring to register); null: nowhere.</param>
    public WorkerRequests(int depth, uint maxWrite, IReplySink sink, int? maxDepth = null, DataSlabs? dataSlabs = null)
    {
        _dataSlabs = dataSlabs;
        _depth = Math.Max(1, depth);
        _maxDepth = Math.Max(_depth, maxDepth ?? _depth);
        _sink = sink;
        // After the aligned start the kernel must still find max(8192, 80 + max_write) bytes, or read() fails with EINVAL.
        int transfer = (int)Math.Max(maxWrite, FuseConnection.MinTransferRoom);
        _inputSize = Request.AlignedInputStart + transfer + HeaderRoom;
        _replySize = Request.AlignedPayloadOffset + transfer;
        _free = new DefaultObjectPool<Request>(new CreatesNone(), _maxDepth);
        All = [];
        foreach (var r in Add(_depth)) _free.Return(r);
    }

    /// <summary>Size of every input buffer (a READ of /dev/fuse may fill it from the request's start).</summary>
    public int InputBufferSize => _inputSize;

    /// <summary>Every request, by <see cref="Request.PoolIndex"/>; replaced (never changed) by <see cref="TryGrow"/>.</summary>
    public Request[] All { get; private set; }

    /// <summary>Requests this worker may hold at most.</summary>
    public int MaxDepth => _maxDepth;

    /// <summary>
    /// Adds up to <c>depth</c> more requests (pinned buffers of their own), up to <see cref="MaxDepth"/>; false at the
    /// limit. They are not in the pool: the caller uses them. Only the owning worker calls it: <see cref="All"/> is its own.
    /// </summary>
    public bool TryGrow(out ReadOnlySpan<Request> added)
    {
        int count = Math.Min(_depth, _maxDepth - All.Length);
        if (count <= 0) { added = default; return false; }
        added = Add(count);
        return true;
    }

    private ReadOnlySpan<Request> Add(int count)
    {
        var inputs = new BufferPool(_inputSize, count);
        var replies = new BufferPool(_replySize, count);
        _buffers.Add((inputs, replies));
        _dataSlabs?.Add(inputs);
        _dataSlabs?.Add(replies);
        int first = All.Length;
        var all = new Request[first + count];
        All.CopyTo(all, 0);
        for (int i = first; i < all.Length; i++) all[i] = new Request(inputs.Rent(), replies.Rent(), _sink, i);
        All = all;
        return all.AsSpan(first);
    }

    /// <summary>
    /// Takes a free request; while all are busy, grows (when <paramref name="mayGrow"/> says so, up to
    /// <see cref="MaxDepth"/>) or waits. Null when <paramref name="cancel"/> fires.
    /// </summary>
    public Request? Rent(CancellationToken cancel, Func<bool>? mayGrow = null)
    {
        while (true)
        {
            if (TryRent(out var request)) return request;
            if (mayGrow is not null && mayGrow() && TryGrow(out var added))
            {
                foreach (var r in added[1..]) Return(r);
                return added[0];
            }
            using var waiting = _returned.Register();
            if (TryRent(out request)) return request;
            try { _returned.Wait(Timeout.Infinite, cancel); }
            catch (OperationCanceledException) { return null; }
        }
    }

    /// <summary>Renters waiting for a return (for tests).</summary>
    internal int Waiting => _returned.Count;

    public bool TryRent([NotNullWhen(true)] out Request? request)
    {
        request = _free.Get();
        return request is not null;
    }

    public void Return(Request request)
    {
        _free.Return(request);
        _returned.Signal();
    }

    public void Dispose()
    {
        foreach (var (inputs, replies) in _buffers)
        {
            inputs.Dispose();
            replies.Dispose();
        }
        _returned.Dispose();
    }

    /// <summary>An empty pool hands out null: the requests are made with their buffers, up front or by <see cref="TryGrow"/>.</summary>
    private sealed class CreatesNone : IPooledObjectPolicy<Request>
    {
        public Request Create() => null!;
        public bool Return(Request obj) => true;
    }
}
