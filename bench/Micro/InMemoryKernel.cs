using Fuselage.Buffers;
using System.Runtime.InteropServices;
using Fuselage.Interop.Fuse;
using Fuselage.Transport;

namespace Fuselage.Bench.Micro;

/// <summary>
/// Plays the kernel over <see cref="InMemoryTransport"/>: negotiates INIT once, then lets a benchmark send
/// prebuilt requests and take their replies. Buffers are made at setup so the measured loop allocates only what
/// the engine does.
/// </summary>
public sealed class InMemoryKernel : IDisposable
{
    private const int InHeaderSize = 40;
    // Page-aligned, as the kernel's pages are (and as the libfuse peer's reply buffer is).
    private readonly NativeSlab _reply = new((1 << 20) + 4096, 1);
    private ulong _unique = 2;

    public InMemoryKernel(FileSystem fs)
    {
        Transport = new InMemoryTransport(fs, new FuseServerOptions { Log = _ => { } });
        // Everything a 6.x kernel offers, so READDIRPLUS and 1 MiB transfers are granted as on a real mount.
        const ulong offered = 0x7FF_73FF_FFFBUL;
        var init = new FuseInitIn { Major = 7, Minor = 45, MaxReadahead = 131072, Flags = unchecked((uint)offered), Flags2 = (uint)(offered >> 32) };
        InitRequest = Build(FuseOpcode.Init, 0, init);
        Call(InitRequest);
    }

    /// <summary>The INIT this kernel sent first (a peer engine is given the same one).</summary>
    public byte[] InitRequest { get; }

    public InMemoryTransport Transport { get; }

    /// <summary>A request with one fixed argument struct and optional trailing bytes (a name, WRITE data).</summary>
    public byte[] Build<TArgs>(FuseOpcode opcode, ulong nodeId, TArgs args, ReadOnlySpan<byte> trailer = default) where TArgs : unmanaged
    {
        int argsSize = Marshal.SizeOf<TArgs>();
        var request = new byte[InHeaderSize + argsSize + trailer.Length];
        var header = new FuseInHeader { Len = (uint)request.Length, Opcode = (uint)opcode, Unique = _unique += 2, NodeId = nodeId, Pid = 1 };
        MemoryMarshal.Write(request, in header);
        MemoryMarshal.Write(request.AsSpan(InHeaderSize), in args);
        trailer.CopyTo(request.AsSpan(InHeaderSize + argsSize));
        return request;
    }

    /// <summary>A request whose only argument is a NUL-terminated name (LOOKUP).</summary>
    public byte[] BuildNamed(FuseOpcode opcode, ulong nodeId, string name)
    {
        var request = new byte[InHeaderSize + name.Length + 1];
        var header = new FuseInHeader { Len = (uint)request.Length, Opcode = (uint)opcode, Unique = _unique += 2, NodeId = nodeId, Pid = 1 };
        MemoryMarshal.Write(request, in header);
        System.Text.Encoding.UTF8.GetBytes(name, request.AsSpan(InHeaderSize));
        return request;
    }

    /// <summary>Sends one request and takes its reply; returns the reply's error field (0 or -errno).</summary>
    public int Call(byte[] request)
    {
        if (!Transport.Send(request)) throw new InvalidOperationException("the transport refused the request");
        var reply = _reply.GetSpan(0);
        if (!Transport.TryReceive(reply, out int length) || length < 16) throw new InvalidOperationException("no reply");
        return MemoryMarshal.Read<FuseOutHeader>(reply).Error;
    }

    public void Dispose()
    {
        Transport.Dispose();
        _reply.Dispose();
    }
}
