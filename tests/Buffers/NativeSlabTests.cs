using System.Globalization;
using Fuselage.Buffers;

namespace Fuselage.Tests;

public class NativeSlabTests
{
    private const string ThpSetting = "/sys/kernel/mm/transparent_hugepage/enabled";

    [SkippableFact]
    public void A_slab_of_huge_page_size_or_more_is_backed_by_huge_pages()
    {
        Skip.IfNot(File.Exists(ThpSetting), "this kernel has no transparent huge pages");
        Skip.If(File.ReadAllText(ThpSetting).Contains("[never]"), "transparent huge pages are switched off on this machine");
        using var slab = new NativeSlab(1 << 20, 4);
        Assert.Equal(0, slab.Address % NativeSlab.HugePageSize);
        // One 1 MiB buffer of 4K pages is about 256 block segments (virtio-blk takes 254); inside a huge page, one.
        Assert.True(AnonHugePagesKb(slab.Address) >= NativeSlab.HugePageSize / 1024,
            "the slab's memory has no huge page: its 1 MiB buffers would be split into two block requests each");
    }

    [Fact]
    public void A_small_slab_stays_page_aligned_without_huge_page_alignment()
    {
        using var slab = new NativeSlab(4096, 4);
        Assert.Equal(0, slab.Address % NativeSlab.PageSize);
        Assert.Equal(16384u, slab.Length);
    }

    /// <summary>AnonHugePages of the mapping that holds <paramref name="address"/>, from /proc/self/smaps.</summary>
    private static long AnonHugePagesKb(nint address)
    {
        bool inside = false;
        foreach (var line in File.ReadLines("/proc/self/smaps"))
        {
            int dash = line.IndexOf('-');
            int space = line.IndexOf(' ');
            if (dash > 0 && space > dash && ulong.TryParse(line.AsSpan(0, dash), NumberStyles.HexNumber, null, out ulong start)
                && ulong.TryParse(line.AsSpan(dash + 1, space - dash - 1), NumberStyles.HexNumber, null, out ulong end))
            {
                inside = (ulong)address >= start && (ulong)address < end;
                continue;
            }
            if (inside && line.StartsWith("AnonHugePages:"))
                return long.Parse(line.AsSpan("AnonHugePages:".Length).Trim().TrimEnd("kB").Trim());
        }
        throw new InvalidOperationException($"no mapping in /proc/self/smaps holds 0x{address:x}");
    }
}
