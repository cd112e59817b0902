using System.Runtime.InteropServices;

namespace Fuselage.Interop;

public static unsafe partial class Libc
{
    /// <summary>cpu_set_t as glibc sizes it: 1024 bits.</summary>
    public const int CpuSetWords = 1024 / 64;

    [LibraryImport(Name, EntryPoint = "sched_setaffinity", SetLastError = true)]
    private static partial int sched_setaffinity(int pid, nuint cpusetsize, ulong* mask);

    [LibraryImport(Name, EntryPoint = "sched_getaffinity", SetLastError = true)]
    private static partial int sched_getaffinity(int pid, nuint cpusetsize, ulong* mask);

    private const int SchedFifo = 1;

    [LibraryImport(Name, EntryPoint = "sched_setscheduler", SetLastError = true)]
    private static partial int sched_setscheduler(int pid, int policy, int* param); // struct sched_param is one int

    /// <summary>Puts the calling thread under SCHED_FIFO at <paramref name="priority"/> (1-99). Returns 0 or -1 with errno set (EPERM without CAP_SYS_NICE).</summary>
    public static int SetCurrentThreadFifo(int priority) => sched_setscheduler(0, SchedFifo, &priority);

    /// <summary>Pins the calling thread to one CPU (cpu_set_t of 1024 bits). Returns 0 or -1 with errno set.</summary>
    public static int PinCurrentThread(int cpu)
    {
        if ((uint)cpu >= CpuSetWords * 64) return -1;
        Span<ulong> mask = stackalloc ulong[CpuSetWords];
        mask.Clear();
        mask[cpu / 64] = 1UL << (cpu % 64);
        return SetCurrentThreadAffinity(mask);
    }

    /// <summary>The CPUs the calling thread may run on, into <paramref name="mask"/> (at least <see cref="CpuSetWords"/> words). Returns 0 or -1 with errno set.</summary>
    public static int GetCurrentThreadAffinity(Span<ulong> mask)
    {
        if (mask.Length < CpuSetWords) return -1;
        mask.Clear();
        fixed (ulong* m = mask) return sched_getaffinity(0, CpuSetWords * 8, m) < 0 ? -1 : 0;
    }

    /// <summary>Lets the calling thread run on the CPUs of <paramref name="mask"/> (at least <see cref="CpuSetWords"/> words). Returns 0 or -1 with errno set.</summary>
    public static int SetCurrentThreadAffinity(ReadOnlySpan<ulong> mask)
    {
        if (mask.Length < CpuSetWords) return -1;
        fixed (ulong* m = mask) return sched_setaffinity(0, CpuSetWords * 8, m);
    }
}
