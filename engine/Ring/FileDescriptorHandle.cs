using Fuselage.Interop;
using Microsoft.Win32.SafeHandles;

namespace Fuselage.Ring;

/// <summary>Owns a plain file descriptor; the ref-counting lets another thread use it without racing its close.</summary>
internal sealed class FileDescriptorHandle : SafeHandleMinusOneIsInvalid
{
    public FileDescriptorHandle(int fd) : base(ownsHandle: true) => SetHandle(fd);

    public int Fd => (int)handle;

    protected override bool ReleaseHandle() => Libc.close((int)handle) == 0;
}
