using Fuselage.Interop.Fuse;

namespace Fuselage.Tests.Interop;

/// <summary>FUSE 7.45 kernel ABI (Linux 6.18): every size, offset and constant written out literally
/// from the gcc-checked fuse_kernel.h layout, so a wrong value fails here and not on a live mount.</summary>
public class FuseAbiTests
{
    public static TheoryData<Type, int> StructSizes => new()
    {
        { typeof(FuseInHeader), 40 },
        { typeof(FuseOutHeader), 16 },
        { typeof(FuseInitIn), 64 },
        { typeof(FuseInitOut), 64 },
        { typeof(CuseInitIn), 16 },
        { typeof(CuseInitOut), 72 },
        { typeof(FuseExtHeader), 8 },
        { typeof(FuseSuppGroups), 4 },
        { typeof(FuseSecctxHeader), 8 },
        { typeof(FuseSecctx), 8 },
        { typeof(FuseAttr), 88 },
        { typeof(FuseEntryOut), 128 },
        { typeof(FuseAttrOut), 104 },
        { typeof(FuseGetattrIn), 16 },
        { typeof(FuseSetattrIn), 88 },
        { typeof(FuseSxTime), 16 },
        { typeof(FuseStatx), 256 },
        { typeof(FuseStatxIn), 24 },
        { typeof(FuseStatxOut), 288 },
        { typeof(FuseKstatfs), 80 },
        { typeof(FuseStatfsOut), 80 },
        { typeof(FuseDirent), 24 },
        { typeof(FuseDirentplus), 152 },
        { typeof(FuseForgetIn), 8 },
        { typeof(FuseForgetOne), 16 },
        { typeof(FuseBatchForgetIn), 8 },
        { typeof(FuseMknodIn), 16 },
        { typeof(FuseMkdirIn), 8 },
        { typeof(FuseRenameIn), 8 },
        { typeof(FuseRename2In), 16 },
        { typeof(FuseLinkIn), 8 },
        { typeof(FuseOpenIn), 8 },
        { typeof(FuseCreateIn), 16 },
        { typeof(FuseOpenOut), 16 },
        { typeof(FuseReleaseIn), 24 },
        { typeof(FuseFlushIn), 24 },
        { typeof(FuseReadIn), 40 },
        { typeof(FuseWriteIn), 40 },
        { typeof(FuseWriteOut), 8 },
        { typeof(FuseFsyncIn), 16 },
        { typeof(FuseSetxattrIn), 16 },
        { typeof(FuseGetxattrIn), 8 },
        { typeof(FuseGetxattrOut), 8 },
        { typeof(FuseFileLock), 24 },
        { typeof(FuseLkIn), 48 },
        { typeof(FuseLkOut), 24 },
        { typeof(FuseAccessIn), 8 },
        { typeof(FuseInterruptIn), 8 },
        { typeof(FuseBmapIn), 16 },
        { typeof(FuseBmapOut), 8 },
        { typeof(FuseIoctlIn), 32 },
        { typeof(FuseIoctlIovec), 16 },
        { typeof(FuseIoctlOut), 16 },
        { typeof(FusePollIn), 24 },
        { typeof(FusePollOut), 8 },
        { typeof(FuseFallocateIn), 32 },
        { typeof(FuseLseekIn), 24 },
        { typeof(FuseLseekOut), 8 },
        { typeof(FuseCopyFileRangeIn), 56 },
        { typeof(FuseCopyFileRangeOut), 8 },
        { typeof(FuseSetupMappingIn), 40 },
        { typeof(FuseRemoveMappingIn), 4 },
        { typeof(FuseRemoveMappingOne), 16 },
        { typeof(FuseSyncfsIn), 8 },
        { typeof(FuseBackingMap), 16 },
        { typeof(FuseNotifyPollWakeupOut), 8 },
        { typeof(FuseNotifyInvalInodeOut), 24 },
        { typeof(FuseNotifyInvalEntryOut), 16 },
        { typeof(FuseNotifyDeleteOut), 24 },
        { typeof(FuseNotifyStoreOut), 24 },
        { typeof(FuseNotifyRetrieveOut), 32 },
        { typeof(FuseNotifyRetrieveIn), 40 },
        { typeof(FuseNotifyPruneOut), 16 },
        { typeof(FuseUringEntInOut), 32 },
        { typeof(FuseUringReqHeader), 288 },
        { typeof(FuseUringCmdReq), 24 },
    };

