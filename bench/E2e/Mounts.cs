using Fuselage.Interop;

namespace Fuselage.Bench.E2e;

/// <summary>The unmount every exit path falls back to, and polling for a condition with a deadline.</summary>
public static class Mounts
{
    /// <summary>Unmounts whatever is mounted at <paramref name="path"/>, lazily when it is busy or its daemon is gone; never throws.</summary>
    public static void Unmount(string path)
    {
        // EINVAL: nothing is mounted there; ENOENT: no such directory.
        if (Libc.umount2(path, 0) < 0 && Errno.Last is not (Errno.EINVAL or Errno.ENOENT))
            Libc.umount2(path, Libc.MNT_DETACH);
    }

    public static bool WaitUntil(Func<bool> condition, TimeSpan timeout)
    {
        var until = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < until)
        {
            if (condition()) return true;
            Thread.Sleep(50);
        }
        return condition();
    }
}
