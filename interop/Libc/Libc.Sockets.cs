using System.Runtime.InteropServices;

namespace Fuselage.Interop;

public static unsafe partial class Libc
{
    public const int AF_UNIX = 1;
    public const int SOCK_STREAM = 1;
    private const int SOL_SOCKET = 1;
    private const int SCM_RIGHTS = 1;
    private const int MSG_CMSG_CLOEXEC = 0x40000000;

    [LibraryImport(Name, EntryPoint = "socketpair", SetLastError = true)]
    public static partial int socketpair(int domain, int type, int protocol, int* fds);

    [LibraryImport(Name, EntryPoint = "recvmsg", SetLastError = true)]
    private static partial nint recvmsg(int socket, MsgHdr* message, int flags);

    [StructLayout(LayoutKind.Sequential)]
    private struct IoVec { public void* Base; public nuint Length; }

    [StructLayout(LayoutKind.Sequential)]
    private struct MsgHdr
    {
        public void* Name; public uint NameLength;
        public IoVec* Iov; public nuint IovLength;
        public void* Control; public nuint ControlLength;
        public int Flags;
    }

    /// <summary>Receives one file descriptor passed with SCM_RIGHTS (how fusermount3 hands back /dev/fuse). Returns -1 with errno set on failure.</summary>
    public static int ReceiveFd(int socket)
    {
        byte data;
        var iov = new IoVec { Base = &data, Length = 1 };
        // cmsghdr (16 bytes on 64-bit: len u64, level i32, type i32) + one int, aligned to 8.
        ulong* control = stackalloc ulong[3];
        var msg = new MsgHdr { Iov = &iov, IovLength = 1, Control = control, ControlLength = 24 };
        nint n = recvmsg(socket, &msg, MSG_CMSG_CLOEXEC); // a child must not inherit it and keep the connection alive
        if (n <= 0) return -1;
        int level = *(int*)((byte*)control + 8), type = *(int*)((byte*)control + 12);
        if (msg.ControlLength < 20 || level != SOL_SOCKET || type != SCM_RIGHTS) return -1;
        return *(int*)((byte*)control + 16);
    }

    public static (int, int) SocketPair()
    {
        int* fds = stackalloc int[2];
        ErrnoException.Check(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), "socketpair");
        return (fds[0], fds[1]);
    }
}
