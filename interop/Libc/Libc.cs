namespace Fuselage.Interop;

/// <summary>
/// libc calls through source-generated <c>LibraryImport</c> (no marshalling allocations).
/// Calls that can fail set the P/Invoke last error: read it with <see cref="Errno.Last"/>
/// or let <see cref="ErrnoException.Check(int, string)"/> throw. Split by subject in partial files.
/// </summary>
public static unsafe partial class Libc
{
    internal const string Name = "libc";
}
