using System.Diagnostics;

namespace Fuselage.Bench.E2e;

/// <summary>Runs external commands (apt-get, gcc, fio, mount) and reports failures with their output.</summary>
public static class Shell
{
    public sealed record Result(int ExitCode, string Stdout, string Stderr)
    {
        public bool Ok => ExitCode == 0;
    }

    /// <summary>Runs to completion and captures both streams.</summary>
    public static Result Run(string file, IEnumerable<string> args, TimeSpan? timeout = null, string? workingDirectory = null)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        if (workingDirectory is not null) psi.WorkingDirectory = workingDirectory;
        // apt-get must never stop to ask.
        psi.Environment["DEBIAN_FRONTEND"] = "noninteractive";
        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"cannot start {file}");
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeout ?? TimeSpan.FromMinutes(10)))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', args)} did not finish in time");
        }
        p.WaitForExit();
        return new Result(p.ExitCode, stdout.Result, stderr.Result);
    }

    public static Result Run(string file, params string[] args) => Run(file, (IEnumerable<string>)args);

    /// <summary>Runs and throws with the command's own words when it fails.</summary>
    public static string Check(string file, params string[] args)
    {
        var r = Run(file, args);
        if (!r.Ok) throw new InvalidOperationException($"{file} {string.Join(' ', args)} failed ({r.ExitCode}): {Tail(r.Stderr.Length > 0 ? r.Stderr : r.Stdout)}");
        return r.Stdout;
    }

    public static bool CommandExists(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin").Split(':').Any(dir => File.Exists(Path.Combine(dir, name)));

    public static string Tail(string text, int lines = 5) => string.Join(" | ", text.Trim().Split('\n').TakeLast(lines));
}
