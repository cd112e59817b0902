namespace Fuselage.Transport;

/// <summary>How requests arrive and replies leave. A transport owns its worker threads and buffers.</summary>
internal interface ITransport : IDisposable
{
    string Name { get; }

    /// <summary>Starts serving; returns once the workers run.</summary>
    void Start();

    /// <summary>Completes when the session ends (unmount, abort) or <see cref="Stop"/> was called; faults when a worker fails.</summary>
    Task Completion { get; }

    /// <summary>
    /// Completes once, after <see cref="Stop"/>, no request is in the transport's hands and what its workers still
    /// wait for only the connection's end brings (on a busy mount, detached, that waits for its last user); with
    /// <see cref="Completion"/> at the latest.
    /// </summary>
    Task Quiesced => Completion;

    /// <summary>Asks the workers to stop; does not wait.</summary>
    void Stop();
}
