using System.Runtime.InteropServices;
using Fuselage.Transport;

namespace Fuselage.Samples;

/// <summary>
/// <c>fuselage mount memfs &lt;mountpoint&gt;</c> and <c>fuselage mount passthrough &lt;source&gt; &lt;mountpoint&gt;</c>:
/// stays in the foreground, prints one line when the mount is ready, unmounts on Ctrl-C/SIGTERM or when
/// someone runs umount, and exits 0. A bad argument or a failed mount exits non-zero with one line.
/// </summary>
public static class FuselageCommand
{
    public const string Usage = """
        usage: fuselage mount memfs <mountpoint> [options]
               fuselage mount passthrough <source> <mountpoint> [options]
        options:
          --transport ring|threads|uring   how requests travel (default ring)
          --workers N                      worker threads / queues (default: one per CPU)
          --max-workers N                  threads transport: grow to N workers while all are busy (default 16)
          --depth N                        requests in flight per worker (default 16)
          --max-depth N                    more while all of a worker's wait in methods, up to N (default 4 x depth)
          --max-write BYTES                largest WRITE the kernel sends; also bounds each READ (default 1048576)
          --queue-sharing on|off           uring: a busy queue's thread hands new large requests to less busy ones (default on)
          --cache classic|passthrough      passthrough: the kernel reads and writes open files itself (root, Linux 6.9+)
          --data-changes anywhere|mount    mount: file data changes only through this mount, so the kernel keeps its
                                           page cache across its own writes (default anywhere: AUTO_INVAL_DATA)
          -o opt[,opt...]                  mount options: allow_other, default_permissions, fsname=, subtype=, max_read=, ro, ...
          -d                               trace every request and reply
          --stats                          print requests per opcode and per transport at unmount
        """;

    public static int Run(string[] args)
    {
        Invocation inv;
        try { inv = Parse(args); }
        catch (ArgumentException e)
        {
            // One line: the reason, and where the usage is.
            Console.Error.WriteLine($"fuselage: {e.Message} (fuselage --help prints the usage)");
            return 2;
        }
        if (inv.Help) { Console.WriteLine(Usage); return 0; }

        FileSystem fs;
        try
        {
            fs = inv.FileSystem switch
            {
                "memfs" => new MemFs(),
                "passthrough" => new PassthroughFs(inv.Source!),
                _ => throw new ArgumentException($"unknown filesystem '{inv.FileSystem}'"),
            };
        }
        catch (Exception e) when (e is ArgumentException or IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"fuselage: {e.Message}");
            return 1;
        }

