using Fuselage.Transport;
using static Fuselage.Transport.QueuePlacement;

namespace Fuselage.Tests.Transport;

public class QueuePlacementTests
{
    private static Move Serve(QueuePlacement placement, int qid, ref QueueView view, int requests)
    {
        var last = Move.Stay;
        for (int i = 0; i < requests; i++)
        {
            var move = placement.Fetched(qid, ref view);
            if (move != Move.Stay) last = move;
        }
        return last;
    }

    [Fact]
    public void A_queue_serving_alone_floats_at_its_first_decision_and_not_before()
    {
        var placement = new QueuePlacement(4);
        var view = new QueueView();
        Assert.Equal(Move.Stay, Serve(placement, 2, ref view, Interval - 1));
        Assert.False(view.Floating);
        Assert.Equal(Move.Float, placement.Fetched(2, ref view));
        Assert.True(view.Floating);
        Assert.Equal(Move.Stay, Serve(placement, 2, ref view, 3 * Interval)); // still alone: no more moves
        Assert.True(view.Floating);
    }

    [Fact]
    public void A_floating_queue_is_pinned_again_once_another_queue_is_busy_too()
    {
        var placement = new QueuePlacement(2);
        QueueView first = new(), second = new();
        Serve(placement, 0, ref first, Interval);
        Assert.True(first.Floating);

        Serve(placement, 1, ref second, SharedThreshold);
        Assert.Equal(Move.Pin, Serve(placement, 0, ref first, Interval));
        Assert.False(first.Floating);
    }

    [Fact]
    public void A_trickle_on_another_queue_does_not_pin_a_busy_one()
    {
        var placement = new QueuePlacement(2);
        QueueView busy = new(), quiet = new();
        Serve(placement, 0, ref busy, Interval);
        Serve(placement, 1, ref quiet, SharedThreshold - 1);
        Assert.Equal(Move.Stay, Serve(placement, 0, ref busy, Interval));
        Assert.True(busy.Floating);
    }

    [Fact]
    public void Queues_taking_turns_stay_pinned()
    {
        var placement = new QueuePlacement(2);
        QueueView a = new(), b = new();
        for (int i = 0; i < 4 * Interval; i++)
        {
            Assert.Equal(Move.Stay, placement.Fetched(0, ref a));
            Assert.Equal(Move.Stay, placement.Fetched(1, ref b));
        }
        Assert.False(a.Floating);
        Assert.False(b.Floating);
    }
}
