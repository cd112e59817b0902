using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Fuselage.Interop;
using Fuselage.Interop.Fuse;

namespace Fuselage;

/// <summary>
/// Parses each request in place, calls the filesystem through the opcode table, and builds the reply in
/// the request's reply buffer. Never throws: bad input and failing methods become errno replies.
/// </summary>
internal sealed class Dispatcher
{
    private readonly FileSystem _fs;
    private readonly FuseServerOptions _options;
    private readonly InFlightTable _inFlight;
    private int _tableFullLogged;
    private readonly Action<string> _log;
    private int _initialized;

    public Dispatcher(FileSystem fs, FuseServerOptions options, int maxInFlight)
    {
        _fs = fs;
        _options = options;
        _inFlight = new InFlightTable(Math.Max(1, maxInFlight));
        _log = options.Log ?? (static line => Console.Error.WriteLine(line));
        Policy = options.Policy;
    }

    public CoherencyPolicy Policy { get; }
    public FuseConnection? Connection { get; private set; }
    /// <summary>The mount has default_permissions (set before mounting): INIT may grant ALLOW_IDMAP.</summary>
    internal bool DefaultPermissions { get; set; }
    public bool IsInitialized => Volatile.Read(ref _initialized) != 0;

    /// <summary>Raised once INIT is answered (transports that set up more queues wait for it).</summary>
    public event Action<FuseConnection>? Initialized;

    /// <summary>Set when INIT could not be honoured; the server stops with this reason.</summary>
    public string? FatalError { get; private set; }

    /// <summary>Raised when INIT is refused (with <see cref="FatalError"/>): the kernel then fails the connection.</summary>
    public event Action<string>? InitRefused;

    private ValueTask<int> RefuseInit(string reason)
    {
        FatalError = reason;
        _log($"fuselage: INIT refused: {reason}");
        InitRefused?.Invoke(reason);
        return new(-Errno.EPROTO);
    }

    internal void Log(string line) => _log(line);

    /// <summary>Cancels every request still waiting on its method (session teardown).</summary>
    public void CancelInFlight() => _inFlight.CancelAll();

    private int _destroyed;

    /// <summary>
    /// Calls <see cref="FileSystem.Destroy"/> once per initialized session: at DESTROY (sent only for fuseblk
    /// mounts) or, for every other mount, when the server has stopped serving.
    /// </summary>
    public void EndSession()
    {
        if (!IsInitialized || Interlocked.Exchange(ref _destroyed, 1) != 0) return;
        try { _fs.Destroy(); }
        catch (Exception e) { _log($"fuselage: FileSystem.Destroy threw {e.GetType().Name}: {e.Message}"); } // teardown goes on
    }

    // ---- entry point ----

    /// <summary>Serves one request whose first <see cref="Request.InputLength"/> bytes are filled. The reply
    /// goes to the request's sink, now or when an asynchronous method completes.</summary>
    public void Dispatch(Request req, long[]? counts)
    {
        req.ResetForReuse();
        req.Policy = Policy;
        int length = req.InputLength;
        var input = req.InputBuffer;
        if (length < Request.FuseInHeaderSize)
        {
            Malformed(req, length >= 16 ? MemoryMarshal.Read<ulong>(input[8..]) : 0, Errno.EIO, $"short request of {length} bytes");
            return;
        }
        ref readonly var h = ref req.Header;
        req.OpcodeValue = h.Opcode;
        RequestStats.Count(counts, h.Opcode);
        if (h.Len != (uint)length)
        {
            Malformed(req, h.Unique, Errno.EINVAL, $"header length {h.Len} but {length} bytes arrived");
            return;
        }
        int extLength = h.TotalExtlen * 8;
        if (extLength > length - Request.FuseInHeaderSize)
        {
            Malformed(req, h.Unique, Errno.EINVAL, $"extension length {extLength} exceeds the request");
            return;
        }
        if (_options.Debug) _log($"<- unique={h.Unique} {Name(h.Opcode)} nodeid={h.NodeId} len={h.Len} uid={h.Uid} pid={h.Pid}");

        ValueTask<int> result;
        try
        {
            var args = (ReadOnlySpan<byte>)input[Request.FuseInHeaderSize..(length - extLength)];
            result = Call(req, h.NodeId, args);
        }
        catch (Exception e)
        {
            result = new ValueTask<int>(Failed(req, e));
        }
        if (result.IsCompleted) Finish(req, Result(req, result));
        else if (!TryLinkReply(req, result)) Await(req, result);
    }

    /// <summary>
    /// A READ whose method returned its file read on the worker's ring as is: its reply is known already (the whole
    /// read; a short or failed one drops it), so the kernel can send it right when the read completes. The worker then
    /// reports to <see cref="CompleteLinkedReply"/> instead of the method's continuation. Not a WRITE: on the uring
    /// transport its reply would overwrite the data still being written (both sit in the entry's payload buffer), and
    /// linking it anyway, spoiling the data to measure, left 4k writes at QD16 where they were (1.12x ring against 1.13x).
    /// </summary>
    private bool TryLinkReply(Request req, ValueTask<int> pending)
    {
        if (req.Opcode != FuseOpcode.Read || req.FileIo is not { } io || req.RingReadLength(pending) is var length && length < 0
            || !io.CanLinkReply(req))
            return false;
        WriteHeader(req, req.Unique, 0, length);
        io.LinkReply(req);
        Register(req, pending);
        if (_options.Debug) _log($"-> unique={req.Unique} ok len={req.ReplyLength}, linked to its file read");
        return true;
    }

