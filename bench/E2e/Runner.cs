using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;

namespace Fuselage.Bench.E2e;

/// <summary>
/// `e2e [--quick]`: native vs libfuse passthrough_ll vs Fuselage PassthroughFs (each transport) over the same
/// source directory, one table of ratios from the same run, JSON and a chart under bench/results/.
/// Whatever it mounts it unmounts, on success, failure, Ctrl-C or SIGTERM.
/// </summary>
public static class Runner
{
    private static readonly Stopwatch Clock = new();

    private static string ChartSubtitle(string? cpus, string? kernel, int rounds, double fioSeconds) =>
        $"{cpus} vCPU, Linux {kernel}, median of {rounds} round(s), fio {fioSeconds:0} s per job";

    /// <summary>
    /// `e2e --report results.json`: writes a finished run's markdown, targets and chart again beside its JSON, from the
    /// JSON's rows (for a change in how results are presented; nothing is measured).
    /// </summary>
    private static int Rewrite(string jsonPath)
    {
        var (rows, run) = Report.ReadJson(File.ReadAllText(jsonPath));
        string directory = Path.GetDirectoryName(Path.GetFullPath(jsonPath))!;
        WriteResults(directory, rows, run);
        Console.WriteLine($"wrote e2e.md, e2e.json and e2e.png in {directory}");
        return 0;
    }

    /// <summary>e2e.md, e2e.json and e2e.png of a run, in <paramref name="directory"/>.</summary>
    private static void WriteResults(string directory, IReadOnlyList<Row> table, RunInfo run)
    {
        var verdicts = Targets.Judge(table);
        File.WriteAllText(Path.Combine(directory, "e2e.md"), ResultsMarkdown(Report.Markdown(table), Targets.Markdown(verdicts), run, hostStalls: Report.HasHostStalls(table)));
        File.WriteAllText(Path.Combine(directory, "e2e.json"), Report.Json(table, verdicts, run));
        Report.Chart(table, Path.Combine(directory, "e2e.png"), ChartSubtitle(run.Machine.GetValueOrDefault("cpus"),
            run.Machine.GetValueOrDefault("kernel"), run.Rounds, run.FioSecondsPerJob));
    }

    public static int Run(string[] args)
    {
        bool quick = false;
        int? rounds = null;
        var filter = new Selection();
        for (int i = 0; i < args.Length; i++)
        {
            string a = args[i];
            if (a == "--quick") quick = true;
            else if (a == "--report" && i + 1 < args.Length) return Rewrite(args[++i]);
            else if (a == "--rounds" && i + 1 < args.Length && int.TryParse(args[i + 1], out int n) && n is >= 1 and <= 20)
            {
                rounds = n;
                i++;
            }
            else if (a is "--systems" or "--workloads" && i + 1 < args.Length)
            {
                var names = args[++i].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                if (a == "--systems") filter.Systems = names; else filter.Workloads = names;
            }
            else
            {
                Console.Error.WriteLine($"usage: dotnet run -c Release --project bench -- e2e [--quick] [--rounds 1-20] [--systems a,b] [--workloads part,part] | e2e --report results.json  (unknown '{a}')");
                return 2;
            }
        }
        Clock.Start();
        var cleanup = new Cleanup();
        using var interrupted = new CancellationTokenSource();
        // What this machine had, read before any row turns it on; empty when the kernel has no such switch.
        string enableUring = ReadOrEmpty(UringParameter).Trim();
        // Ctrl-C, kill and a closed terminal all stop the run the same way: between two measurements (the fio job
        // running finishes first, or dies of the terminal's SIGINT too), then the finally below unmounts. Cleaning up
        // inside the runtime's own SIGTERM exit instead left everything mounted: it starts and waits for processes
        // (kill, umount), which hangs on the very thread that delivers signals, until the runtime exits anyway.
        using var onSignals = new SignalHandlers([PosixSignal.SIGINT, PosixSignal.SIGTERM, PosixSignal.SIGHUP], signal =>
        {
            interrupted.Cancel();
            Progress($"{signal}: stopping after the current measurement, then cleaning up (a second signal exits at once)");
        },
        // Exiting at once leaves mounts for the next run to find, but the kernel switch must not stay on: the next
        // run would take Y for what this machine had.
        exitingAtOnce: () => PutBackUring(enableUring));
        try
        {
            return RunAll(quick, rounds ?? DefaultRounds(quick), filter, enableUring, cleanup, interrupted.Token);
        }
        catch (Exception) when (interrupted.IsCancellationRequested)
        {
            return 130;
        }
        catch (Exception e)
        {
            Say(Console.Error, $"e2e failed: {e.Message}");
            return 1;
        }
        finally
        {
            cleanup.RunAll();
            Progress($"done in {Clock.Elapsed:mm\\:ss}");
        }
    }

