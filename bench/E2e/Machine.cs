namespace Fuselage.Bench.E2e;

/// <summary>The facts a reader needs to compare this run with another machine's.</summary>
public static class Machine
{
    public static Dictionary<string, string> Describe(string dataDirectory)
    {
        string cpuModel = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name"))?.Split(':', 2)[1].Trim() ?? "unknown";
        string memTotal = File.ReadLines("/proc/meminfo").FirstOrDefault(l => l.StartsWith("MemTotal"))?.Split(':', 2)[1].Trim() ?? "unknown";
        return new Dictionary<string, string>
        {
            ["cpus"] = Environment.ProcessorCount.ToString(),
            ["cpu"] = cpuModel,
            ["memory"] = memTotal,
            ["kernel"] = Shell.Run("uname", "-r").Stdout.Trim(),
            ["os"] = File.ReadLines("/etc/os-release").FirstOrDefault(l => l.StartsWith("PRETTY_NAME="))?.Split('=', 2)[1].Trim('"') ?? "unknown",
            ["dotnet"] = Environment.Version.ToString(),
            ["libfuse"] = Shell.Run("pkg-config", "--modversion", "fuse3").Stdout.Trim(),
            ["fio"] = Shell.Run("fio", "--version").Stdout.Trim(),
            // statfs cannot tell ext4 from ext2/ext3 (one magic number); the mount table can.
            ["source filesystem"] = string.Join(' ', Shell.Run("findmnt", "-n", "-o", "FSTYPE,SOURCE", "--target", dataDirectory).Stdout.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)),
            ["fuse enable_uring"] = File.Exists("/sys/module/fuse/parameters/enable_uring") ? File.ReadAllText("/sys/module/fuse/parameters/enable_uring").Trim() : "absent",
        };
    }
}