    public static TheoryData<Type, string, int> FieldOffsets => new()
    {
        { typeof(FuseInHeader), "Len", 0 },
        { typeof(FuseInHeader), "Opcode", 4 },
        { typeof(FuseInHeader), "Unique", 8 },
        { typeof(FuseInHeader), "NodeId", 16 },
        { typeof(FuseInHeader), "Uid", 24 },
        { typeof(FuseInHeader), "Gid", 28 },
        { typeof(FuseInHeader), "Pid", 32 },
        { typeof(FuseInHeader), "TotalExtlen", 36 },
        { typeof(FuseInHeader), "Padding", 38 },

        { typeof(FuseOutHeader), "Len", 0 },
        { typeof(FuseOutHeader), "Error", 4 },
        { typeof(FuseOutHeader), "Unique", 8 },

        { typeof(FuseInitIn), "Major", 0 },
        { typeof(FuseInitIn), "Minor", 4 },
        { typeof(FuseInitIn), "MaxReadahead", 8 },
        { typeof(FuseInitIn), "Flags", 12 },
        { typeof(FuseInitIn), "Flags2", 16 },
        { typeof(FuseInitIn), "Unused", 20 },

        { typeof(FuseInitOut), "Major", 0 },
        { typeof(FuseInitOut), "Minor", 4 },
        { typeof(FuseInitOut), "MaxReadahead", 8 },
        { typeof(FuseInitOut), "Flags", 12 },
        { typeof(FuseInitOut), "MaxBackground", 16 },
        { typeof(FuseInitOut), "CongestionThreshold", 18 },
        { typeof(FuseInitOut), "MaxWrite", 20 },
        { typeof(FuseInitOut), "TimeGran", 24 },
        { typeof(FuseInitOut), "MaxPages", 28 },
        { typeof(FuseInitOut), "MapAlignment", 30 },
        { typeof(FuseInitOut), "Flags2", 32 },
        { typeof(FuseInitOut), "MaxStackDepth", 36 },
        { typeof(FuseInitOut), "RequestTimeout", 40 },
        { typeof(FuseInitOut), "Unused", 42 },

        { typeof(CuseInitIn), "Major", 0 },
        { typeof(CuseInitIn), "Minor", 4 },
        { typeof(CuseInitIn), "Unused", 8 },
        { typeof(CuseInitIn), "Flags", 12 },

        { typeof(CuseInitOut), "Major", 0 },
        { typeof(CuseInitOut), "Minor", 4 },
        { typeof(CuseInitOut), "Unused", 8 },
        { typeof(CuseInitOut), "Flags", 12 },
        { typeof(CuseInitOut), "MaxRead", 16 },
        { typeof(CuseInitOut), "MaxWrite", 20 },
        { typeof(CuseInitOut), "DevMajor", 24 },
        { typeof(CuseInitOut), "DevMinor", 28 },
        { typeof(CuseInitOut), "Spare", 32 },

        { typeof(FuseExtHeader), "Size", 0 },
        { typeof(FuseExtHeader), "Type", 4 },
        { typeof(FuseSuppGroups), "NrGroups", 0 },
        { typeof(FuseSecctxHeader), "Size", 0 },
        { typeof(FuseSecctxHeader), "NrSecctx", 4 },
        { typeof(FuseSecctx), "Size", 0 },
        { typeof(FuseSecctx), "Padding", 4 },

        { typeof(FuseAttr), "Ino", 0 },
        { typeof(FuseAttr), "Size", 8 },
        { typeof(FuseAttr), "Blocks", 16 },
        { typeof(FuseAttr), "Atime", 24 },
        { typeof(FuseAttr), "Mtime", 32 },
        { typeof(FuseAttr), "Ctime", 40 },
        { typeof(FuseAttr), "AtimeNsec", 48 },
        { typeof(FuseAttr), "MtimeNsec", 52 },
        { typeof(FuseAttr), "CtimeNsec", 56 },
        { typeof(FuseAttr), "Mode", 60 },
        { typeof(FuseAttr), "Nlink", 64 },
        { typeof(FuseAttr), "Uid", 68 },
        { typeof(FuseAttr), "Gid", 72 },
        { typeof(FuseAttr), "Rdev", 76 },
        { typeof(FuseAttr), "Blksize", 80 },
        { typeof(FuseAttr), "Flags", 84 },

        { typeof(FuseEntryOut), "NodeId", 0 },
        { typeof(FuseEntryOut), "Generation", 8 },
        { typeof(FuseEntryOut), "EntryValid", 16 },
        { typeof(FuseEntryOut), "AttrValid", 24 },
        { typeof(FuseEntryOut), "EntryValidNsec", 32 },
        { typeof(FuseEntryOut), "AttrValidNsec", 36 },
        { typeof(FuseEntryOut), "Attr", 40 },

        { typeof(FuseAttrOut), "AttrValid", 0 },
        { typeof(FuseAttrOut), "AttrValidNsec", 8 },
        { typeof(FuseAttrOut), "Dummy", 12 },
        { typeof(FuseAttrOut), "Attr", 16 },

        { typeof(FuseGetattrIn), "GetattrFlags", 0 },
        { typeof(FuseGetattrIn), "Dummy", 4 },
        { typeof(FuseGetattrIn), "Fh", 8 },

        { typeof(FuseSetattrIn), "Valid", 0 },
        { typeof(FuseSetattrIn), "Padding", 4 },
        { typeof(FuseSetattrIn), "Fh", 8 },
        { typeof(FuseSetattrIn), "Size", 16 },
        { typeof(FuseSetattrIn), "LockOwner", 24 },
        { typeof(FuseSetattrIn), "Atime", 32 },
        { typeof(FuseSetattrIn), "Mtime", 40 },
        { typeof(FuseSetattrIn), "Ctime", 48 },
        { typeof(FuseSetattrIn), "AtimeNsec", 56 },
        { typeof(FuseSetattrIn), "MtimeNsec", 60 },
        { typeof(FuseSetattrIn), "CtimeNsec", 64 },
        { typeof(FuseSetattrIn), "Mode", 68 },
        { typeof(FuseSetattrIn), "Unused4", 72 },
        { typeof(FuseSetattrIn), "Uid", 76 },
        { typeof(FuseSetattrIn), "Gid", 80 },
        { typeof(FuseSetattrIn), "Unused5", 84 },

        { typeof(FuseSxTime), "TvSec", 0 },
        { typeof(FuseSxTime), "TvNsec", 8 },
        { typeof(FuseSxTime), "Reserved", 12 },

        { typeof(FuseStatx), "Mask", 0 },
        { typeof(FuseStatx), "Blksize", 4 },
        { typeof(FuseStatx), "Attributes", 8 },
        { typeof(FuseStatx), "Nlink", 16 },
        { typeof(FuseStatx), "Uid", 20 },
        { typeof(FuseStatx), "Gid", 24 },
        { typeof(FuseStatx), "Mode", 28 },
        { typeof(FuseStatx), "Spare0", 30 },
        { typeof(FuseStatx), "Ino", 32 },
        { typeof(FuseStatx), "Size", 40 },
        { typeof(FuseStatx), "Blocks", 48 },
        { typeof(FuseStatx), "AttributesMask", 56 },
        { typeof(FuseStatx), "Atime", 64 },
        { typeof(FuseStatx), "Btime", 80 },
        { typeof(FuseStatx), "Ctime", 96 },
        { typeof(FuseStatx), "Mtime", 112 },
        { typeof(FuseStatx), "RdevMajor", 128 },
        { typeof(FuseStatx), "RdevMinor", 132 },
        { typeof(FuseStatx), "DevMajor", 136 },
        { typeof(FuseStatx), "DevMinor", 140 },
        { typeof(FuseStatx), "Spare2", 144 },

        { typeof(FuseStatxIn), "GetattrFlags", 0 },
        { typeof(FuseStatxIn), "Reserved", 4 },
        { typeof(FuseStatxIn), "Fh", 8 },
        { typeof(FuseStatxIn), "SxFlags", 16 },
        { typeof(FuseStatxIn), "SxMask", 20 },

        { typeof(FuseStatxOut), "AttrValid", 0 },
        { typeof(FuseStatxOut), "AttrValidNsec", 8 },
        { typeof(FuseStatxOut), "Flags", 12 },
        { typeof(FuseStatxOut), "Spare", 16 },
        { typeof(FuseStatxOut), "Stat", 32 },

        { typeof(FuseKstatfs), "Blocks", 0 },
        { typeof(FuseKstatfs), "Bfree", 8 },
        { typeof(FuseKstatfs), "Bavail", 16 },
        { typeof(FuseKstatfs), "Files", 24 },
        { typeof(FuseKstatfs), "Ffree", 32 },
        { typeof(FuseKstatfs), "Bsize", 40 },
        { typeof(FuseKstatfs), "Namelen", 44 },
        { typeof(FuseKstatfs), "Frsize", 48 },
        { typeof(FuseKstatfs), "Padding", 52 },
        { typeof(FuseKstatfs), "Spare", 56 },
        { typeof(FuseStatfsOut), "St", 0 },

        { typeof(FuseDirent), "Ino", 0 },
        { typeof(FuseDirent), "Off", 8 },
        { typeof(FuseDirent), "Namelen", 16 },
        { typeof(FuseDirent), "Type", 20 },
        { typeof(FuseDirentplus), "EntryOut", 0 },
        { typeof(FuseDirentplus), "Dirent", 128 },

        { typeof(FuseForgetIn), "Nlookup", 0 },
        { typeof(FuseForgetOne), "NodeId", 0 },
        { typeof(FuseForgetOne), "Nlookup", 8 },
        { typeof(FuseBatchForgetIn), "Count", 0 },
        { typeof(FuseBatchForgetIn), "Dummy", 4 },

        { typeof(FuseMknodIn), "Mode", 0 },
        { typeof(FuseMknodIn), "Rdev", 4 },
        { typeof(FuseMknodIn), "Umask", 8 },
        { typeof(FuseMknodIn), "Padding", 12 },
        { typeof(FuseMkdirIn), "Mode", 0 },
        { typeof(FuseMkdirIn), "Umask", 4 },
        { typeof(FuseRenameIn), "NewDir", 0 },
        { typeof(FuseRename2In), "NewDir", 0 },
        { typeof(FuseRename2In), "Flags", 8 },
        { typeof(FuseRename2In), "Padding", 12 },
        { typeof(FuseLinkIn), "OldNodeId", 0 },

        { typeof(FuseOpenIn), "Flags", 0 },
        { typeof(FuseOpenIn), "OpenFlags", 4 },
        { typeof(FuseCreateIn), "Flags", 0 },
        { typeof(FuseCreateIn), "Mode", 4 },
        { typeof(FuseCreateIn), "Umask", 8 },
        { typeof(FuseCreateIn), "OpenFlags", 12 },
        { typeof(FuseOpenOut), "Fh", 0 },
        { typeof(FuseOpenOut), "OpenFlags", 8 },
        { typeof(FuseOpenOut), "BackingId", 12 },

        { typeof(FuseReleaseIn), "Fh", 0 },
        { typeof(FuseReleaseIn), "Flags", 8 },
        { typeof(FuseReleaseIn), "ReleaseFlags", 12 },
        { typeof(FuseReleaseIn), "LockOwner", 16 },
        { typeof(FuseFlushIn), "Fh", 0 },
        { typeof(FuseFlushIn), "Unused", 8 },
        { typeof(FuseFlushIn), "Padding", 12 },
        { typeof(FuseFlushIn), "LockOwner", 16 },

        { typeof(FuseReadIn), "Fh", 0 },
        { typeof(FuseReadIn), "Offset", 8 },
        { typeof(FuseReadIn), "Size", 16 },
        { typeof(FuseReadIn), "ReadFlags", 20 },
        { typeof(FuseReadIn), "LockOwner", 24 },
        { typeof(FuseReadIn), "Flags", 32 },
        { typeof(FuseReadIn), "Padding", 36 },

        { typeof(FuseWriteIn), "Fh", 0 },
        { typeof(FuseWriteIn), "Offset", 8 },
        { typeof(FuseWriteIn), "Size", 16 },
        { typeof(FuseWriteIn), "WriteFlags", 20 },
        { typeof(FuseWriteIn), "LockOwner", 24 },
        { typeof(FuseWriteIn), "Flags", 32 },
        { typeof(FuseWriteIn), "Padding", 36 },
        { typeof(FuseWriteOut), "Size", 0 },
        { typeof(FuseWriteOut), "Padding", 4 },

        { typeof(FuseFsyncIn), "Fh", 0 },
        { typeof(FuseFsyncIn), "FsyncFlags", 8 },
        { typeof(FuseFsyncIn), "Padding", 12 },

        { typeof(FuseSetxattrIn), "Size", 0 },
        { typeof(FuseSetxattrIn), "Flags", 4 },
        { typeof(FuseSetxattrIn), "SetxattrFlags", 8 },
        { typeof(FuseSetxattrIn), "Padding", 12 },
        { typeof(FuseGetxattrIn), "Size", 0 },
        { typeof(FuseGetxattrIn), "Padding", 4 },
        { typeof(FuseGetxattrOut), "Size", 0 },
        { typeof(FuseGetxattrOut), "Padding", 4 },

        { typeof(FuseFileLock), "Start", 0 },
        { typeof(FuseFileLock), "End", 8 },
        { typeof(FuseFileLock), "Type", 16 },
        { typeof(FuseFileLock), "Pid", 20 },
        { typeof(FuseLkIn), "Fh", 0 },
        { typeof(FuseLkIn), "Owner", 8 },
        { typeof(FuseLkIn), "Lk", 16 },
        { typeof(FuseLkIn), "LkFlags", 40 },
        { typeof(FuseLkIn), "Padding", 44 },
        { typeof(FuseLkOut), "Lk", 0 },

        { typeof(FuseAccessIn), "Mask", 0 },
        { typeof(FuseAccessIn), "Padding", 4 },
        { typeof(FuseInterruptIn), "Unique", 0 },
        { typeof(FuseBmapIn), "Block", 0 },
        { typeof(FuseBmapIn), "Blocksize", 8 },
        { typeof(FuseBmapIn), "Padding", 12 },
        { typeof(FuseBmapOut), "Block", 0 },

        { typeof(FuseIoctlIn), "Fh", 0 },
        { typeof(FuseIoctlIn), "Flags", 8 },
        { typeof(FuseIoctlIn), "Cmd", 12 },
        { typeof(FuseIoctlIn), "Arg", 16 },
        { typeof(FuseIoctlIn), "InSize", 24 },
        { typeof(FuseIoctlIn), "OutSize", 28 },
        { typeof(FuseIoctlIovec), "Base", 0 },
        { typeof(FuseIoctlIovec), "Len", 8 },
        { typeof(FuseIoctlOut), "Result", 0 },
        { typeof(FuseIoctlOut), "Flags", 4 },
        { typeof(FuseIoctlOut), "InIovs", 8 },
        { typeof(FuseIoctlOut), "OutIovs", 12 },

        { typeof(FusePollIn), "Fh", 0 },
        { typeof(FusePollIn), "Kh", 8 },
        { typeof(FusePollIn), "Flags", 16 },
        { typeof(FusePollIn), "Events", 20 },
        { typeof(FusePollOut), "Revents", 0 },
        { typeof(FusePollOut), "Padding", 4 },

        { typeof(FuseFallocateIn), "Fh", 0 },
        { typeof(FuseFallocateIn), "Offset", 8 },
        { typeof(FuseFallocateIn), "Length", 16 },
        { typeof(FuseFallocateIn), "Mode", 24 },
        { typeof(FuseFallocateIn), "Padding", 28 },

        { typeof(FuseLseekIn), "Fh", 0 },
        { typeof(FuseLseekIn), "Offset", 8 },
        { typeof(FuseLseekIn), "Whence", 16 },
        { typeof(FuseLseekIn), "Padding", 20 },
        { typeof(FuseLseekOut), "Offset", 0 },

        { typeof(FuseCopyFileRangeIn), "FhIn", 0 },
        { typeof(FuseCopyFileRangeIn), "OffIn", 8 },
        { typeof(FuseCopyFileRangeIn), "NodeIdOut", 16 },
        { typeof(FuseCopyFileRangeIn), "FhOut", 24 },
        { typeof(FuseCopyFileRangeIn), "OffOut", 32 },
        { typeof(FuseCopyFileRangeIn), "Len", 40 },
        { typeof(FuseCopyFileRangeIn), "Flags", 48 },
        { typeof(FuseCopyFileRangeOut), "BytesCopied", 0 },

        { typeof(FuseSetupMappingIn), "Fh", 0 },
        { typeof(FuseSetupMappingIn), "FileOffset", 8 },
        { typeof(FuseSetupMappingIn), "Len", 16 },
        { typeof(FuseSetupMappingIn), "Flags", 24 },
        { typeof(FuseSetupMappingIn), "MemoryOffset", 32 },
        { typeof(FuseRemoveMappingIn), "Count", 0 },
        { typeof(FuseRemoveMappingOne), "MemoryOffset", 0 },
        { typeof(FuseRemoveMappingOne), "Len", 8 },
        { typeof(FuseSyncfsIn), "Padding", 0 },

        { typeof(FuseBackingMap), "Fd", 0 },
        { typeof(FuseBackingMap), "Flags", 4 },
        { typeof(FuseBackingMap), "Padding", 8 },

        { typeof(FuseNotifyPollWakeupOut), "Kh", 0 },
        { typeof(FuseNotifyInvalInodeOut), "Ino", 0 },
        { typeof(FuseNotifyInvalInodeOut), "Off", 8 },
        { typeof(FuseNotifyInvalInodeOut), "Len", 16 },
        { typeof(FuseNotifyInvalEntryOut), "Parent", 0 },
        { typeof(FuseNotifyInvalEntryOut), "Namelen", 8 },
        { typeof(FuseNotifyInvalEntryOut), "Flags", 12 },
        { typeof(FuseNotifyDeleteOut), "Parent", 0 },
        { typeof(FuseNotifyDeleteOut), "Child", 8 },
        { typeof(FuseNotifyDeleteOut), "Namelen", 16 },
        { typeof(FuseNotifyDeleteOut), "Padding", 20 },
        { typeof(FuseNotifyStoreOut), "NodeId", 0 },
        { typeof(FuseNotifyStoreOut), "Offset", 8 },
        { typeof(FuseNotifyStoreOut), "Size", 16 },
        { typeof(FuseNotifyStoreOut), "Padding", 20 },
        { typeof(FuseNotifyRetrieveOut), "NotifyUnique", 0 },
        { typeof(FuseNotifyRetrieveOut), "NodeId", 8 },
        { typeof(FuseNotifyRetrieveOut), "Offset", 16 },
        { typeof(FuseNotifyRetrieveOut), "Size", 24 },
        { typeof(FuseNotifyRetrieveOut), "Padding", 28 },
        { typeof(FuseNotifyRetrieveIn), "Dummy1", 0 },
        { typeof(FuseNotifyRetrieveIn), "Offset", 8 },
        { typeof(FuseNotifyRetrieveIn), "Size", 16 },
        { typeof(FuseNotifyRetrieveIn), "Dummy2", 20 },
        { typeof(FuseNotifyRetrieveIn), "Dummy3", 24 },
        { typeof(FuseNotifyRetrieveIn), "Dummy4", 32 },
        { typeof(FuseNotifyPruneOut), "Count", 0 },
        { typeof(FuseNotifyPruneOut), "Padding", 4 },
        { typeof(FuseNotifyPruneOut), "Spare", 8 },

        { typeof(FuseUringEntInOut), "Flags", 0 },
        { typeof(FuseUringEntInOut), "CommitId", 8 },
        { typeof(FuseUringEntInOut), "PayloadSz", 16 },
        { typeof(FuseUringEntInOut), "Padding", 20 },
        { typeof(FuseUringEntInOut), "Reserved", 24 },
        { typeof(FuseUringReqHeader), "InOut", 0 },
        { typeof(FuseUringReqHeader), "OpIn", 128 },
        { typeof(FuseUringReqHeader), "RingEntInOut", 256 },
        { typeof(FuseUringCmdReq), "Flags", 0 },
        { typeof(FuseUringCmdReq), "CommitId", 8 },
        { typeof(FuseUringCmdReq), "Qid", 16 },
        { typeof(FuseUringCmdReq), "Padding", 18 },
    };

