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
}
