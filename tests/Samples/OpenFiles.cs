namespace Fuselage.Tests.Samples;

/// <summary>This process's open descriptors by path ("fd -> path"); other tests' fds are on other paths.</summary>
internal static class OpenFiles
{
    /// <summary>Descriptors on <paramref name="root"/> itself or anything below it.</summary>
    public static List<string> Under(string root) => Matching(target => target == root || target.StartsWith(root + "/", StringComparison.Ordinal));

    /// <summary>Descriptors on paths below <paramref name="dir"/>, not on it.</summary>
    public static List<string> Inside(string dir) => Matching(target => target.StartsWith(dir + "/", StringComparison.Ordinal));

    private static List<string> Matching(Func<string, bool> wanted)
    {
        var open = new List<string>();
        foreach (var fd in new DirectoryInfo("/proc/self/fd").EnumerateFileSystemInfos())
        {
            string? target;
            try { target = fd.LinkTarget; }
            catch (IOException) { continue; } // closed since listed
            if (target is not null && wanted(target)) open.Add($"{fd.Name} -> {target}");
        }
        return open;
    }
}