    /// <summary>Rounds when --rounds is not given: one for --quick, three for the full run.</summary>
    private static int DefaultRounds(bool quick) => quick ? 1 : 3;

    private static int RunAll(bool quick, int rounds, Selection filter, string enableUring, Cleanup cleanup, CancellationToken cancel)
    {
        // --quick must end within 5 minutes counting `dotnet run`'s own build check: 54 jobs of 5 s took 5:01 in all.
        var fioDuration = TimeSpan.FromSeconds(quick ? 4 : 7);
        string repo = FindRepoRoot();
        string results = Path.Combine(repo, "bench", "results");
        string tmp = Path.Combine(results, "tmp");
        bool usualRounds = rounds == DefaultRounds(quick);
        // Only a full, unfiltered run of the usual rounds is kept in git.
        string output = quick || filter.Partial || !usualRounds ? Path.Combine(tmp, quick ? "quick" : "partial") : results;
        string source = Path.Combine(tmp, "source");
        string mountpoints = Path.Combine(tmp, "mnt"); // one per system beneath
        string logs = Path.Combine(tmp, "logs");
        foreach (var d in new[] { output, source, mountpoints, logs }) Directory.CreateDirectory(d);
        foreach (var log in Directory.GetFiles(logs)) File.Delete(log);
        Progress($"e2e {(quick ? "quick" : "full")}: {rounds} round(s), fio jobs of {fioDuration.TotalSeconds:0} s; scratch in {Path.GetRelativePath(repo, tmp)}");

        Prerequisites.InstallPackages(Progress);
        string passthroughLl = Prerequisites.BuildPassthroughLl(Path.Combine(tmp, "build"), Progress);
        string fuselageDll = Prerequisites.BuildFuselage(repo, Progress);
        cancel.ThrowIfCancellationRequested();

        var notes = new List<string>();
        var libfuse = new LibfuseSystem(passthroughLl);
        var systems = new List<SystemUnderTest> { new NativeSystem(), libfuse, new FuselageSystem(fuselageDll, "threads"), new FuselageSystem(fuselageDll, "ring") };
        // The uring row needs the kernel's switch on: the runner turns it on for that row only and puts back what it found.
        if (enableUring.Length > 0)
        {
            systems.Add(new FuselageSystem(fuselageDll, "uring"));
            cleanup.Add(() => PutBackUring(enableUring));
        }
        else notes.Add($"fuselage-uring skipped: this kernel has no {UringParameter}.");
        // Not a transport: the kernel does the file I/O itself (FUSE passthrough), over the ring transport.
        systems.Add(new FuselageSystem(fuselageDll, "ring", kernelPassthrough: true));
        systems.RemoveAll(s => !filter.KeepsSystem(s.Name));

        using var stallProbe = new HostStallProbe();
        if (!stallProbe.RealTime) notes.Add("host stalls: the probe could not take SCHED_FIFO, so its count includes the guest's own scheduling delays.");

        var workloads = WorkloadSet.Create(fioDuration).Where(w => filter.KeepsWorkload(w.Name))
            .Concat(WorkloadSet.Extras(fioDuration).Where(w => filter.NamesExtra(w.Name))).ToList();
        if (systems.Count == 0 || workloads.Count == 0) throw new ArgumentException("--systems/--workloads left nothing to run");
        var sources = CreateSources(workloads, source, tmp, cleanup, notes);
        // Registered after the sources, so run before them (newest first): the daemons go before what they mirror.
        foreach (var s in systems) cleanup.Add(s.Unmount);
        workloads.RemoveAll(w => !sources.ContainsKey(w.Source));
        Progress($"laying out the {WorkloadSet.FioFileBytes >> 20} MiB fio file");
        foreach (var w in workloads) w.Prepare(sources[w.Source]);

        // Rounds interleave the systems workload by workload: every system is mounted at once, each on a mountpoint of
        // its own, and each workload runs on one system after the other, in the opposite order every other round. A
        // drift of the machine (this VM's disk swings by tens of percent over minutes) then reaches the rows of one
        // workload within a minute of each other rather than minutes apart; each figure is the median of the rounds.
        var samples = new Dictionary<(string Workload, string System), List<(int Round, Row Row)>>();
        var failed = new HashSet<(string Workload, string System)>();
        var skipped = new HashSet<string>();
        // Workloads sharing a source run on one set of mounts; a workload that wants its own gets fresh ones.
        var mountGroups = workloads.GroupBy(w => (w.Source, Own: w.OwnMount ? w.Name : "")).Select(g => g.ToList()).ToList();
        for (int round = 1; round <= rounds; round++)
        {
            Progress($"round {round} of {rounds}");
            var order = round % 2 == 1 ? systems : Enumerable.Reverse(systems).ToList();
            foreach (var group in mountGroups)
            {
                cancel.ThrowIfCancellationRequested();
                var mounted = new List<(SystemUnderTest System, string Directory)>();
                bool uringOn = false;
                try
                {
                    foreach (var system in order.Where(s => !skipped.Contains(s.Name) && group.Any(w => !failed.Contains((w.Name, s.Name)))))
                    {
                        cancel.ThrowIfCancellationRequested(); // a signal stops the mounting too (and the enable_uring switch)
                        // The kernel checks enable_uring at every queue command: Y for as long as the uring daemon is
                        // mounted. Connections that register no queue do not look at it.
                        if (enableUring.Length > 0 && system is FuselageSystem { Transport: "uring" })
                        {
                            File.WriteAllText(UringParameter, "Y");
                            uringOn = true;
                        }
                        try
                        {
                            string directory = system.Mount(sources[group[0].Source], Path.Combine(mountpoints, system.Name));
                            if (system.DaemonPid is { } pid) Progress($"{system.Name}: mounted (pid {pid})");
                            mounted.Add((system, directory));
                        }
                        catch (DaemonFailedException e) when (!cancel.IsCancellationRequested)
                        {
                            skipped.Add(system.Name);
                            notes.Add(e.Message);
                            Progress($"skipped: {e.Message}");
                        }
                    }
                    // A fresh daemon compiles its paths as its first requests come (.NET tiers code up over about a
                    // second): every system first gets the same short run, unmeasured, so no row carries start-up costs.
                    foreach (var (_, directory) in mounted)
                    {
                        cancel.ThrowIfCancellationRequested();
                        group[0].WarmUp(directory);
                    }
                    foreach (var workload in group)
                    {
                        foreach (var (system, directory) in mounted)
                        {
                            if (failed.Contains((workload.Name, system.Name))) continue;
                            cancel.ThrowIfCancellationRequested();
                            try
                            {
                                var row = Measure(system, workload, directory, stallProbe);
                                if (!samples.TryGetValue((workload.Name, system.Name), out var list)) samples[(workload.Name, system.Name)] = list = [];
                                list.Add((round, row));
                            }
                            catch (Exception e) when (!cancel.IsCancellationRequested)
                            {
                                failed.Add((workload.Name, system.Name)); // a failure is a property of the system: not retried
                                notes.Add($"{system.Name} / {workload.Name}: {e.Message.Replace(repo + Path.DirectorySeparatorChar, "")}");
                                Progress($"failed: {system.Name} / {workload.Name}: {e.Message}");
                            }
                        }
                    }
                }
                finally
                {
                    foreach (var (system, _) in mounted)
                    {
                        system.Unmount();
                        if (system is DaemonSystem daemon)
                            File.AppendAllLines(Path.Combine(logs, $"{system.Name}.log"), daemon.Output);
                    }
                    if (uringOn) PutBackUring(enableUring);
                }
            }
        }
        var rows = (from system in systems
                    from workload in mountGroups.SelectMany(g => g)
                    where samples.ContainsKey((workload.Name, system.Name))
                    select Report.Median(samples[(workload.Name, system.Name)].Select(s => s.Row).ToList())).ToList();

        var table = Report.WithRoundRatios(Report.WithRatios(rows), samples);
        var machine = Machine.Describe(source, sources.GetValueOrDefault(SourceKind.MemoryDisk));
        string command = $"dotnet run -c Release --project bench -- e2e{(quick ? " --quick" : "")}{(usualRounds ? "" : $" --rounds {rounds}")}{filter.Arguments}";
        var systemsUsed = new Dictionary<string, string>
        {
            ["native"] = "the source directory itself",
            ["libfuse"] = libfuse.Describe(),
        };
        foreach (var f in systems.OfType<FuselageSystem>()) systemsUsed[f.Name] = f.Describe();
        Console.WriteLine();
        Console.WriteLine(Report.Markdown(table));
        string targets = Targets.Markdown(Targets.Judge(table));
        if (targets.Length > 0) Console.WriteLine($"Targets: {targets}");
        foreach (var n in notes) Console.WriteLine($"note: {n}");

        WriteResults(output, table, new RunInfo(command, DateTime.UtcNow.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
            fioDuration.TotalSeconds, rounds, machine, systemsUsed, notes));
        Progress($"wrote {Path.GetRelativePath(repo, Path.Combine(output, "e2e.md"))}, e2e.json and e2e.png");
        return rows.Count > 0 ? 0 : 1;
    }

