using Fuselage.Interop;

namespace Fuselage;

/// <summary>
/// libfuse-style mount options (<c>-o allow_other,default_permissions,fsname=x,...</c>) split into the mount(2)
/// flags and the data string the kernel parses. Unknown options are refused here, by name, rather than by the
/// kernel's bare EINVAL.
/// </summary>
public sealed class MountOptions
{
    public string FsName { get; set; } = "fuselage";
    public string? Subtype { get; set; }
    public bool AllowOther { get; set; }
    public bool DefaultPermissions { get; set; }
    public uint? MaxRead { get; set; }
    public ulong Flags { get; set; } = Libc.MS_NOSUID | Libc.MS_NODEV;
    /// <summary>Mode bits of the root directory announced at mount time (rootmode=).</summary>
    public uint RootMode { get; set; } = 0x4000 | 0x1ED; // S_IFDIR | 0755

    public bool ReadOnly => (Flags & Libc.MS_RDONLY) != 0;

    /// <summary>Parses a comma-separated option list; throws <see cref="ArgumentException"/> naming a bad option.</summary>
    public static MountOptions Parse(string? list, MountOptions? into = null)
    {
        var o = into ?? new MountOptions();
        if (string.IsNullOrWhiteSpace(list)) return o;
        foreach (var raw in SplitOptions(list))
        {
            int eq = raw.IndexOf('=');
            string key = eq < 0 ? raw : raw[..eq];
            string? value = eq < 0 ? null : raw[(eq + 1)..];
            switch (key)
            {
                case "allow_other": o.AllowOther = true; break;
                case "default_permissions": o.DefaultPermissions = true; break;
                case "fsname": o.FsName = Require(key, value); break;
                case "subtype": o.Subtype = Require(key, value); break;
                case "max_read":
                    o.MaxRead = uint.TryParse(Require(key, value), out var mr) && mr > 0 ? mr : throw new ArgumentException($"max_read={value}: not a positive number");
                    break;
                case "ro": o.Flags |= Libc.MS_RDONLY; break;
                case "rw": o.Flags &= ~Libc.MS_RDONLY; break;
                case "suid": o.Flags &= ~Libc.MS_NOSUID; break;
                case "nosuid": o.Flags |= Libc.MS_NOSUID; break;
                case "dev": o.Flags &= ~Libc.MS_NODEV; break;
                case "nodev": o.Flags |= Libc.MS_NODEV; break;
                case "exec": o.Flags &= ~Libc.MS_NOEXEC; break;
                case "noexec": o.Flags |= Libc.MS_NOEXEC; break;
                case "noatime": o.Flags |= Libc.MS_NOATIME; break;
                case "nodiratime": o.Flags |= Libc.MS_NODIRATIME; break;
                case "relatime": o.Flags |= Libc.MS_RELATIME; break;
                case "lazytime": o.Flags |= Libc.MS_LAZYTIME; break;
                case "sync": o.Flags |= Libc.MS_SYNCHRONOUS; break;
                case "async": o.Flags &= ~Libc.MS_SYNCHRONOUS; break;
                case "dirsync": o.Flags |= Libc.MS_DIRSYNC; break;
                case "rootmode":
                    o.RootMode = TryOctal(Require(key, value), out var rm) && (rm & 0xF000) == 0x4000 ? rm
                        : throw new ArgumentException($"rootmode={value}: not the octal mode of a directory (040755, say)");
                    break;
                default:
                    throw new ArgumentException($"unknown mount option '{key}'");
            }
        }
        return o;
    }

    /// <summary>Splits on commas not escaped with a backslash (as libfuse: <c>fsname=a\,b</c>), unescaping the rest.</summary>
    private static IEnumerable<string> SplitOptions(string list)
    {
        var current = new System.Text.StringBuilder();
        for (int i = 0; i < list.Length; i++)
        {
            char c = list[i];
            if (c == '\\' && i + 1 < list.Length) { current.Append(list[++i]); continue; }
            if (c != ',') { current.Append(c); continue; }
            if (current.ToString().Trim() is { Length: > 0 } option) yield return option;
            current.Clear();
        }
        if (current.ToString().Trim() is { Length: > 0 } last) yield return last;
    }

    /// <summary>A value as fusermount3 reads it in -o: commas and backslashes escaped.</summary>
    private static string Escape(string value) => value.Replace("\\", "\\\\").Replace(",", "\\,");

    private static string Require(string key, string? value)
        => string.IsNullOrEmpty(value) ? throw new ArgumentException($"mount option '{key}' needs a value") : value;

    private static bool TryOctal(string s, out uint value)
    {
        value = 0;
        if (s.Length > 7) return false; // S_IFMT and permission bits fit in 7 digits; more would overflow
        foreach (char c in s)
        {
            if (c < '0' || c > '7') return false;
            value = value * 8 + (uint)(c - '0');
        }
        return s.Length > 0;
    }

    /// <summary>The filesystem type for mount(2): "fuse" or "fuse.subtype".</summary>
    internal string FsType => Subtype is null ? "fuse" : $"fuse.{Subtype}";

    /// <summary>The data string the kernel parses.</summary>
    internal string KernelData(int fd, uint uid, uint gid)
    {
        var parts = new List<string> { $"fd={fd}", $"rootmode={Convert.ToString(RootMode, 8)}", $"user_id={uid}", $"group_id={gid}" };
        if (DefaultPermissions) parts.Add("default_permissions");
        if (AllowOther) parts.Add("allow_other");
        if (MaxRead is uint mr) parts.Add($"max_read={mr}");
        return string.Join(',', parts);
    }

    /// <summary>The same options as fusermount3 expects them in -o.</summary>
    internal string FusermountOptions()
    {
        var parts = new List<string> { $"fsname={Escape(FsName)}" };
        if (Subtype is not null) parts.Add($"subtype={Escape(Subtype)}");
        if (DefaultPermissions) parts.Add("default_permissions");
        if (AllowOther) parts.Add("allow_other");
        if (MaxRead is uint mr) parts.Add($"max_read={mr}");
        parts.Add(ReadOnly ? "ro" : "rw");
        if ((Flags & Libc.MS_NOSUID) != 0) parts.Add("nosuid");
        if ((Flags & Libc.MS_NODEV) != 0) parts.Add("nodev");
        if ((Flags & Libc.MS_NOEXEC) != 0) parts.Add("noexec");
        if ((Flags & Libc.MS_NOATIME) != 0) parts.Add("noatime");
        if ((Flags & Libc.MS_NODIRATIME) != 0) parts.Add("nodiratime");
        if ((Flags & Libc.MS_RELATIME) != 0) parts.Add("relatime");
        if ((Flags & Libc.MS_LAZYTIME) != 0) parts.Add("lazytime");
        if ((Flags & Libc.MS_SYNCHRONOUS) != 0) parts.Add("sync");
        if ((Flags & Libc.MS_DIRSYNC) != 0) parts.Add("dirsync");
        return string.Join(',', parts);
    }
}
