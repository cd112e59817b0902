using Fuselage.Interop.IoUring;

namespace Fuselage.Ring;

/// <summary>
/// Receives completions from <see cref="Ring.ForEachCqe{THandler}(ref THandler)"/>. Implement it on a struct so the
/// call is specialised and allocation-free. The handler may prepare new SQEs but must not reap from the same ring.
/// </summary>
public interface ICqeHandler
{
    void Handle(in IoUringCqe cqe);
}