    [Theory]
    [MemberData(nameof(StructSizes))]
    public void StructSizeMatchesKernel(Type type, int size) => AbiAssert.Size(type, size);

    [Theory]
    [MemberData(nameof(FieldOffsets))]
    public void FieldOffsetMatchesKernel(Type type, string field, int offset) => AbiAssert.Offset(type, field, offset);

    [Fact]
    public void EveryStructAndFieldIsInTheTables() =>
        AbiAssert.TablesCover("Fuselage.Interop.Fuse", StructSizes, FieldOffsets);

    [Fact]
    public void InlineArraysHaveCLengths()
    {
        AbiAssert.Size(typeof(ByteArray3), 3);
        AbiAssert.Size(typeof(ByteArray6), 6);
        AbiAssert.Size(typeof(ByteArray16), 16);
        AbiAssert.Size(typeof(ByteArray32), 32);
        AbiAssert.Size(typeof(ByteArray128), 128);
        AbiAssert.Size(typeof(UInt16Array11), 22);
        AbiAssert.Size(typeof(UInt32Array6), 24);
        AbiAssert.Size(typeof(UInt32Array10), 40);
        AbiAssert.Size(typeof(UInt32Array11), 44);
        AbiAssert.Size(typeof(UInt64Array2), 16);
        AbiAssert.Size(typeof(UInt64Array5), 40);
        AbiAssert.Size(typeof(UInt64Array14), 112);
    }

