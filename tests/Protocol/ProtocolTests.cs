using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Fuselage.Interop;
using Fuselage.Interop.Fuse;
using Fuselage.Transport;

namespace Fuselage.Tests;

/// <summary>The engine's protocol handling, with the test playing the kernel over the in-memory transport.</summary>
public class ProtocolTests
{
    /// <summary>Records which method was reached; answers LOOKUP/GETATTR/READ/WRITE like a tiny filesystem.</summary>
    private sealed class RecordingFs : FileSystem
    {
        public readonly List<string> Calls = [];
        public long Forgotten;
        public int Destroyed;
        public TaskCompletionSource SlowStarted = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public FuseInitFlags RequestOnInit;
        public Action<FuseConnection>? OnInit;

        public override void Init(FuseConnection connection)
        {
            connection.Requested |= RequestOnInit;
            OnInit?.Invoke(connection);
        }
        public override void Destroy() => Destroyed++;
        public ulong ForgetThrowsFor;

        public override void Forget(ulong ino, ulong nlookup)
        {
            if (ino == ForgetThrowsFor) throw new InvalidOperationException($"cannot forget {ino}");
            Forgotten += (long)nlookup;
        }

        public override ValueTask<int> Lookup(Request request, ulong parent, ReadOnlySpan<byte> name)
        {
            Calls.Add("lookup:" + System.Text.Encoding.UTF8.GetString(name));
            if (name.SequenceEqual("slow"u8)) return Slow(request);
            if (name.SequenceEqual("throws"u8)) throw new InvalidOperationException("boom");
            request.Entry.NodeId = 5;
            request.Entry.Attr.Ino = 5;
            request.Entry.Attr.Mode = 0x81A4;
            return Success;
        }

        private async ValueTask<int> Slow(Request request)
        {
            SlowStarted.TrySetResult();
            await Task.Delay(Timeout.Infinite, request.CancellationToken);
            return 0;
        }

        public override ValueTask<int> GetAttr(Request request, ulong ino, ulong? fh)
        {
            request.Attr.Ino = ino;
            request.Attr.Mode = 0x41ED;
            return Success;
        }

        public override ValueTask<int> Read(Request request, ulong ino, ulong fh, long offset, Span<byte> buffer)
        {
            buffer.Fill((byte)'r');
            return new(buffer.Length);
        }

        public override ValueTask<int> Write(Request request, ulong ino, ulong fh, long offset, ReadOnlySpan<byte> data, FuseWriteFlags flags)
            => new(data.Length);

        public override ValueTask<int> MkDir(Request request, ulong parent, ReadOnlySpan<byte> name, uint mode, uint umask)
        {
            Calls.Add("mkdir");
            return Error(Errno.EEXIST);
        }
    }

    private sealed class Kernel : IDisposable
    {
        public readonly InMemoryTransport Transport;
        private readonly byte[] _request = new byte[1 << 21];
        private readonly byte[] _reply = new byte[1 << 21];
        private ulong _unique = 2;

        public Kernel(FileSystem fs, FuseServerOptions? options = null)
        {
            Transport = new InMemoryTransport(fs, options ?? new FuseServerOptions { Log = _ => { } });
        }

        public ulong NextUnique => _unique += 2;

        /// <summary>Writes header + args into the request buffer and sends it; returns the unique used.</summary>
        public ulong Send(FuseOpcode op, ulong nodeId, ReadOnlySpan<byte> args, ulong? unique = null, int? lengthOverride = null)
        {
            ulong u = unique ?? NextUnique;
            int len = 40 + args.Length;
            var h = new FuseInHeader { Len = (uint)(lengthOverride ?? len), Opcode = (uint)op, Unique = u, NodeId = nodeId, Uid = 0, Gid = 0, Pid = 1 };
            MemoryMarshal.Write(_request, in h);
            args.CopyTo(_request.AsSpan(40));
            Assert.True(Transport.Send(_request.AsSpan(0, len)));
            return u;
        }

