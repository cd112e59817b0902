using System.Text;
using Fuselage.Interop.Fuse;

namespace Fuselage;

/// <summary>Requests counted per opcode and per source (a worker, a queue, /dev/fuse). Each source counts on its own thread.</summary>
public sealed class RequestStats
{
    private const int Buckets = 64; // 7.45 opcodes are < 64; everything else lands in bucket 0
    // After the opcode buckets: the bytes the source's worker thread has allocated so far (GC.GetAllocatedBytesForCurrentThread).
    private const int AllocatedSlot = Buckets;
    // What the thread had allocated before it began serving (set once by the worker), subtracted from the samples.
    private const int BaselineSlot = Buckets + 1;
    // READ replies sent linked to their file read (a uring queue's COMMIT, or a ring worker's WRITE and next READ, behind
    // the read), and those of them that a short or failed read dropped (replied as usual instead).
    private const int LinkedRepliesSlot = Buckets + 2, LinkedRepliesDroppedSlot = Buckets + 3;
    // File reads and writes a method queued on its worker's ring, and those of them that went through fixed buffers.
    private const int FileIoSlot = Buckets + 4, FixedFileIoSlot = Buckets + 5;
    private const int Slots = Buckets + 6;
    private readonly List<(string Source, long[] Counts)> _sources = [];

    /// <summary>A counter array for one source; only its owning thread writes it.</summary>
    internal long[] AddSource(string name)
    {
        var counts = new long[Slots];
        lock (_sources) _sources.Add((name, counts));
        return counts;
    }

    internal static void Count(long[]? counts, uint opcode)
    {
        if (counts is null) return;
        counts[opcode < Buckets ? opcode : 0]++;
    }

    internal static void CountLinkedReply(long[]? counts, bool dropped)
    {
        if (counts is not null) counts[dropped ? LinkedRepliesDroppedSlot : LinkedRepliesSlot]++;
    }

    internal static void CountFileIo(long[]? counts, bool fixedBuffer)
    {
        if (counts is null) return;
        counts[FileIoSlot]++;
        if (fixedBuffer) counts[FixedFileIoSlot]++;
    }

    /// <summary>File reads and writes the filesystem's methods queued on their worker's io_uring.</summary>
    public long FileIo => SumOf(FileIoSlot);

    /// <summary>Of <see cref="FileIo"/>, those that went as READ_FIXED / WRITE_FIXED: no pinning of their pages each time.</summary>
    public long FixedBufferFileIo => SumOf(FixedFileIoSlot);

    /// <summary>READ replies queued linked to their file read, for the kernel to send as it completes (dropped ones included).</summary>
    public long LinkedReplies => SumOf(LinkedRepliesSlot);

    /// <summary>Of <see cref="LinkedReplies"/>, those a short or failed read dropped: replied as usual instead.</summary>
    public long LinkedRepliesDropped => SumOf(LinkedRepliesDroppedSlot);

    private long SumOf(int slot)
    {
        lock (_sources) return _sources.Sum(s => Volatile.Read(ref s.Counts[slot]));
    }

    /// <summary>Called once by a worker before its first request: its own start-up is not request-path allocation.</summary>
    internal static void StartAllocationCount(long[]? counts)
    {
        if (counts is not null) counts[BaselineSlot] = GC.GetAllocatedBytesForCurrentThread();
    }

    /// <summary>Called by a worker between requests: records what its thread has allocated, to prove the hot path allocates nothing.</summary>
    internal static void SampleAllocations(long[]? counts)
    {
        if (counts is not null) Volatile.Write(ref counts[AllocatedSlot], GC.GetAllocatedBytesForCurrentThread() - counts[BaselineSlot]);
    }

    /// <summary>Managed bytes allocated so far by the worker threads (as of each worker's last loop).</summary>
    public long WorkerAllocatedBytes => SumOf(AllocatedSlot);

    public long Total
    {
        get { lock (_sources) return _sources.Sum(s => RequestsOf(s.Counts)); }
    }

    private static long RequestsOf(long[] counts)
    {
        long sum = 0;
        foreach (long c in counts.AsSpan(0, Buckets)) sum += c;
        return sum;
    }

    public long CountOf(FuseOpcode opcode)
    {
        lock (_sources) return _sources.Sum(s => (uint)opcode < Buckets ? Volatile.Read(ref s.Counts[(int)opcode]) : 0);
    }

    public IReadOnlyDictionary<string, long> PerSource()
    {
        lock (_sources) return _sources.GroupBy(s => s.Source).ToDictionary(g => g.Key, g => g.Sum(s => RequestsOf(s.Counts)));
    }

    public string Format()
    {
        var sb = new StringBuilder();
        lock (_sources)
        {
            sb.AppendLine("requests per opcode:");
            for (int op = 0; op < Buckets; op++)
            {
                long n = SumOf(op);
                if (n == 0) continue;
                string name = op == 0 ? "other" : ((FuseOpcode)op).ToString().ToUpperInvariant();
                sb.AppendLine($"  {name,-18} {n,12:N0}");
            }
            sb.AppendLine("requests per source:");
            foreach (var (source, counts) in _sources) sb.AppendLine($"  {source,-18} {RequestsOf(counts),12:N0}");
            sb.Append($"  {"total",-18} {Total,12:N0}");
            long fileIo = FileIo;
            if (fileIo > 0) sb.Append($"\nfile I/O through the workers' rings: {fileIo:N0} ({FixedBufferFileIo:N0} through fixed buffers)");
            long linked = LinkedReplies;
            if (linked > 0)
                sb.Append($"\nREAD replies linked to their file read: {linked:N0} ({LinkedRepliesDropped:N0} dropped by a short or failed read, and replied as usual)");
        }
        return sb.ToString();
    }
}
