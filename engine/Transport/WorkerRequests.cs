using Fuselage.Buffers;
using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.ObjectPool;

namespace Fuselage.Transport;

/// <summary>
/// One worker's requests: <c>depth</c> contexts, each with a pinned input buffer and a pinned reply buffer.
/// Renting and returning take no lock and allocate nothing (ObjectPool keeps them; its policy creates none, so an
/// empty pool means every request is waiting on the filesystem); only a renter that finds the pool empty waits, and
/// a return wakes renters only when some wait.
/// </summary>
internal sealed class WorkerRequests : IDisposable
{
    /// <summary>Room for the 40-byte header, the 40-byte WRITE header and names around max_write (libfuse uses max_write + 4096).</summary>
    public const int HeaderRoom = 4096;

    private readonly ObjectPool<Request> _free;
    private readonly WaitList _returned = new();

    public WorkerRequests(int depth, uint maxWrite, IReplySink sink)
    {
        // After the aligned start the kernel must still find max(8192, 80 + max_write) bytes, or read() fails with EINVAL.
        int transfer = (int)Math.Max(maxWrite, FuseConnection.MinTransferRoom);
        int inputSize = Request.AlignedInputStart + transfer + HeaderRoom;
        int replySize = Request.AlignedPayloadOffset + transfer;
        Inputs = new BufferPool(inputSize, depth);
        Replies = new BufferPool(replySize, depth);
        All = new Request[depth];
        for (int i = 0; i < depth; i++) All[i] = new Request(Inputs.Rent(), Replies.Rent(), sink, i);
        _free = new DefaultObjectPool<Request>(new CreatesNone(), depth);
        foreach (var r in All) _free.Return(r);
    }

    public BufferPool Inputs { get; }
    public BufferPool Replies { get; }
    public Request[] All { get; }

    /// <summary>Takes a free request, waiting while all are busy; null when <paramref name="cancel"/> fires.</summary>
    public Request? Rent(CancellationToken cancel)
    {
        while (true)
        {
            if (TryRent(out var request)) return request;
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
        Inputs.Dispose();
        Replies.Dispose();
        _returned.Dispose();
    }

    /// <summary>An empty pool hands out null: the requests are made once, up front, with their buffers.</summary>
    private sealed class CreatesNone : IPooledObjectPolicy<Request>
    {
        public Request Create() => null!;
        public bool Return(Request obj) => true;
    }
}
