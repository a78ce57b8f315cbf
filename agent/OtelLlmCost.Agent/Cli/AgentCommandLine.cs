using System.CommandLine;

namespace OtelLlmCost.Agent.Cli;

/// <summary>The <c>otel-llm-cost</c> command tree. <c>serve</c> runs when no command is given.</summary>
internal static class AgentCommandLine
{
    public static RootCommand Create()
    {
        var root = new RootCommand(
            "OtelLlmCost: an OpenTelemetry-native LLM cost ledger. Point your OTLP exporter at it; query the ledger with SQL.");
        root.Subcommands.Add(ServeCommand.Create());
        root.Subcommands.Add(QueryCommand.Create());
        root.Subcommands.Add(PricesCommand.Create());
        root.Subcommands.Add(RepriceCommand.Create());
        root.Subcommands.Add(ReattributeCommand.Create());
        root.Subcommands.Add(ReportCommand.Create());
        root.Subcommands.Add(ExportCommand.Create());
        root.Subcommands.Add(RollupsCommand.Create());
        root.Subcommands.Add(DetectCommand.Create());
        root.Subcommands.Add(ReconcileCommand.Create());
        root.Subcommands.Add(Demo.DemoCommand.Create());
        root.Subcommands.Add(AdHocWorker.Create());
        return root;
    }

    public static async Task<int> RunAsync(string[] args, TextWriter? output = null, TextWriter? error = null)
    {
        if (args.Length == 0)
        {
            args = ["serve"];
        }

        var configuration = new InvocationConfiguration();
        if (output is not null)
        {
            configuration.Output = output;
        }

        if (error is not null)
        {
            configuration.Error = error;
        }

        var parseResult = Create().Parse(args);
        if (!AsksForHelp(parseResult) && CommandLineErrors.Describe(parseResult) is { } problem)
        {
            await configuration.Error.WriteLineAsync(problem);
            return 1;
        }

        return await parseResult.InvokeAsync(configuration);
    }

    /// <summary><c>--help</c> (or <c>--version</c>) wins over errors elsewhere on the line, as the parser itself would have it.</summary>
    private static bool AsksForHelp(ParseResult parseResult) =>
        parseResult.Action is System.CommandLine.Help.HelpAction
        || parseResult.RootCommandResult.Command.Options.OfType<VersionOption>().Any(version => version.Action == parseResult.Action);
}
