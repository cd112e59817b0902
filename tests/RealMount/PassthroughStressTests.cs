using Fuselage.Samples;

namespace Fuselage.Tests.RealMount;

/// <summary>
/// The passthrough scenarios many times over, several mounts at once: the races that showed up only under the
/// full suite's load (EIO after renames, a dd writer failing) show up here within a few rounds.
/// </summary>
[Collection("real mounts")]
public class PassthroughStressTests
{
    [Theory]
    [InlineData(TransportKind.Ring)]
    [InlineData(TransportKind.Threads)]
    public void Scenarios_on_parallel_mounts_repeatedly_match_native(TransportKind transport)
    {
        const int Rounds = 6, Mounts = 3;
        var failures = new System.Collections.Concurrent.ConcurrentQueue<string>();
        for (int round = 0; round < Rounds && failures.IsEmpty; round++)
        {
            Parallel.For(0, Mounts, new ParallelOptions { MaxDegreeOfParallelism = Mounts }, _ =>
            {
                foreach (var (name, run) in PosixScenarios.All)
                {
                    // Slow, and covered by the single-mount cases (one random sequence stays, for the mix of calls).
                    if (name == "big directory" || (name.StartsWith("random operations") && name != "random operations, seed 1")) continue;
                    string native = Directory.CreateTempSubdirectory("fuselage-native-").FullName;
                    string source = Directory.CreateTempSubdirectory("fuselage-src-").FullName;
                    try
                    {
                        using var m = new MountedFs(new PassthroughFs(source), transport, configure: o => o.Debug = true);
                        try
                        {
                            var expected = run(native);
                            var actual = m.Run(() => run(m.Root));
                            if (!expected.SequenceEqual(actual))
                                failures.Enqueue($"{name}: transcript differs\nnative: {string.Join(" | ", expected)}\nmount:  {string.Join(" | ", actual)}{m.FormatLog()}");
                        }
                        catch (Exception e) { failures.Enqueue($"{name}: {e.Message}"); }
                    }
                    finally
                    {
                        Directory.Delete(native, recursive: true);
                        Directory.Delete(source, recursive: true);
                    }
                }
            });
        }
        Assert.True(failures.IsEmpty, string.Join("\n\n", failures));
    }
}
