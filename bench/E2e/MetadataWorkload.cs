using System.Diagnostics;
using Fuselage.Interop;

namespace Fuselage.Bench.E2e;

/// <summary>
/// Create, stat, list and unlink many empty files, each thread in its own directory. Operations are the
/// creates, stats and unlinks (one each per file) plus one listing per directory; p99 comes from every
/// operation's own timing. Calls go straight to libc (openat/fstatat/unlinkat), not FileStream, which adds
/// flock calls and fstat of its own.
/// </summary>
public sealed class MetadataWorkload(int files, int threads) : Workload
{
    public override string Name => NameOf(files, threads);

    public static string NameOf(int files, int threads) => $"metadata-{files / 1000}k-files-{threads}threads";

    public override bool OwnMount => true;
    public override SourceKind Source => SourceKind.Tmpfs;

    /// <summary>The same operations on a tenth of the files; the result is dropped.</summary>
    public override void WarmUp(string directory) => new MetadataWorkload(Math.Max(threads, files / 10), threads).Run(directory);

    public override WorkloadResult Run(string directory)
    {
        string root = Path.Combine(directory, "meta");
        if (Directory.Exists(root)) Directory.Delete(root, recursive: true);
        Directory.CreateDirectory(root);
        int perThread = files / threads;
        var timings = new long[threads][];
        var errors = new Exception?[threads];
        var start = new Barrier(threads);
        long began = 0;
        var workers = Enumerable.Range(0, threads).Select(t => new Thread(() =>
        {
            try
            {
                string dir = Path.Combine(root, $"t{t}");
                Directory.CreateDirectory(dir);
                start.SignalAndWait();
                if (t == 0) began = Stopwatch.GetTimestamp(); // read after Join
                timings[t] = RunOneDirectory(dir, perThread);
            }
            catch (Exception e) { errors[t] = e; start.RemoveParticipant(); }
        })).ToList();
        foreach (var w in workers) w.Start();
        foreach (var w in workers) w.Join();
        long ended = Stopwatch.GetTimestamp();
        if (errors.FirstOrDefault(e => e is not null) is { } error) throw new InvalidOperationException($"metadata workload failed: {error.Message}", error);
        Directory.Delete(root, recursive: true);

        var all = timings.SelectMany(t => t).ToArray();
        Array.Sort(all);
        double seconds = Stopwatch.GetElapsedTime(began, ended).TotalSeconds;
        double p99Ticks = all[Math.Min(all.Length - 1, (int)Math.Ceiling(all.Length * 0.99) - 1)];
        return new WorkloadResult(all.Length, all.Length / seconds, p99Ticks * 1_000_000 / Stopwatch.Frequency);
    }

    /// <summary>Returns each operation's duration in Stopwatch ticks.</summary>
    private static long[] RunOneDirectory(string dir, int count)
    {
        var timings = new long[count * 3 + 1];
        int n = 0;
        int dirFd = ErrnoException.Check(Libc.open(dir, Libc.O_RDONLY | Libc.O_DIRECTORY | Libc.O_CLOEXEC, 0), $"open {dir}");
        try
        {
            var names = Enumerable.Range(0, count).Select(i => System.Text.Encoding.ASCII.GetBytes($"f{i:D6}")).ToArray();
            foreach (var name in names)
            {
                long t0 = Stopwatch.GetTimestamp();
                int fd = ErrnoException.Check(Libc.OpenAt(dirFd, name, Libc.O_CREAT | Libc.O_WRONLY | Libc.O_CLOEXEC, 0x1A4), "create");
                Libc.close(fd);
                timings[n++] = Stopwatch.GetTimestamp() - t0;
            }
            foreach (var name in names)
            {
                long t0 = Stopwatch.GetTimestamp();
                ErrnoException.Check(Libc.FStatAt(dirFd, name, out _, 0), "stat");
                timings[n++] = Stopwatch.GetTimestamp() - t0;
            }
            long l0 = Stopwatch.GetTimestamp();
            int listed = Directory.EnumerateFileSystemEntries(dir).Count();
            timings[n++] = Stopwatch.GetTimestamp() - l0;
            if (listed != count) throw new IOException($"readdir of {dir} listed {listed} of {count} files");
            foreach (var name in names)
            {
                long t0 = Stopwatch.GetTimestamp();
                ErrnoException.Check(Libc.UnlinkAt(dirFd, name, 0), "unlink");
                timings[n++] = Stopwatch.GetTimestamp() - t0;
            }
        }
        finally { Libc.close(dirFd); }
        return timings;
    }
}
