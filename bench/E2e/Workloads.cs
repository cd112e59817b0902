namespace Fuselage.Bench.E2e;

/// <summary>What one workload measured: operations done, how long, and the 99th percentile of one operation's latency.</summary>
public sealed record WorkloadResult(long Operations, double OpsPerSecond, double P99Microseconds);

/// <summary>Where a workload's files live; every system runs it over a source of that kind.</summary>
public enum SourceKind
{
    /// <summary>A directory of the local disk (ext4 on this VM's virtio disk), as a user's files would be.</summary>
    LocalDisk,
    /// <summary>A tmpfs of its own (the metadata workload: ext4 without a journal swings 10x run to run on creates).</summary>
    Tmpfs,
    /// <summary>ext4 on a loop device over a file in a tmpfs: a block device with no VM disk behind it (<see cref="MemoryDisk"/>).</summary>
    MemoryDisk,
}

/// <summary>A workload run against a directory (the source itself or a mount of it).</summary>
public abstract class Workload
{
    public abstract string Name { get; }

    /// <summary>
    /// True to run on a mount of its own (the metadata workload does, over its own tmpfs source).
    /// </summary>
    public virtual bool OwnMount => false;

    /// <summary>The kind of source every system runs it over.</summary>
    public virtual SourceKind Source => SourceKind.LocalDisk;

    /// <summary>Once, on the source before any system runs (lay out files).</summary>
    public virtual void Prepare(string nativeDirectory) { }

    public abstract WorkloadResult Run(string directory);

    /// <summary>A short unmeasured run on a fresh mount, before any workload of its group is measured there.</summary>
    public virtual void WarmUp(string directory) { }
}

/// <summary>The workloads of one run, in the order they run on each system.</summary>
public static class WorkloadSet
{
    public const long FioFileBytes = 256L << 20;
    public const int MetadataFiles = 15_000, MetadataThreads = 2;
    public static string MetadataName => MetadataWorkload.NameOf(MetadataFiles, MetadataThreads);

    public static IReadOnlyList<Workload> Create(TimeSpan fioDuration) =>
    [
        new FioWorkload("randread-4k-qd1-1job", "randread", "4k", ioDepth: 1, jobs: 1, fioDuration),
        new FioWorkload("randread-4k-qd1-2jobs", "randread", "4k", ioDepth: 1, jobs: 2, fioDuration),
        new FioWorkload("randread-4k-qd16-1job", "randread", "4k", ioDepth: 16, jobs: 1, fioDuration),
        new FioWorkload("randread-4k-qd16-2jobs", "randread", "4k", ioDepth: 16, jobs: 2, fioDuration),
        new FioWorkload("randwrite-4k-qd16-1job", "randwrite", "4k", ioDepth: 16, jobs: 1, fioDuration),
        new FioWorkload("seqread-1m-qd4-1job", "read", "1m", ioDepth: 4, jobs: 1, fioDuration),
        new FioWorkload("seqwrite-1m-qd4-1job", "write", "1m", ioDepth: 4, jobs: 1, fioDuration),
        new MetadataWorkload(MetadataFiles, MetadataThreads),
        // The disk out of the path: what the engines themselves deliver when this VM's disk is not the bound.
        new FioWorkload("randread-4k-qd16-1job-memdisk", "randread", "4k", ioDepth: 16, jobs: 1, fioDuration, SourceKind.MemoryDisk),
    ];

    /// <summary>
    /// Workloads run only when <c>--workloads</c> names them: outside the set (the full run stays under 20
    /// minutes) and its targets. Reads and writes of one O_DIRECT file mixed, and four threads writing one file with
    /// pwrite: where FOPEN_DIRECT_IO and FOPEN_PARALLEL_DIRECT_WRITES, which PassthroughFs answers O_DIRECT opens
    /// with, make their difference. libfuse's rows fail there (its O_DIRECT writes do, on ext4).
    /// </summary>
    public static IReadOnlyList<Workload> Extras(TimeSpan fioDuration) =>
    [
        new FioWorkload("randrw-4k-qd16-1job", "randrw", "4k", ioDepth: 16, jobs: 1, fioDuration),
        new FioWorkload("randwrite-4k-psync-4jobs", "randwrite", "4k", ioDepth: 1, jobs: 4, fioDuration, ioEngine: "psync"),
    ];
}