        public (FuseOutHeader Header, byte[] Payload) Receive()
        {
            Assert.True(Transport.TryReceive(_reply, out int n), "no reply");
            var h = MemoryMarshal.Read<FuseOutHeader>(_reply);
            Assert.Equal((uint)n, h.Len);
            return (h, _reply.AsSpan(16, n - 16).ToArray());
        }

        public (FuseOutHeader Header, byte[] Payload) Call(FuseOpcode op, ulong nodeId, ReadOnlySpan<byte> args)
        {
            ulong u = Send(op, nodeId, args);
            var r = Receive();
            Assert.Equal(u, r.Header.Unique);
            return r;
        }

        public FuseInitOut Init(FuseInitFlags offered = (FuseInitFlags)0x7FF_73FF_FFFBUL)
        {
            var init = new FuseInitIn { Major = 7, Minor = 45, MaxReadahead = 131072, Flags = (uint)(ulong)offered, Flags2 = (uint)((ulong)offered >> 32) };
            var (h, payload) = Call(FuseOpcode.Init, 0, Bytes(init));
            Assert.Equal(0, h.Error);
            Assert.Equal(64, payload.Length);
            return MemoryMarshal.Read<FuseInitOut>(payload);
        }

        public void Dispose() => Transport.Dispose();
    }

    internal static byte[] Bytes<T>(T value) where T : unmanaged
    {
        var b = new byte[Unsafe.SizeOf<T>()];
        MemoryMarshal.Write(b, in value);
        return b;
    }

    private static byte[] Name(string s) => [.. System.Text.Encoding.UTF8.GetBytes(s), 0];

    [Fact]
    public void Init_negotiates_version_max_write_and_only_offered_flags()
    {
        using var k = new Kernel(new RecordingFs());
        var offered = FuseInitFlags.AsyncRead | FuseInitFlags.MaxPages | FuseInitFlags.BigWrites | FuseInitFlags.InitExt | FuseInitFlags.ParallelDirops;
        var reply = k.Init(offered);
        Assert.Equal(7u, reply.Major);
        Assert.Equal(45u, reply.Minor);
        Assert.Equal(1024u * 1024, reply.MaxWrite);
        Assert.Equal(256, reply.MaxPages);
        var granted = (FuseInitFlags)((ulong)reply.Flags | (ulong)reply.Flags2 << 32);
        Assert.Equal(FuseInitFlags.None, granted & ~(offered | FuseInitFlags.BigWrites | FuseInitFlags.InitExt));
        Assert.True(granted.HasFlag(FuseInitFlags.AsyncRead));
        Assert.False(granted.HasFlag(FuseInitFlags.AutoInvalData)); // not offered
        Assert.Equal(1u, reply.TimeGran);
    }

    [Fact]
    public void Init_without_max_pages_caps_max_write_at_32_pages()
    {
        using var k = new Kernel(new RecordingFs());
        var reply = k.Init(FuseInitFlags.AsyncRead);
        Assert.Equal(32u * 4096, reply.MaxWrite);
    }

    [Fact]
    public void An_Init_that_throws_refuses_the_connection_and_says_why()
    {
        var fs = new RecordingFs { OnInit = _ => throw new InvalidOperationException("configuration missing") };
        using var k = new Kernel(fs);
        string? refused = null;
        k.Transport.Dispatcher.InitRefused += reason => refused = reason;
        var init = new FuseInitIn { Major = 7, Minor = 45, Flags = (uint)FuseInitFlags.AsyncRead };
        var (h, _) = k.Call(FuseOpcode.Init, 0, Bytes(init));
        Assert.Equal(-Errno.EPROTO, h.Error);
        Assert.Contains("configuration missing", refused); // FuseServer.Ready fails with it instead of waiting forever
        Assert.Equal(refused, k.Transport.Dispatcher.FatalError);
    }

