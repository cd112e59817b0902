using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using Fuselage.Interop;
using Fuselage.Interop.Fuse;
using Fuselage.Transport;

namespace Fuselage.Tests.Protocol;

/// <summary>
/// Seeded random interleavings of requests whose methods finish later (completed, failed or interrupted by the
/// test, their continuations inline or on the thread pool), synchronous ones, interrupts that come early, late or
/// for nothing, and FORGETs, over a transport with few request slots. Every request gets exactly one reply, with
/// its own unique and its own payload (a reply written into a reused request would carry another's), an
/// interrupted wait answers EINTR, and at the end nothing is pending and every slot is free again.
/// </summary>
public sealed class AsyncDispatchFuzzTests
{
    private const int Depth = 8;

    /// <summary>What GETATTR of a node does, by node id modulo 4.</summary>
    private enum Kind { Sync, AsyncCancellable, AsyncIgnoringCancel, Throws }

    private static Kind KindOf(ulong ino) => (Kind)(ino % 4);

    /// <summary>The inode number a reply to <paramref name="unique"/> carries: whose reply it is.</summary>
    private static ulong Marker(ulong unique) => unique * 1000 + 7;

    private sealed class WaitingCall(Request request, TaskCompletionSource<int> done)
    {
        public Request Request => request;
        public TaskCompletionSource<int> Done => done;
    }

    private sealed class ControlledFs(Random rng) : FileSystem
    {
        public readonly ConcurrentDictionary<ulong, WaitingCall> Waiting = new();

        public override ValueTask<int> GetAttr(Request request, ulong ino, ulong? fh)
        {
            switch (KindOf(ino))
            {
                case Kind.Sync:
                    request.Attr.Ino = Marker(request.Unique);
                    return Success;
                case Kind.Throws:
                    throw new InvalidOperationException("a method that throws");
            }
            var done = new TaskCompletionSource<int>(rng.Next(2) == 0 ? TaskCreationOptions.RunContinuationsAsynchronously : TaskCreationOptions.None);
            ulong unique = request.Unique;
            Waiting[unique] = new WaitingCall(request, done);
            // Whoever takes it out of Waiting finishes it: once answered, its request may serve another unique.
            if (KindOf(ino) == Kind.AsyncCancellable)
                request.CancellationToken.Register(() => { if (Waiting.TryRemove(unique, out _)) done.TrySetCanceled(); });
            return new ValueTask<int>(done.Task);
        }

