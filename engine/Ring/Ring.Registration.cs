using Fuselage.Interop;
using Fuselage.Interop.IoUring;

namespace Fuselage.Ring;

public sealed unsafe partial class Ring
{
    private ulong[]? _supportedOps;

    /// <summary>
    /// Registers fixed buffers (IORING_REGISTER_BUFFERS) addressed by index in READ_FIXED/WRITE_FIXED. The kernel
    /// pins the pages; the memory must stay allocated until <see cref="UnregisterBuffers"/> or disposal.
    /// </summary>
    public void RegisterBuffers(ReadOnlySpan<Iovec> buffers)
    {
        fixed (Iovec* iovecs = buffers)
            Register(IoUringRegisterOp.RegisterBuffers, iovecs, (uint)buffers.Length, "io_uring_register(REGISTER_BUFFERS)");
    }

    /// <summary>
    /// Registers an empty fixed-buffer table of <paramref name="slots"/> slots (IORING_REGISTER_BUFFERS2, sparse), filled
    /// later by <see cref="UpdateRegisteredBuffers"/>: buffers can then be added while the ring serves.
    /// </summary>
    public void RegisterSparseBuffers(uint slots)
    {
        var table = new IoUringRsrcRegister { Nr = slots, Flags = IoUringConstants.RsrcRegisterSparse };
        Register(IoUringRegisterOp.RegisterBuffers2, &table, (uint)sizeof(IoUringRsrcRegister), "io_uring_register(REGISTER_BUFFERS2)");
    }

    /// <summary>Puts <paramref name="buffers"/> into fixed-buffer slots from <paramref name="offset"/> on (IORING_REGISTER_BUFFERS_UPDATE); the kernel pins their pages.</summary>
    public void UpdateRegisteredBuffers(uint offset, ReadOnlySpan<Iovec> buffers)
    {
        fixed (Iovec* iovecs = buffers)
        {
            var update = new IoUringRsrcUpdate2 { Offset = offset, Data = (ulong)iovecs, Nr = (uint)buffers.Length };
            Register(IoUringRegisterOp.RegisterBuffersUpdate, &update, (uint)sizeof(IoUringRsrcUpdate2), "io_uring_register(REGISTER_BUFFERS_UPDATE)");
        }
    }

    public void UnregisterBuffers() =>
        Register(IoUringRegisterOp.UnregisterBuffers, null, 0, "io_uring_register(UNREGISTER_BUFFERS)");

    /// <summary>Registers a fixed-file table (IORING_REGISTER_FILES); -1 marks an empty slot. Use with IOSQE_FIXED_FILE.</summary>
    public void RegisterFiles(ReadOnlySpan<int> fds)
    {
        fixed (int* table = fds)
            Register(IoUringRegisterOp.RegisterFiles, table, (uint)fds.Length, "io_uring_register(REGISTER_FILES)");
    }

    /// <summary>Replaces fixed-file slots starting at <paramref name="offset"/> (-1 clears a slot, -2 skips it). Returns the number updated.</summary>
    public int UpdateRegisteredFiles(uint offset, ReadOnlySpan<int> fds)
    {
        fixed (int* table = fds)
        {
            var update = new IoUringRsrcUpdate { Offset = offset, Data = (ulong)table };
            return Register(IoUringRegisterOp.RegisterFilesUpdate, &update, (uint)fds.Length, "io_uring_register(REGISTER_FILES_UPDATE)");
        }
    }

    public void UnregisterFiles() =>
        Register(IoUringRegisterOp.UnregisterFiles, null, 0, "io_uring_register(UNREGISTER_FILES)");

    /// <summary>Whether the running kernel implements <paramref name="op"/> (IORING_REGISTER_PROBE, asked once).</summary>
    public bool IsSupported(IoUringOp op)
    {
        _supportedOps ??= ProbeOps();
        int index = (int)op;
        return (_supportedOps[index >> 6] & (1UL << (index & 63))) != 0;
    }

    private ulong[] ProbeOps()
    {
        const int maxOps = 256;
        int size = sizeof(IoUringProbe) + maxOps * sizeof(IoUringProbeOp);
        byte* buffer = stackalloc byte[size];
        new Span<byte>(buffer, size).Clear();
        Register(IoUringRegisterOp.RegisterProbe, buffer, maxOps, "io_uring_register(REGISTER_PROBE)");

        var probe = (IoUringProbe*)buffer;
        var ops = (IoUringProbeOp*)(buffer + sizeof(IoUringProbe));
        var supported = new ulong[maxOps / 64];
        for (int i = 0; i < probe->OpsLen; i++)
        {
            if ((ops[i].Flags & IoUringConstants.OpSupported) != 0)
                supported[(int)ops[i].Op >> 6] |= 1UL << ((int)ops[i].Op & 63);
        }
        return supported;
    }

    private int Register(IoUringRegisterOp op, void* arg, uint count, string call)
    {
        ThrowIfDisposed();
        while (true)
        {
            int result = Libc.io_uring_register(_ringFd, op, arg, count);
            if (result >= 0)
                return result;
            int errno = Errno.Last;
            if (errno != Errno.EINTR)
                throw new ErrnoException(call, errno);
        }
    }
}