    /// <summary>
    /// The linked reply of <see cref="TryLinkReply"/> went out (<paramref name="replySent"/>): the request is done.
    /// Otherwise the read came back short or failed, which dropped it: the reply carries the read's result, as usual.
    /// </summary>
    internal void CompleteLinkedReply(Request req, bool replySent) => EndPending(req, reply: !replySent);

    private int _pendingCount;

    /// <summary>Requests whose method has not completed yet; their buffers must outlive them.</summary>
    public int PendingCount => Volatile.Read(ref _pendingCount);

    private void Await(Request req, ValueTask<int> pending)
    {
        Register(req, pending);
        // Never the caller's SynchronizationContext: a reply must not wait for a UI loop or a test framework's queue.
        pending.ConfigureAwait(false).GetAwaiter().UnsafeOnCompleted(req.OnPendingComplete);
    }

    /// <summary>Counts a request whose method has not completed, and makes it reachable by INTERRUPT and teardown.</summary>
    private void Register(Request req, ValueTask<int> pending)
    {
        Interlocked.Increment(ref _pendingCount);
        // The table is sized for every request the transport can hold; a miss is a sizing bug: say so, once.
        if (!_inFlight.TryRegister(req) && Interlocked.Exchange(ref _tableFullLogged, 1) == 0)
            _log($"fuselage: in-flight table full: unique {req.Unique} cannot be interrupted or cancelled at teardown");
        req.Pending = pending;
        req.Dispatcher = this;
    }

    internal void CompletePending(Request req) => EndPending(req, reply: true);

    /// <summary>
    /// Ends a registered request's method: takes its result (which ends its task, as awaiting it would; the request may
    /// hold its next one already) and replies with it unless its reply went out already.
    /// </summary>
    private void EndPending(Request req, bool reply)
    {
        _inFlight.Unregister(req);
        var pending = req.Pending;
        req.Pending = default;
        try
        {
            int result = Result(req, pending);
            if (reply) Finish(req, result);
        }
        catch (Exception e) { _log($"fuselage: reply of a late request failed: {e.Message}"); } // never crash a thread-pool thread
        finally { Interlocked.Decrement(ref _pendingCount); }
    }

    /// <summary>Waits until every asynchronous method has completed; false on timeout.</summary>
    public bool WaitForPending(TimeSpan timeout) => SpinWait.SpinUntil(() => PendingCount == 0, timeout);

    private int Result(Request req, ValueTask<int> vt)
    {
        try { return vt.GetAwaiter().GetResult(); }
        catch (OperationCanceledException) when (req.IsInterrupted) { return -Errno.EINTR; }
        catch (Exception e) { return Failed(req, e); }
    }

    private int Failed(Request req, Exception e)
    {
        bool noReply = IsNoReply(req.Opcode);
        _log($"fuselage: {Name(req.OpcodeValue)} (unique {req.Unique}) threw {e.GetType().Name}: {e.Message}{(noReply ? "" : "; replied EIO")}");
        return noReply ? NoReplyResult : -Errno.EIO;
    }

    private void Malformed(Request req, ulong unique, int errno, string what)
    {
        // A FORGET (or another request the kernel expects no answer to) is not answered even when malformed: the
        // kernel would refuse the reply. Without a unique there is nothing to answer either.
        var op = req.InputLength >= 8 ? (FuseOpcode)MemoryMarshal.Read<uint>(req.InputBuffer[4..]) : 0;
        bool answer = unique != 0 && !IsNoReply(op);
        _log($"fuselage: malformed request (unique {unique}): {what}; {(answer ? $"replied {errno}" : "not answered")}");
        if (!answer) { req.ReplyLength = 0; req.Sink.Complete(req); return; }
        WriteHeader(req, unique, -errno, 0);
        req.Sink.Complete(req);
    }

    // ---- the opcode table ----

    private static ref readonly T Arg<T>(ReadOnlySpan<byte> args) where T : unmanaged
        => ref MemoryMarshal.AsRef<T>(args);

    private static bool Fits<T>(ReadOnlySpan<byte> args) where T : unmanaged => args.Length >= Unsafe.SizeOf<T>();

    /// <summary>Splits one NUL-terminated name off the front of <paramref name="rest"/>.</summary>
    private static bool TakeName(scoped ref ReadOnlySpan<byte> rest, out ReadOnlySpan<byte> name)
    {
        int nul = rest.IndexOf((byte)0);
        if (nul < 0) { name = default; return false; }
        name = rest[..nul];
        rest = rest[(nul + 1)..];
        return true;
    }

    /// <summary>Splits off a name that is to become, or stop being, a directory entry: never empty, "." or "..",
    /// and without '/'. The kernel sends no other (the VFS answers for "." and ".."); a request that does is malformed.
    /// TMPFILE is not checked: its dentry's name is "/", and the filesystem never sees it.</summary>
    private static bool TakeEntryName(scoped ref ReadOnlySpan<byte> rest, out ReadOnlySpan<byte> name)
        => TakeName(ref rest, out name) && name.Length > 0 && !name.SequenceEqual("."u8) && !name.SequenceEqual(".."u8)
            && !name.Contains((byte)'/');

    /// <summary>Arguments cut short, a name without its NUL, or sizes that contradict the request: EINVAL, logged.</summary>
    private ValueTask<int> BadArgs(Request req)
    {
        _log($"fuselage: malformed {Name(req.OpcodeValue)} request (unique {req.Unique}, {req.InputLength} bytes); replied EINVAL");
        return new(-Errno.EINVAL);
    }
    private static readonly ValueTask<int> NoReply = new(NoReplyResult);
    internal const int NoReplyResult = int.MinValue;

