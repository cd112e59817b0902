using BenchmarkDotNet.Running;
using Fuselage.Bench.E2e;

// `e2e [--quick]` runs the end-to-end comparison; anything else goes to BenchmarkDotNet (the micro suites).
if (args.Length > 0 && args[0] == "e2e")
    return Runner.Run(args[1..]);

BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
return 0;