        /// <summary>Finishes the method of <paramref name="unique"/>: the attributes it answers, or an errno.</summary>
        public bool Complete(ulong unique, int error)
        {
            if (!Waiting.TryRemove(unique, out var w)) return false;
            if (error == 0) w.Request.Attr.Ino = Marker(unique);
            return w.Done.TrySetResult(error);
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void Every_request_gets_exactly_its_own_reply_whatever_finishes_first(int seed)
    {
        var rng = new Random(seed);
        var tableFull = new ConcurrentQueue<string>();
        var fs = new ControlledFs(new Random(seed + 1000));
        using var transport = new InMemoryTransport(fs, new FuseServerOptions
        {
            Depth = Depth,
            Log = line => { if (line.Contains("in-flight table full")) tableFull.Enqueue(line); },
        });
        var buffer = new byte[1 << 20];
        ulong unique = 0;

        Assert.True(transport.Send(KernelModel.Message(FuseOpcode.Init, 0, ++unique, KernelModel.Bytes(new FuseInitIn { Major = 7, Minor = 45, Flags = uint.MaxValue, Flags2 = uint.MaxValue }))));
        Assert.True(transport.TryReceive(buffer, out _));

        // What each GETATTR must be answered: by unique, the node it asked about, and how it was treated.
        var sent = new Dictionary<ulong, (ulong Node, bool InterruptedWhileWaiting, bool InterruptedEarly, int CompletedWith)>();
        var replies = new Dictionary<ulong, (int Error, ulong Ino)>();
        var duplicates = new List<ulong>();
        int inFlight = 0; // sent GETATTRs not yet answered

        void Drain()
        {
            while (transport.TryReceive(buffer, out int length))
            {
                var h = MemoryMarshal.Read<FuseOutHeader>(buffer);
                Assert.Equal((uint)length, h.Len);
                ulong ino = h.Error == 0 ? MemoryMarshal.Read<FuseAttrOut>(buffer.AsSpan(16)).Attr.Ino : 0;
                if (!replies.TryAdd(h.Unique, (h.Error, ino))) duplicates.Add(h.Unique);
                inFlight--;
            }
        }

        for (int step = 0; step < 20_000; step++)
        {
            Drain();
            int action = rng.Next(100);
            var waiting = fs.Waiting.Keys.ToArray();
            if (action < 40 || waiting.Length == 0)
            {
                ulong id = ++unique;
                bool early = rng.Next(10) == 0 && transport.Send(KernelModel.Message(FuseOpcode.Interrupt, 0, ++unique, KernelModel.Bytes(new FuseInterruptIn { Unique = id }))); // before its request
                ulong node = (ulong)rng.Next(2, 400);
                if (!transport.Send(KernelModel.Message(FuseOpcode.Getattr, node, id, KernelModel.Bytes(new FuseGetattrIn()))))
                {
                    // Every slot holds a request: finish a waiting one, or wait for a reply on its way to be taken.
                    if (waiting.Length > 0 && waiting[rng.Next(waiting.Length)] is var finished && fs.Complete(finished, 0))
                        sent[finished] = sent[finished] with { CompletedWith = 0 };
                    else if (waiting.Length == 0) Assert.True(transport.WaitForReply(TimeSpan.FromSeconds(30)), "every slot busy and no reply coming");
                    continue;
                }
                sent[id] = (node, false, early, int.MinValue);
                inFlight++;
            }
            else if (action < 65)
            {
                ulong id = waiting[rng.Next(waiting.Length)];
                int error = rng.Next(4) == 0 ? -Errno.ENOENT : 0;
                if (fs.Complete(id, error)) sent[id] = sent[id] with { CompletedWith = error };
            }
            else if (action < 85)
            {
                // Refused when every slot is taken (back-pressure, as when the kernel's queue is not read): then not sent.
                ulong id = waiting[rng.Next(waiting.Length)];
                if (transport.Send(KernelModel.Message(FuseOpcode.Interrupt, 0, ++unique, KernelModel.Bytes(new FuseInterruptIn { Unique = id })))
                    && sent[id].CompletedWith == int.MinValue)
                    sent[id] = sent[id] with { InterruptedWhileWaiting = true };
            }
            else if (action < 92)
            {
                // An interrupt for a request already answered, or never sent: nothing happens, nothing is answered.
                ulong id = rng.Next(2) == 0 ? (ulong)rng.NextInt64(1, (long)unique) : (1ul << 40) + (ulong)step; // never a request's
                if (!fs.Waiting.ContainsKey(id)) transport.Send(KernelModel.Message(FuseOpcode.Interrupt, 0, ++unique, KernelModel.Bytes(new FuseInterruptIn { Unique = id })));
            }
            else
            {
                transport.Send(KernelModel.Message(FuseOpcode.Forget, (ulong)rng.Next(2, 400), ++unique, KernelModel.Bytes(new FuseForgetIn { Nlookup = 1 })));
            }
        }

        // Finish whatever still waits, then every answer must come.
        foreach (var id in fs.Waiting.Keys.ToArray())
            if (fs.Complete(id, 0)) sent[id] = sent[id] with { CompletedWith = 0 };
        Drain();
        while (inFlight > 0)
        {
            Assert.True(transport.WaitForReply(TimeSpan.FromSeconds(30)), $"{inFlight} requests never answered");
            Drain();
        }

        Assert.Empty(duplicates);
        Assert.Empty(tableFull);
        Assert.Equal(sent.Keys.Order(), replies.Keys.Order());
        foreach (var (id, s) in sent)
        {
            var r = replies[id];
            var kind = KindOf(s.Node);
            (int Error, ulong Ino) success = (0, Marker(id));
            bool ok = kind switch
            {
                Kind.Sync => r == success,
                Kind.Throws => r == (-Errno.EIO, 0ul),
                Kind.AsyncIgnoringCancel => r == (s.CompletedWith == 0 ? success : (s.CompletedWith, 0ul)),
                // Interrupted while waiting: EINTR. Interrupted before it arrived: EINTR, unless 64 later unmatched
                // interrupts pushed that one out of memory (then it waited and was completed).
                _ when s.InterruptedWhileWaiting => r == (-Errno.EINTR, 0ul),
                _ when s.InterruptedEarly && r == (-Errno.EINTR, 0ul) => true,
                _ => r == (s.CompletedWith == 0 ? success : (s.CompletedWith, 0ul)),
            };
            Assert.True(ok, $"unique {id} ({kind}, interrupted {(s.InterruptedWhileWaiting ? "while waiting" : s.InterruptedEarly ? "early" : "never")}, completed with {s.CompletedWith}) was answered {r}");
        }
        Assert.True(sent.Values.Count(s => s.InterruptedWhileWaiting) > 100, "too few interrupts to mean anything");

        // Nothing pending, every slot free: Depth requests fit again at once.
        var slow = Enumerable.Range(0, Depth).Select(_ => ++unique).ToList();
        foreach (var id in slow) Assert.True(transport.Send(KernelModel.Message(FuseOpcode.Getattr, 1, id, KernelModel.Bytes(new FuseGetattrIn()))));
        foreach (var id in slow) fs.Complete(id, 0);
        int answered = 0;
        while (answered < Depth)
        {
            Assert.True(transport.WaitForReply(TimeSpan.FromSeconds(30)));
            while (transport.TryReceive(buffer, out _)) answered++;
        }
    }
}