    /// <summary>Opcodes the kernel expects no answer to (one written anyway is refused with ENOENT).</summary>
    private static bool IsNoReply(FuseOpcode op) => op is FuseOpcode.Forget or FuseOpcode.BatchForget or FuseOpcode.Interrupt or FuseOpcode.NotifyReply;

    // One method per opcode, each kept out of line: inlined into one switch, the handlers and the filesystem methods
    // the JIT inlines into them (its profile devirtualizes _fs) made Call a 2.5 KB stack frame that every request
    // zeroed on entry, a third of a GETATTR's cost in the engine (BenchmarkDotNet: ProtocolBenchmarks).
    private ValueTask<int> Call(Request req, ulong nodeId, ReadOnlySpan<byte> args)
    {
        var op = req.Opcode;
        if (!IsInitialized && op != FuseOpcode.Init)
            return IsNoReply(op) ? NoReply : new(-Errno.EIO);
        return op switch
        {
            FuseOpcode.Init => Init(req, args),
            FuseOpcode.Destroy => Destroy(),
            FuseOpcode.Forget => Forget(nodeId, args),
            FuseOpcode.BatchForget => BatchForget(args),
            FuseOpcode.Interrupt => Interrupt(args),
            FuseOpcode.NotifyReply => NotifyReply(req, nodeId, args),
            FuseOpcode.Lookup => Lookup(req, nodeId, args),
            FuseOpcode.Getattr => GetAttr(req, nodeId, args),
            FuseOpcode.Setattr => SetAttr(req, nodeId, args),
            FuseOpcode.Readlink => _fs.ReadLink(req, nodeId),
            FuseOpcode.Symlink => SymLink(req, nodeId, args),
            FuseOpcode.Mknod => MkNod(req, nodeId, args),
            FuseOpcode.Mkdir => MkDir(req, nodeId, args),
            FuseOpcode.Unlink => Unlink(req, nodeId, args),
            FuseOpcode.Rmdir => RmDir(req, nodeId, args),
            FuseOpcode.Rename => Rename(req, nodeId, args),
            FuseOpcode.Rename2 => Rename2(req, nodeId, args),
            FuseOpcode.Link => Link(req, nodeId, args),
            FuseOpcode.Open => Open(req, nodeId, args),
            FuseOpcode.Opendir => OpenDir(req, nodeId, args),
            FuseOpcode.Read => Read(req, nodeId, args),
            FuseOpcode.Write => Write(req, nodeId, args),
            FuseOpcode.Statfs => _fs.StatFs(req, nodeId),
            FuseOpcode.Release => Release(req, nodeId, args),
            FuseOpcode.Releasedir => ReleaseDir(req, nodeId, args),
            FuseOpcode.Fsync or FuseOpcode.Fsyncdir => Fsync(req, nodeId, args),
            FuseOpcode.Setxattr => SetXattr(req, nodeId, args),
            FuseOpcode.Getxattr => GetXattr(req, nodeId, args),
            FuseOpcode.Listxattr => ListXattr(req, nodeId, args),
            FuseOpcode.Removexattr => RemoveXattr(req, nodeId, args),
            FuseOpcode.Flush => Flush(req, nodeId, args),
            FuseOpcode.Readdir or FuseOpcode.Readdirplus => ReadDir(req, nodeId, args),
            FuseOpcode.Getlk => GetLk(req, nodeId, args),
            FuseOpcode.Setlk or FuseOpcode.Setlkw => SetLk(req, nodeId, args),
            FuseOpcode.Access => Access(req, nodeId, args),
            FuseOpcode.Create => Create(req, nodeId, args),
            FuseOpcode.Tmpfile => TmpFile(req, nodeId, args),
            FuseOpcode.Bmap => Bmap(req, nodeId, args),
            FuseOpcode.Ioctl => Ioctl(req, nodeId, args),
            FuseOpcode.Poll => Poll(req, nodeId, args),
            FuseOpcode.Fallocate => Fallocate(req, nodeId, args),
            FuseOpcode.Lseek => Lseek(req, nodeId, args),
            FuseOpcode.CopyFileRange or FuseOpcode.CopyFileRange64 => CopyFileRange(req, nodeId, args),
            FuseOpcode.Syncfs => _fs.SyncFs(req, nodeId),
            FuseOpcode.Statx => Statx(req, nodeId, args),
            // SETUPMAPPING/REMOVEMAPPING (virtiofs DAX), CUSE_INIT and unknown opcodes.
            _ => new(-Errno.ENOSYS),
        };
    }

    private const MethodImplOptions OutOfLine = MethodImplOptions.NoInlining;

    [MethodImpl(OutOfLine)]
    private ValueTask<int> Destroy()
    {
        EndSession();
        return new(0);
    }

    [MethodImpl(OutOfLine)]
    private ValueTask<int> Forget(ulong nodeId, ReadOnlySpan<byte> args)
    {
        if (Fits<FuseForgetIn>(args)) _fs.Forget(nodeId, Arg<FuseForgetIn>(args).Nlookup);
        return NoReply;
    }

    [MethodImpl(OutOfLine)]
    private ValueTask<int> NotifyReply(Request req, ulong nodeId, ReadOnlySpan<byte> args)
    {
        if (Fits<FuseNotifyRetrieveIn>(args))
        {
            ref readonly var r = ref Arg<FuseNotifyRetrieveIn>(args);
            var data = args[Unsafe.SizeOf<FuseNotifyRetrieveIn>()..];
            _fs.RetrieveReply(req.Unique, nodeId, (long)r.Offset, data[..(int)Math.Min((uint)data.Length, r.Size)]);
        }
        return NoReply;
    }

