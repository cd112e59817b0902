using BenchmarkDotNet.Running;
using Fuselage.Bench.E2e;
using Fuselage.Bench.Micro;

// `e2e [--quick]` runs the end-to-end comparison; anything else goes to BenchmarkDotNet (the micro suites), after
// building the C peers they compare against (libfuse, liburing) for the child processes it starts.
if (args.Length > 0 && args[0] == "e2e")
    return Runner.Run(args[1..]);

if (!args.Contains("--list"))
    NativePeers.Use(NativePeers.Build(Path.Combine(Path.GetTempPath(), "fuselage-bench-peers"), Console.WriteLine));
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
return 0;
