using Fuselage.Interop.Fuse;
using Fuselage.Interop.Iomap;

namespace Fuselage.Tests.Interop;

/// <summary>FUSE iomap extension ABI (v7 posting, protocol 7.99): sizes, offsets and constants written out
/// literally from the compiler-checked uapi layout.</summary>
public class IomapAbiTests
{
    public static TheoryData<Type, int> StructSizes => new()
    {
        { typeof(FuseIomapIo), 32 },
        { typeof(FuseIomapBeginIn), 32 },
        { typeof(FuseIomapBeginOut), 64 },
        { typeof(FuseIomapEndIn), 72 },
        { typeof(FuseIomapIoendIn), 48 },
        { typeof(FuseIomapIoendOut), 8 },
        { typeof(FuseIomapConfigIn), 64 },
        { typeof(FuseIomapConfigOut), 104 },
        { typeof(FuseRange), 16 },
        { typeof(FuseIomapDevInvalOut), 24 },
        { typeof(FuseIomapInvalMappingsOut), 48 },
        { typeof(FuseIomapUpsertMappingsOut), 80 },
        { typeof(FuseFreezefsIn), 8 },
        { typeof(FuseShutdownfsIn), 8 },
        { typeof(FuseIomapSupport), 16 },
        { typeof(FuseIomapBackingInfo), 8 },
    };

    public static TheoryData<Type, string, int> FieldOffsets => new()
    {
        { typeof(FuseIomapIo), "Offset", 0 },
        { typeof(FuseIomapIo), "Length", 8 },
        { typeof(FuseIomapIo), "Addr", 16 },
        { typeof(FuseIomapIo), "Type", 24 },
        { typeof(FuseIomapIo), "Flags", 26 },
        { typeof(FuseIomapIo), "Dev", 28 },

        { typeof(FuseIomapBeginIn), "OpFlags", 0 },
        { typeof(FuseIomapBeginIn), "Reserved", 4 },
        { typeof(FuseIomapBeginIn), "AttrIno", 8 },
        { typeof(FuseIomapBeginIn), "Pos", 16 },
        { typeof(FuseIomapBeginIn), "Count", 24 },

        { typeof(FuseIomapBeginOut), "Read", 0 },
        { typeof(FuseIomapBeginOut), "Write", 32 },

        { typeof(FuseIomapEndIn), "OpFlags", 0 },
        { typeof(FuseIomapEndIn), "Reserved", 4 },
        { typeof(FuseIomapEndIn), "AttrIno", 8 },
        { typeof(FuseIomapEndIn), "Pos", 16 },
        { typeof(FuseIomapEndIn), "Count", 24 },
        { typeof(FuseIomapEndIn), "Written", 32 },
        { typeof(FuseIomapEndIn), "Map", 40 },

        { typeof(FuseIomapIoendIn), "Flags", 0 },
        { typeof(FuseIomapIoendIn), "Error", 4 },
        { typeof(FuseIomapIoendIn), "AttrIno", 8 },
        { typeof(FuseIomapIoendIn), "Pos", 16 },
        { typeof(FuseIomapIoendIn), "NewAddr", 24 },
        { typeof(FuseIomapIoendIn), "Written", 32 },
        { typeof(FuseIomapIoendIn), "Dev", 40 },
        { typeof(FuseIomapIoendIn), "Pad", 44 },

        { typeof(FuseIomapIoendOut), "NewSize", 0 },

        { typeof(FuseIomapConfigIn), "Flags", 0 },
        { typeof(FuseIomapConfigIn), "Maxbytes", 8 },
        { typeof(FuseIomapConfigIn), "CacheMaxbytes", 16 },
        { typeof(FuseIomapConfigIn), "Zero", 20 },
        { typeof(FuseIomapConfigIn), "Padding", 24 },

        { typeof(FuseIomapConfigOut), "Flags", 0 },
        { typeof(FuseIomapConfigOut), "SId", 8 },
        { typeof(FuseIomapConfigOut), "SUuid", 40 },
        { typeof(FuseIomapConfigOut), "SUuidLen", 56 },
        { typeof(FuseIomapConfigOut), "SPad", 57 },
        { typeof(FuseIomapConfigOut), "SBlocksize", 60 },
        { typeof(FuseIomapConfigOut), "SMaxLinks", 64 },
        { typeof(FuseIomapConfigOut), "STimeGran", 68 },
        { typeof(FuseIomapConfigOut), "STimeMin", 72 },
        { typeof(FuseIomapConfigOut), "STimeMax", 80 },
        { typeof(FuseIomapConfigOut), "SMaxbytes", 88 },
        { typeof(FuseIomapConfigOut), "CacheMaxbytes", 96 },

        { typeof(FuseRange), "Offset", 0 },
        { typeof(FuseRange), "Length", 8 },

        { typeof(FuseIomapDevInvalOut), "Dev", 0 },
        { typeof(FuseIomapDevInvalOut), "Reserved", 4 },
        { typeof(FuseIomapDevInvalOut), "Range", 8 },

        { typeof(FuseIomapInvalMappingsOut), "NodeId", 0 },
        { typeof(FuseIomapInvalMappingsOut), "AttrIno", 8 },
        { typeof(FuseIomapInvalMappingsOut), "Read", 16 },
        { typeof(FuseIomapInvalMappingsOut), "Write", 32 },

        { typeof(FuseIomapUpsertMappingsOut), "NodeId", 0 },
        { typeof(FuseIomapUpsertMappingsOut), "AttrIno", 8 },
        { typeof(FuseIomapUpsertMappingsOut), "Read", 16 },
        { typeof(FuseIomapUpsertMappingsOut), "Write", 48 },

        { typeof(FuseFreezefsIn), "Unlinked", 0 },
        { typeof(FuseShutdownfsIn), "Flags", 0 },

        { typeof(FuseIomapSupport), "Flags", 0 },
        { typeof(FuseIomapSupport), "Padding", 8 },

        { typeof(FuseIomapBackingInfo), "BackingId", 0 },
        { typeof(FuseIomapBackingInfo), "Blocksize", 4 },
    };