    [MethodImpl(OutOfLine)]
    private ValueTask<int> Lookup(Request req, ulong nodeId, ReadOnlySpan<byte> args)
        => TakeName(ref args, out var name) ? _fs.Lookup(req, nodeId, name) : BadArgs(req);

    [MethodImpl(OutOfLine)]
    private ValueTask<int> GetAttr(Request req, ulong nodeId, ReadOnlySpan<byte> args)
    {
        if (!Fits<FuseGetattrIn>(args)) return BadArgs(req);
        ref readonly var a = ref Arg<FuseGetattrIn>(args);
        return _fs.GetAttr(req, nodeId, (a.GetattrFlags & (uint)FuseGetattrFlags.Fh) != 0 ? a.Fh : null);
    }

    [MethodImpl(OutOfLine)]
    private ValueTask<int> SetAttr(Request req, ulong nodeId, ReadOnlySpan<byte> args)
        => Fits<FuseSetattrIn>(args) ? _fs.SetAttr(req, nodeId, new SetAttrArgs(Arg<FuseSetattrIn>(args))) : BadArgs(req);

    [MethodImpl(OutOfLine)]
    private ValueTask<int> SymLink(Request req, ulong nodeId, ReadOnlySpan<byte> args)
        => TakeEntryName(ref args, out var name) && TakeName(ref args, out var target) ? _fs.SymLink(req, nodeId, name, target) : BadArgs(req);

    [MethodImpl(OutOfLine)]
    private ValueTask<int> MkNod(Request req, ulong nodeId, ReadOnlySpan<byte> args)
    {
        if (!Fits<FuseMknodIn>(args)) return BadArgs(req);
        ref readonly var a = ref Arg<FuseMknodIn>(args);
        var rest = args[Unsafe.SizeOf<FuseMknodIn>()..];
        return TakeEntryName(ref rest, out var name) ? _fs.MkNod(req, nodeId, name, a.Mode, a.Rdev, a.Umask) : BadArgs(req);
    }

    [MethodImpl(OutOfLine)]
    private ValueTask<int> MkDir(Request req, ulong nodeId, ReadOnlySpan<byte> args)
    {
        if (!Fits<FuseMkdirIn>(args)) return BadArgs(req);
        ref readonly var a = ref Arg<FuseMkdirIn>(args);
        var rest = args[Unsafe.SizeOf<FuseMkdirIn>()..];
        return TakeEntryName(ref rest, out var name) ? _fs.MkDir(req, nodeId, name, a.Mode, a.Umask) : BadArgs(req);
    }

    [MethodImpl(OutOfLine)]
    private ValueTask<int> Unlink(Request req, ulong nodeId, ReadOnlySpan<byte> args)
        => TakeEntryName(ref args, out var name) ? _fs.Unlink(req, nodeId, name) : BadArgs(req);

    [MethodImpl(OutOfLine)]
    private ValueTask<int> RmDir(Request req, ulong nodeId, ReadOnlySpan<byte> args)
        => TakeEntryName(ref args, out var name) ? _fs.RmDir(req, nodeId, name) : BadArgs(req);

    [MethodImpl(OutOfLine)]
    private ValueTask<int> Rename(Request req, ulong nodeId, ReadOnlySpan<byte> args)
    {
        if (!Fits<FuseRenameIn>(args)) return BadArgs(req);
        ulong newDir = Arg<FuseRenameIn>(args).NewDir;
        var rest = args[Unsafe.SizeOf<FuseRenameIn>()..];
        return TakeEntryName(ref rest, out var name) && TakeEntryName(ref rest, out var newName) ? _fs.Rename(req, nodeId, name, newDir, newName, 0) : BadArgs(req);
    }

    [MethodImpl(OutOfLine)]
    private ValueTask<int> Rename2(Request req, ulong nodeId, ReadOnlySpan<byte> args)
    {
        if (!Fits<FuseRename2In>(args)) return BadArgs(req);
        ref readonly var a = ref Arg<FuseRename2In>(args);
        var rest = args[Unsafe.SizeOf<FuseRename2In>()..];
        return TakeEntryName(ref rest, out var name) && TakeEntryName(ref rest, out var newName) ? _fs.Rename(req, nodeId, name, a.NewDir, newName, a.Flags) : BadArgs(req);
    }

    [MethodImpl(OutOfLine)]
    private ValueTask<int> Link(Request req, ulong nodeId, ReadOnlySpan<byte> args)
    {
        if (!Fits<FuseLinkIn>(args)) return BadArgs(req);
        ulong oldNode = Arg<FuseLinkIn>(args).OldNodeId;
        var rest = args[Unsafe.SizeOf<FuseLinkIn>()..];
        return TakeEntryName(ref rest, out var name) ? _fs.Link(req, oldNode, nodeId, name) : BadArgs(req);
    }

    [MethodImpl(OutOfLine)]
    private ValueTask<int> Open(Request req, ulong nodeId, ReadOnlySpan<byte> args)
        => Fits<FuseOpenIn>(args) ? _fs.Open(req, nodeId, (int)Arg<FuseOpenIn>(args).Flags) : BadArgs(req);

    [MethodImpl(OutOfLine)]
    private ValueTask<int> OpenDir(Request req, ulong nodeId, ReadOnlySpan<byte> args)
        => Fits<FuseOpenIn>(args) ? _fs.OpenDir(req, nodeId, (int)Arg<FuseOpenIn>(args).Flags) : BadArgs(req);