    [Theory]
    [InlineData(FuseOpcode.Lookup, 1u)]
    [InlineData(FuseOpcode.Forget, 2u)]
    [InlineData(FuseOpcode.Getattr, 3u)]
    [InlineData(FuseOpcode.Setattr, 4u)]
    [InlineData(FuseOpcode.Readlink, 5u)]
    [InlineData(FuseOpcode.Symlink, 6u)]
    [InlineData(FuseOpcode.Mknod, 8u)]
    [InlineData(FuseOpcode.Mkdir, 9u)]
    [InlineData(FuseOpcode.Unlink, 10u)]
    [InlineData(FuseOpcode.Rmdir, 11u)]
    [InlineData(FuseOpcode.Rename, 12u)]
    [InlineData(FuseOpcode.Link, 13u)]
    [InlineData(FuseOpcode.Open, 14u)]
    [InlineData(FuseOpcode.Read, 15u)]
    [InlineData(FuseOpcode.Write, 16u)]
    [InlineData(FuseOpcode.Statfs, 17u)]
    [InlineData(FuseOpcode.Release, 18u)]
    [InlineData(FuseOpcode.Fsync, 20u)]
    [InlineData(FuseOpcode.Setxattr, 21u)]
    [InlineData(FuseOpcode.Getxattr, 22u)]
    [InlineData(FuseOpcode.Listxattr, 23u)]
    [InlineData(FuseOpcode.Removexattr, 24u)]
    [InlineData(FuseOpcode.Flush, 25u)]
    [InlineData(FuseOpcode.Init, 26u)]
    [InlineData(FuseOpcode.Opendir, 27u)]
    [InlineData(FuseOpcode.Readdir, 28u)]
    [InlineData(FuseOpcode.Releasedir, 29u)]
    [InlineData(FuseOpcode.Fsyncdir, 30u)]
    [InlineData(FuseOpcode.Getlk, 31u)]
    [InlineData(FuseOpcode.Setlk, 32u)]
    [InlineData(FuseOpcode.Setlkw, 33u)]
    [InlineData(FuseOpcode.Access, 34u)]
    [InlineData(FuseOpcode.Create, 35u)]
    [InlineData(FuseOpcode.Interrupt, 36u)]
    [InlineData(FuseOpcode.Bmap, 37u)]
    [InlineData(FuseOpcode.Destroy, 38u)]
    [InlineData(FuseOpcode.Ioctl, 39u)]
    [InlineData(FuseOpcode.Poll, 40u)]
    [InlineData(FuseOpcode.NotifyReply, 41u)]
    [InlineData(FuseOpcode.BatchForget, 42u)]
    [InlineData(FuseOpcode.Fallocate, 43u)]
    [InlineData(FuseOpcode.Readdirplus, 44u)]
    [InlineData(FuseOpcode.Rename2, 45u)]
    [InlineData(FuseOpcode.Lseek, 46u)]
    [InlineData(FuseOpcode.CopyFileRange, 47u)]
    [InlineData(FuseOpcode.SetupMapping, 48u)]
    [InlineData(FuseOpcode.RemoveMapping, 49u)]
    [InlineData(FuseOpcode.Syncfs, 50u)]
    [InlineData(FuseOpcode.Tmpfile, 51u)]
    [InlineData(FuseOpcode.Statx, 52u)]
    [InlineData(FuseOpcode.CopyFileRange64, 53u)]
    [InlineData(FuseOpcode.CuseInit, 4096u)]
    public void OpcodeNumberMatchesKernel(FuseOpcode opcode, uint number) => Assert.Equal(number, (uint)opcode);

