namespace Fuselage.Bench.E2e;

/// <summary>The facts a reader needs to compare this run with another machine's.</summary>
public static class Machine
{
    public static Dictionary<string, string> Describe(string dataDirectory, string? memoryDiskDirectory = null)
    {
        string cpuModel = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name"))?.Split(':', 2)[1].Trim() ?? "unknown";
        string memTotal = File.ReadLines("/proc/meminfo").FirstOrDefault(l => l.StartsWith("MemTotal"))?.Split(':', 2)[1].Trim() ?? "unknown";
        var facts = new Dictionary<string, string>
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
            ["source filesystem"] = FilesystemOf(dataDirectory),
            ["fuse enable_uring"] = File.Exists("/sys/module/fuse/parameters/enable_uring") ? File.ReadAllText("/sys/module/fuse/parameters/enable_uring").Trim() : "absent",
        };
        if (memoryDiskDirectory is not null) facts["memdisk filesystem"] = FilesystemOf(memoryDiskDirectory) + " (loop over a tmpfs image)";
        return facts;
    }

    private static string FilesystemOf(string directory) =>
        string.Join(' ', Shell.Run("findmnt", "-n", "-o", "FSTYPE,SOURCE", "--target", directory).Stdout.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
}
