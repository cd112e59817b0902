using System.Globalization;
using System.Text.Json;

namespace Fuselage.Bench.E2e;

/// <summary>
/// One fio job on a pre-laid-out file with O_DIRECT (so the page cache is not what is measured) and io_uring (or
/// <paramref name="ioEngine"/>), time based. Operations are fio's total_ios; p99 is fio's completion-latency percentile.
/// </summary>
public sealed class FioWorkload(string name, string readWrite, string blockSize, int ioDepth, int jobs, TimeSpan duration,
    SourceKind source = SourceKind.LocalDisk, string ioEngine = "io_uring") : Workload
{
    public const string DataFileName = "fio-data";

    public override string Name => name;

    public override SourceKind Source => source;

    /// <summary>Writes the whole file once so reads hit real, allocated blocks (not unwritten extents that read as zeros).</summary>
    public override void Prepare(string nativeDirectory)
    {
        string path = Path.Combine(nativeDirectory, DataFileName);
        if (File.Exists(path) && new FileInfo(path).Length == WorkloadSet.FioFileBytes) return;
        Shell.Check("fio", "--name=layout", $"--filename={path}", $"--size={WorkloadSet.FioFileBytes}", "--rw=write", "--bs=1m",
            "--direct=1", "--ioengine=psync", "--end_fsync=1", "--output-format=terse");
    }

    /// <summary>One second of 4k random reads and writes at depth 16: the READ and WRITE paths every fio row takes.
    /// Its result is dropped, and so is its failure (libfuse's O_DIRECT writes fail; its reads still ran).</summary>
    public override void WarmUp(string directory) =>
        Shell.Run("fio", ["--name=warmup", $"--filename={Path.Combine(directory, DataFileName)}", $"--size={WorkloadSet.FioFileBytes}",
            "--rw=randrw", "--bs=4k", "--iodepth=16", "--direct=1", "--ioengine=io_uring", "--time_based", "--runtime=1",
            "--randrepeat=0", "--norandommap", "--output-format=terse"], TimeSpan.FromMinutes(1));

    public override WorkloadResult Run(string directory)
    {
        string[] args =
        [
            "--name=bench", $"--filename={Path.Combine(directory, DataFileName)}", $"--size={WorkloadSet.FioFileBytes}",
            $"--rw={readWrite}", $"--bs={blockSize}", $"--iodepth={ioDepth}", $"--numjobs={jobs}", "--group_reporting",
            "--direct=1", $"--ioengine={ioEngine}", "--time_based", $"--runtime={(int)duration.TotalSeconds}",
            "--randrepeat=0", "--norandommap", "--output-format=json",
        ];
        var r = Shell.Run("fio", args, duration + TimeSpan.FromMinutes(2));
        if (!r.Ok) throw new InvalidOperationException($"fio {name} failed (exit {r.ExitCode}): {Shell.Tail(r.Stderr, 3)} {JobError(r.Stdout)}".TrimEnd());
        return Parse(r.Stdout);
    }

    /// <summary>fio reports an I/O error inside its JSON (jobs[].error = errno) rather than on stderr.</summary>
    private static string JobError(string stdout)
    {
        try
        {
            using var doc = ParseJson(stdout);
            var errors = doc.RootElement.GetProperty("jobs").EnumerateArray()
                .Select(j => j.GetProperty("error").GetInt32()).Where(e => e != 0).Distinct().ToList();
            return errors.Count > 0 ? $"job errno {string.Join(", ", errors)}" : "";
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or ArgumentOutOfRangeException or InvalidOperationException)
        {
            return Shell.Tail(stdout, 2);
        }
    }

    /// <summary>Reads fio's --output-format=json (warnings may come first): read and write I/Os summed, the larger p99.</summary>
    public static WorkloadResult Parse(string json)
    {
        using var doc = ParseJson(json);
        var job = doc.RootElement.GetProperty("jobs")[0];
        long operations = 0;
        double iops = 0, p99Nanoseconds = 0;
        foreach (var direction in new[] { "read", "write" })
        {
            var d = job.GetProperty(direction);
            long ios = d.GetProperty("total_ios").GetInt64();
            if (ios == 0) continue;
            operations += ios;
            iops += d.GetProperty("iops").GetDouble();
            if (d.GetProperty("clat_ns").TryGetProperty("percentile", out var percentiles))
            {
                var p99 = percentiles.GetProperty(99.0.ToString("F6", CultureInfo.InvariantCulture)).GetDouble();
                p99Nanoseconds = Math.Max(p99Nanoseconds, p99);
            }
        }
        return new WorkloadResult(operations, iops, p99Nanoseconds / 1000);
    }

    /// <summary>fio prints warnings before its JSON; parse from the first brace.</summary>
    private static JsonDocument ParseJson(string output) => JsonDocument.Parse(output[output.IndexOf('{')..]);
}
