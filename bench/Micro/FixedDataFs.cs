using Fuselage.Buffers;
using Fuselage.Interop.Fuse;

namespace Fuselage.Bench.Micro;

/// <summary>
/// A filesystem that answers from fixed data and keeps no state, so a benchmark measures the engine's
/// parse, dispatch and reply path rather than a filesystem's bookkeeping. One directory (the root) holds
/// <see cref="DirectoryEntries"/> regular files; every file reads as the same pattern; writes are accepted and dropped.
/// </summary>
public sealed class FixedDataFs : FileSystem
{
    public const ulong FileIno = 2;
    public const int DirectoryEntries = 32;
    private const uint RegularFileMode = 0x81A4; // S_IFREG | 0644
    private const uint DirectoryMode = 0x41ED;   // S_IFDIR | 0755
    private const uint DirentTypeRegular = 8;    // DT_REG

    private const int PatternLength = 1 << 20;
    // Page-aligned, as a page-cache page is (and as the libfuse peer's copy is: a large copy's speed depends on alignment).
    private static readonly NativeSlab Pattern = MakePattern();
    private static readonly byte[][] EntryNames = MakeNames();

    private static NativeSlab MakePattern()
    {
        var slab = new NativeSlab(PatternLength, 1);
        var data = slab.GetSpan(0);
        for (int i = 0; i < data.Length; i++) data[i] = (byte)(i * 31);
        return slab;
    }

    private static byte[][] MakeNames()
    {
        var names = new byte[DirectoryEntries][];
        for (int i = 0; i < names.Length; i++) names[i] = System.Text.Encoding.ASCII.GetBytes($"file-{i:D4}.dat");
        return names;
    }

    private static void FillFileAttr(ref FuseAttr attr, ulong ino)
    {
        attr.Ino = ino;
        attr.Mode = RegularFileMode;
        attr.Nlink = 1;
        attr.Size = (ulong)PatternLength;
        attr.Blocks = (ulong)PatternLength / 512;
        attr.Blksize = 4096;
    }

    public override ValueTask<int> Lookup(Request request, ulong parent, ReadOnlySpan<byte> name)
    {
        request.Entry.NodeId = FileIno;
        FillFileAttr(ref request.Entry.Attr, FileIno);
        return Success;
    }

    public override ValueTask<int> GetAttr(Request request, ulong ino, ulong? fh)
    {
        if (ino == FuseProtocol.RootId)
        {
            request.Attr.Ino = ino;
            request.Attr.Mode = DirectoryMode;
            request.Attr.Nlink = 2;
        }
        else FillFileAttr(ref request.Attr, ino);
        return Success;
    }

    public override ValueTask<int> Read(Request request, ulong ino, ulong fh, long offset, Span<byte> buffer)
    {
        int start = (int)(offset % PatternLength);
        int length = Math.Min(buffer.Length, PatternLength - start);
        Pattern.GetSpan(0).Slice(start, length).CopyTo(buffer);
        return new(length);
    }

    public override ValueTask<int> Write(Request request, ulong ino, ulong fh, long offset, ReadOnlySpan<byte> data, FuseWriteFlags writeFlags)
        => new(data.Length);

    public override ValueTask<int> ReadDirPlus(Request request, ulong ino, ulong fh, long offset)
    {
        var entry = new FuseEntryOut();
        for (int i = (int)offset; i < EntryNames.Length; i++)
        {
            entry.NodeId = FileIno + (ulong)i;
            FillFileAttr(ref entry.Attr, entry.NodeId);
            if (!request.AddDirEntryPlus(EntryNames[i], entry, (ulong)i + 1)) break;
        }
        return Success;
    }
}