    /// <summary>
    /// Runs one workload, charges the daemon's CPU time (user + system) to its operations and counts the host stalls
    /// that fell within it.
    /// </summary>
    private static Row Measure(SystemUnderTest system, Workload workload, string directory, HostStallProbe stallProbe)
    {
        int? pid = system.DaemonPid;
        var cpuBefore = pid is { } p0 ? ProcessCpu.Of(p0) : TimeSpan.Zero;
        var stallsBefore = stallProbe.Read();
        var result = workload.Run(directory);
        var stalls = stallProbe.Read() - stallsBefore;
        double? cpuPerOp = pid is { } p1 && result.Operations > 0
            ? (ProcessCpu.Of(p1) - cpuBefore).TotalMicroseconds / result.Operations
            : null;
        Progress($"{system.Name,-16} {workload.Name,-28} {result.OpsPerSecond,12:N0} ops/s  p99 {result.P99Microseconds,9:N0} µs" +
            (cpuPerOp is { } c ? $"  daemon CPU {c,7:N1} µs/op" : "") +
            (stalls.Stalls > 0 ? $"  host stalls {stalls.Stalls} ({stalls.LateMilliseconds:N0} ms)" : ""));
        return new Row(workload.Name, system.Name, Math.Round(result.OpsPerSecond, 1), Math.Round(result.P99Microseconds, 1),
            cpuPerOp is { } cpu ? Math.Round(cpu, 2) : null)
        {
            HostStalls = stalls.Stalls,
            HostStallMilliseconds = Math.Round(stalls.LateMilliseconds),
        };
    }

