namespace Fuselage.Tests.Samples;

internal static class OpenFiles
{
    /// <summary>This process's open descriptors on <paramref name="root"/> or anything below it ("fd -> path").</summary>
    public static List<string> Under(string root)
    {
        var open = new List<string>();
        foreach (var fd in new DirectoryInfo("/proc/self/fd").EnumerateFileSystemInfos())
        {
            string? target;
            try { target = fd.LinkTarget; }
            catch (IOException) { continue; } // closed since listed
            if (target is not null && (target == root || target.StartsWith(root + "/", StringComparison.Ordinal))) open.Add($"{fd.Name} -> {target}");
        }
        return open;
    }
}
