using BenchmarkDotNet.Running;

// Each benchmark is a class in this assembly; pick one with --filter, e.g.
//   dotnet run -c Release --project tests/OtelLlmCost.Benchmarks -- --filter '*Appender*'
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
