using System.Runtime.InteropServices;
using Fuselage.Interop;
using Fuselage.Interop.IoUring;

namespace Fuselage.Ring;

// Wake-up mechanism: an eventfd owned by the ring with an IORING_OP_READ of its 8-byte counter kept posted under a
// reserved user_data. Wake() (any thread) writes the eventfd; the read completes and ends the owner's
// io_uring_enter wait. The read is re-posted by the next submit after its CQE is reaped. The eventfd counter
// persists while no read is posted, so a Wake() between the two is not lost: the re-posted read completes at once.
// The wake CQE is consumed inside the ring and never shown to callers.
public sealed unsafe partial class Ring
{
    private FileDescriptorHandle? _wakeEventFd;
    private ulong* _wakeBuffer; // native: the kernel writes the counter here, possibly after a managed object moved
    private bool _wakeReadArmed;

    private void SetUpWake()
    {
        int fd = ErrnoException.Check(Libc.eventfd(0, Libc.EFD_CLOEXEC), "eventfd");
        _wakeEventFd = new FileDescriptorHandle(fd);
        _wakeBuffer = (ulong*)NativeMemory.AlignedAlloc(sizeof(ulong), sizeof(ulong));
        Submit(); // posts the read
    }

    private void FreeWakeBuffer()
    {
        if (_wakeBuffer != null)
        {
            NativeMemory.AlignedFree(_wakeBuffer);
            _wakeBuffer = null;
        }
    }

    /// <summary>
    /// Interrupts <see cref="SubmitAndWait(uint)"/> on the owning thread (or makes its next wait return at once).
    /// The only method that may be called from any thread. Requires <see cref="RingOptions.EnableWake"/>;
    /// after disposal it does nothing.
    /// </summary>
    public void Wake()
    {
        var handle = _wakeEventFd ?? throw new InvalidOperationException("The ring was created without RingOptions.EnableWake.");
        bool referenced = false;
        try
        {
            handle.DangerousAddRef(ref referenced);
            ErrnoException.Check(Libc.eventfd_write(handle.Fd, 1), "write(eventfd)");
        }
        catch (ObjectDisposedException)
        {
            // Disposed concurrently: nobody is left to wake.
        }
        finally
        {
            if (referenced)
                handle.DangerousRelease();
        }
    }

    private void ArmWakeIfNeeded()
    {
        if (_wakeEventFd is null || _wakeReadArmed || _disposed != 0 || FreeSqSlots == 0)
            return;
        NextSqe().PrepareRead(_wakeEventFd.Fd, (nint)_wakeBuffer, sizeof(ulong), CurrentPosition, WakeUserData);
        _wakeReadArmed = true;
    }
}
