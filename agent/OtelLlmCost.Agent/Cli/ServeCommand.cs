using System.CommandLine;
using OtelLlmCost.Agent.Hosting;
using OtelLlmCost.Analytics.Store.DuckDb;

namespace OtelLlmCost.Agent.Cli;

/// <summary><c>otel-llm-cost serve</c>: runs the agent until Ctrl+C or SIGTERM.</summary>
internal static class ServeCommand
{
    public static Command Create()
    {
        var dataDirectory = CommonOptions.DataDirectory();
        var api = new Option<string>("--api")
        {
            Description = "HOST:PORT of the HTTP API (health, queries). Port 0 picks a free port.",
            DefaultValueFactory = _ => "127.0.0.1:4320",
        };
        var command = new Command("serve", "Run the agent: open the ledger and serve until stopped (the default command).");
        command.Options.Add(dataDirectory);
        command.Options.Add(api);
        command.SetAction(async (parseResult, _) =>
        {
            var options = new AgentOptions
            {
                DataDirectory = parseResult.GetValue(dataDirectory)!,
                ApiEndpoint = parseResult.GetValue(api)!,
            };
            var error = parseResult.InvocationConfiguration.Error;
            AgentHost host;
            try
            {
                host = AgentHost.Create(options);
            }
            catch (Exception exception) when (exception is DuckDbException or FormatException or ArgumentException or IOException)
            {
                await error.WriteLineAsync($"error: {exception.Message.Split('\n')[0]}");
                return 1;
            }

            await using (host)
            {
                try
                {
                    await host.RunAsync();
                }
                catch (IOException exception)
                {
                    await error.WriteLineAsync($"error: {exception.Message.Split('\n')[0]}");
                    return 1;
                }
            }

            return 0;
        });
        return command;
    }
}
