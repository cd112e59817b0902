using Fuselage.Interop.Fuse;

namespace Fuselage;

/// <summary>How the kernel caches file data and attributes. Exactly one per mount, declared up front.</summary>
public enum CacheMode
{
    /// <summary>The server owns every attribute; the kernel caches them for the policy's timeouts.</summary>
    Classic,
    /// <summary>Kernel write-back page cache: the kernel owns size/mtime/ctime while it holds dirty pages.</summary>
    WritebackCache,
    /// <summary>FUSE passthrough (backing files): the kernel does the I/O, the server owns attributes.</summary>
    Passthrough,
    /// <summary>iomap (exclusive): the kernel owns every attribute and pushes changes down with SETATTR.</summary>
    Iomap,
}

public enum AttributeOwner { Server, Kernel }

/// <summary>Where a file's data may change, which decides how the kernel keeps its page cache true.</summary>
public enum DataChanges
{
    /// <summary>
    /// Also outside this mount (a shared source, another client). The kernel asks for the attributes before it reads
    /// cached data and drops a file's cache when its mtime moved (AUTO_INVAL_DATA), after its own writes too: mixed
    /// reads and writes of one file cost a GETATTR per read (and a GETXATTR per write after it) and find no cache.
    /// </summary>
    Anywhere,
    /// <summary>
    /// Only through this mount, or the server tells the kernel (<c>Notify.InvalidateInode</c>): the kernel keeps a
    /// file's cache across its own writes and reads it without asking. Its cache still goes when a file's size changes
    /// under it (seen in attributes it fetched) and, unless the open keeps it (FOPEN_KEEP_CACHE), at every open.
    /// </summary>
    ThroughThisMount,
}

public enum FileAttribute { Size, Mtime, Ctime, Atime, Mode, Uid, Gid, Blocks }

/// <summary>
/// The one table that says who owns each attribute, and everything the engine derives from it: the INIT
/// flags a mode needs, the timeouts of every entry/attr reply, and which INIT flags a filesystem must not
/// request on its own (they would silently change ownership). No other code asks "is this writeback or iomap?".
/// </summary>
public sealed class CoherencyPolicy
{
    // Rows: FileAttribute; columns: CacheMode. Kernel ownership of size/mtime/ctime under write-back holds
    // while dirty pages exist; the server still answers GETATTR for the rest.
    private static readonly AttributeOwner[,] Owners = BuildOwners();