    [Fact]
    public void Init_cannot_raise_max_write_past_the_buffers_the_options_sized()
    {
        var lines = new List<string>();
        var fs = new RecordingFs { OnInit = c => c.MaxWrite = 1024 * 1024 };
        using var k = new Kernel(fs, new FuseServerOptions { Log = lines.Add, MaxWrite = 128 * 1024, Depth = 2 });
        var reply = k.Init();
        Assert.Equal(128u * 1024, reply.MaxWrite);
        Assert.Contains(lines, l => l.Contains("max_write 1048576 lowered to 131072"));
        var (h, data) = k.Call(FuseOpcode.Read, 2, Bytes(new FuseReadIn { Fh = 1, Size = reply.MaxPages * 4096u }));
        Assert.Equal((0, 128 * 1024), (h.Error, data.Length));
    }

    /// <summary>Declines MAX_PAGES; reads fill what is asked; one xattr of 20,000 bytes (legal: XATTR_SIZE_MAX is 64 KiB).</summary>
    private sealed class WithoutMaxPagesFs : FileSystem
    {
        public override void Init(FuseConnection connection) => connection.Requested &= ~FuseInitFlags.MaxPages;

        public override ValueTask<int> Read(Request request, ulong ino, ulong fh, long offset, Span<byte> buffer)
        {
            buffer.Fill((byte)'r');
            return new(buffer.Length);
        }

        public override ValueTask<int> GetXattr(Request request, ulong ino, ReadOnlySpan<byte> name, Span<byte> value)
        {
            const int length = 20_000;
            if (value.Length == 0) return new(length);
            if (value.Length < length) return Error(Errno.ERANGE);
            value[..length].Fill((byte)'x');
            return new(length);
        }
    }

    [Fact]
    public void A_small_max_write_still_serves_reads_of_32_pages_and_xattrs_of_64_KiB()
    {
        // Without MAX_PAGES the kernel keeps max_pages = 32: READs of 128 KiB whatever max_write says; getxattr(2)
        // asks with the caller's buffer size, up to 64 KiB.
        var fs = new WithoutMaxPagesFs();
        using var k = new Kernel(fs, new FuseServerOptions { Log = _ => { }, MaxWrite = 16 * 1024, Depth = 2 });
        var reply = k.Init();
        Assert.Equal(16u * 1024, reply.MaxWrite);
        Assert.Equal(0u, reply.Flags & (uint)FuseInitFlags.MaxPages);
        var (h, data) = k.Call(FuseOpcode.Read, 2, Bytes(new FuseReadIn { Fh = 1, Size = 32 * 4096 }));
        Assert.Equal((0, 32 * 4096), (h.Error, data.Length));
        var (xh, value) = k.Call(FuseOpcode.Getxattr, 2, [.. Bytes(new FuseGetxattrIn { Size = 65536 }), .. Name("user.big")]);
        Assert.Equal((0, 20_000), (xh.Error, value.Length));
    }

