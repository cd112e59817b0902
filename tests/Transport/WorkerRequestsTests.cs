using Fuselage.Transport;

namespace Fuselage.Tests.Transport;

/// <summary>A worker's request contexts: rented without a lock, and a renter that finds none waits for the next return.</summary>
public class WorkerRequestsTests
{
    private sealed class NoSink : IReplySink
    {
        public void Complete(Request request) { }
    }

    private static WorkerRequests Make(int depth) => new(depth, 4096, new NoSink());

    [Fact]
    public void Every_request_is_handed_out_once_until_it_comes_back()
    {
        using var requests = Make(4);
        var rented = new List<Request>();
        while (requests.TryRent(out var r)) rented.Add(r);

        Assert.Equal(4, rented.Distinct().Count());
        Assert.Equal(requests.All.ToHashSet(), rented.ToHashSet());
        requests.Return(rented[2]);
        Assert.True(requests.TryRent(out var again));
        Assert.Same(rented[2], again);
        Assert.False(requests.TryRent(out _));
    }

    [Fact]
    public async Task A_growing_renter_adds_depth_requests_at_a_time_up_to_max_depth_then_waits()
    {
        using var requests = new WorkerRequests(2, 4096, new NoSink(), maxDepth: 5);
        var rented = new List<Request>();
        for (int i = 0; i < 5; i++) rented.Add(requests.Rent(CancellationToken.None, () => true)!);
        Assert.Equal(5, requests.All.Length); // 2, then 2 more, then the 1 left to the limit
        Assert.Equal(Enumerable.Range(0, 5), requests.All.Select(r => r.PoolIndex));
        Assert.Equal(requests.All.ToHashSet(), rented.ToHashSet());
        Assert.False(requests.TryGrow(out _));
        var waiting = Task.Run(() => requests.Rent(CancellationToken.None, () => true));
        Assert.True(SpinWait.SpinUntil(() => requests.Waiting == 1, TimeSpan.FromSeconds(20)), "at the limit the renter should wait");
        requests.Return(rented[3]);
        Assert.Same(rented[3], await waiting.WaitAsync(TimeSpan.FromSeconds(20))); // TimeoutException: the return did not wake it
        // A renter told not to grow waits for a return even below the limit.
        using var small = new WorkerRequests(1, 4096, new NoSink(), maxDepth: 4);
        Assert.True(small.TryRent(out var only));
        var held = Task.Run(() => small.Rent(CancellationToken.None, () => false));
        Assert.True(SpinWait.SpinUntil(() => small.Waiting == 1, TimeSpan.FromSeconds(20)), "the renter should wait");
        Assert.Single(small.All);
        small.Return(only);
        Assert.Same(only, await held.WaitAsync(TimeSpan.FromSeconds(20)));
        // Grown requests have buffers of their own, like the first ones.
        Assert.Equal(5, requests.All.Select(r => r.InputAddress).Distinct().Count());
        Assert.Equal(5, requests.All.Select(r => r.ReplyAddress).Distinct().Count());
    }

    [Fact]
    public async Task A_renter_that_finds_every_request_busy_gets_the_next_one_returned()
    {
        using var requests = Make(2);
        Assert.True(requests.TryRent(out var first));
        Assert.True(requests.TryRent(out var second));
        var waiting = Task.Run(() => requests.Rent(CancellationToken.None));
        Assert.True(SpinWait.SpinUntil(() => requests.Waiting == 1, TimeSpan.FromSeconds(20)), "the renter never started waiting");

        requests.Return(second);

        Assert.Same(second, await waiting.WaitAsync(TimeSpan.FromSeconds(20))); // TimeoutException: the return did not wake the renter
        Assert.False(requests.TryRent(out _));
        GC.KeepAlive(first);
    }

    [Fact]
    public async Task A_renter_waiting_on_an_exhausted_pool_gives_up_when_cancelled()
    {
        using var requests = Make(1);
        Assert.True(requests.TryRent(out _));
        using var cancel = new CancellationTokenSource();
        var waiting = Task.Run(() => requests.Rent(cancel.Token));
        Assert.True(SpinWait.SpinUntil(() => requests.Waiting == 1, TimeSpan.FromSeconds(20)), "the renter never started waiting");

        cancel.Cancel();

        Assert.Null(await waiting.WaitAsync(TimeSpan.FromSeconds(20))); // TimeoutException: the renter missed the cancellation
    }

    [Fact]
    public async Task Two_threads_passing_one_request_back_and_forth_never_miss_a_return()
    {
        // One request, two threads renting and returning it as fast as they can: a return that a waiting renter
        // does not see leaves that renter asleep with the request free, and the loop below never finishes.
        using var requests = Make(1);
        const int Rounds = 20_000;
        using var start = new Barrier(2);
        void Loop()
        {
            start.SignalAndWait();
            for (int i = 0; i < Rounds; i++)
            {
                var r = requests.Rent(CancellationToken.None)!;
                requests.Return(r);
            }
        }
        var a = Task.Run(Loop);
        var b = Task.Run(Loop);

        await Task.WhenAll(a, b).WaitAsync(TimeSpan.FromSeconds(60)); // TimeoutException: a renter slept with the request free
        Assert.True(requests.TryRent(out _));
    }
}
