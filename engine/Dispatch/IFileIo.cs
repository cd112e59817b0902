namespace Fuselage;

/// <summary>
/// File I/O submitted to the ring of the worker that owns a request, completing the request's
/// <see cref="Request.ReadFileAsync"/>/<see cref="Request.WritePayloadAsync"/> on that worker's completion.
/// Implemented by transports that own a ring; others leave the request to do the call synchronously.
/// </summary>
internal interface IFileIo
{
    /// <summary>Queues a pread/pwrite of <paramref name="length"/> bytes at <paramref name="address"/>; false when it cannot (the caller falls back).</summary>
    bool TrySubmit(Request request, bool write, int fd, nint address, int length, long offset);

    /// <summary>Whether <see cref="LinkReply"/> can take the request's reply now; otherwise it is sent when the method completes.</summary>
    bool CanLinkReply(Request request);

    /// <summary>
    /// Sends the request's reply (built already) as soon as its file read, just queued by <see cref="TrySubmit"/>,
    /// has filled it: the kernel does it, linked to the read, without the worker waking to do it. Only after
    /// <see cref="CanLinkReply"/> said yes. The worker reports the outcome to <see cref="Dispatcher.CompleteLinkedReply"/>.
    /// </summary>
    void LinkReply(Request request);
}
