using System.Runtime.InteropServices;
using Fuselage.Interop;
using Fuselage.Interop.IoUring;

namespace Fuselage.Tests.Rings;

/// <summary>A pinned (POH) byte array and its address: memory the kernel may read or write while an SQE is in flight.</summary>
internal sealed class PinnedBuffer
{
    public PinnedBuffer(int length)
    {
        Array = GC.AllocateArray<byte>(length, pinned: true);
        Address = Marshal.UnsafeAddrOfPinnedArrayElement(Array, 0);
    }

    public byte[] Array { get; }
    public nint Address { get; }
    public int Length => Array.Length;
    public Span<byte> Span => Array;

    public static PinnedBuffer WithPattern(int length, int seed)
    {
        var buffer = new PinnedBuffer(length);
        for (int i = 0; i < length; i++)
            buffer.Array[i] = (byte)(i * 31 + seed);
        return buffer;
    }
}

/// <summary>A temporary regular file opened read-write; deleted on dispose.</summary>
internal sealed class TempFile : IDisposable
{
    public TempFile()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"fuselage-ring-{Guid.NewGuid():N}");
        Fd = ErrnoException.Check(Libc.open(Path, Libc.O_RDWR | Libc.O_CREAT | Libc.O_EXCL | Libc.O_CLOEXEC, 0x180), "open");
    }

    public string Path { get; }
    public int Fd { get; }

    public void Dispose()
    {
        Libc.close(Fd);
        File.Delete(Path);
    }
}

/// <summary>A pipe; both ends closed on dispose.</summary>
internal sealed class Pipe : IDisposable
{
    public Pipe()
    {
        Span<int> fds = stackalloc int[2];
        ErrnoException.Check(Libc.pipe2(fds, Libc.O_CLOEXEC), "pipe2");
        ReadFd = fds[0];
        WriteFd = fds[1];
    }

    public int ReadFd { get; }
    public int WriteFd { get; }

    public void Dispose()
    {
        Libc.close(ReadFd);
        Libc.close(WriteFd);
    }
}

internal static class RingAssert
{
    /// <summary>
    /// Runs <paramref name="action"/> on a dedicated background thread and asserts it finishes within
    /// <paramref name="timeout"/> (so a hang fails the test instead of hanging the run); rethrows its exception.
    /// </summary>
    public static void CompletesOnOwnThread(Action action, TimeSpan timeout, string what)
    {
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try { action(); }
            catch (Exception e) { failure = e; }
        }) { IsBackground = true, Name = what };
        thread.Start();
        Assert.True(thread.Join(timeout), $"{what} did not finish within {timeout}");
        if (failure is not null)
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failure);
    }

    /// <summary>Waits (bounded, to fail rather than hang) for <paramref name="count"/> CQEs and returns them in arrival order.</summary>
    public static IoUringCqe[] WaitFor(Fuselage.Ring.Ring ring, int count)
    {
        var cqes = new IoUringCqe[count];
        int got = 0;
        while (got < count)
        {
            Assert.True(ring.SubmitAndWait(1, TimeSpan.FromSeconds(30)), $"timed out waiting for CQE {got + 1} of {count}");
            got += ring.ReapCqes(cqes.AsSpan(got));
        }
        return cqes;
    }

    public static IoUringCqe Single(IoUringCqe[] cqes, ulong userData) => Assert.Single(cqes, c => c.UserData == userData);
}