    [MethodImpl(OutOfLine)]
    private ValueTask<int> Read(Request req, ulong nodeId, ReadOnlySpan<byte> args)
    {
        if (!Fits<FuseReadIn>(args)) return BadArgs(req);
        ref readonly var a = ref Arg<FuseReadIn>(args);
        if (a.Size > req.ReplyCapacity) return BadArgs(req);
        return _fs.Read(req, nodeId, a.Fh, (long)a.Offset, req.Data[..(int)a.Size]);
    }

    [MethodImpl(OutOfLine)]
    private ValueTask<int> Write(Request req, ulong nodeId, ReadOnlySpan<byte> args)
    {
        if (!Fits<FuseWriteIn>(args)) return BadArgs(req);
        ref readonly var a = ref Arg<FuseWriteIn>(args);
        var data = args[Unsafe.SizeOf<FuseWriteIn>()..];
        if (a.Size > data.Length) return BadArgs(req);
        return _fs.Write(req, nodeId, a.Fh, (long)a.Offset, data[..(int)a.Size], (FuseWriteFlags)a.WriteFlags);
    }

    [MethodImpl(OutOfLine)]
    private ValueTask<int> Release(Request req, ulong nodeId, ReadOnlySpan<byte> args)
        => Fits<FuseReleaseIn>(args) ? _fs.Release(req, nodeId, Arg<FuseReleaseIn>(args).Fh, (int)Arg<FuseReleaseIn>(args).Flags) : BadArgs(req);

    [MethodImpl(OutOfLine)]
    private ValueTask<int> ReleaseDir(Request req, ulong nodeId, ReadOnlySpan<byte> args)
        => Fits<FuseReleaseIn>(args) ? _fs.ReleaseDir(req, nodeId, Arg<FuseReleaseIn>(args).Fh) : BadArgs(req);

    /// <summary>FSYNC and FSYNCDIR.</summary>
    [MethodImpl(OutOfLine)]
    private ValueTask<int> Fsync(Request req, ulong nodeId, ReadOnlySpan<byte> args)
    {
        if (!Fits<FuseFsyncIn>(args)) return BadArgs(req);
        ref readonly var a = ref Arg<FuseFsyncIn>(args);
        bool dataOnly = (a.FsyncFlags & (uint)FuseFsyncFlags.DataSync) != 0;
        return req.Opcode == FuseOpcode.Fsync ? _fs.Fsync(req, nodeId, a.Fh, dataOnly) : _fs.FsyncDir(req, nodeId, a.Fh, dataOnly);
    }

    [MethodImpl(OutOfLine)]
    private ValueTask<int> SetXattr(Request req, ulong nodeId, ReadOnlySpan<byte> args)
    {
        // Without SETXATTR_EXT the kernel sends the 8-byte compat struct.
        int fixedSize = Connection is { } c && (c.Granted & FuseInitFlags.SetxattrExt) != 0 ? Unsafe.SizeOf<FuseSetxattrIn>() : 8;
        if (args.Length < fixedSize) return BadArgs(req);
        uint size = MemoryMarshal.Read<uint>(args);
        int flags = MemoryMarshal.Read<int>(args[4..]);
        var rest = args[fixedSize..];
        if (!TakeName(ref rest, out var name) || size > rest.Length) return BadArgs(req);
        return _fs.SetXattr(req, nodeId, name, rest[..(int)size], flags);
    }

    [MethodImpl(OutOfLine)]
    private ValueTask<int> GetXattr(Request req, ulong nodeId, ReadOnlySpan<byte> args)
    {
        if (!Fits<FuseGetxattrIn>(args)) return BadArgs(req);
        uint size = Arg<FuseGetxattrIn>(args).Size;
        var rest = args[Unsafe.SizeOf<FuseGetxattrIn>()..];
        if (!TakeName(ref rest, out var name)) return BadArgs(req);
        return _fs.GetXattr(req, nodeId, name, req.Data[..(int)Math.Min(size, (uint)req.ReplyCapacity)]);
    }

    [MethodImpl(OutOfLine)]
    private ValueTask<int> ListXattr(Request req, ulong nodeId, ReadOnlySpan<byte> args)
    {
        if (!Fits<FuseGetxattrIn>(args)) return BadArgs(req);
        uint size = Arg<FuseGetxattrIn>(args).Size;
        return _fs.ListXattr(req, nodeId, req.Data[..(int)Math.Min(size, (uint)req.ReplyCapacity)]);
    }

    [MethodImpl(OutOfLine)]
    private ValueTask<int> RemoveXattr(Request req, ulong nodeId, ReadOnlySpan<byte> args)
        => TakeName(ref args, out var name) ? _fs.RemoveXattr(req, nodeId, name) : BadArgs(req);

    [MethodImpl(OutOfLine)]
    private ValueTask<int> Flush(Request req, ulong nodeId, ReadOnlySpan<byte> args)
        => Fits<FuseFlushIn>(args) ? _fs.Flush(req, nodeId, Arg<FuseFlushIn>(args).Fh, Arg<FuseFlushIn>(args).LockOwner) : BadArgs(req);

    /// <summary>READDIR and READDIRPLUS.</summary>
    [MethodImpl(OutOfLine)]
    private ValueTask<int> ReadDir(Request req, ulong nodeId, ReadOnlySpan<byte> args)
    {
        if (!Fits<FuseReadIn>(args)) return BadArgs(req);
        ref readonly var a = ref Arg<FuseReadIn>(args);
        req.DirectoryLimit = (int)Math.Min(a.Size, (uint)req.ReplyCapacity);
        return req.Opcode == FuseOpcode.Readdir
            ? _fs.ReadDir(req, nodeId, a.Fh, (long)a.Offset)
            : _fs.ReadDirPlus(req, nodeId, a.Fh, (long)a.Offset);
    }

