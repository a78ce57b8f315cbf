using System.CommandLine;
using OtelLlmCost.Agent.Hosting;
using OtelLlmCost.Analytics.Store.DuckDb;

namespace OtelLlmCost.Agent.Cli;

/// <summary><c>otel-llm-cost serve</c>: runs the agent until Ctrl+C or SIGTERM.</summary>
internal static class ServeCommand
{
    public static Command Create()
    {
        var dataDirectory = new Option<string?>("--data-dir") { Description = "Directory holding the ledger database (default ./data)." };
        CommonOptions.RejectFiles(dataDirectory);
        var grpc = new Option<string?>("--grpc") { Description = "HOST:PORT of the OTLP/gRPC receiver (default 127.0.0.1:4317; port 0 picks a free port)." };
        var http = new Option<string?>("--http") { Description = "HOST:PORT of the OTLP/HTTP receiver (default 127.0.0.1:4318)." };
        var api = new Option<string?>("--api") { Description = "HOST:PORT of the HTTP API: health, readiness, queries (default 127.0.0.1:4320)." };
        var config = new Option<string?>("--config") { Description = "A JSON configuration file (read after ./appsettings.json; OTELLLMCOST__* variables and flags override it)." };
        var command = new Command("serve", "Run the agent: receive OTLP traces, price every LLM call, keep the ledger (the default command).");
        foreach (var option in new Option[] { dataDirectory, grpc, http, api, config })
        {
            command.Options.Add(option);
        }

        command.SetAction(async (parseResult, _) =>
        {
            var error = parseResult.InvocationConfiguration.Error;
            AgentHost host;
            try
            {
                var configuration = AgentConfiguration.Build(parseResult.GetValue(config), new Dictionary<string, string?>
                {
                    ["Agent:DataDirectory"] = parseResult.GetValue(dataDirectory),
                    ["Agent:ApiEndpoint"] = parseResult.GetValue(api),
                    ["Otlp:GrpcEndpoint"] = parseResult.GetValue(grpc),
                    ["Otlp:HttpEndpoint"] = parseResult.GetValue(http),
                });
                host = AgentHost.Create(AgentConfiguration.Read(configuration));
            }
            catch (Exception exception) when (exception is DuckDbException or FormatException or ArgumentException
                or InvalidOperationException or IOException or InvalidDataException or System.Text.Json.JsonException)
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
                    // Kestrel reports a port already in use as an IOException at start.
                    await error.WriteLineAsync($"error: {exception.Message.Split('\n')[0]}");
                    return 1;
                }
            }

            return 0;
        });
        return command;
    }
}
