using Fuselage.Interop.Fuse;

namespace Fuselage;

/// <summary>
/// INIT negotiation, as the filesystem sees it in <see cref="FileSystem.Init"/>: what the kernel offered,
/// what the filesystem asks for, and (after negotiation) what was granted and why anything was refused.
/// </summary>
public sealed class FuseConnection
{
    /// <summary>Largest WRITE/READ payload the engine serves (256 pages, the kernel's fs.fuse.max_pages_limit default).</summary>
    public const uint MaxTransferLimit = 1024 * 1024;
    public const uint PageSize = 4096;
    /// <summary>
    /// What a request or a reply may carry whatever max_write says, and so the least room a buffer needs: 32 pages,
    /// the kernel's max_pages for READs when MAX_PAGES is not granted, which also holds an xattr value or list
    /// (XATTR_SIZE_MAX, XATTR_LIST_MAX: 64 KiB).
    /// </summary>
    public const uint MinTransferRoom = 32 * PageSize;
    public const uint OurMinor = 45;

    private readonly List<string> _refusals = [];

    public FuseConnection(uint kernelMajor, uint kernelMinor, FuseInitFlags offered, uint kernelMaxReadahead)
    {
        KernelMajor = kernelMajor;
        KernelMinor = kernelMinor;
        Offered = offered;
        MaxReadahead = kernelMaxReadahead;
    }

    public uint KernelMajor { get; }
    public uint KernelMinor { get; }
    /// <summary>Capabilities the kernel offered in its INIT request.</summary>
    public FuseInitFlags Offered { get; }

    /// <summary>Capabilities the filesystem wants; the engine fills sensible defaults before <see cref="FileSystem.Init"/>.</summary>
    public FuseInitFlags Requested { get; set; }

    /// <summary>What the INIT reply grants (filled by negotiation).</summary>
    public FuseInitFlags Granted { get; private set; }

    /// <summary>Requested capabilities that were not granted, each with its reason.</summary>
    public IReadOnlyList<string> Refusals => _refusals;

    public uint MaxWrite { get; set; } = MaxTransferLimit;
    public uint MaxReadahead { get; set; }
    /// <summary>
    /// Background requests (readahead, async direct I/O, writeback) the kernel keeps in flight. Its default of 12
    /// caps an O_DIRECT reader at queue depth 12 whatever the filesystem could do; 64 lets deep queues through.
    /// </summary>
    public ushort MaxBackground { get; set; } = 64;
    public ushort CongestionThreshold { get; set; } = 48;
    /// <summary>Timestamp granularity in nanoseconds.</summary>
    public uint TimeGranularity { get; set; } = 1;
    /// <summary>Seconds after which the kernel aborts an unanswered request (0: none).</summary>
    public ushort RequestTimeout { get; set; }

    public uint NegotiatedMinor => Math.Min(KernelMinor, OurMinor);

    /// <summary>Flags the engine itself cannot honour, with the reason.</summary>
    private static string? EngineRefuses(FuseInitFlags flag, CoherencyPolicy policy, bool uringTransport) => policy.RefusalOf(flag) ?? flag switch
    {
        FuseInitFlags.SecurityCtx or FuseInitFlags.CreateSuppGroup => "create-request extensions are not parsed by this engine",
        FuseInitFlags.HasInodeDax or FuseInitFlags.MapAlignment => "DAX is a virtiofs feature; /dev/fuse mounts have no DAX window",
        FuseInitFlags.Submounts => "submounts are a virtiofs feature",
        FuseInitFlags.OverIoUring when !uringTransport => "FUSE-over-io_uring needs --transport uring",
        _ => null,
    };

    /// <summary>Intersects requested with offered and with what the engine supports; fills <see cref="Granted"/> and <see cref="Refusals"/>.
    /// <paramref name="defaultPermissions"/>: the mount has the default_permissions option.</summary>
    internal void Negotiate(CoherencyPolicy policy, bool uringTransport, bool defaultPermissions = false)
    {
        var wanted = Requested | policy.RequiredInitFlags;
        var granted = FuseInitFlags.None;
        for (int bit = 0; bit < 64; bit++)
        {
            var flag = (FuseInitFlags)(1UL << bit);
            if ((wanted & flag) == 0) continue;
            if (flag is FuseInitFlags.InitExt or FuseInitFlags.BigWrites) { granted |= flag; continue; }
            string? reason = EngineRefuses(flag, policy, uringTransport)
                ?? ((Offered & flag) == 0 ? "the kernel did not offer it" : null);
            // The kernel fails the whole connection (process_init_reply: ok = false) when the reply has ALLOW_IDMAP and
            // default_permissions is off; POSIX_ACL (bit 20, decided before this one) turns it on.
            if (reason is null && flag == FuseInitFlags.AllowIdmap && !defaultPermissions && (granted & FuseInitFlags.PosixAcl) == 0)
                reason = "idmapped mounts need the default_permissions mount option (or POSIX ACLs); the kernel would refuse the connection";
            if (reason is null) granted |= flag;
            else _refusals.Add($"{flag}: {reason}");
        }
        if ((granted & FuseInitFlags.MaxPages) == 0 && MaxWrite > 32 * PageSize) MaxWrite = 32 * PageSize;
        MaxWrite = Math.Clamp(MaxWrite, PageSize, MaxTransferLimit);
        if ((ulong)granted >> 32 != 0) granted |= FuseInitFlags.InitExt;
        if ((granted & FuseInitFlags.RequestTimeout) == 0) RequestTimeout = 0;
        Granted = granted;
    }

    /// <summary>The reply to the kernel's INIT.</summary>
    internal FuseInitOut BuildReply()
    {
        return new FuseInitOut
        {
            Major = 7,
            Minor = OurMinor,
            MaxReadahead = MaxReadahead,
            Flags = (uint)(ulong)Granted,
            Flags2 = (uint)((ulong)Granted >> 32),
            MaxBackground = MaxBackground,
            CongestionThreshold = CongestionThreshold,
            MaxWrite = MaxWrite,
            TimeGran = TimeGranularity,
            MaxPages = (ushort)((MaxWrite + PageSize - 1) / PageSize),
            RequestTimeout = RequestTimeout,
            // Backing files are plain files of the server's (no FUSE-on-FUSE stacking below them).
            MaxStackDepth = (Granted & FuseInitFlags.Passthrough) != 0 ? 1u : 0u,
        };
    }
}
