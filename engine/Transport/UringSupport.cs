namespace Fuselage.Transport;

/// <summary>The kernel's FUSE-over-io_uring switch. The engine reads it and never changes it.</summary>
public static class UringSupport
{
    public const string ParameterPath = "/sys/module/fuse/parameters/enable_uring";

    public static bool IsEnabled => File.Exists(ParameterPath) && File.ReadAllText(ParameterPath).Trim() is "Y" or "1";

    /// <summary>Fails before anything is mounted, naming the parameter and how to turn it on.</summary>
    public static void ThrowIfDisabled()
    {
        if (!File.Exists(ParameterPath))
            throw new NotSupportedException($"this kernel has no FUSE-over-io_uring ({ParameterPath} is missing; Linux 6.14+ with CONFIG_FUSE_IO_URING is needed)");
        if (!IsEnabled)
            throw new NotSupportedException($"FUSE-over-io_uring is off: {ParameterPath} is N. Turn it on as root with: echo Y > {ParameterPath}");
    }
}
