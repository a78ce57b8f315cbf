using OtelLlmCost.Load;
using OtelLlmCost.Load.Runs;

if (args.Contains("--help") || args.Contains("-h"))
{
    Console.WriteLine(LoadOptions.Usage);
    return 0;
}

LoadOptions options;
try
{
    options = LoadOptions.Parse(args);
}
catch (Exception exception) when (exception is ArgumentException or FormatException)
{
    Console.Error.WriteLine($"error: {exception.Message}");
    Console.Error.WriteLine(LoadOptions.Usage);
    return 64;
}

return options.Mode switch
{
    "crash" => await CrashRun.RunAsync(options),
    "ledger" => LedgerRun.Run(options),
    _ => await LoadRun.RunAsync(options),
};