    private static string ResultsMarkdown(string table, string targets, RunInfo run, bool hostStalls)
    {
        var lines = new List<string>
        {
            "# End-to-end results", "",
            $"Made by `{run.Command}` on {run.Date}. Ratios compare rows of this same run.", "",
            table,
            "![ops/s relative to libfuse](e2e.png)", "",
        };
        if (targets.Length > 0)
            lines.AddRange(["## Targets", "",
                "Judged on the medians above; in brackets, the lowest and highest of the same ratio within one round.", "",
                targets]);
        lines.AddRange(["## Machine", ""]);
        lines.AddRange(run.Machine.Select(kv => $"- {kv.Key}: {kv.Value}"));
        lines.AddRange(["", "## Systems", ""]);
        lines.AddRange(run.Systems.Select(kv => $"- {kv.Key}: `{kv.Value}`"));
        lines.AddRange([
            "", "## Method", "",
            $"- {run.Rounds} round(s); in each, every system is mounted at once (each on a mountpoint of its own, fresh each round) and every workload runs on one system after the other, in the opposite order every other round, so a drift of the machine reaches the rows of one workload within a minute of each other. Every figure in the table is the median over the rounds; in brackets after the ops/s ratio to libfuse, the lowest and highest of that ratio within one round.",
            "- Before anything is measured on a fresh set of mounts, every system gets the same unmeasured warm-up: one second of fio 4k random reads and writes at depth 16 (the metadata workload: a tenth of its files), so that no row carries a daemon's start-up (.NET compiles its code up over its first second).",
            "- The kernel's enable_uring is Y while the uring daemon is mounted, which is during every row; only connections that register io_uring queues use it.",
            $"- fio {run.FioSecondsPerJob:0} s per job, time based, `--direct=1 --ioengine=io_uring` (`psync` for a `-psync-` workload), on one {WorkloadSet.FioFileBytes >> 20} MiB file written once beforehand on its source; ops/s is fio's IOPS, p99 its completion-latency percentile.",
            $"- Sources: fio runs on a directory of the local disk (ext4 on virtio); the metadata workload on a tmpfs of its own; the `-memdisk` workload on ext4 on a loop device over a {MemoryDisk.ImageBytes >> 20} MiB image in a tmpfs (the same O_DIRECT path through ext4 and the block layer, with no VM disk behind it: what the engines deliver where this VM's disk is not the bound). Fuselage places READ and WRITE data on page boundaries, so O_DIRECT passes through to ext4; libfuse's passthrough_ll keeps WRITE data 80 B into its request buffer, which ext4 refuses with EINVAL for O_DIRECT writes (its rows then fail, noted below).",
            "- Cache settings are equal: passthrough_ll with `cache=auto,timeout=1` (1 s entry and attribute timeouts, no keep_cache or direct_io forced) and Fuselage's default policy (Classic, 1 s entry and attribute timeouts). O_DIRECT keeps the page cache out of the fio numbers. PassthroughFs answers an O_DIRECT open with FOPEN_DIRECT_IO and FOPEN_PARALLEL_DIRECT_WRITES, as libfuse's later passthrough examples do (Debian's 3.14 passthrough_ll does not): the data skips the page cache either way, but on the page-cache path the kernel asks for the file's attributes before each read that follows a write and keeps writers of one file to one at a time.",
            "- fuselage-kernel-pt is not one more transport: it declares CacheMode.Passthrough, so PassthroughFs registers each open file as a backing file and the kernel reads and writes it without asking the daemon (FUSE passthrough, Linux 6.9+). libfuse 3.14's passthrough_ll has no such mode.",
            $"- metadata: {WorkloadSet.MetadataFiles} empty files, 2 threads each in its own directory: openat(O_CREAT)+close, fstatat, one listing, unlinkat; ops are creates + stats + unlinks + listings; p99 from each operation's own timing.",
            "- The metadata workload gets mounts of its own, over its tmpfs source.",
            "- daemon CPU µs/op: utime+stime of the daemon process (/proc/<pid>/stat, every thread) over the workload, divided by its operations.",
        ]);
        if (hostStalls)
            lines.Add($"- host stalls (ms): while each workload ran, a thread of the runner that only sleeps ({HostStallProbe.Period.TotalMilliseconds:0} ms at a time, SCHED_FIFO) counts its wake-ups more than {StallCounter.Threshold.TotalMilliseconds:0} ms late, and in brackets the ms they were late by, summed (a lower bound of the time lost). Nothing in the guest delays a real-time thread that long; the VM was not running (this guest reports no steal time). A row with many is partly a measure of the host; the median over the rounds.");
        if (run.Notes.Count > 0)
        {
            lines.AddRange(["", "## Notes", ""]);
            lines.AddRange(run.Notes.Select(n => $"- {n}"));
        }
        return string.Join('\n', lines) + "\n";
    }

