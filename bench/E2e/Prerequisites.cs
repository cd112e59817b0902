using System.IO.Compression;

namespace Fuselage.Bench.E2e;

/// <summary>
/// Everything the comparison needs that is not in the repo: fio and libfuse from Debian, libfuse's
/// passthrough_ll example compiled as Debian ships it, and a Release build of the fuselage command.
/// </summary>
public static class Prerequisites
{
    private const string ExamplesDirectory = "/usr/share/doc/libfuse3-dev/examples";

    /// <summary>Installs what is missing with apt-get; refreshes the package lists only when an install needs it.</summary>
    public static void InstallPackages(Action<string> progress) => InstallMissing(progress,
        ("fio", Shell.CommandExists("fio")), Gcc, PkgConfig,
        ("libfuse3-dev", LibfuseDev.Present && Directory.Exists(ExamplesDirectory)));

    // The Debian packages the bench builds with, and whether each is installed.
    public static (string Package, bool Present) Gcc => ("gcc", Shell.CommandExists("gcc"));
    public static (string Package, bool Present) PkgConfig => ("pkg-config", Shell.CommandExists("pkg-config"));
    public static (string Package, bool Present) LibfuseDev => ("libfuse3-dev", File.Exists("/usr/include/fuse3/fuse_lowlevel.h"));
    public static (string Package, bool Present) LiburingDev => ("liburing-dev", File.Exists("/usr/include/liburing.h"));

    /// <summary>Installs with apt-get the Debian packages not <c>Present</c>; refreshes the package lists only when an install needs it.</summary>
    public static void InstallMissing(Action<string> progress, params (string Package, bool Present)[] packages)
    {
        var missing = packages.Where(p => !p.Present).Select(p => p.Package).ToList();
        if (missing.Count == 0) { progress($"packages: {string.Join(", ", packages.Select(p => p.Package))} are installed"); return; }

        progress($"packages: installing {string.Join(' ', missing)}");
        var install = Shell.Run("apt-get", ["install", "-y", "-q", .. missing], TimeSpan.FromMinutes(10));
        if (!install.Ok)
        {
            // Usually a machine whose package lists were never fetched.
            progress("packages: apt-get update");
            Shell.Check("apt-get", "update", "-q");
            install = Shell.Run("apt-get", ["install", "-y", "-q", .. missing], TimeSpan.FromMinutes(10));
        }
        if (!install.Ok) throw new InvalidOperationException($"apt-get install {string.Join(' ', missing)} failed: {Shell.Tail(install.Stderr)}");
    }

    /// <summary>Compiles passthrough_ll.c (and its helper header) from Debian's examples into <paramref name="buildDirectory"/>.</summary>
    public static string BuildPassthroughLl(string buildDirectory, Action<string> progress)
    {
        Directory.CreateDirectory(buildDirectory);
        string binary = Path.Combine(buildDirectory, "passthrough_ll");
        string source = Path.Combine(buildDirectory, "passthrough_ll.c");
        foreach (var name in new[] { "passthrough_ll.c", "passthrough_helpers.h" })
            CopyExample(name, Path.Combine(buildDirectory, name));
        if (!File.Exists(source)) throw new FileNotFoundException($"passthrough_ll.c is not in {ExamplesDirectory}");

        var flags = Shell.Check("pkg-config", "--cflags", "--libs", "fuse3").Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        progress($"libfuse: gcc -O2 passthrough_ll.c $(pkg-config --cflags --libs fuse3) (libfuse {Shell.Check("pkg-config", "--modversion", "fuse3").Trim()})");
        Shell.Check("gcc", ["-O2", "-Wall", "-o", binary, source, .. flags]);
        return binary;
    }

    /// <summary>Debian may ship an example plain or gzip'ed; a missing helper header is fine (older examples inline it).</summary>
    private static void CopyExample(string name, string destination)
    {
        string plain = Path.Combine(ExamplesDirectory, name);
        if (File.Exists(plain)) { File.Copy(plain, destination, overwrite: true); return; }
        string gzipped = plain + ".gz";
        if (!File.Exists(gzipped)) return;
        using var input = new GZipStream(File.OpenRead(gzipped), CompressionMode.Decompress);
        using var output = File.Create(destination);
        input.CopyTo(output);
    }

    /// <summary>Builds the samples (the fuselage command) in Release once and returns the path of fuselage.dll.</summary>
    public static string BuildFuselage(string repoRoot, Action<string> progress)
    {
        progress("fuselage: dotnet build -c Release samples");
        var r = Shell.Run("dotnet", ["build", "-c", "Release", "samples", "-nologo", "-v", "q"], TimeSpan.FromMinutes(10), repoRoot);
        if (!r.Ok) throw new InvalidOperationException($"building samples failed: {Shell.Tail(r.Stdout + r.Stderr, 10)}");
        string dll = Path.Combine(repoRoot, "samples", "bin", "Release", "net10.0", "fuselage.dll");
        return File.Exists(dll) ? dll : throw new FileNotFoundException("fuselage.dll was not built", dll);
    }
}
