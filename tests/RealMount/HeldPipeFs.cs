using Fuselage.Interop;
using Fuselage.Interop.Fuse;

namespace Fuselage.Tests.RealMount;

/// <summary>
/// Two files opened for direct I/O (every read(2)/write(2) is one request). READ of "held" reads a pipe nobody writes
/// to until the test says so (a file I/O that stays in flight); READ of "probe" answers at once; WRITE to "probe"
/// writes its data to another pipe. LOOKUP of "probe" and both READs note the thread they ran on.
/// </summary>
internal sealed class HeldPipeFs(int heldRead, int probeWrite = -1) : FileSystem
{
    public const int ProbeSize = 128 * 1024;
    public readonly ManualResetEventSlim HeldReadIssued = new();
    public string? HeldReadThread, ProbeLookupThread, ProbeReadThread;

    public override ValueTask<int> Lookup(Request request, ulong parent, ReadOnlySpan<byte> name)
    {
        ulong ino = name.SequenceEqual("held"u8) ? 2UL : name.SequenceEqual("probe"u8) ? 3UL : 0;
        if (ino == 0) return new(-Errno.ENOENT);
        if (ino == 3) ProbeLookupThread = Thread.CurrentThread.Name;
        request.Entry.NodeId = ino;
        ThreadsGrowthTests.BlockingLookupFs.FillAttr(ref request.Entry.Attr, ino);
        request.Entry.Attr.Size = ProbeSize;
        return Success;
    }

    public override ValueTask<int> GetAttr(Request request, ulong ino, ulong? fh)
    {
        ThreadsGrowthTests.BlockingLookupFs.FillAttr(ref request.Attr, ino);
        request.Attr.Size = ino == 1 ? 0UL : ProbeSize;
        return Success;
    }

    public override ValueTask<int> Open(Request request, ulong ino, int flags)
    {
        request.Open.OpenFlags = (uint)FuseOpenReplyFlags.DirectIo;
        return Success;
    }

    public override ValueTask<int> Read(Request request, ulong ino, ulong fh, long offset, Span<byte> buffer)
    {
        if (ino == 3)
        {
            ProbeReadThread = Thread.CurrentThread.Name;
            return new(buffer.Length);
        }
        HeldReadThread = Thread.CurrentThread.Name;
        var read = request.ReadFileAsync(heldRead, -1, 1); // a pipe: no position
        HeldReadIssued.Set();
        return read;
    }

    public override ValueTask<int> Write(Request request, ulong ino, ulong fh, long offset, ReadOnlySpan<byte> data, FuseWriteFlags writeFlags) =>
        probeWrite >= 0 ? request.WritePayloadAsync(probeWrite, -1) : Error(Errno.EBADF);
}
