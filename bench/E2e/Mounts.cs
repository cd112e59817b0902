namespace Fuselage.Bench.E2e;

/// <summary>What is mounted where, from /proc/self/mountinfo, and the lazy unmount every exit path falls back to.</summary>
public static class Mounts
{
    /// <summary>The filesystem type mounted exactly at <paramref name="path"/>, or null.</summary>
    public static string? TypeAt(string path)
    {
        string full = Path.GetFullPath(path).TrimEnd('/');
        string? type = null;
        foreach (var line in File.ReadLines("/proc/self/mountinfo"))
        {
            // id parent major:minor root mountpoint options [optional...] - type source superoptions
            var fields = line.Split(' ');
            int dash = Array.IndexOf(fields, "-");
            if (fields.Length < 5 || dash < 0 || dash + 1 >= fields.Length) continue;
            if (Unescape(fields[4]) == full) type = fields[dash + 1]; // the last one stacked on the path wins
        }
        return type;
    }

    public static bool IsFuse(string path) => TypeAt(path) is { } t && t.StartsWith("fuse", StringComparison.Ordinal);

    private static string Unescape(string field) => field.Replace("\\040", " ").Replace("\\011", "\t").Replace("\\134", "\\");

    /// <summary>Unmounts, lazily when the filesystem is busy or its daemon is gone; never throws.</summary>
    public static void Unmount(string path)
    {
        try
        {
            if (TypeAt(path) is null) return;
            if (Shell.Run("umount", path).Ok) return;
            Shell.Run("umount", "-l", path);
        }
        catch (Exception e) { Console.Error.WriteLine($"  warning: unmounting {path}: {e.Message}"); }
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
