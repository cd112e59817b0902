using Fuselage.Transport;

namespace Fuselage.Tests;

/// <summary>Sets the kernel's enable_uring for a test and restores what it found (CI starts from N).</summary>
internal sealed class UringSwitch : IDisposable
{
    private readonly string? _before;

    public UringSwitch(bool enabled)
    {
        if (!File.Exists(UringSupport.ParameterPath)) return;
        _before = File.ReadAllText(UringSupport.ParameterPath).Trim();
        File.WriteAllText(UringSupport.ParameterPath, enabled ? "Y" : "N");
    }

    public static bool Available => File.Exists(UringSupport.ParameterPath);

    public void Dispose()
    {
        if (_before is not null) File.WriteAllText(UringSupport.ParameterPath, _before);
    }
}
