using System.Runtime.InteropServices;

namespace Fuselage.Interop;

public static unsafe partial class Libc
{
    public const ulong MS_RDONLY = 1;
    public const ulong MS_NOSUID = 2;
    public const ulong MS_NODEV = 4;
    public const ulong MS_NOEXEC = 8;
    public const ulong MS_SYNCHRONOUS = 16;
    public const ulong MS_DIRSYNC = 128;
    public const ulong MS_NOATIME = 1024;
    public const ulong MS_NODIRATIME = 2048;
    public const ulong MS_RELATIME = 1 << 21;
    public const ulong MS_LAZYTIME = 1 << 25;

    public const int MNT_FORCE = 1;
    public const int MNT_DETACH = 2;
    public const int UMOUNT_NOFOLLOW = 8;

    [LibraryImport(Name, EntryPoint = "mount", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int mount(string source, string target, string fstype, ulong flags, string? data);

    [LibraryImport(Name, EntryPoint = "umount2", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int umount2(string target, int flags);

    [LibraryImport(Name, EntryPoint = "geteuid")]
    public static partial uint geteuid();

    [LibraryImport(Name, EntryPoint = "getegid")]
    public static partial uint getegid();

    [LibraryImport(Name, EntryPoint = "getpid")]
    public static partial int getpid();

    [LibraryImport(Name, EntryPoint = "gettid")]
    public static partial int gettid();
}
