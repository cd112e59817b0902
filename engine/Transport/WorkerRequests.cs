using Fuselage.Buffers;
using Microsoft.Extensions.ObjectPool;

namespace Fuselage.Transport;

/// <summary>
/// One worker's requests: <c>depth</c> contexts, each with a pinned input buffer and a pinned reply buffer.
/// Renting and returning allocate nothing (ObjectPool keeps them in a fixed array); the count is bounded
/// by the buffers, so an exhausted pool means every request is waiting on the filesystem.
/// </summary>
internal sealed class WorkerRequests : IDisposable
{
    /// <summary>Room for the 40-byte header, the 40-byte WRITE header and names around max_write (libfuse uses max_write + 4096).</summary>
    public const int HeaderRoom = 4096;

    private readonly ObjectPool<Request> _pool;
    private readonly SemaphoreSlim _free;

    public WorkerRequests(int depth, uint maxWrite, IReplySink sink)
    {
        // After the aligned start the kernel must still find max(8192, 80 + max_write) bytes, or read() fails with EINVAL.
        int inputSize = Request.AlignedInputStart + Math.Max(8192, (int)maxWrite + HeaderRoom);
        int replySize = Request.AlignedPayloadOffset + (int)maxWrite;
        Inputs = new BufferPool(inputSize, depth);
        Replies = new BufferPool(replySize, depth);
        All = new Request[depth];
        for (int i = 0; i < depth; i++) All[i] = new Request(Inputs.Rent(), Replies.Rent(), sink, i);
        _pool = new DefaultObjectPool<Request>(new Exhausted(), depth);
        foreach (var r in All) _pool.Return(r);
        _free = new SemaphoreSlim(depth, depth);
    }

    public BufferPool Inputs { get; }
    public BufferPool Replies { get; }
    public Request[] All { get; }

    /// <summary>Takes a free request, waiting while all are busy; null when <paramref name="cancel"/> fires.</summary>
    public Request? Rent(CancellationToken cancel)
    {
        try { _free.Wait(cancel); }
        catch (OperationCanceledException) { return null; }
        return _pool.Get();
    }

    public bool TryRent(out Request? request)
    {
        request = _free.Wait(0) ? _pool.Get() : null;
        return request is not null;
    }

    public void Return(Request request)
    {
        _pool.Return(request);
        _free.Release();
    }

    public void Dispose()
    {
        Inputs.Dispose();
        Replies.Dispose();
        _free.Dispose();
    }

    private sealed class Exhausted : IPooledObjectPolicy<Request>
    {
        public Request Create() => throw new InvalidOperationException("request pool exhausted: the semaphore should have prevented this");
        public bool Return(Request obj) => true;
    }
}
