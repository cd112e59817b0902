using Fuselage.Interop;

namespace Fuselage.Tests.RealMount;

/// <summary>
/// The ring transport's first worker always reads; the others read only while the one before them is loaded, busy
/// with several clients' requests or stuck in a method, because every posted READ is woken by every request.
/// </summary>
[Collection("real mounts")]
public class RingReadersTests
{
    internal static long Served(MountedFs m, string source) => m.Server.Stats!.PerSource().GetValueOrDefault(source);

    [Fact]
    public void One_client_at_a_time_is_served_by_the_first_worker()
    {
        var fs = new ThreadsGrowthTests.BlockingLookupFs();
        using var m = new MountedFs(fs, TransportKind.Ring, configure: o => o.Workers = 2);
        m.Run(() =>
        {
            for (int i = 0; i < 300; i++) Assert.Equal(0, Posix.LStat(m.PathOf($"name{i}"), out _));
        });
        long first = Served(m, "ring/0"), second = Served(m, "ring/1");
        Assert.True(first >= 300, $"ring/0 served {first}");
        // Both reading, each request went to whichever woke first: about half each.
        Assert.True(second * 20 <= first, $"ring/1 served {second} of {first + second} requests with one client at a time");
    }

    /// <summary>LOOKUP of "slow&lt;n&gt;" waits, without holding its thread, until released; other names answer at once.</summary>
    private sealed class HeldLookupFs : FileSystem
    {
        public readonly TaskCompletionSource Released = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public readonly SemaphoreSlim Entered = new(0);

        public override ValueTask<int> Lookup(Request request, ulong parent, ReadOnlySpan<byte> name)
            => name.StartsWith("slow"u8) ? Held(request) : Answer(request);

        private async ValueTask<int> Held(Request request)
        {
            Entered.Release();
            await Released.Task;
            return await Answer(request);
        }

        internal static ValueTask<int> Answer(Request request)
        {
            request.Entry.NodeId = 2;
            ThreadsGrowthTests.BlockingLookupFs.FillAttr(ref request.Entry.Attr, 2);
            return Success;
        }

        public override ValueTask<int> GetAttr(Request request, ulong ino, ulong? fh)
        {
            ThreadsGrowthTests.BlockingLookupFs.FillAttr(ref request.Attr, ino);
            return Success;
        }
    }

    [Fact]
    public async Task After_a_burst_one_client_at_a_time_goes_back_to_the_first_worker()
    {
        var fs = new HeldLookupFs();
        using var m = new MountedFs(fs, TransportKind.Ring, configure: o => o.Workers = 2);
        // A burst: requests held in progress until the second worker has taken some of them.
        var held = new List<Task<bool>>();
        try
        {
            while (Served(m, "ring/1") == 0)
            {
                Assert.True(held.Count < 64, "the second worker never read while the first held many requests");
                held.Add(ThreadsGrowthTests.StatInBackground(m.PathOf($"slow{held.Count}")));
                Assert.True(await fs.Entered.WaitAsync(MountedFs.Watchdog), "a held LOOKUP never arrived");
            }
        }
        finally { fs.Released.TrySetResult(); }
        foreach (var t in held) Assert.True(await t.WaitAsync(MountedFs.Watchdog));
        // Then one client at a time: the second worker must stop reading again (it would take about half otherwise).
        var watchdog = System.Diagnostics.Stopwatch.StartNew();
        for (int window = 0; ; window++)
        {
            long before0 = Served(m, "ring/0"), before1 = Served(m, "ring/1");
            m.Run(() =>
            {
                for (int i = 0; i < 200; i++) Assert.Equal(0, Posix.LStat(m.PathOf($"w{window}n{i}"), out _));
            });
            long first = Served(m, "ring/0") - before0, second = Served(m, "ring/1") - before1;
            if (second * 20 <= first) break;
            Assert.True(watchdog.Elapsed < MountedFs.Watchdog, $"the second worker still served {second} of {first + second} requests");
        }
    }