    [Fact]
    public void Init_refuses_write_back_cache_unless_the_mode_is_declared_and_says_why()
    {
        var lines = new List<string>();
        var fs = new RecordingFs { RequestOnInit = FuseInitFlags.WritebackCache | FuseInitFlags.SecurityCtx };
        using var k = new Kernel(fs, new FuseServerOptions { Log = lines.Add });
        var reply = k.Init();
        Assert.Equal(0u, reply.Flags & (uint)FuseInitFlags.WritebackCache);
        Assert.Equal(0u, reply.Flags2 & 1); // SECURITY_CTX
        Assert.Contains(k.Transport.Connection!.Refusals, r => r.StartsWith("WritebackCache") && r.Contains("CacheMode.WritebackCache"));
        Assert.Contains(k.Transport.Connection!.Refusals, r => r.StartsWith("SecurityCtx"));

        using var declared = new Kernel(new RecordingFs(), new FuseServerOptions
        {
            Log = _ => { },
            Policy = new CoherencyPolicy(CacheMode.WritebackCache, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1), TimeSpan.Zero),
        });
        Assert.NotEqual(0u, declared.Init().Flags & (uint)FuseInitFlags.WritebackCache);
    }

    [Fact]
    public void Init_asks_for_auto_inval_data_only_where_data_may_change_outside_the_mount()
    {
        using var anywhere = new Kernel(new RecordingFs());
        Assert.NotEqual(0u, anywhere.Init().Flags & (uint)FuseInitFlags.AutoInvalData);

        var policy = CoherencyPolicy.Classic.WithDataChanges(DataChanges.ThroughThisMount);
        var fs = new RecordingFs { RequestOnInit = FuseInitFlags.AutoInvalData };
        using var mountOnly = new Kernel(fs, new FuseServerOptions { Log = _ => { }, Policy = policy });
        Assert.Equal(0u, mountOnly.Init().Flags & (uint)FuseInitFlags.AutoInvalData);
        Assert.Contains(mountOnly.Transport.Connection!.Refusals, r => r.StartsWith("AutoInvalData") && r.Contains("DataChanges.Anywhere"));

        Assert.Equal(DataChanges.ThroughThisMount, policy.WithMode(CacheMode.Passthrough).DataChanges); // modes keep it
        Assert.Equal(DataChanges.Anywhere, CoherencyPolicy.Classic.DataChanges);
    }

    [Fact]
    public void Destroy_reaches_the_filesystem_once_and_only_after_init()
    {
        var fs = new RecordingFs();
        using var k = new Kernel(fs);
        Assert.Equal(-Errno.EIO, k.Call(FuseOpcode.Destroy, 0, []).Header.Error); // before INIT: no session to end
        Assert.Equal(0, fs.Destroyed);
        k.Init();
        Assert.Equal(0, k.Call(FuseOpcode.Destroy, 0, []).Header.Error);
        Assert.Equal(0, k.Call(FuseOpcode.Destroy, 0, []).Header.Error); // a repeated DESTROY is answered, not acted on
        Assert.Equal(1, fs.Destroyed);
    }

    [Fact]
    public void Requests_before_init_get_EIO()
    {
        using var k = new Kernel(new RecordingFs());
        var (h, _) = k.Call(FuseOpcode.Getattr, 1, new byte[16]);
        Assert.Equal(-Errno.EIO, h.Error);
    }

    [Fact]
    public void Every_opcode_reaches_its_method_or_gets_ENOSYS()
    {
        var fs = new RecordingFs();
        using var k = new Kernel(fs);
        k.Init();
        // Large enough for any fixed argument struct plus two names.
        var noReply = new HashSet<FuseOpcode> { FuseOpcode.Forget, FuseOpcode.BatchForget, FuseOpcode.NotifyReply, FuseOpcode.Interrupt };
        var implemented = new Dictionary<FuseOpcode, int> { [FuseOpcode.Getattr] = 0, [FuseOpcode.Read] = 0, [FuseOpcode.Write] = 0 };
        foreach (var op in Enum.GetValues<FuseOpcode>())
        {
            if (op is FuseOpcode.Init or FuseOpcode.Lookup or FuseOpcode.Mkdir) continue;
            // Name-carrying ops: two valid names right after their fixed struct; zeros elsewhere.
            var a = new byte[256];
            "a\0b\0"u8.CopyTo(a.AsSpan(FixedArgSize(op)));
            if (op is FuseOpcode.Read or FuseOpcode.Write or FuseOpcode.Readdir or FuseOpcode.Readdirplus) a = new byte[64];
            k.Send(op, 1, a);
            if (noReply.Contains(op)) { Assert.Equal(0, k.Transport.PendingReplies); continue; }
            var (h, _) = k.Receive();
            if (implemented.ContainsKey(op)) Assert.Equal(0, h.Error);
            else if (op is FuseOpcode.Release or FuseOpcode.Releasedir or FuseOpcode.Opendir or FuseOpcode.Destroy) Assert.Equal(0, h.Error);
            else Assert.True(h.Error == -Errno.ENOSYS, $"{op}: {h.Error}");
        }
        Assert.Equal(-Errno.EEXIST, k.Call(FuseOpcode.Mkdir, 1, [.. Bytes(new FuseMkdirIn { Mode = 0x1ED }), .. Name("d")]).Header.Error);
        Assert.Contains("mkdir", fs.Calls);
        Assert.Equal(-Errno.ENOSYS, k.Call((FuseOpcode)999, 1, []).Header.Error);
    }

    [Theory]
    [InlineData(".")]
    [InlineData("..")]
    [InlineData("")]
    [InlineData("a/b")]
    public void A_name_no_directory_entry_can_have_is_refused_before_the_filesystem_sees_it(string bad)
    {
        var fs = new RecordingFs();
        using var k = new Kernel(fs);
        k.Init();
        byte[] mkdir = [.. Bytes(new FuseMkdirIn { Mode = 0x1ED }), .. Name(bad)];
        Assert.Equal(-Errno.EINVAL, k.Call(FuseOpcode.Mkdir, 1, mkdir).Header.Error);
        Assert.DoesNotContain("mkdir", fs.Calls);
        foreach (var (op, args) in new (FuseOpcode, byte[])[]
        {
            (FuseOpcode.Mknod, [.. Bytes(new FuseMknodIn { Mode = 0x81A4 }), .. Name(bad)]),
            (FuseOpcode.Create, [.. Bytes(new FuseCreateIn { Mode = 0x81A4 }), .. Name(bad)]),
            (FuseOpcode.Symlink, [.. Name(bad), .. Name("target")]),
            (FuseOpcode.Link, [.. Bytes(new FuseLinkIn { OldNodeId = 2 }), .. Name(bad)]),
            (FuseOpcode.Unlink, Name(bad)),
            (FuseOpcode.Rmdir, Name(bad)),
            (FuseOpcode.Rename, [.. Bytes(new FuseRenameIn { NewDir = 1 }), .. Name("ok"), .. Name(bad)]),
            (FuseOpcode.Rename2, [.. Bytes(new FuseRename2In { NewDir = 1 }), .. Name(bad), .. Name("ok")]),
        })
        {
            // RecordingFs leaves these unimplemented: ENOSYS would mean the name reached it.
            Assert.True(k.Call(op, 1, args).Header.Error == -Errno.EINVAL, $"{op} \"{bad}\"");
        }
        // LOOKUP of "." and ".." is the filesystem's to answer (the kernel sends them for NFS export).
        if (bad is "." or "..")
        {
            Assert.Equal(0, k.Call(FuseOpcode.Lookup, 1, Name(bad)).Header.Error);
            Assert.Contains("lookup:" + bad, fs.Calls);
        }
    }

    private static int FixedArgSize(FuseOpcode op) => op switch
    {
        FuseOpcode.Setxattr or FuseOpcode.Mknod or FuseOpcode.Rename2 or FuseOpcode.Create or FuseOpcode.Tmpfile => 16,
        FuseOpcode.Getxattr or FuseOpcode.Listxattr or FuseOpcode.Mkdir or FuseOpcode.Rename or FuseOpcode.Link => 8,
        _ => 0,
    };

    [Fact]
    public void Lookup_entry_carries_the_policy_timeouts()
    {
        using var k = new Kernel(new RecordingFs(), new FuseServerOptions
        {
            Log = _ => { },
            Policy = new CoherencyPolicy(CacheMode.Classic, TimeSpan.FromSeconds(2.5), TimeSpan.FromSeconds(3), TimeSpan.Zero),
        });
        k.Init();
        var (h, payload) = k.Call(FuseOpcode.Lookup, 1, Name("x"));
        Assert.Equal(0, h.Error);
        var entry = MemoryMarshal.Read<FuseEntryOut>(payload);
        Assert.Equal(5ul, entry.NodeId);
        Assert.Equal(3ul, entry.EntryValid);
        Assert.Equal(2ul, entry.AttrValid);
        Assert.Equal(500_000_000u, entry.AttrValidNsec);
    }

    [Fact]
    public void Malformed_requests_get_an_errno_and_the_server_keeps_serving()
    {
        var lines = new List<string>();
        using var k = new Kernel(new RecordingFs(), new FuseServerOptions { Log = lines.Add });
        k.Init();

        // Length mismatch: header says more than arrived.
        ulong u = k.Send(FuseOpcode.Getattr, 1, new byte[16], lengthOverride: 200);
        var r = k.Receive();
        Assert.Equal((u, -Errno.EINVAL), (r.Header.Unique, r.Header.Error));

        // A malformed FORGET or BATCH_FORGET is logged but not answered, as a well-formed one is not.
        int logged = lines.Count;
        k.Send(FuseOpcode.Forget, 1, Bytes(new FuseForgetIn { Nlookup = 1 }), lengthOverride: 100);
        k.Send(FuseOpcode.BatchForget, 0, Bytes(new FuseBatchForgetIn()), lengthOverride: 20);
        Assert.Equal(0, k.Transport.PendingReplies);
        Assert.Equal(2, lines.Skip(logged).Count(l => l.Contains("not answered")));
        // A NOTIFY_REPLY claiming more than 2 GiB of data (a negative int once cast): nothing throws, nothing is answered.
        k.Send(FuseOpcode.NotifyReply, 1, [.. Bytes(new FuseNotifyRetrieveIn { Size = uint.MaxValue }), .. new byte[10]]);
        Assert.Equal(0, k.Transport.PendingReplies);
        Assert.DoesNotContain(lines, l => l.Contains("threw"));

        // Unterminated name.
        Assert.Equal(-Errno.EINVAL, k.Call(FuseOpcode.Lookup, 1, "abc"u8).Header.Error);
        // Argument struct cut short.
        Assert.Equal(-Errno.EINVAL, k.Call(FuseOpcode.Read, 1, new byte[10]).Header.Error);
        // READ larger than the reply buffer.
        Assert.Equal(-Errno.EINVAL, k.Call(FuseOpcode.Read, 1, Bytes(new FuseReadIn { Size = 64 << 20 })).Header.Error);
        // WRITE claiming more data than it carries.
        Assert.Equal(-Errno.EINVAL, k.Call(FuseOpcode.Write, 1, Bytes(new FuseWriteIn { Size = 100 })).Header.Error);
        // Unknown opcode.
        Assert.Equal(-Errno.ENOSYS, k.Call((FuseOpcode)77, 1, []).Header.Error);
        // Short header: 24 bytes, unique still readable -> EIO to that unique.
        var shortReq = new byte[24];
        MemoryMarshal.Write(shortReq.AsSpan(8), 1234ul);
        Assert.True(k.Transport.Send(shortReq));
        r = k.Receive();
        Assert.Equal((1234ul, -Errno.EIO), (r.Header.Unique, r.Header.Error));
        // Oversize: larger than any input buffer is refused by the transport before dispatch.
        Assert.False(k.Transport.Send(new byte[k.Transport.MaxRequestLength + 1]));
        // A method that throws: EIO and one log line.
        int before = lines.Count;
        Assert.Equal(-Errno.EIO, k.Call(FuseOpcode.Lookup, 1, Name("throws")).Header.Error);
        Assert.Single(lines.Skip(before), l => l.Contains("InvalidOperationException"));

        // Still serving.
        Assert.Equal(0, k.Call(FuseOpcode.Lookup, 1, Name("fine")).Header.Error);
        Assert.True(lines.Count >= 6);
    }

    [Fact]
    public async Task Interrupt_cancels_a_slow_method_which_answers_EINTR()
    {
        var fs = new RecordingFs();
        using var k = new Kernel(fs);
        k.Init();
        ulong slow = k.Send(FuseOpcode.Lookup, 1, Name("slow"));
        await fs.SlowStarted.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(0, k.Transport.PendingReplies);

        // An INTERRUPT for an id nobody is serving gets no reply.
        k.Send(FuseOpcode.Interrupt, 0, Bytes(new FuseInterruptIn { Unique = 999_998 }), unique: 999_999);
        Assert.Equal(0, k.Transport.PendingReplies);

        k.Send(FuseOpcode.Interrupt, 0, Bytes(new FuseInterruptIn { Unique = slow }), unique: slow | 1);
        Assert.True(k.Transport.WaitForReply(TimeSpan.FromSeconds(30)), "the interrupted method never answered");
        var r = k.Receive();
        Assert.Equal((slow, -Errno.EINTR), (r.Header.Unique, r.Header.Error));
    }

    [Fact]
    public void An_interrupt_that_overtakes_its_request_is_applied_when_the_method_goes_asynchronous()
    {
        // With cloned fds another worker may read the INTERRUPT before this one has started the method.
        var fs = new RecordingFs();
        using var k = new Kernel(fs);
        k.Init();
        ulong slow = k.NextUnique;
        k.Send(FuseOpcode.Interrupt, 0, Bytes(new FuseInterruptIn { Unique = slow }), unique: slow | 1);
        Assert.Equal(0, k.Transport.PendingReplies);
        k.Send(FuseOpcode.Lookup, 1, Name("slow"), unique: slow);
        Assert.True(k.Transport.WaitForReply(TimeSpan.FromSeconds(30)), "the interrupted method never answered");
        var r = k.Receive();
        Assert.Equal((slow, -Errno.EINTR), (r.Header.Unique, r.Header.Error));
    }

    [Fact]
    public void Forget_and_batch_forget_counts_reach_the_filesystem_without_replies()
    {
        var fs = new RecordingFs();
        using var k = new Kernel(fs);
        k.Init();
        k.Send(FuseOpcode.Forget, 5, Bytes(new FuseForgetIn { Nlookup = 3 }));
        byte[] batch = [.. Bytes(new FuseBatchForgetIn { Count = 2 }), .. Bytes(new FuseForgetOne { NodeId = 5, Nlookup = 4 }), .. Bytes(new FuseForgetOne { NodeId = 6, Nlookup = 10 })];
        k.Send(FuseOpcode.BatchForget, 0, batch);
        Assert.Equal(17, fs.Forgotten);
        Assert.Equal(0, k.Transport.PendingReplies);
    }

    [Fact]
    public void Setattr_times_outside_DateTime_clamp_instead_of_throwing()
    {
        var far = new SetAttrArgs(new FuseSetattrIn { Atime = long.MaxValue, Mtime = unchecked((ulong)-70_000_000_000L) });
        Assert.Equal(DateTime.MaxValue, far.AtimeUtc);
        Assert.Equal(DateTime.MinValue, far.MtimeUtc);
        var usual = new SetAttrArgs(new FuseSetattrIn { Atime = 1_700_000_000, AtimeNsec = 500_000_000 });
        Assert.Equal(DateTime.UnixEpoch.AddSeconds(1_700_000_000).AddMilliseconds(500), usual.AtimeUtc);
    }

    [Fact]
    public void A_forget_that_throws_costs_the_rest_of_its_batch_nothing_and_gets_no_reply()
    {
        var lines = new List<string>();
        var fs = new RecordingFs { ForgetThrowsFor = 6 };
        using var k = new Kernel(fs, new FuseServerOptions { Log = lines.Add });
        k.Init();
        byte[] batch = [.. Bytes(new FuseBatchForgetIn { Count = 3 }), .. Bytes(new FuseForgetOne { NodeId = 5, Nlookup = 4 }),
            .. Bytes(new FuseForgetOne { NodeId = 6, Nlookup = 10 }), .. Bytes(new FuseForgetOne { NodeId = 7, Nlookup = 2 })];
        k.Send(FuseOpcode.BatchForget, 0, batch);
        k.Send(FuseOpcode.Forget, 6, Bytes(new FuseForgetIn { Nlookup = 1 }));
        Assert.Equal(6, fs.Forgotten);
        Assert.Equal(0, k.Transport.PendingReplies);
        Assert.Equal(2, lines.Count(l => l.Contains("cannot forget 6") && !l.Contains("replied")));
    }

    /// <summary>Sets only what a minimal filesystem sets: the file handle of an OPEN, the data of a READ.</summary>
    private sealed class SetsOnlyFhFs : FileSystem
    {
        public override ValueTask<int> Open(Request request, ulong ino, int flags)
        {
            request.Open.Fh = 7;
            return Success;
        }

        public override ValueTask<int> Read(Request request, ulong ino, ulong fh, long offset, Span<byte> buffer)
        {
            buffer.Fill(0xFF);
            return new(buffer.Length);
        }
    }

    [Fact]
    public void Fixed_replies_start_zeroed_whatever_the_buffer_held_before()
    {
        // One request buffer: the OPEN reuses the reply buffer a READ just filled with 0xFF. Stale open_flags
        // (FOPEN_PASSTHROUGH, FOPEN_NONSEEKABLE, ...) made real opens fail with EIO and writes land at offset 0.
        using var k = new Kernel(new SetsOnlyFhFs(), new FuseServerOptions { Log = _ => { }, Depth = 1 });
        k.Init();
        var (rh, data) = k.Call(FuseOpcode.Read, 2, Bytes(new FuseReadIn { Fh = 7, Size = 4096 }));
        Assert.Equal(0, rh.Error);
        Assert.Equal(4096, data.Length);
        var (h, payload) = k.Call(FuseOpcode.Open, 2, Bytes(new FuseOpenIn { Flags = 2 }));
        Assert.Equal(0, h.Error);
        var open = MemoryMarshal.Read<FuseOpenOut>(payload);
        Assert.Equal(7ul, open.Fh);
        Assert.Equal(0u, open.OpenFlags);
        Assert.Equal(0, open.BackingId);
    }

    [Fact]
    public void Steady_state_requests_allocate_nothing()
    {
        using var k = new Kernel(new RecordingFs());
        k.Init();
        byte[] getattr = new byte[40 + 16];
        byte[] read = new byte[40 + 40];
        byte[] write = new byte[40 + 40 + 4096];
        MemoryMarshal.Write(getattr, new FuseInHeader { Len = (uint)getattr.Length, Opcode = (uint)FuseOpcode.Getattr, Unique = 10, NodeId = 1 });
        MemoryMarshal.Write(read, new FuseInHeader { Len = (uint)read.Length, Opcode = (uint)FuseOpcode.Read, Unique = 12, NodeId = 5 });
        MemoryMarshal.Write(read.AsSpan(40), new FuseReadIn { Size = 4096 });
        MemoryMarshal.Write(write, new FuseInHeader { Len = (uint)write.Length, Opcode = (uint)FuseOpcode.Write, Unique = 14, NodeId = 5 });
        MemoryMarshal.Write(write.AsSpan(40), new FuseWriteIn { Size = 4096 });
        var reply = new byte[8192];

        void Serve(int n)
        {
            for (int i = 0; i < n; i++)
            {
                k.Transport.Send(getattr); k.Transport.TryReceive(reply, out _);
                k.Transport.Send(read); k.Transport.TryReceive(reply, out _);
                k.Transport.Send(write); k.Transport.TryReceive(reply, out _);
            }
        }
        Serve(5_000); // past tiered compilation's promotions, which may allocate once
        long before = GC.GetAllocatedBytesForCurrentThread();
        Serve(100_000 / 3 + 1);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated / 100_000 == 0, $"{allocated} bytes over 100,000 requests");
    }
}
