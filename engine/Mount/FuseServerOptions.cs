namespace Fuselage;

public enum TransportKind
{
    /// <summary>Each worker owns an io_uring and a cloned /dev/fuse fd; reads stay posted, replies go out through the ring.</summary>
    Ring,
    /// <summary>Blocking read/writev worker threads (libfuse's model).</summary>
    Threads,
    /// <summary>The kernel's FUSE-over-io_uring queues (Linux 6.14+, enable_uring=Y).</summary>
    Uring,
}

/// <summary>How a filesystem is served and mounted.</summary>
public sealed class FuseServerOptions
{
    public TransportKind Transport { get; set; } = TransportKind.Ring;
    /// <summary>Worker threads (queues); default one per CPU.</summary>
    public int Workers { get; set; } = Environment.ProcessorCount;
    /// <summary>
    /// Threads transport only: it starts another worker whenever every worker is busy in the filesystem, up to
    /// this many (default the larger of <see cref="Workers"/> and 16; libfuse's max_threads is 10).
    /// </summary>
    public int? MaxWorkers { get; set; }
    /// <summary>Requests each worker keeps posted/in flight.</summary>
    public int Depth { get; set; } = 16;
    /// <summary>
    /// A worker (a uring queue) whose every request is held by a method waiting on something other than the worker
    /// itself (a lock, the network, another request) takes <see cref="Depth"/> more, up to this many
    /// (default 4 × <see cref="Depth"/>). Without it nothing more would be read from the kernel, not even the
    /// INTERRUPT or the unlock such a method may be waiting for. Each request holds buffers of max_write (two; a uring
    /// entry three) until the server ends. At most <see cref="MaxDepthLimit"/>.
    /// </summary>
    public int? MaxDepth { get; set; }

    /// <summary>The largest <see cref="MaxDepth"/> used: each ring is sized for it.</summary>
    public const int MaxDepthLimit = 4096;

    /// <summary><see cref="MaxDepth"/> as used: never below <see cref="Depth"/>, never above <see cref="MaxDepthLimit"/>.</summary>
    internal int EffectiveMaxDepth => Math.Min(MaxDepthLimit, Math.Max(Math.Max(1, Depth), MaxDepth ?? 4 * Math.Max(1, Depth)));
    /// <summary>
    /// Uring transport: a queue thread already serving a request hands a newly arrived one that reads or writes at least
    /// 128 KiB to a queue thread serving fewer, so one client's large requests (which the kernel routes to the queue of
    /// its CPU only) are copied and served on several CPUs (default on). Off keeps every request on the thread of the
    /// queue the kernel chose.
    /// </summary>
    public bool UringQueueSharing { get; set; } = true;
    /// <summary>Largest WRITE the kernel may send (default 1 MiB, the kernel's limit).</summary>
    public uint? MaxWrite { get; set; }
    public CoherencyPolicy Policy { get; set; } = CoherencyPolicy.Classic;
    /// <summary>Trace every request and reply.</summary>
    public bool Debug { get; set; }
    /// <summary>Where log lines go; standard error by default.</summary>
    public Action<string>? Log { get; set; }
    /// <summary>Count requests per opcode and per source.</summary>
    public bool CollectStats { get; set; }

    internal bool RequireUring => Transport == TransportKind.Uring;
}
