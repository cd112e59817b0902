using Fuselage.Interop;

namespace Fuselage.Tests.RealMount;

/// <summary>
/// The ring transport's first worker always reads; the others read only while the one before them is loaded or
/// stuck in a method, because every posted READ is woken by every request.
/// </summary>
[Collection("real mounts")]
public class RingReadersTests
{
    [Fact]
    public void One_client_at_a_time_is_served_by_the_first_worker()
    {
        var fs = new ThreadsGrowthTests.BlockingLookupFs();
        using var m = new MountedFs(fs, TransportKind.Ring, configure: o => o.Workers = 2);
        m.Run(() =>
        {
            for (int i = 0; i < 300; i++) Assert.Equal(0, Posix.LStat(m.PathOf($"name{i}"), out _));
        });
        var served = m.Server.Stats!.PerSource();
        long first = served.GetValueOrDefault("ring/0"), second = served.GetValueOrDefault("ring/1");
        Assert.True(first >= 300, $"ring/0 served {first}");
        // Both reading, each request went to whichever woke first: about half each.
        Assert.True(second * 20 <= first, $"ring/1 served {second} of {first + second} requests with one client at a time");
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
            Assert.True(m.Server.Stats!.PerSource().GetValueOrDefault("ring/1") > 0);
        }
        finally { fs.Gate.Set(); }
        Assert.True(await slow.WaitAsync(MountedFs.Watchdog));
    }
}