    public static CoherencyPolicy Classic { get; } = new(CacheMode.Classic, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1), TimeSpan.Zero);

    public CoherencyPolicy(CacheMode mode, TimeSpan attrTimeout, TimeSpan entryTimeout, TimeSpan negativeTimeout,
        DataChanges dataChanges = DataChanges.Anywhere)
    {
        if (attrTimeout < TimeSpan.Zero || entryTimeout < TimeSpan.Zero || negativeTimeout < TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(attrTimeout), "cache timeouts cannot be negative");
        Mode = mode;
        DataChanges = dataChanges;
        AttrTimeout = attrTimeout;
        EntryTimeout = entryTimeout;
        NegativeTimeout = negativeTimeout;
        (_attrSec, _attrNsec) = Split(attrTimeout);
        (_entrySec, _entryNsec) = Split(entryTimeout);
        (_negativeSec, _negativeNsec) = Split(negativeTimeout);
    }

    private readonly ulong _attrSec, _entrySec, _negativeSec;
    private readonly uint _attrNsec, _entryNsec, _negativeNsec;

    /// <summary>The same timeouts under another mode.</summary>
    public CoherencyPolicy WithMode(CacheMode mode) => new(mode, AttrTimeout, EntryTimeout, NegativeTimeout, DataChanges);

    /// <summary>The same policy, with data changing where <paramref name="dataChanges"/> says.</summary>
    public CoherencyPolicy WithDataChanges(DataChanges dataChanges) => new(Mode, AttrTimeout, EntryTimeout, NegativeTimeout, dataChanges);

    public CacheMode Mode { get; }
    public DataChanges DataChanges { get; }
    public TimeSpan AttrTimeout { get; }
    public TimeSpan EntryTimeout { get; }
    /// <summary>How long the kernel remembers that a name does not exist (a LOOKUP answered with NodeId 0).</summary>
    public TimeSpan NegativeTimeout { get; }

    public AttributeOwner OwnerOf(FileAttribute attribute) => Owners[(int)attribute, (int)Mode];

    /// <summary>INIT flags this mode, and where data changes, need from the kernel.</summary>
    public FuseInitFlags RequiredInitFlags => InitFlagsOf(Mode) | (DataChanges == DataChanges.Anywhere ? FuseInitFlags.AutoInvalData : 0);

    /// <summary>INIT flags that change who owns attributes: only a declared mode may turn them on.</summary>
    public static FuseInitFlags ModeInitFlags { get; } = Enum.GetValues<CacheMode>().Aggregate(FuseInitFlags.None, (all, m) => all | InitFlagsOf(m));

    private static FuseInitFlags InitFlagsOf(CacheMode mode) => mode switch
    {
        CacheMode.WritebackCache => FuseInitFlags.WritebackCache,
        CacheMode.Passthrough => FuseInitFlags.Passthrough,
        _ => FuseInitFlags.None,
    };

    /// <summary>Why a filesystem may not ask for <paramref name="flag"/> itself under this policy, or null.</summary>
    internal string? RefusalOf(FuseInitFlags flag)
    {
        if (flag == FuseInitFlags.AutoInvalData && DataChanges == DataChanges.ThroughThisMount)
            return "the policy declares DataChanges.ThroughThisMount, where the kernel keeps its cache across its own writes; declare DataChanges.Anywhere instead";
        if ((ModeInitFlags & flag) == 0 || (RequiredInitFlags & flag) != 0) return null;
        var mode = Enum.GetValues<CacheMode>().First(m => (InitFlagsOf(m) & flag) != 0);
        return $"it changes who owns file attributes: declare CacheMode.{mode} instead";
    }

    /// <summary>Why this mode cannot be served by this engine, or null.</summary>
    public string? Unsupported => Mode switch
    {
        CacheMode.Iomap => "iomap mode needs a kernel with the FUSE iomap extension (protocol minor 99); Linux 6.18 does not have it",
        _ => null,
    };

    internal void ApplyToEntry(ref FuseEntryOut entry)
    {
        if (entry.NodeId == 0)
        {
            entry.EntryValid = _negativeSec;
            entry.EntryValidNsec = _negativeNsec;
            entry.AttrValid = 0;
            entry.AttrValidNsec = 0;
            return;
        }
        entry.EntryValid = _entrySec;
        entry.EntryValidNsec = _entryNsec;
        entry.AttrValid = _attrSec;
        entry.AttrValidNsec = _attrNsec;
    }

    internal void ApplyToAttr(ref FuseAttrOut attr)
    {
        attr.AttrValid = _attrSec;
        attr.AttrValidNsec = _attrNsec;
    }

    private static (ulong, uint) Split(TimeSpan t) => ((ulong)(t.Ticks / TimeSpan.TicksPerSecond), (uint)(t.Ticks % TimeSpan.TicksPerSecond * 100));

    private static AttributeOwner[,] BuildOwners()
    {
        const AttributeOwner S = AttributeOwner.Server, K = AttributeOwner.Kernel;
        // columns: Classic, WritebackCache, Passthrough, Iomap
        return new AttributeOwner[,]
        {
            /* Size   */ { S, K, S, K },
            /* Mtime  */ { S, K, S, K },
            /* Ctime  */ { S, K, S, K },
            /* Atime  */ { S, S, S, K },
            /* Mode   */ { S, S, S, K },
            /* Uid    */ { S, S, S, K },
            /* Gid    */ { S, S, S, K },
            /* Blocks */ { S, S, S, K },
        };
    }
}
