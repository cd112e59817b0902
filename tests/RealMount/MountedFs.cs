using Fuselage.Interop;

namespace Fuselage.Tests;

/// <summary>
/// A filesystem served on a fresh temporary mountpoint for one test. Every client call goes through
/// <see cref="Run"/>, a watchdog: if the server hangs, the connection is aborted through fusectl (which fails
/// every waiter with ENOTCONN) and the test fails instead of hanging CI. Dispose always unmounts.
/// </summary>
public sealed class MountedFs : IDisposable
{
    public static readonly TimeSpan Watchdog = TimeSpan.FromSeconds(60);

    private readonly List<string> _log = [];

    // The uring transport needs enable_uring=Y for the mount's lifetime; what was found is restored on dispose.
    private readonly UringSwitch? _uring;

    public MountedFs(FileSystem fs, TransportKind transport, string? options = null, Action<FuseServerOptions>? configure = null)
    {
        FileSystem = fs;
        if (transport == TransportKind.Uring) _uring = new UringSwitch(enabled: true);
        Root = Directory.CreateTempSubdirectory("fuselage-mnt-").FullName;
        var serverOptions = new FuseServerOptions
        {
            Transport = transport,
            Workers = 2,
            Depth = 8,
            CollectStats = true,
            Log = line => { lock (_log) _log.Add(line); },
        };
        configure?.Invoke(serverOptions);
        Server = new FuseServer(fs, serverOptions);
        try
        {
            Server.Start(Root, MountOptions.Parse(options));
            if (!Server.Ready.Wait(Watchdog)) throw new TimeoutException("INIT was not answered");
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public FuseServer Server { get; }
    public FileSystem FileSystem { get; }
    public string Root { get; }
    public IReadOnlyList<string> LogLines { get { lock (_log) return _log.ToArray(); } }

    public string PathOf(string relative) => Path.Combine(Root, relative);

    /// <summary>
    /// Runs client code against the mount under the watchdog. When it fails (or hangs), the exception carries the
    /// server's log, so a failing test shows what the filesystem and the engine said.
    /// </summary>
    public T Run<T>(Func<T> client)
    {
        var task = Task.Factory.StartNew(client, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        bool finished;
        try { finished = task.Wait(Watchdog); }
        catch (AggregateException e)
        {
            var inner = e.InnerException ?? e;
            throw new ClientCallFailedException($"{inner.GetType().Name}: {inner.Message}{FormatLog()}", inner);
        }
        if (finished) return task.Result;
        string waiting = "";
        if (Server.Mount is { } mount)
        {
            // Read before the abort: how many requests the kernel had sent or queued and not seen answered.
            if (mount.WaitingRequests() is int held) waiting = $"; the kernel held {held} request(s) unanswered";
            mount.Abort();
        }
        throw new TimeoutException($"client call did not finish within {Watchdog}{waiting}: connection aborted{FormatLog()}");
    }

    /// <summary>The server's log (the last lines) for a failure message.</summary>
    public string FormatLog(int maxLines = 200)
    {
        var lines = LogLines;
        if (lines.Count == 0) return "\n--- server log: empty ---";
        var shown = lines.Skip(Math.Max(0, lines.Count - maxLines));
        return $"\n--- server log ({lines.Count} lines{(lines.Count > maxLines ? $", last {maxLines}" : "")}) ---\n" + string.Join("\n", shown);
    }

    public void Run(Action client) => Run(() => { client(); return 0; });

    /// <summary>Stops the server and asserts it stopped by itself, without the abort that ends a stuck worker.</summary>
    public void DisposeAndAssertStoppedCleanly()
    {
        Dispose();
        Assert.DoesNotContain(LogLines, line => line.Contains("did not stop") || line.Contains("still running"));
    }

    public void Dispose()
    {
        Server.Dispose();
        // The mountpoint must be gone from the mount table whatever happened above.
        for (int attempt = 0; attempt < 3 && FuseMount.IsMounted(Root); attempt++) Libc.umount2(Root, Libc.MNT_DETACH);
        _uring?.Dispose();
        try { Directory.Delete(Root); } catch (IOException) { }
    }
}

/// <summary>A client call against a mount failed; the message ends with the server's log.</summary>
public sealed class ClientCallFailedException(string message, Exception inner) : Exception(message, inner);