    [Theory]
    [MemberData(nameof(StructSizes))]
    public void StructSizeMatchesHeader(Type type, int size) => AbiAssert.Size(type, size);

    [Theory]
    [MemberData(nameof(FieldOffsets))]
    public void FieldOffsetMatchesHeader(Type type, string field, int offset) => AbiAssert.Offset(type, field, offset);

    [Fact]
    public void EveryStructAndFieldIsInTheTables() =>
        AbiAssert.TablesCover("Fuselage.Interop.Iomap", StructSizes, FieldOffsets);

    [Theory]
    [InlineData(FuseIomapOpcode.FreezeFs, 4089u)]
    [InlineData(FuseIomapOpcode.UnfreezeFs, 4090u)]
    [InlineData(FuseIomapOpcode.ShutdownFs, 4091u)]
    [InlineData(FuseIomapOpcode.IomapConfig, 4092u)]
    [InlineData(FuseIomapOpcode.IomapIoend, 4093u)]
    [InlineData(FuseIomapOpcode.IomapBegin, 4094u)]
    [InlineData(FuseIomapOpcode.IomapEnd, 4095u)]
    public void OpcodeNumberMatchesHeader(FuseIomapOpcode opcode, uint number) => Assert.Equal(number, (uint)opcode);

    [Fact]
    public void OpcodeEnumIsExactly4089To4095AndDisjointFromFuseOpcode()
    {
        Assert.Equal(Enumerable.Range(4089, 7).Select(n => (uint)n), Enum.GetValues<FuseIomapOpcode>().Select(o => (uint)o).Order());
        var classic = Enum.GetValues<FuseOpcode>().Select(o => (uint)o).ToHashSet();
        Assert.DoesNotContain(Enum.GetValues<FuseIomapOpcode>(), o => classic.Contains((uint)o));
    }

    [Fact]
    public void NotifyCodesMatchHeader()
    {
        AbiAssert.Enum<FuseIomapNotifyCode>(("DevInval", 99), ("UpsertMappings", 100), ("InvalMappings", 101));
        var classic = Enum.GetValues<FuseNotifyCode>().Select(c => (int)c).ToHashSet();
        Assert.DoesNotContain(Enum.GetValues<FuseIomapNotifyCode>(), c => classic.Contains((int)c));
    }

    [Fact]
    public void ProtocolConstantsMatchHeader()
    {
        Assert.Equal(99u, IomapProtocol.KernelMinorVersion);
        Assert.Equal(0x0000_0800_0000_0000UL, (ulong)IomapProtocol.InitFlag);
        Assert.Equal(0x800UL, (ulong)IomapProtocol.InitFlag >> 32);
        Assert.Equal(0u, IomapProtocol.DevNull);
        Assert.Equal(0xFFFF_FFFF_FFFF_FFFFUL, IomapProtocol.NullAddr);
        Assert.Equal(0xFFFF_FFFF_FFFF_FFFFUL, IomapProtocol.InvalToEof);
        Assert.Equal(1024u, IomapProtocol.MaxDeviceCookie);
        Assert.Equal(262144u, IomapProtocol.DefaultCacheMaxbytes);
        Assert.Equal(256u, IomapProtocol.MinCacheMaxbytes);
        Assert.Equal(2097152u, IomapProtocol.MaxCacheMaxbytes);
        Assert.Equal(96, IomapProtocol.ConfigOutSizeWithoutCacheMaxbytes);
        Assert.Equal((ushort)0xFF, (ushort)IomapProtocol.ServerMappingFlags);
        Assert.Equal(0x8000_0083u, (uint)IomapProtocol.WriteOps);
    }