    [MethodImpl(OutOfLine)]
    private ValueTask<int> GetLk(Request req, ulong nodeId, ReadOnlySpan<byte> args)
    {
        if (!Fits<FuseLkIn>(args)) return BadArgs(req);
        ref readonly var a = ref Arg<FuseLkIn>(args);
        return _fs.GetLk(req, nodeId, a.Fh, a.Owner, a.Lk);
    }

    /// <summary>SETLK and SETLKW.</summary>
    [MethodImpl(OutOfLine)]
    private ValueTask<int> SetLk(Request req, ulong nodeId, ReadOnlySpan<byte> args)
    {
        if (!Fits<FuseLkIn>(args)) return BadArgs(req);
        ref readonly var a = ref Arg<FuseLkIn>(args);
        return _fs.SetLk(req, nodeId, a.Fh, a.Owner, a.Lk, req.Opcode == FuseOpcode.Setlkw, (a.LkFlags & (uint)FuseLockFlags.Flock) != 0);
    }

    [MethodImpl(OutOfLine)]
    private ValueTask<int> Access(Request req, ulong nodeId, ReadOnlySpan<byte> args)
        => Fits<FuseAccessIn>(args) ? _fs.Access(req, nodeId, (int)Arg<FuseAccessIn>(args).Mask) : BadArgs(req);

    [MethodImpl(OutOfLine)]
    private ValueTask<int> Create(Request req, ulong nodeId, ReadOnlySpan<byte> args)
    {
        if (!Fits<FuseCreateIn>(args)) return BadArgs(req);
        ref readonly var a = ref Arg<FuseCreateIn>(args);
        var rest = args[Unsafe.SizeOf<FuseCreateIn>()..];
        return TakeEntryName(ref rest, out var name) ? _fs.Create(req, nodeId, name, a.Mode, a.Umask, (int)a.Flags) : BadArgs(req);
    }

    [MethodImpl(OutOfLine)]
    private ValueTask<int> TmpFile(Request req, ulong nodeId, ReadOnlySpan<byte> args)
    {
        if (!Fits<FuseCreateIn>(args)) return BadArgs(req);
        ref readonly var a = ref Arg<FuseCreateIn>(args);
        return _fs.TmpFile(req, nodeId, a.Mode, a.Umask, (int)a.Flags);
    }

    [MethodImpl(OutOfLine)]
    private ValueTask<int> Bmap(Request req, ulong nodeId, ReadOnlySpan<byte> args)
    {
        if (!Fits<FuseBmapIn>(args)) return BadArgs(req);
        ref readonly var a = ref Arg<FuseBmapIn>(args);
        return _fs.Bmap(req, nodeId, a.Blocksize, a.Block);
    }

    [MethodImpl(OutOfLine)]
    private ValueTask<int> Ioctl(Request req, ulong nodeId, ReadOnlySpan<byte> args)
    {
        if (!Fits<FuseIoctlIn>(args)) return BadArgs(req);
        ref readonly var a = ref Arg<FuseIoctlIn>(args);
        var input = args[Unsafe.SizeOf<FuseIoctlIn>()..];
        int outCapacity = req.ReplyCapacity - Unsafe.SizeOf<FuseIoctlOut>();
        if (a.InSize > input.Length || a.OutSize > outCapacity) return BadArgs(req);
        req.IoctlOutputLength = 0;
        return _fs.Ioctl(req, nodeId, a.Fh, a.Flags, a.Cmd, a.Arg, input[..(int)a.InSize],
            req.Data.Slice(Unsafe.SizeOf<FuseIoctlOut>(), (int)a.OutSize));
    }

    [MethodImpl(OutOfLine)]
    private ValueTask<int> Poll(Request req, ulong nodeId, ReadOnlySpan<byte> args)
    {
        if (!Fits<FusePollIn>(args)) return BadArgs(req);
        ref readonly var a = ref Arg<FusePollIn>(args);
        return _fs.Poll(req, nodeId, a.Fh, a.Kh, a.Flags, a.Events);
    }

    [MethodImpl(OutOfLine)]
    private ValueTask<int> Fallocate(Request req, ulong nodeId, ReadOnlySpan<byte> args)
    {
        if (!Fits<FuseFallocateIn>(args)) return BadArgs(req);
        ref readonly var a = ref Arg<FuseFallocateIn>(args);
        return _fs.Fallocate(req, nodeId, a.Fh, (long)a.Offset, (long)a.Length, (int)a.Mode);
    }

    [MethodImpl(OutOfLine)]
    private ValueTask<int> Lseek(Request req, ulong nodeId, ReadOnlySpan<byte> args)
    {
        if (!Fits<FuseLseekIn>(args)) return BadArgs(req);
        ref readonly var a = ref Arg<FuseLseekIn>(args);
        return _fs.Lseek(req, nodeId, a.Fh, (long)a.Offset, (int)a.Whence);
    }

    /// <summary>COPY_FILE_RANGE and COPY_FILE_RANGE_64.</summary>
    [MethodImpl(OutOfLine)]
    private ValueTask<int> CopyFileRange(Request req, ulong nodeId, ReadOnlySpan<byte> args)
    {
        if (!Fits<FuseCopyFileRangeIn>(args)) return BadArgs(req);
        ref readonly var a = ref Arg<FuseCopyFileRangeIn>(args);
        return _fs.CopyFileRange(req, nodeId, a.FhIn, (long)a.OffIn, a.NodeIdOut, a.FhOut, (long)a.OffOut, a.Len, a.Flags);
    }