    /// <summary>
    /// The directory each kind of source the workloads need lives in. fio runs on the local disk (ext4 here), as a
    /// user's files would; the metadata workload on a tmpfs of its own (ext4 without a journal swings 10x run to run
    /// on creates, which would drown the FUSE difference); the memdisk workload where no VM disk bounds it. A memory
    /// disk that cannot be built (no loop device) drops its workloads with a note, not the run.
    /// </summary>
    private static Dictionary<SourceKind, string> CreateSources(IReadOnlyList<Workload> workloads, string localDisk, string scratch,
        Cleanup cleanup, List<string> notes)
    {
        var sources = new Dictionary<SourceKind, string> { [SourceKind.LocalDisk] = localDisk };
        if (workloads.Any(w => w.Source == SourceKind.Tmpfs))
        {
            string tmpfs = Path.Combine(scratch, "tmpfs-source");
            Directory.CreateDirectory(tmpfs);
            Mounts.Unmount(tmpfs);
            Shell.Check("mount", "-t", "tmpfs", "-o", "size=1g,mode=0755", "bench-source", tmpfs);
            cleanup.Add(() => Mounts.Unmount(tmpfs));
            sources[SourceKind.Tmpfs] = tmpfs;
        }
        if (workloads.Any(w => w.Source == SourceKind.MemoryDisk))
        {
            try
            {
                sources[SourceKind.MemoryDisk] = MemoryDisk.Create(scratch, cleanup);
            }
            catch (Exception e) when (e is InvalidOperationException or IOException)
            {
                notes.Add($"memdisk workloads skipped: {e.Message}");
                Progress($"skipped the memdisk workloads: {e.Message}");
            }
        }
        return sources;
    }

