namespace Fuselage.Bench.E2e;

/// <summary>
/// CPU time a process has used (user + system, all its threads, including threads that already exited),
/// from /proc/&lt;pid&gt;/stat. Resolution is one clock tick (10 ms), which is why workloads run for seconds.
/// </summary>
public static class ProcessCpu
{
    private static readonly double SecondsPerTick = 1.0 / ClockTicksPerSecond();

    public static TimeSpan Of(int pid)
    {
        string stat = File.ReadAllText($"/proc/{pid}/stat");
        // The command name (field 2) may hold spaces and parentheses: the fields we need follow the last ')'.
        var rest = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        // rest[0] is field 3 (state), so utime (field 14) is rest[11] and stime (field 15) rest[12].
        long ticks = long.Parse(rest[11]) + long.Parse(rest[12]);
        return TimeSpan.FromSeconds(ticks * SecondsPerTick);
    }

    private static int ClockTicksPerSecond()
    {
        try
        {
            var r = Shell.Run("getconf", "CLK_TCK");
            if (r.Ok && int.TryParse(r.Stdout.Trim(), out int hz) && hz > 0) return hz;
        }
        catch (Exception) { /* getconf missing: Linux's USER_HZ is 100 everywhere */ }
        return 100;
    }
}
