using Fuselage.Bench.Micro;

namespace Fuselage.Tests.Transport;

/// <summary>The in-memory transport's reply queue, which takes no lock when a reply is taken.</summary>
public class InMemoryTransportTests
{
    [Fact]
    public void WaitForReply_gives_up_when_nothing_answers_and_returns_at_once_when_a_reply_waits()
    {
        using var kernel = new InMemoryKernel(new FixedDataFs());
        var reply = new byte[4096];

        Assert.False(kernel.Transport.WaitForReply(TimeSpan.FromMilliseconds(50)));
        Assert.True(kernel.Transport.Send(ProtocolBenchmarks.Build(kernel, ProtocolBenchmarks.Operation.GetAttr)));
        Assert.Equal(1, kernel.Transport.PendingReplies);
        Assert.True(kernel.Transport.WaitForReply(TimeSpan.Zero));
        Assert.True(kernel.Transport.TryReceive(reply, out int length));
        Assert.Equal(16 + 104, length); // fuse_out_header + fuse_attr_out
        Assert.False(kernel.Transport.TryReceive(reply, out _));
        Assert.False(kernel.Transport.WaitForReply(TimeSpan.Zero));
    }

    /// <summary>GETATTR answers when the test says so, from whichever thread completes it.</summary>
    private sealed class LateGetAttrFs : FileSystem
    {
        public readonly TaskCompletionSource<int> Answer = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public override ValueTask<int> GetAttr(Request request, ulong ino, ulong? fh) => new(Answer.Task);
    }

    [Fact]
    public async Task Every_waiter_sees_a_reply_that_arrives_from_another_thread()
    {
        var fs = new LateGetAttrFs();
        using var kernel = new InMemoryKernel(fs);
        Assert.True(kernel.Transport.Send(ProtocolBenchmarks.Build(kernel, ProtocolBenchmarks.Operation.GetAttr)));
        Assert.Equal(0, kernel.Transport.PendingReplies);
        var waiters = Enumerable.Range(0, 3).Select(_ => Task.Factory.StartNew(() => kernel.Transport.WaitForReply(Timeout.InfiniteTimeSpan), TaskCreationOptions.LongRunning)).ToArray();
        Assert.True(SpinWait.SpinUntil(() => kernel.Transport.ReplyWaiters == 3, TimeSpan.FromSeconds(20)), "the waiters never started waiting");

        fs.Answer.SetResult(0);

        Assert.All(await Task.WhenAll(waiters).WaitAsync(TimeSpan.FromSeconds(20)), Assert.True); // TimeoutException: a waiter missed it
        Assert.True(kernel.Transport.TryReceive(new byte[4096], out _));
    }
}
