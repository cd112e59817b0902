using System.Runtime.InteropServices;

namespace Fuselage.Interop;

public static unsafe partial class Libc
{
    [LibraryImport(Name, EntryPoint = "sched_setaffinity", SetLastError = true)]
    private static partial int sched_setaffinity(int pid, nuint cpusetsize, ulong* mask);

    /// <summary>Pins the calling thread to one CPU (cpu_set_t of 1024 bits). Returns 0 or -1 with errno set.</summary>
    public static int PinCurrentThread(int cpu)
    {
        if ((uint)cpu >= 1024) return -1;
        ulong* mask = stackalloc ulong[16];
        for (int i = 0; i < 16; i++) mask[i] = 0;
        mask[cpu / 64] = 1UL << (cpu % 64);
        return sched_setaffinity(0, 128, mask);
    }
}
