using System.Runtime.InteropServices;

namespace Fuselage.Interop;

public static unsafe partial class Libc
{
    [LibraryImport(Name, EntryPoint = "sched_setaffinity", SetLastError = true)]
    private static partial int sched_setaffinity(int pid, nuint cpusetsize, ulong* mask);

    /// <summary>Pins the calling thread to one CPU (cpu_set_t of 1024 bits). Returns 0 or -1 with errno set.</summary>
    public static int PinCurrentThread(int cpu)
    {
        const int Bits = 1024;
        if ((uint)cpu >= Bits) return -1;
        ulong* mask = stackalloc ulong[Bits / 64]; // zeroed: locals are initialised
        mask[cpu / 64] = 1UL << (cpu % 64);
        return sched_setaffinity(0, Bits / 8, mask);
    }
}
