using System.Globalization;
using Fuselage.Buffers;

namespace Fuselage.Tests;

/// <summary>Runs alone: a test mapping memory meanwhile could be handed the address range a disposed slab gave back.</summary>
[CollectionDefinition(nameof(AddressSpaceCollection), DisableParallelization = true)]
public class AddressSpaceCollection;

[Collection(nameof(AddressSpaceCollection))]
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
        slab.GetSpan(0).Fill(1); // memory is committed when first used
        // One 1 MiB buffer of 4K pages is about 256 block segments (virtio-blk takes 254); inside a huge page, one.
        Assert.True(AnonHugePagesKb(slab.Address) >= NativeSlab.HugePageSize / 1024,
            "the slab's memory has no huge page: its 1 MiB buffers would be split into two block requests each");
    }

    [SkippableFact]
    public void The_last_buffer_of_a_huge_slab_is_backed_by_huge_pages_to_its_end()
    {
        Skip.IfNot(File.Exists(ThpSetting), "this kernel has no transparent huge pages");
        Skip.If(File.ReadAllText(ThpSetting).Contains("[never]"), "transparent huge pages are switched off on this machine");
        // A uring queue's payloads: 16 of 1 MiB + a page of headers, so the slab ends 64 KiB past a huge page.
        using var slab = new NativeSlab((1 << 20) + NativeSlab.PageSize, 16);
        var last = slab.GetSpan(slab.BufferCount - 1);
        last.Fill(1);
        // The last buffer straddles the 16 MiB boundary: both huge pages it touches must be huge, or its 4K tail
        // makes the buffer ~256 block segments and every 1 MiB write from it two block requests.
        Assert.True(AnonHugePagesKb(slab.Address + (nint)slab.Length - 1) >= 2 * NativeSlab.HugePageSize / 1024,
            "the slab's tail past its last whole huge page is not a huge page");
    }

    [Fact]
    public void A_small_slab_stays_page_aligned_without_huge_page_alignment()
    {
        using var slab = new NativeSlab(4096, 4);
        Assert.Equal(0, slab.Address % NativeSlab.PageSize);
        Assert.Equal(16384u, slab.Length);
    }

    [Fact]
    public void A_new_slab_holds_no_memory_until_a_buffer_is_used_and_then_about_that_buffer()
    {
        // A worker's pool: 16 requests of max_write (1 MiB) and a page of headers.
        using var slab = new NativeSlab((1 << 20) + NativeSlab.PageSize, 16);
        Assert.Equal(0u, slab.ResidentBytes);

        slab.GetSpan(3).Fill(0x5a);

        nuint resident = slab.ResidentBytes;
        Assert.InRange(resident, (nuint)slab.BufferSize, (nuint)(slab.BufferSize + 2 * NativeSlab.HugePageSize));
    }

    [Fact]
    public void A_new_slab_reads_as_zeros()
    {
        using var slab = new NativeSlab(3 * NativeSlab.PageSize + 100, 5);
        for (int i = 0; i < slab.BufferCount; i++)
            Assert.Equal(-1, slab.GetSpan(i).IndexOfAnyExcept((byte)0));
    }

    [Fact]
    public void Disposing_a_slab_gives_its_memory_back_to_the_kernel()
    {
        var slab = new NativeSlab(1 << 20, 4);
        nint address = slab.Address;
        slab.GetSpan(1).Fill(7);
        Assert.NotNull(MappingHolding(address));

        slab.Dispose();

        Assert.True(slab.IsDisposed);
        Assert.Null(MappingHolding(address));
    }

    /// <summary>The /proc/self/smaps lines of the mapping that holds <paramref name="address"/>, or null when none does.</summary>
    private static List<string>? MappingHolding(nint address)
    {
        List<string>? lines = null;
        foreach (var line in File.ReadLines("/proc/self/smaps"))
        {
            int dash = line.IndexOf('-');
            int space = line.IndexOf(' ');
            if (dash > 0 && space > dash && ulong.TryParse(line.AsSpan(0, dash), NumberStyles.HexNumber, null, out ulong start)
                && ulong.TryParse(line.AsSpan(dash + 1, space - dash - 1), NumberStyles.HexNumber, null, out ulong end))
            {
                if (lines is not null) return lines;
                if ((ulong)address >= start && (ulong)address < end) lines = [];
                continue;
            }
            lines?.Add(line);
        }
        return lines;
    }

    /// <summary>AnonHugePages of the mapping that holds <paramref name="address"/>, from /proc/self/smaps.</summary>
    private static long AnonHugePagesKb(nint address)
    {
        var lines = MappingHolding(address) ?? throw new InvalidOperationException($"no mapping in /proc/self/smaps holds 0x{address:x}");
        string line = lines.First(l => l.StartsWith("AnonHugePages:"));
        return long.Parse(line.AsSpan("AnonHugePages:".Length).Trim().TrimEnd("kB").Trim());
    }
}