    [Fact]
    public void OpcodeEnumHasEvery745OpcodeAndNoOther()
    {
        // 1..53 without 7 and 19, plus CUSE_INIT.
        var expected = Enumerable.Range(1, 53).Where(n => n is not 7 and not 19).Select(n => (uint)n).Append(4096u);
        Assert.Equal(expected, Enum.GetValues<FuseOpcode>().Select(o => (uint)o).Order());
    }

    [Fact]
    public void NotifyCodesMatchKernel() => AbiAssert.Enum<FuseNotifyCode>(
        ("Poll", 1), ("InvalInode", 2), ("InvalEntry", 3), ("Store", 4), ("Retrieve", 5),
        ("Delete", 6), ("Resend", 7), ("IncEpoch", 8), ("Prune", 9));

    [Theory]
    [InlineData(FuseInitFlags.AsyncRead, 0)]
    [InlineData(FuseInitFlags.PosixLocks, 1)]
    [InlineData(FuseInitFlags.FileOps, 2)]
    [InlineData(FuseInitFlags.AtomicOTrunc, 3)]
    [InlineData(FuseInitFlags.ExportSupport, 4)]
    [InlineData(FuseInitFlags.BigWrites, 5)]
    [InlineData(FuseInitFlags.DontMask, 6)]
    [InlineData(FuseInitFlags.SpliceWrite, 7)]
    [InlineData(FuseInitFlags.SpliceMove, 8)]
    [InlineData(FuseInitFlags.SpliceRead, 9)]
    [InlineData(FuseInitFlags.FlockLocks, 10)]
    [InlineData(FuseInitFlags.HasIoctlDir, 11)]
    [InlineData(FuseInitFlags.AutoInvalData, 12)]
    [InlineData(FuseInitFlags.DoReaddirplus, 13)]
    [InlineData(FuseInitFlags.ReaddirplusAuto, 14)]
    [InlineData(FuseInitFlags.AsyncDio, 15)]
    [InlineData(FuseInitFlags.WritebackCache, 16)]
    [InlineData(FuseInitFlags.NoOpenSupport, 17)]
    [InlineData(FuseInitFlags.ParallelDirops, 18)]
    [InlineData(FuseInitFlags.HandleKillpriv, 19)]
    [InlineData(FuseInitFlags.PosixAcl, 20)]
    [InlineData(FuseInitFlags.AbortError, 21)]
    [InlineData(FuseInitFlags.MaxPages, 22)]
    [InlineData(FuseInitFlags.CacheSymlinks, 23)]
    [InlineData(FuseInitFlags.NoOpendirSupport, 24)]
    [InlineData(FuseInitFlags.ExplicitInvalData, 25)]
    [InlineData(FuseInitFlags.MapAlignment, 26)]
    [InlineData(FuseInitFlags.Submounts, 27)]
    [InlineData(FuseInitFlags.HandleKillprivV2, 28)]
    [InlineData(FuseInitFlags.SetxattrExt, 29)]
    [InlineData(FuseInitFlags.InitExt, 30)]
    [InlineData(FuseInitFlags.InitReserved, 31)]
    [InlineData(FuseInitFlags.SecurityCtx, 32)]
    [InlineData(FuseInitFlags.HasInodeDax, 33)]
    [InlineData(FuseInitFlags.CreateSuppGroup, 34)]
    [InlineData(FuseInitFlags.HasExpireOnly, 35)]
    [InlineData(FuseInitFlags.DirectIoAllowMmap, 36)]
    [InlineData(FuseInitFlags.Passthrough, 37)]
    [InlineData(FuseInitFlags.NoExportSupport, 38)]
    [InlineData(FuseInitFlags.HasResend, 39)]
    [InlineData(FuseInitFlags.AllowIdmap, 40)]
    [InlineData(FuseInitFlags.OverIoUring, 41)]
    [InlineData(FuseInitFlags.RequestTimeout, 42)]
    public void InitFlagBitMatchesKernel(FuseInitFlags flag, int bit) => Assert.Equal(1UL << bit, (ulong)flag);

