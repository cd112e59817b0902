using System.Text;
using Fuselage.Interop.Fuse;

namespace Fuselage;

/// <summary>Requests counted per opcode and per source (a worker, a queue, /dev/fuse). Each source counts on its own thread.</summary>
public sealed class RequestStats
{
    private const int Buckets = 64; // 7.45 opcodes are < 64; everything else lands in bucket 0
    private readonly List<(string Source, long[] Counts)> _sources = [];

    /// <summary>A counter array for one source; only its owning thread writes it.</summary>
    internal long[] AddSource(string name)
    {
        var counts = new long[Buckets];
        lock (_sources) _sources.Add((name, counts));
        return counts;
    }

    internal static void Count(long[]? counts, uint opcode)
    {
        if (counts is null) return;
        counts[opcode < Buckets ? opcode : 0]++;
    }

    public long Total
    {
        get { lock (_sources) return _sources.Sum(s => s.Counts.Sum()); }
    }

    public long CountOf(FuseOpcode opcode)
    {
        lock (_sources) return _sources.Sum(s => (uint)opcode < Buckets ? Volatile.Read(ref s.Counts[(int)opcode]) : 0);
    }

    public IReadOnlyDictionary<string, long> PerSource()
    {
        lock (_sources) return _sources.GroupBy(s => s.Source).ToDictionary(g => g.Key, g => g.Sum(s => s.Counts.Sum()));
    }

    public string Format()
    {
        var sb = new StringBuilder();
        lock (_sources)
        {
            sb.AppendLine("requests per opcode:");
            for (int op = 0; op < Buckets; op++)
            {
                long n = _sources.Sum(s => s.Counts[op]);
                if (n == 0) continue;
                string name = op == 0 ? "other" : ((FuseOpcode)op).ToString().ToUpperInvariant();
                sb.AppendLine($"  {name,-18} {n,12:N0}");
            }
            sb.AppendLine("requests per source:");
            foreach (var (source, counts) in _sources) sb.AppendLine($"  {source,-18} {counts.Sum(),12:N0}");
            sb.Append($"  {"total",-18} {_sources.Sum(s => s.Counts.Sum()),12:N0}");
        }
        return sb.ToString();
    }
}
