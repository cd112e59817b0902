using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Fuselage.Interop.Fuse;

namespace Fuselage;

/// <summary>fuse_dirent / fuse_direntplus records: 8-byte aligned, name without NUL, zeroed padding.</summary>
internal static class DirentLayout
{
    public const int DirentHeader = 24;     // FUSE_NAME_OFFSET
    public const int DirentPlusHeader = 152; // FUSE_NAME_OFFSET_DIRENTPLUS
    public const int NameMax = 1024;         // FUSE_NAME_MAX: the kernel rejects longer names with EIO

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