    [Fact]
    public void InitFlagsEnumHasEveryBitOnce()
    {
        // None + bits 0..42, no aliases.
        var values = Enum.GetValues<FuseInitFlags>().Select(f => (ulong)f).ToArray();
        Assert.Equal(44, values.Length);
        Assert.Equal(44, values.Distinct().Count());
        Assert.Equal((1UL << 43) - 1, values.Aggregate(0UL, (a, b) => a | b));
    }

    [Fact]
    public void InitFlagsDecodeTheOfferObservedOn618()
    {
        // 6.18.44 offered flags=0x73fffffb, flags2=0x7fd with enable_uring=Y: everything but these five.
        const ulong observed = (0x7fdUL << 32) | 0x73fffffbUL;
        var all = Enum.GetValues<FuseInitFlags>().Aggregate(FuseInitFlags.None, (a, b) => a | b);
        var notOffered = FuseInitFlags.FileOps | FuseInitFlags.MapAlignment | FuseInitFlags.Submounts
                         | FuseInitFlags.InitReserved | FuseInitFlags.HasInodeDax;
        Assert.Equal(observed, (ulong)(all & ~notOffered));
        Assert.Equal(0x200UL, (ulong)FuseInitFlags.OverIoUring >> 32);
        Assert.Equal(0x400UL, (ulong)FuseInitFlags.RequestTimeout >> 32);
    }