    [MethodImpl(OutOfLine)]
    private ValueTask<int> Statx(Request req, ulong nodeId, ReadOnlySpan<byte> args)
    {
        if (!Fits<FuseStatxIn>(args)) return BadArgs(req);
        ref readonly var a = ref Arg<FuseStatxIn>(args);
        return _fs.Statx(req, nodeId, (a.GetattrFlags & (uint)FuseGetattrFlags.Fh) != 0 ? a.Fh : null, a.SxFlags, a.SxMask);
    }

    [MethodImpl(OutOfLine)]
    private ValueTask<int> BatchForget(ReadOnlySpan<byte> args)
    {
        if (!Fits<FuseBatchForgetIn>(args)) return NoReply;
        uint count = Arg<FuseBatchForgetIn>(args).Count;
        var entries = MemoryMarshal.Cast<byte, FuseForgetOne>(args[Unsafe.SizeOf<FuseBatchForgetIn>()..]);
        if (count > entries.Length)
        {
            _log($"fuselage: BATCH_FORGET claims {count} entries but carries {entries.Length}; serving those");
            count = (uint)entries.Length;
        }
        Exception? failure = null;
        foreach (ref readonly var one in entries[..(int)count])
        {
            // One Forget that throws must not cost the others their counts (the filesystem would keep those inodes).
            try { _fs.Forget(one.NodeId, one.Nlookup); }
            catch (Exception e) { failure ??= e; }
        }
        if (failure is not null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failure); // logged once, no reply
        return NoReply;
    }

    [MethodImpl(OutOfLine)]
    private ValueTask<int> Interrupt(ReadOnlySpan<byte> args)
    {
        if (Fits<FuseInterruptIn>(args)) _inFlight.Interrupt(Arg<FuseInterruptIn>(args).Unique);
        return NoReply; // no reply is required, and an EAGAIN would reach the wrong fd (see InFlightTable)
    }

    [MethodImpl(OutOfLine)]
    private ValueTask<int> Init(Request req, ReadOnlySpan<byte> args)
    {
        if (!Fits<FuseInitIn>(args) && args.Length < 16) return BadArgs(req);
        Span<byte> initIn = stackalloc byte[Unsafe.SizeOf<FuseInitIn>()];
        initIn.Clear();
        args[..Math.Min(args.Length, initIn.Length)].CopyTo(initIn);
        ref readonly var a = ref MemoryMarshal.AsRef<FuseInitIn>(initIn);
        if (a.Major < 7)
        {
            return RefuseInit($"kernel speaks FUSE {a.Major}.{a.Minor}; 7.x is required");
        }
        ulong offered = a.Flags;
        if ((a.Flags & (uint)FuseInitFlags.InitExt) != 0) offered |= (ulong)a.Flags2 << 32;
        var conn = new FuseConnection(a.Major, a.Minor, (FuseInitFlags)offered, a.MaxReadahead)
        {
            Requested = DefaultRequested(),
        };
        uint bufferedWrite = _options.MaxWrite ?? FuseConnection.MaxTransferLimit; // what the transports' buffers hold
        conn.MaxWrite = bufferedWrite;
        try { _fs.Init(conn); }
        catch (Exception e) { return RefuseInit($"{_fs.GetType().Name}.Init failed: {e.GetType().Name}: {e.Message}"); }
        if (conn.MaxWrite > bufferedWrite)
        {
            _log($"fuselage: INIT: max_write {conn.MaxWrite} lowered to {bufferedWrite}: the buffers hold FuseServerOptions.MaxWrite");
            conn.MaxWrite = bufferedWrite;
        }
        if (_options.RequireUring) conn.Requested |= FuseInitFlags.OverIoUring;
        conn.Negotiate(Policy, _options.RequireUring, DefaultPermissions);
        foreach (var refusal in conn.Refusals) _log($"fuselage: INIT: not granted {refusal}");
        if (Policy.Unsupported is { } why) return RefuseInit(why);
        if (_options.RequireUring && (conn.Granted & FuseInitFlags.OverIoUring) == 0)
        {
            return RefuseInit("the kernel did not offer FUSE_OVER_IO_URING: set /sys/module/fuse/parameters/enable_uring to Y");
        }
        var reply = conn.BuildReply();
        MemoryMarshal.Write(req.Data, in reply);
        Connection = conn;
        Volatile.Write(ref _initialized, 1);
        if (_options.Debug) _log($"   INIT kernel {a.Major}.{a.Minor} offered 0x{offered:x} granted 0x{(ulong)conn.Granted:x} max_write {conn.MaxWrite}");
        return new(Unsafe.SizeOf<FuseInitOut>());
    }

    private FuseInitFlags DefaultRequested()
    {
        var flags = FuseInitFlags.AsyncRead | FuseInitFlags.BigWrites | FuseInitFlags.MaxPages | FuseInitFlags.ParallelDirops
            | FuseInitFlags.AsyncDio | FuseInitFlags.AbortError | FuseInitFlags.HasIoctlDir // AUTO_INVAL_DATA: the policy's (DataChanges)
            | FuseInitFlags.SetxattrExt | FuseInitFlags.InitExt
            | FuseInitFlags.HasResend; // the kernel ignores it in the reply; granted, it tells the filesystem Resend works
        var type = _fs.GetType();
        if (Overrides(type, nameof(FileSystem.ReadDirPlus))) flags |= FuseInitFlags.DoReaddirplus | FuseInitFlags.ReaddirplusAuto;
        if (Overrides(type, nameof(FileSystem.SetLk))) flags |= FuseInitFlags.PosixLocks | FuseInitFlags.FlockLocks;
        return flags;
    }