    private static string FindRepoRoot()
    {
        foreach (var start in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "Engine.sln")) && Directory.Exists(Path.Combine(dir.FullName, "bench")))
                    return dir.FullName;
        }
        throw new DirectoryNotFoundException("cannot find the repository (Engine.sln) from the current or the program's directory");
    }

    private const string UringParameter = "/sys/module/fuse/parameters/enable_uring";

    /// <summary>Sets enable_uring back to what the run found (nothing to do when the kernel has no such switch).</summary>
    private static void PutBackUring(string found)
    {
        if (found.Length > 0) File.WriteAllText(UringParameter, found);
    }

    private static string ReadOrEmpty(string path) => File.Exists(path) ? File.ReadAllText(path) : "";

    public static void Progress(string message) => Say(Console.Out, $"[{Clock.Elapsed:mm\\:ss}] {message}");

    /// <summary>Writes a line, unless the terminal is gone (SIGHUP): the run must still clean up after it.</summary>
    public static void Say(TextWriter writer, string line)
    {
        try { writer.WriteLine(line); }
        catch (IOException) { }
    }
}

/// <summary>
/// `--systems` keeps the systems named exactly (native, libfuse, fuselage-ring, ...); `--workloads` keeps the
/// workloads whose name contains one of the parts, and adds the extra ones it names whole. For profiling one row;
/// such runs write to tmp/partial.
/// </summary>
public sealed class Selection
{
    public string[]? Systems { get; set; }
    public string[]? Workloads { get; set; }

    public bool Partial => Systems is not null || Workloads is not null;

    public bool KeepsSystem(string name) => Systems is null || Systems.Contains(name, StringComparer.Ordinal);

    public bool KeepsWorkload(string name) => Workloads is null || Workloads.Any(part => name.Contains(part, StringComparison.Ordinal));

    /// <summary>An extra workload (<see cref="WorkloadSet.Extras"/>) runs only when named whole.</summary>
    public bool NamesExtra(string name) => Workloads is not null && Workloads.Contains(name, StringComparer.Ordinal);

    public string Arguments =>
        (Systems is null ? "" : $" --systems {string.Join(',', Systems)}") + (Workloads is null ? "" : $" --workloads {string.Join(',', Workloads)}");
}

/// <summary>
/// Turns the first of the given signals into a callback instead of the runtime's default exit, for as long as it
/// lives; a second one exits at once, after <c>exitingAtOnce</c> (a run stuck in a measurement can still be stopped;
/// the next run unmounts what this one left).
/// </summary>
public sealed class SignalHandlers : IDisposable
{
    private readonly List<PosixSignalRegistration> _registrations = [];
    private int _received;

    public SignalHandlers(IEnumerable<PosixSignal> signals, Action<PosixSignal> handler, Action exitingAtOnce)
    {
        foreach (var signal in signals)
        {
            _registrations.Add(PosixSignalRegistration.Create(signal, context =>
            {
                if (Interlocked.Increment(ref _received) > 1)
                {
                    try { exitingAtOnce(); } catch (Exception e) { Runner.Say(Console.Error, $"  warning: {e.Message}"); }
                    return; // the default action: exit now
                }
                context.Cancel = true; // the run stops itself
                handler(context.Signal);
            }));
        }
    }

    public void Dispose()
    {
        foreach (var r in _registrations) r.Dispose();
    }
}

/// <summary>Undo actions, run once, newest first, when the run ends (completed, failed or stopped by a signal).</summary>
public sealed class Cleanup
{
    private readonly Stack<Action> _actions = new();
    private readonly Lock _lock = new();

    public void Add(Action action) { lock (_lock) _actions.Push(action); }

    public void RunAll()
    {
        while (true)
        {
            Action action;
            lock (_lock) { if (!_actions.TryPop(out action!)) return; }
            try { action(); } catch (Exception e) { Runner.Say(Console.Error, $"  warning: cleanup: {e.Message}"); }
        }
    }
}