    [Fact]
    public void SetattrValidBitsMatchKernel() => AbiAssert.Enum<FuseSetattrValid>(
        ("None", 0), ("Mode", 1), ("Uid", 2), ("Gid", 4), ("Size", 8), ("Atime", 16), ("Mtime", 32),
        ("Fh", 64), ("AtimeNow", 128), ("MtimeNow", 256), ("LockOwner", 512), ("Ctime", 1024), ("KillSuidgid", 2048));

    [Fact]
    public void OpenReplyFlagsMatchKernel() => AbiAssert.Enum<FuseOpenReplyFlags>(
        ("None", 0), ("DirectIo", 1), ("KeepCache", 2), ("NonSeekable", 4), ("CacheDir", 8), ("Stream", 16),
        ("NoFlush", 32), ("ParallelDirectWrites", 64), ("Passthrough", 128));

    [Fact]
    public void OpenRequestFlagsMatchKernel() => AbiAssert.Enum<FuseOpenRequestFlags>(("None", 0), ("KillSuidgid", 1));

    [Fact]
    public void AttrFlagsMatchKernel() => AbiAssert.Enum<FuseAttrFlags>(("None", 0), ("Submount", 1), ("Dax", 2));

    [Fact]
    public void ReleaseFlagsMatchKernel() => AbiAssert.Enum<FuseReleaseFlags>(("None", 0), ("Flush", 1), ("FlockUnlock", 2));

    [Fact]
    public void GetattrFlagsMatchKernel() => AbiAssert.Enum<FuseGetattrFlags>(("None", 0), ("Fh", 1));

    [Fact]
    public void LockFlagsMatchKernel() => AbiAssert.Enum<FuseLockFlags>(("None", 0), ("Flock", 1));

    [Fact]
    public void LockTypesMatchLinux() => AbiAssert.Enum<FuseLockType>(("ReadLock", 0), ("WriteLock", 1), ("Unlock", 2));

    [Fact]
    public void WriteFlagsMatchKernel() => AbiAssert.Enum<FuseWriteFlags>(("None", 0), ("Cache", 1), ("LockOwner", 2), ("KillSuidgid", 4));

    [Fact]
    public void ReadFlagsMatchKernel() => AbiAssert.Enum<FuseReadFlags>(("None", 0), ("LockOwner", 2));

    [Fact]
    public void IoctlFlagsMatchKernel() => AbiAssert.Enum<FuseIoctlFlags>(
        ("None", 0), ("Compat", 1), ("Unrestricted", 2), ("Retry", 4), ("Is32Bit", 8), ("Dir", 16), ("CompatX32", 32));

    [Fact]
    public void FsyncFlagsMatchKernel() => AbiAssert.Enum<FuseFsyncFlags>(("None", 0), ("DataSync", 1));

    [Fact]
    public void PollFlagsMatchKernel() => AbiAssert.Enum<FusePollFlags>(("None", 0), ("ScheduleNotify", 1));

    [Fact]
    public void SetupMappingFlagsMatchKernel() => AbiAssert.Enum<FuseSetupMappingFlags>(("None", 0), ("Write", 1), ("Read", 2));

    [Fact]
    public void InvalEntryFlagsMatchKernel() => AbiAssert.Enum<FuseNotifyInvalEntryFlags>(("None", 0), ("ExpireOnly", 1));

    [Fact]
    public void SetxattrFlagsMatchKernel() => AbiAssert.Enum<FuseSetxattrFlags>(("None", 0), ("AclKillSgid", 1));

    [Fact]
    public void XattrSetModeMatchesLinux() => AbiAssert.Enum<FuseXattrSetMode>(("CreateOrReplace", 0), ("Create", 1), ("Replace", 2));

    [Fact]
    public void RenameFlagsMatchLinux() => AbiAssert.Enum<FuseRenameFlags>(("None", 0), ("NoReplace", 1), ("Exchange", 2), ("Whiteout", 4));

