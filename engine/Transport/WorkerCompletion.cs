using Fuselage.Interop;

namespace Fuselage.Transport;

/// <summary>
/// Completes a transport when its last worker has exited, carrying the first worker's error. Never earlier:
/// FuseServer frees every worker's buffers and fds as soon as the transport completes.
/// </summary>
internal sealed class WorkerCompletion
{
    private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _running;
    private Exception? _firstError;

    public Task Task => _done.Task;

    /// <summary>Workers counted and not yet exited.</summary>
    public int Running => Volatile.Read(ref _running);

    public void Starting(int workers) => Volatile.Write(ref _running, workers);

    /// <summary>
    /// Makes a transport's first <paramref name="count"/> workers, each on a /dev/fuse clone of its own, and counts them.
    /// If one cannot be made (a clone fails: EMFILE, say), those made are freed and the transport completes with the
    /// error, or teardown would wait for workers that never start.
    /// </summary>
    public void MakeWorkers<TWorker>(List<TWorker> workers, int count, Func<int> cloneFd, Func<int, int, TWorker> make) where TWorker : IDisposable
    {
        try
        {
            for (int i = 0; i < count; i++)
            {
                int fd = cloneFd();
                try { workers.Add(make(i, fd)); }
                catch { Libc.close(fd); throw; }
            }
        }
        catch (Exception e)
        {
            foreach (var w in workers) w.Dispose();
            workers.Clear();
            Fail(e);
            throw;
        }
        Starting(workers.Count);
    }

    /// <summary>Counts one more worker, unless every worker has exited already (the transport is then complete).</summary>
    public bool TryAdd()
    {
        int running;
        do
        {
            running = Volatile.Read(ref _running);
            if (running == 0) return false;
        } while (Interlocked.CompareExchange(ref _running, running + 1, running) != running);
        return true;
    }

    /// <summary>Records a worker's end; true while others still run (tell them the session is over).</summary>
    public bool Exited(Exception? error)
    {
        if (error is not null) Interlocked.CompareExchange(ref _firstError, error, null);
        if (Interlocked.Decrement(ref _running) != 0) return true;
        if (Volatile.Read(ref _firstError) is { } e) _done.TrySetException(e);
        else _done.TrySetResult();
        return false;
    }

    /// <summary>Completes with an error when the workers never started.</summary>
    public void Fail(Exception error) => _done.TrySetException(error);

    /// <summary>Completes when there were no workers to wait for.</summary>
    public void NoWorkers() => _done.TrySetResult();
}
