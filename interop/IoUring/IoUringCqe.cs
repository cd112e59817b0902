using System.Runtime.InteropServices;

namespace Fuselage.Interop.IoUring;

/// <summary><c>struct io_uring_cqe</c> (16 bytes).</summary>
[StructLayout(LayoutKind.Sequential, Size = 16)]
public struct IoUringCqe
{
    public ulong UserData;
    /// <summary>Result: non-negative on success, <c>-errno</c> on failure.</summary>
    public int Res;
    public IoUringCqeFlags Flags;

    /// <summary>The provided-buffer id when <see cref="IoUringCqeFlags.Buffer"/> is set.</summary>
    public readonly ushort BufferId => (ushort)((uint)Flags >> IoUringConstants.CqeBufferShift);
}

/// <summary>A 32-byte CQE (rings set up with <see cref="IoUringSetupFlags.Cqe32"/>): the CQE plus <c>big_cqe[2]</c>.</summary>
[StructLayout(LayoutKind.Sequential, Size = 32)]
public struct IoUringCqe32
{
    public IoUringCqe Cqe;
    public ulong BigCqe0;
    public ulong BigCqe1;
}
