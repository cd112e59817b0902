using Fuselage.Interop;
using Fuselage.Tests.RealMount;
using Fuselage.Transport;

namespace Fuselage.Tests.Transport;

/// <summary>
/// A transport completes when its last worker has exited, never earlier (teardown frees the workers' buffers and fds
/// then), and a start that fails part-way frees what it made and completes with the error instead of waiting for
/// workers that never run.
/// </summary>
public class WorkerCompletionTests
{
    private sealed class FakeWorker(int fd) : IDisposable
    {
        public int Fd { get; } = fd;
        public bool Disposed { get; private set; }
        public void Dispose()
        {
            Disposed = true;
            Libc.close(Fd);
        }
    }

    /// <summary>A pipe whose read end stands for a /dev/fuse clone: once every read end is closed, a write fails EPIPE.</summary>
    private sealed class Clone : IDisposable
    {
        public readonly int Read, Write;

        public Clone()
        {
            Span<int> fds = stackalloc int[2];
            ErrnoException.Check(Libc.pipe2(fds, Libc.O_CLOEXEC | Libc.O_NONBLOCK), "pipe2");
            (Read, Write) = (fds[0], fds[1]);
        }

        public bool ReadEndClosed => Posix.Write(Write, [1]) == -Errno.EPIPE;

        public void Dispose() => Libc.close(Write);
    }

    [Fact]
    public void A_clone_that_fails_frees_the_workers_made_and_completes_the_transport_with_its_error()
    {
        var completion = new WorkerCompletion();
        var workers = new List<FakeWorker>();
        var made = new List<FakeWorker>();
        using Clone first = new(), second = new();
        var clones = new Queue<int>([first.Read, second.Read]);
        var error = new ErrnoException("clone /dev/fuse", Errno.EMFILE);

        var thrown = Assert.Throws<ErrnoException>(() => completion.MakeWorkers(workers, 3,
            () => clones.TryDequeue(out int fd) ? fd : throw error,
            (_, fd) => { var w = new FakeWorker(fd); made.Add(w); return w; }));

        Assert.Same(error, thrown);
        Assert.Equal(2, made.Count);
        Assert.All(made, w => Assert.True(w.Disposed));
        Assert.Empty(workers);
        Assert.True(first.ReadEndClosed && second.ReadEndClosed);
        Assert.True(completion.Task.IsFaulted);
        Assert.Same(error, completion.Task.Exception!.InnerException);
        Assert.False(completion.TryAdd()); // nothing runs: no worker may join a transport that never started
    }

    [Fact]
    public void A_worker_that_cannot_be_made_closes_its_clone()
    {
        var completion = new WorkerCompletion();
        var workers = new List<FakeWorker>();
        using Clone first = new(), second = new();
        var clones = new Queue<int>([first.Read, second.Read]);
        var error = new OutOfMemoryException("buffers");

        Assert.Throws<OutOfMemoryException>(() => completion.MakeWorkers(workers, 2, clones.Dequeue,
            (i, fd) => i == 0 ? new FakeWorker(fd) : throw error));

        Assert.True(first.ReadEndClosed, "the first worker was not freed");
        Assert.True(second.ReadEndClosed, "the clone made for the failed worker was left open");
        Assert.Same(error, completion.Task.Exception!.InnerException);
    }

    [Fact]
    public void The_transport_completes_when_the_last_worker_exits_with_the_first_error()
    {
        var completion = new WorkerCompletion();
        var workers = new List<FakeWorker>();
        using Clone a = new(), b = new();
        var clones = new Queue<int>([a.Read, b.Read]);
        completion.MakeWorkers(workers, 2, clones.Dequeue, (_, fd) => new FakeWorker(fd));
        Assert.True(completion.TryAdd()); // a third worker joins while others run

        var first = new IOException("first");
        Assert.True(completion.Exited(first));   // others still run: tell them the session is over
        Assert.True(completion.Exited(new IOException("second")));
        Assert.False(completion.Task.IsCompleted);
        Assert.False(completion.Exited(null));   // the last one
        Assert.Same(first, completion.Task.Exception!.InnerException);
        Assert.False(completion.TryAdd());       // complete: no worker may join now
        foreach (var w in workers) w.Dispose();
    }

    [Fact]
    public void Workers_that_all_exit_cleanly_complete_the_transport_without_error()
    {
        var completion = new WorkerCompletion();
        var workers = new List<FakeWorker>();
        using Clone a = new();
        completion.MakeWorkers(workers, 1, () => a.Read, (_, fd) => new FakeWorker(fd));
        Assert.False(completion.Exited(null));
        Assert.True(completion.Task.IsCompletedSuccessfully);
        workers[0].Dispose();
    }
}
