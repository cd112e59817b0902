using Fuselage.Interop;
using Fuselage.Samples;
using Fuselage.Transport;

namespace Fuselage.Tests.RealMount;

/// <summary>
/// The kernel queues a request on the uring queue of its caller's CPU. A queue serving alone lets its thread run on
/// any CPU; once callers on several CPUs keep several queues busy, each thread is back on its own CPU.
/// </summary>
[Collection("real mounts")]
public class UringPlacementTests
{
    private const string QueueThreadComm = "fuselage-uring-"; // "fuselage-uring-q<N>" cut to the kernel's 15 characters

    /// <summary>The allowed-CPU lists of this process's uring queue threads.</summary>
    private static List<string> QueueThreadCpus() =>
        (from task in Directory.GetDirectories("/proc/self/task")
         where File.Exists(Path.Combine(task, "comm")) && File.ReadAllText(Path.Combine(task, "comm")).Trim() == QueueThreadComm
         from line in File.ReadLines(Path.Combine(task, "status"))
         where line.StartsWith("Cpus_allowed_list:", StringComparison.Ordinal)
         select line["Cpus_allowed_list:".Length..].Trim()).ToList();

    private static bool SingleCpu(string list) => int.TryParse(list, out _);

    [SkippableFact]
    public void A_queue_serving_one_client_floats_and_queues_serving_clients_on_two_cpus_are_pinned()
    {
        Skip.IfNot(UringSwitch.Available, "this kernel has no FUSE-over-io_uring (enable_uring parameter missing)");
        Skip.If(UringTransport.PossibleCpus() < 2, "one CPU: there is one queue and nowhere else to run");
        // The queue threads inherit this thread's CPUs (it starts the server, whose threads start theirs).
        string inheritedCpus = File.ReadLines("/proc/thread-self/status").First(l => l.StartsWith("Cpus_allowed_list:", StringComparison.Ordinal))["Cpus_allowed_list:".Length..].Trim();
        Span<ulong> allowed = stackalloc ulong[Libc.CpuSetWords];
        Assert.Equal(0, Libc.GetCurrentThreadAffinity(allowed));
        Skip.If((allowed[0] & 3) != 3, $"the clients need CPUs 0 and 1; this thread may run on {inheritedCpus}");

        var fs = new MemFs();
        // Zero timeouts: every stat(2) is a request (at least a LOOKUP).
        using var m = new MountedFs(fs, TransportKind.Uring,
            configure: o => o.Policy = new CoherencyPolicy(CacheMode.Classic, TimeSpan.Zero, TimeSpan.Zero, TimeSpan.Zero));
        m.Run(() =>
        {
            Posix.Close(Posix.Open(m.PathOf("f"), Posix.O_CREAT | Posix.O_WRONLY));
            string path = m.PathOf("f");
            int requestsPerClient = 3 * QueuePlacement.Interval; // at least two whole decision windows

            // One client on CPU 0: only queue 0 has work.
            Assert.Equal(0, Libc.PinCurrentThread(0));
            for (int i = 0; i < requestsPerClient; i++) Assert.Equal(0, Posix.LStat(path, out _));
            var cpus = QueueThreadCpus();
            Assert.Equal(UringTransport.PossibleCpus(), cpus.Count);
            Assert.Equal(inheritedCpus, Assert.Single(cpus, c => !SingleCpu(c))); // queue 0's thread, free to move

            // Two clients in lockstep on CPUs 0 and 1: queues 0 and 1 are busy alike.
            using var turns = new Barrier(2);
            var failures = new System.Collections.Concurrent.ConcurrentQueue<string>();
            var clients = new[] { 0, 1 }.Select(cpu => new Thread(() =>
            {
                if (Libc.PinCurrentThread(cpu) != 0) failures.Enqueue($"cannot pin to CPU {cpu}");
                for (int i = 0; i < requestsPerClient && failures.IsEmpty; i++)
                {
                    if (!turns.SignalAndWait(MountedFs.Watchdog)) { failures.Enqueue("the other client stopped"); break; }
                    int rc = Posix.LStat(path, out _);
                    if (rc != 0) failures.Enqueue($"lstat on CPU {cpu}: {rc}");
                }
                turns.RemoveParticipant(); // lets the other finish its turn rather than wait for this one
            })).ToList();
            clients.ForEach(c => c.Start());
            Assert.All(clients, c => Assert.True(c.Join(MountedFs.Watchdog)));
            Assert.Empty(failures);
            cpus = QueueThreadCpus();
            Assert.All(cpus, c => Assert.True(SingleCpu(c), $"a queue thread may still run on CPUs {c}: {string.Join(" / ", cpus)}"));
            return 0;
        });
    }
}