    [Fact]
    public void CuseInitFlagsMatchKernel() => AbiAssert.Enum<CuseInitFlags>(("None", 0), ("UnrestrictedIoctl", 1));

    [Fact]
    public void ExtensionTypesMatchKernel()
    {
        AbiAssert.Enum<FuseExtensionType>(("Groups", 32));
        Assert.Equal(31u, FuseProtocol.MaxNrSecctx);
    }

    [Fact]
    public void ProtocolConstantsMatchKernel()
    {
        Assert.Equal(7u, FuseProtocol.KernelVersion);
        Assert.Equal(45u, FuseProtocol.KernelMinorVersion);
        Assert.Equal(1UL, FuseProtocol.RootId);
        Assert.Equal(8192, FuseProtocol.MinReadBuffer);
        Assert.Equal(80, FuseProtocol.ReadBufferOverhead);
        Assert.Equal(32, FuseProtocol.DefaultMaxPages);
        Assert.Equal(0xFFFFFFFFu, FuseProtocol.InvalidUidGid);
        Assert.Equal(2UL, FuseProtocol.RequestIdStep);
        Assert.Equal(1UL, FuseProtocol.InterruptRequestBit);
        Assert.Equal(0x8000_0000_0000_0000UL, FuseProtocol.UniqueResendBit);
        Assert.Equal(436207616u, FuseProtocol.InitBswapReserved);
        Assert.Equal(1048576u, FuseProtocol.CuseInitBswapReserved);
        Assert.Equal(120, FuseProtocol.CompatEntryOutSize);
        Assert.Equal(96, FuseProtocol.CompatAttrOutSize);
        Assert.Equal(8, FuseProtocol.CompatMknodInSize);
        Assert.Equal(24, FuseProtocol.CompatWriteInSize);
        Assert.Equal(48, FuseProtocol.CompatStatfsSize);
        Assert.Equal(8, FuseProtocol.CompatSetxattrInSize);
        Assert.Equal(8, FuseProtocol.CompatInitOutSize);
        Assert.Equal(24, FuseProtocol.Compat22InitOutSize);
        Assert.Equal(24, FuseProtocol.NameOffset);
        Assert.Equal(152, FuseProtocol.NameOffsetDirentplus);
        Assert.Equal(4095, FuseProtocol.NameMax); // PATH_MAX - 1 (fs/fuse/fuse_i.h, Linux 6.14+)
        Assert.Equal(1024, FuseProtocol.NameLowMax);
        Assert.Equal(256, FuseProtocol.IoctlMaxIov);
        Assert.Equal(4096, FuseProtocol.CuseInitInfoMax);
    }

    [Theory]
    [InlineData(0, 0)]
    [InlineData(1, 8)]
    [InlineData(7, 8)]
    [InlineData(8, 8)]
    [InlineData(9, 16)]
    [InlineData(153, 160)]
    public void RecordAlignRoundsUpTo8(int size, int aligned) => Assert.Equal(aligned, FuseProtocol.RecordAlign(size));

    [Theory]
    [InlineData(1, 32, 160)]
    [InlineData(8, 32, 160)]
    [InlineData(9, 40, 168)]
    [InlineData(255, 280, 408)]
    public void DirentRecordSizes(int nameLength, int dirent, int direntplus)
    {
        Assert.Equal(dirent, FuseProtocol.DirentSize(nameLength));
        Assert.Equal(direntplus, FuseProtocol.DirentplusSize(nameLength));
    }

    [Fact]
    public void UringConstantsMatchKernel()
    {
        Assert.Equal(128, FuseUring.InOutHeaderSize);
        Assert.Equal(128, FuseUring.OpInOutSize);
        Assert.Equal(2, FuseUring.IovSegments);
        Assert.Equal(48, FuseUring.CmdReqSqeOffset);
        AbiAssert.Enum<FuseUringCommand>(("Invalid", 0), ("Register", 1), ("CommitAndFetch", 2));
        // payload_sz sits at header+272, where the server writes the reply length.
        Assert.Equal(272, 256 + (int)System.Runtime.InteropServices.Marshal.OffsetOf<FuseUringEntInOut>("PayloadSz"));
    }

    [Fact]
    public void DeviceIoctlNumbersMatchKernel()
    {
        Assert.Equal(229u, FuseDeviceIoctl.Magic);
        Assert.Equal(0x8004E500u, FuseDeviceIoctl.Clone);
        Assert.Equal(0x4010E501u, FuseDeviceIoctl.BackingOpen);
        Assert.Equal(0x4004E502u, FuseDeviceIoctl.BackingClose);
        Assert.Equal(0x0000E503u, FuseDeviceIoctl.SyncInit);
    }

    [Fact]
    public void IoctlEncodingMatchesLinuxIoc()
    {
        Assert.Equal(0u, IoctlEncoding.DirectionNone);
        Assert.Equal(1u, IoctlEncoding.DirectionWrite);
        Assert.Equal(2u, IoctlEncoding.DirectionRead);
        Assert.Equal(0x0000E503u, IoctlEncoding.Io(0xE5, 3));
        Assert.Equal(0x8004E500u, IoctlEncoding.Ior(0xE5, 0, 4));
        Assert.Equal(0x4010E501u, IoctlEncoding.Iow(0xE5, 1, 16));
        Assert.Equal(0xC010E505u, IoctlEncoding.Iowr(0xE5, 5, 16));
        Assert.Equal(0xC0FFEE12u, IoctlEncoding.Encode(3, 0xEE, 0x12, 0xFF));
    }
}
