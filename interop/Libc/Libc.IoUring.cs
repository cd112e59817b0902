using System.Runtime.InteropServices;
using Fuselage.Interop.IoUring;

namespace Fuselage.Interop;

public static unsafe partial class Libc
{
    // syscall(2) is variadic; on x86_64 the variadic convention passes integer arguments in the
    // same registers as a fixed signature, so six long arguments reach the kernel unchanged.
    [LibraryImport(Name, EntryPoint = "syscall", SetLastError = true)]
    private static partial long syscall6(long number, long arg1, long arg2, long arg3, long arg4, long arg5, long arg6);

    /// <summary>io_uring_setup(2): returns the ring fd, or -1 with errno.</summary>
    public static int io_uring_setup(uint entries, IoUringParams* parameters) =>
        (int)syscall6(IoUringConstants.SysIoUringSetup, entries, (long)parameters, 0, 0, 0, 0);

    /// <summary>io_uring_enter(2): returns the number of SQEs consumed, or -1 with errno.</summary>
    public static int io_uring_enter(int ringFd, uint toSubmit, uint minComplete, IoUringEnterFlags flags, void* arg, nuint argSize) =>
        (int)syscall6(IoUringConstants.SysIoUringEnter, ringFd, toSubmit, minComplete, (uint)flags, (long)arg, (long)argSize);

    /// <summary>io_uring_register(2): returns a non-negative value on success, or -1 with errno.</summary>
    public static int io_uring_register(int ringFd, IoUringRegisterOp opcode, void* arg, uint argCount) =>
        (int)syscall6(IoUringConstants.SysIoUringRegister, ringFd, (uint)opcode, (long)arg, argCount, 0, 0);
}
