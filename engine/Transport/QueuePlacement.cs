using System.Runtime.InteropServices;

namespace Fuselage.Transport;

/// <summary>
/// Where the threads of the FUSE-over-io_uring queues run. The kernel (6.18) hands a request to the queue of the
/// CPU its caller runs on, and never to another. While callers run on several CPUs, each queue's thread stays on its
/// own CPU, beside its callers: no cross-CPU wake-ups, and no two queue threads sharing a CPU (two fio jobs at QD1:
/// 16% fewer IOPS when the threads float). While one queue alone has work — a single client — its thread, pinned,
/// takes turns with that client on one CPU while the others idle; it then may run wherever the process may, and the
/// scheduler puts it beside the client when they take turns and apart when both want a CPU (2 vCPUs, 10 paired
/// runs each against always pinned: 4k reads at QD1 +10%, 4k writes at QD16 +10%, 4k reads at QD16 unchanged).
/// <para>
/// Each queue counts the requests it fetched and, every <see cref="Interval"/> of them, looks at the others' counts:
/// fewer than <see cref="SharedThreshold"/> requests elsewhere meanwhile means it serves alone. One write per
/// request to a counter of its own (no sharing, no lock); a queue with little traffic decides rarely, which is right:
/// it is not where the time goes.
/// </para>
/// </summary>
internal sealed class QueuePlacement(int queues)
{
    /// <summary>A queue reconsiders where its thread runs once per this many requests of its own.</summary>
    public const int Interval = 256;

    /// <summary>Requests on other queues within one interval from which the queue counts as one of several busy ones.</summary>
    public const int SharedThreshold = Interval / 16;

    [StructLayout(LayoutKind.Explicit, Size = 128)] // a counter per cache-line pair: written by one thread, read rarely by the others
    private struct Counter
    {
        [FieldOffset(0)] public long Fetched;
    }

    private readonly Counter[] _counters = new Counter[queues];

    /// <summary>What a queue's thread should do after a request it fetched.</summary>
    public enum Move { Stay, Float, Pin }

    /// <summary>One queue's view: the others' total at its last decision, and whether its thread floats now.</summary>
    public struct QueueView
    {
        internal long OthersAtLastDecision;
        public bool Floating { get; internal set; }
    }

    /// <summary>On queue <paramref name="qid"/>'s thread, for each request it fetched.</summary>
    public Move Fetched(int qid, ref QueueView view)
    {
        ref long own = ref _counters[qid].Fetched;
        long count = own + 1;
        Volatile.Write(ref own, count); // only this queue's thread writes it
        if (count % Interval != 0) return Move.Stay;

        long others = 0;
        for (int q = 0; q < _counters.Length; q++)
            if (q != qid) others += Volatile.Read(ref _counters[q].Fetched);
        bool alone = others - view.OthersAtLastDecision < SharedThreshold;
        view.OthersAtLastDecision = others;
        if (alone == view.Floating) return Move.Stay;
        view.Floating = alone;
        return alone ? Move.Float : Move.Pin;
    }
}