        using var server = new FuseServer(fs, inv.Options);
        using var stop = new CancellationTokenSource();
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, ctx => { ctx.Cancel = true; stop.Cancel(); });
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, ctx => { ctx.Cancel = true; stop.Cancel(); });
        using var sighup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, ctx => { ctx.Cancel = true; stop.Cancel(); }); // its terminal closed
        try
        {
            server.Start(inv.Mountpoint!, inv.MountOptions);
            var conn = server.Ready.GetAwaiter().GetResult();
            Console.WriteLine($"fuselage: {inv.FileSystem} mounted on {server.Mount!.Mountpoint} (transport {server.TransportName}, {inv.Options.Workers} workers, max_write {conn.MaxWrite}{(inv.Options.Policy.Mode == CacheMode.Classic ? "" : $", cache {inv.Options.Policy.Mode.ToString().ToLowerInvariant()}")}{(inv.Options.Policy.DataChanges == DataChanges.Anywhere ? "" : ", data changes through this mount only")})");
        }
        catch (Exception e)
        {
            Console.Error.WriteLine($"fuselage: mount failed: {e.GetBaseException().Message}");
            return 1;
        }

        // Ends on a signal, or when the session ends by itself (someone ran umount, or fusectl abort).
        Task.WaitAny(server.Completion, Task.Delay(Timeout.Infinite, stop.Token).ContinueWith(_ => { }));
        server.Stop();
        if (server.Stats is { } stats) Console.WriteLine(stats.Format());
        if (server.Completion.IsFaulted)
        {
            Console.Error.WriteLine($"fuselage: session failed: {server.Completion.Exception!.GetBaseException().Message}");
            return 1;
        }
        return 0;
    }

    private sealed class Invocation
    {
        public bool Help;
        public string? FileSystem, Source, Mountpoint;
        public FuseServerOptions Options = new();
        public MountOptions MountOptions = new();
    }

    private static Invocation Parse(string[] args)
    {
        var inv = new Invocation();
        var positional = new List<string>();
        for (int i = 0; i < args.Length; i++)
        {
            string a = args[i];
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{a} needs a value");
            switch (a)
            {
                case "-h" or "--help": inv.Help = true; return inv;
                case "--transport":
                    inv.Options.Transport = Value() switch
                    {
                        "ring" => TransportKind.Ring,
                        "threads" => TransportKind.Threads,
                        "uring" => TransportKind.Uring,
                        var t => throw new ArgumentException($"unknown transport '{t}' (ring, threads or uring)"),
                    };
                    break;
                case "--workers":
                    inv.Options.Workers = int.TryParse(Value(), out int w) && w is > 0 and <= 256 ? w : throw new ArgumentException("--workers needs a number from 1 to 256");
                    break;
                case "--max-workers":
                    inv.Options.MaxWorkers = int.TryParse(Value(), out int m) && m is > 0 and <= 256 ? m : throw new ArgumentException("--max-workers needs a number from 1 to 256");
                    break;
                case "--depth":
                    inv.Options.Depth = int.TryParse(Value(), out int d) && d is > 0 and <= 1024 ? d : throw new ArgumentException("--depth needs a number from 1 to 1024");
                    break;
                case "--max-depth":
                    inv.Options.MaxDepth = int.TryParse(Value(), out int md) && md is > 0 and <= FuseServerOptions.MaxDepthLimit ? md
                        : throw new ArgumentException($"--max-depth needs a number from 1 to {FuseServerOptions.MaxDepthLimit}");
                    break;
                case "--max-write":
                    inv.Options.MaxWrite = uint.TryParse(Value(), out uint mw) && mw is >= FuseConnection.PageSize and <= FuseConnection.MaxTransferLimit ? mw
                        : throw new ArgumentException($"--max-write needs a number of bytes from {FuseConnection.PageSize} to {FuseConnection.MaxTransferLimit}");
                    break;
                case "--queue-sharing":
                    inv.Options.UringQueueSharing = Value() switch
                    {
                        "on" => true,
                        "off" => false,
                        var v => throw new ArgumentException($"--queue-sharing needs on or off, not '{v}'"),
                    };
                    break;
                case "--cache":
                    var mode = Value() switch
                    {
                        "classic" => CacheMode.Classic,
                        "passthrough" => CacheMode.Passthrough,
                        var c => throw new ArgumentException($"unknown cache mode '{c}' (classic or passthrough)"),
                    };
                    inv.Options.Policy = inv.Options.Policy.WithMode(mode);
                    break;
                case "--data-changes":
                    var changes = Value() switch
                    {
                        "anywhere" => DataChanges.Anywhere,
                        "mount" => DataChanges.ThroughThisMount,
                        var c => throw new ArgumentException($"--data-changes needs anywhere or mount, not '{c}'"),
                    };
                    inv.Options.Policy = inv.Options.Policy.WithDataChanges(changes);
                    break;
                case "-o": MountOptions.Parse(Value(), inv.MountOptions); break;
                case "-d" or "--debug": inv.Options.Debug = true; break;
                case "--stats": inv.Options.CollectStats = true; break;
                default:
                    if (a.StartsWith('-')) throw new ArgumentException($"unknown option '{a}'");
                    positional.Add(a);
                    break;
            }
        }
        if (positional.Count == 0) { inv.Help = true; return inv; }
        if (positional[0] != "mount") throw new ArgumentException($"unknown command '{positional[0]}'");
        if (positional.Count < 2) throw new ArgumentException("mount needs a filesystem: memfs or passthrough");
        inv.FileSystem = positional[1];
        switch (inv.FileSystem)
        {
            case "memfs" when positional.Count == 3:
                inv.Mountpoint = positional[2];
                break;
            case "passthrough" when positional.Count == 4:
                inv.Source = positional[2];
                inv.Mountpoint = positional[3];
                break;
            case "memfs": throw new ArgumentException("usage: fuselage mount memfs <mountpoint>");
            case "passthrough": throw new ArgumentException("usage: fuselage mount passthrough <source> <mountpoint>");
            default: throw new ArgumentException($"unknown filesystem '{inv.FileSystem}' (memfs or passthrough)");
        }
        if (!Directory.Exists(inv.Mountpoint)) throw new ArgumentException($"mountpoint {inv.Mountpoint} is not a directory");
        if (inv.Source is not null && !Directory.Exists(inv.Source)) throw new ArgumentException($"source {inv.Source} is not a directory");
        return inv;
    }
}