    [Fact]
    public async Task Two_clients_at_once_are_served_by_both_workers()
    {
        var fs = new ThreadsGrowthTests.BlockingLookupFs();
        using var m = new MountedFs(fs, TransportKind.Ring, configure: o => o.Workers = 2);
        // Every method returns at once on the worker's thread, so the first worker never has two requests in
        // progress: only the interleaving of the two clients' requests can bring the second worker in.
        var watchdog = System.Diagnostics.Stopwatch.StartNew();
        bool Client(int client)
        {
            for (int i = 0; ; i++)
            {
                if (Posix.LStat(m.PathOf($"c{client}n{i}"), out _) != 0) return false;
                if (i % 64 == 0 && Served(m, "ring/1") >= 100) return true;
                if (watchdog.Elapsed > MountedFs.Watchdog) return false;
            }
        }
        var clients = Enumerable.Range(0, 2).Select(c => Task.Factory.StartNew(() => Client(c), CancellationToken.None,
            TaskCreationOptions.LongRunning, TaskScheduler.Default)).ToArray();
        foreach (var c in clients) Assert.True(await c, $"the second worker served {Served(m, "ring/1")} requests while two clients ran");
    }

    /// <summary>Every LOOKUP holds one lock for a millisecond: a second worker cannot serve them faster than one.</summary>
    private sealed class SerializedLookupFs : FileSystem
    {
        private readonly Lock _lock = new();

        public override ValueTask<int> Lookup(Request request, ulong parent, ReadOnlySpan<byte> name)
        {
            lock (_lock)
            {
                var held = System.Diagnostics.Stopwatch.StartNew();
                while (held.Elapsed < TimeSpan.FromMilliseconds(1)) Thread.SpinWait(20);
            }
            return HeldLookupFs.Answer(request);
        }

        public override ValueTask<int> GetAttr(Request request, ulong ino, ulong? fh)
        {
            ThreadsGrowthTests.BlockingLookupFs.FillAttr(ref request.Attr, ino);
            return Success;
        }
    }

    [Fact]
    public void A_second_worker_brought_in_by_interleaving_clients_parks_again_when_it_serves_no_faster()
    {
        var fs = new SerializedLookupFs();
        using var m = new MountedFs(fs, TransportKind.Ring, configure: o => o.Workers = 2);
        // Two clients, 200 LOOKUPs each per window (longer than the worker parks to measure between trials it passes),
        // their requests interleaving while the first worker is busy in them.
        (long First, long Second) Window(int window)
        {
            long before0 = Served(m, "ring/0"), before1 = Served(m, "ring/1");
            m.Run(() => Parallel.For(0, 2, client =>
            {
                for (int i = 0; i < 200; i++) Assert.Equal(0, Posix.LStat(m.PathOf($"w{window}c{client}n{i}"), out _));
            }));
            return (Served(m, "ring/0") - before0, Served(m, "ring/1") - before1);
        }
        var watchdog = System.Diagnostics.Stopwatch.StartNew();
        int w = 0;
        // Interleaving brings the second worker in, on trial...
        while (Served(m, "ring/1") == 0)
        {
            Window(w++);
            Assert.True(watchdog.Elapsed < MountedFs.Watchdog, "interleaving clients never brought the second worker in");
        }
        // ...which it fails (the lock bounds the rate): it parks, and the clients keep interleaving without it, over
        // six windows in a row (it would come back for a new trial between windows otherwise).
        for (int quiet = 0; quiet < 6;)
        {
            var (first, second) = Window(w++);
            quiet = second * 20 <= first ? quiet + 1 : 0;
            Assert.True(watchdog.Elapsed < MountedFs.Watchdog, $"the second worker still served {second} of {first + second} requests");
        }
    }

    [Fact]
    public async Task A_method_blocking_the_first_worker_does_not_stop_the_next_request()
    {
        var fs = new ThreadsGrowthTests.BlockingLookupFs();
        using var m = new MountedFs(fs, TransportKind.Ring, configure: o => o.Workers = 2);
        var slow = ThreadsGrowthTests.StatInBackground(m.PathOf("slow1"));
        try
        {
            Assert.True(fs.Entered.Wait(MountedFs.Watchdog), "the slow LOOKUP never arrived");
            // The first worker's thread is inside the method; the parked second one must notice and take over.
            Assert.True(await ThreadsGrowthTests.StatInBackground(m.PathOf("other")).WaitAsync(MountedFs.Watchdog));
            Assert.True(Served(m, "ring/1") > 0);
        }
        finally { fs.Gate.Set(); }
        Assert.True(await slow.WaitAsync(MountedFs.Watchdog));
    }
}
