using Fuselage.Samples;

namespace Fuselage.Tests.RealMount;

/// <summary>Real-mount tests that measure how busy a worker is: they run after every other collection, alone.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class RealMountsAloneCollection
{
    public const string Name = "real mounts, alone";
}

/// <summary>
/// The ring transport's second worker stays parked while the first one sleeps with its clients' file reads in the
/// kernel. Alone: tests of other collections running beside it keep the first worker's CPU busy, and a worker that
/// is kept from running while clients interleave does bring the second one in.
/// </summary>
[Collection(RealMountsAloneCollection.Name)]
public class RingReadersAloneTests
{
    [Fact]
    public async Task Two_clients_waiting_on_file_reads_are_served_by_the_first_worker()
    {
        // Two clients, one O_DIRECT read each at a time: the first worker keeps both reads in the kernel and sleeps
        // until one ends, so their requests interleave without ever waiting for it. A second reader would only take
        // about half of them to the other CPU.
        string source = Directory.CreateTempSubdirectory("fuselage-src-").FullName;
        try
        {
            const int FileBlocks = 1024;
            File.WriteAllBytes(Path.Combine(source, "data"), new byte[FileBlocks * 4096]);
            using var m = new MountedFs(new PassthroughFs(source), TransportKind.Ring, configure: o => o.Workers = 2);
            bool Client(int client, int reads)
            {
                int fd = Posix.Open(m.PathOf("data"), Posix.O_RDONLY | Posix.O_DIRECT);
                if (fd < 0) return false;
                var buffer = new byte[4096];
                var random = new Random(client);
                try
                {
                    for (int i = 0; i < reads; i++)
                        if (Posix.PRead(fd, buffer, random.Next(FileBlocks) * 4096L) != 4096) return false;
                    return true;
                }
                finally { Posix.Close(fd); }
            }
            async Task<(long First, long Second)> Window(int reads)
            {
                long before0 = RingReadersTests.Served(m, "ring/0"), before1 = RingReadersTests.Served(m, "ring/1");
                var clients = Enumerable.Range(0, 2).Select(c => Task.Factory.StartNew(() => Client(c, reads), CancellationToken.None,
                    TaskCreationOptions.LongRunning, TaskScheduler.Default)).ToArray();
                foreach (var c in clients) Assert.True(await c.WaitAsync(MountedFs.Watchdog), "a client's read failed");
                return (RingReadersTests.Served(m, "ring/0") - before0, RingReadersTests.Served(m, "ring/1") - before1);
            }
            await Window(200); // warm-up: compiling the paths keeps the first worker busy, and the second may start
            // Once the second worker has parked again it must stay parked; before, it took about half of every window.
            for (int window = 1; ; window++)
            {
                var (first, second) = await Window(500);
                if (second * 10 <= first) break;
                Assert.True(window < 8, $"the second worker still served {second} of {first + second} requests");
            }
        }
        finally { Directory.Delete(source, recursive: true); }
    }
}