    private static bool Overrides(Type type, string method)
        => type.GetMethods().Any(m => m.Name == method && m.DeclaringType != typeof(FileSystem) && m.GetBaseDefinition().DeclaringType == typeof(FileSystem));

    // ---- replies ----

    private static void WriteHeader(Request req, ulong unique, int error, int payload)
    {
        var header = new FuseOutHeader { Len = (uint)(Request.FuseOutHeaderSize + payload), Error = error, Unique = unique };
        MemoryMarshal.Write(req.ReplyHeader, in header);
        req.ReplyLength = (int)header.Len;
    }

    /// <summary>Turns a method's result into the reply the kernel expects for this opcode and hands it to the sink.</summary>
    private void Finish(Request req, int result)
    {
        var op = req.Opcode;
        if (result == NoReplyResult)
        {
            req.ReplyLength = 0;
            req.Sink.Complete(req);
            return;
        }
        if (result < 0)
        {
            // The kernel rejects errors outside (-512, 0) and would leave the caller hanging.
            int error = result > -512 ? result : -Errno.EIO;
            WriteHeader(req, req.Unique, error, 0);
            if (_options.Debug) _log($"-> unique={req.Unique} error={error}");
            req.Sink.Complete(req);
            return;
        }
        int payload;
        switch (op)
        {
            case FuseOpcode.Lookup or FuseOpcode.Mknod or FuseOpcode.Mkdir or FuseOpcode.Symlink or FuseOpcode.Link:
                Policy.ApplyToEntry(ref req.Entry);
                payload = Unsafe.SizeOf<FuseEntryOut>();
                break;
            case FuseOpcode.Create or FuseOpcode.Tmpfile:
                Policy.ApplyToEntry(ref req.Entry);
                payload = Unsafe.SizeOf<FuseEntryOut>() + Unsafe.SizeOf<FuseOpenOut>();
                break;
            case FuseOpcode.Getattr or FuseOpcode.Setattr:
                Policy.ApplyToAttr(ref MemoryMarshal.AsRef<FuseAttrOut>(req.Data));
                payload = Unsafe.SizeOf<FuseAttrOut>();
                break;
            case FuseOpcode.Open or FuseOpcode.Opendir:
                payload = Unsafe.SizeOf<FuseOpenOut>();
                break;
            case FuseOpcode.Read or FuseOpcode.Readlink or FuseOpcode.Init:
                payload = Math.Min(result, req.ReplyCapacity);
                break;
            case FuseOpcode.Write:
                MemoryMarshal.Write(req.Data, new FuseWriteOut { Size = (uint)result });
                payload = Unsafe.SizeOf<FuseWriteOut>();
                break;
            case FuseOpcode.Statfs:
                payload = Unsafe.SizeOf<FuseKstatfs>();
                break;
            case FuseOpcode.Getxattr or FuseOpcode.Listxattr:
                payload = XattrReply(req, result);
                break;
            case FuseOpcode.Readdir or FuseOpcode.Readdirplus:
                payload = req.DirectoryLength;
                break;
            case FuseOpcode.Getlk:
                payload = Unsafe.SizeOf<FuseLkOut>();
                break;
            case FuseOpcode.Lseek or FuseOpcode.Bmap or FuseOpcode.CopyFileRange64:
                payload = 8;
                break;
            case FuseOpcode.CopyFileRange:
                MemoryMarshal.Write(req.Data, new FuseWriteOut { Size = (uint)Math.Min(req.BytesCopied, uint.MaxValue) });
                payload = Unsafe.SizeOf<FuseWriteOut>();
                break;
            case FuseOpcode.Poll:
                MemoryMarshal.Write(req.Data, new FusePollOut { Revents = (uint)result });
                payload = Unsafe.SizeOf<FusePollOut>();
                break;
            case FuseOpcode.Ioctl:
                MemoryMarshal.Write(req.Data, new FuseIoctlOut { Result = result });
                payload = Unsafe.SizeOf<FuseIoctlOut>() + req.IoctlOutputLength;
                break;
            case FuseOpcode.Statx:
                payload = Unsafe.SizeOf<FuseStatxOut>();
                break;
            default:
                payload = 0;
                break;
        }
        WriteHeader(req, req.Unique, 0, payload);
        if (_options.Debug) _log($"-> unique={req.Unique} ok len={req.ReplyLength}");
        req.Sink.Complete(req);
        if (op == FuseOpcode.Init && Connection is { } conn) Initialized?.Invoke(conn);
    }

    /// <summary>Size probe (request size 0) gets fuse_getxattr_out; otherwise the value itself.</summary>
    private static int XattrReply(Request req, int result)
    {
        var args = req.InputBuffer[Request.FuseInHeaderSize..];
        uint requested = MemoryMarshal.Read<uint>(args);
        if (requested != 0) return Math.Min(result, (int)Math.Min(requested, (uint)req.ReplyCapacity));
        MemoryMarshal.Write(req.Data, new FuseGetxattrOut { Size = (uint)result });
        return Unsafe.SizeOf<FuseGetxattrOut>();
    }

    internal static string Name(uint opcode) => Enum.IsDefined(typeof(FuseOpcode), opcode) ? ((FuseOpcode)opcode).ToString().ToUpperInvariant() : $"opcode {opcode}";
}
