using Fuselage.Interop.IoUring;

namespace Fuselage.Ring;

/// <summary>How to set up a <see cref="Ring"/>.</summary>
public sealed class RingOptions
{
    public static RingOptions Default { get; } = new();

    /// <summary>
    /// Setup flags to ask for. Optional ones (see <see cref="Ring.OptionalSetupFlags"/>) are dropped one by one
    /// when the kernel answers EINVAL; what was finally accepted is <see cref="Ring.AcceptedFlags"/>.
    /// </summary>
    public IoUringSetupFlags Flags { get; init; }

    /// <summary>Completion queue size; 0 keeps the kernel default (twice the SQ size). Non-zero implies CQSIZE.</summary>
    public uint CompletionQueueEntries { get; init; }

    /// <summary>Keep an eventfd READ posted so that <see cref="Ring.Wake"/> can interrupt a wait from another thread.</summary>
    public bool EnableWake { get; init; }

    /// <summary>How long <see cref="Ring.Dispose"/> waits for cancelled operations to complete before closing anyway.</summary>
    public TimeSpan DisposeDrainTimeout { get; init; } = TimeSpan.FromSeconds(5);
}
