using BenchmarkDotNet.Running;

if (args.Length > 0 && args[0] == "e2e")
{
    Console.Error.WriteLine("e2e runner not built yet");
    return 2;
}

BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
return 0;
