using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Fuselage.Interop.Fuse;

namespace Fuselage;

/// <summary>fuse_dirent / fuse_direntplus records: 8-byte aligned, name without NUL, zeroed padding.</summary>
internal static class DirentLayout
{
    public const int DirentHeader = 24;     // FUSE_NAME_OFFSET
    public const int DirentPlusHeader = 152; // FUSE_NAME_OFFSET_DIRENTPLUS
    /// <summary>The longest name the kernel takes in a directory record (longer: EIO), and in LOOKUP, INVAL_ENTRY and
    /// DELETE once MAX_PAGES gives max_pages &gt; 1 (otherwise <see cref="FuseProtocol.NameLowMax"/>: ENAMETOOLONG).</summary>
    public const int NameMax = FuseProtocol.NameMax;

    /// <summary>
    /// Throws for a name the kernel would refuse in a directory record: empty, longer than <see cref="NameMax"/>, or
    /// holding a '/'. The kernel fails the whole listing with EIO for one such record (parse_dirfile, fuse_emit); the
    /// exception says which name, where the caller would see only EIO.
    /// </summary>
    public static void CheckEntryName(ReadOnlySpan<byte> name)
    {
        if (name.Length is 0 or > NameMax || name.Contains((byte)'/'))
            throw new ArgumentException($"a directory entry's name must be 1 to {NameMax} bytes without '/' (got {name.Length} bytes: \"{System.Text.Encoding.UTF8.GetString(name[..Math.Min(name.Length, 64)])}\"); the kernel would fail the whole listing", nameof(name));
    }

    public static int RecordLength(int nameLength, bool plus) => ((plus ? DirentPlusHeader : DirentHeader) + nameLength + 7) & ~7;

    public static void WriteDirent(Span<byte> record, ReadOnlySpan<byte> name, ulong ino, uint type, ulong nextOffset)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(record, ino);
        BinaryPrimitives.WriteUInt64LittleEndian(record[8..], nextOffset);
        BinaryPrimitives.WriteUInt32LittleEndian(record[16..], (uint)name.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(record[20..], type);
        name.CopyTo(record[DirentHeader..]);
        record[(DirentHeader + name.Length)..].Clear();
    }

    public static void WriteDirentPlus(Span<byte> record, ReadOnlySpan<byte> name, in FuseEntryOut entry, ulong nextOffset)
    {
        MemoryMarshal.Write(record, in entry);
        uint type = (entry.Attr.Mode & 0xF000) >> 12;
        WriteDirent(record[128..], name, entry.Attr.Ino, type, nextOffset);
    }
}