    [Fact]
    public void IomapInitFlagIsNotPartOfFuseInitFlags()
    {
        // Nothing that ORs every FuseInitFlags member together can request iomap by accident.
        var all = Enum.GetValues<FuseInitFlags>().Aggregate(FuseInitFlags.None, (a, b) => a | b);
        Assert.Equal(FuseInitFlags.None, all & IomapProtocol.InitFlag);
        Assert.False(Enum.IsDefined(IomapProtocol.InitFlag));
    }

    [Fact]
    public void MappingTypesMatchHeader() => AbiAssert.Enum<FuseIomapType>(
        ("Hole", 0), ("Delalloc", 1), ("Mapped", 2), ("Unwritten", 3), ("Inline", 4),
        ("NoCache", 253), ("RetryCache", 254), ("PureOverwrite", 255));

    [Fact]
    public void MappingFlagsMatchHeader() => AbiAssert.Enum<FuseIomapMappingFlags>(
        ("None", 0), ("New", 0x1), ("Dirty", 0x2), ("Shared", 0x4), ("Merged", 0x8), ("Boundary", 0x10),
        ("AnonWrite", 0x20), ("AtomicBio", 0x40), ("WantIomapEnd", 0x80), ("SizeChanged", 0x100), ("Stale", 0x200));

    [Fact]
    public void OpFlagsMatchHeader() => AbiAssert.Enum<FuseIomapOpFlags>(
        ("None", 0), ("Write", 0x1), ("Zero", 0x2), ("Report", 0x4), ("Fault", 0x8), ("Direct", 0x10),
        ("NoWait", 0x20), ("OverwriteOnly", 0x40), ("Unshare", 0x80), ("Dax", 0x100), ("Atomic", 0x200),
        ("DontCache", 0x400), ("Swapfile", 0x4000_0000), ("Writeback", 0x8000_0000));

    [Fact]
    public void IoendFlagsMatchHeader() => AbiAssert.Enum<FuseIomapIoendFlags>(
        ("None", 0), ("Shared", 0x1), ("Unwritten", 0x2), ("Boundary", 0x4), ("Direct", 0x8),
        ("Append", 0x10), ("Writeback", 0x20), ("Swapoff", 0x40));

    [Fact]
    public void ConfigFlagsMatchHeader() => AbiAssert.Enum<FuseIomapConfigFlags>(
        ("None", 0), ("Sid", 0x1), ("Uuid", 0x2), ("Blocksize", 0x4), ("MaxLinks", 0x8), ("Time", 0x10),
        ("Maxbytes", 0x20), ("CacheMaxbytes", 0x40));

    [Fact]
    public void AttrFlagsMatchHeader()
    {
        AbiAssert.Enum<FuseIomapAttrFlags>(
            ("None", 0), ("Exclusive", 0x4), ("Iomap", 0x8), ("Atomic", 0x10), ("Sync", 0x20),
            ("Immutable", 0x40), ("Append", 0x80));
        // The iomap bits sit above the 7.45 fuse_attr.flags bits.
        var classic = Enum.GetValues<FuseAttrFlags>().Aggregate(0u, (a, b) => a | (uint)b);
        var iomap = Enum.GetValues<FuseIomapAttrFlags>().Aggregate(0u, (a, b) => a | (uint)b);
        Assert.Equal(0u, classic & iomap);
    }

    [Fact]
    public void SupportFlagsMatchHeader() => AbiAssert.Enum<FuseIomapSupportFlags>(("None", 0), ("FileIo", 1), ("Atomic", 2));

    [Fact]
    public void BackingTypesMatchHeader()
    {
        AbiAssert.Enum<FuseBackingType>(("Passthrough", 0), ("Iomap", 1));
        Assert.Equal(0xFFu, FuseBackingTypeBits.Mask);
        Assert.Equal(1u, FuseBackingTypeBits.MaxType);
    }

    [Fact]
    public void DeviceIoctlNumbersMatchHeader()
    {
        Assert.Equal(0x8010E563u, IomapDeviceIoctl.IomapSupport);
        Assert.Equal(0x4004E564u, IomapDeviceIoctl.SetNofs);
        Assert.Equal(0x0000E565u, IomapDeviceIoctl.AddIomap);
        Assert.Equal(0x4008E566u, IomapDeviceIoctl.IomapSetBlocksize);
    }
}
