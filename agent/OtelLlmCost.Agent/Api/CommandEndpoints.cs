using System.Text.Json;
using OtelLlmCost.Agent.Cli;
using OtelLlmCost.Analytics.Store;

namespace OtelLlmCost.Agent.Api;

/// <summary>
/// <c>POST /api/v1/commands</c> <c>{"args": ["report", "chargeback", "--by", "team", "--period", "2026-10"]}</c>: runs an
/// offline CLI command (<see cref="AgentRelay.Commands"/>) against the live ledger and answers
/// <c>{"exit_code", "stdout", "stderr", "output_folder"}</c>, exactly what the same command prints on the ledger file.
/// Input files come in the request (<c>"files": {"@relay-file-0": {"name", "content_base64"}}</c>); <c>--out @relay-out</c>
/// writes into the agent's staging folder, named in <c>output_folder</c>. This is how the CLI reads a data directory
/// whose ledger a running agent holds (<see cref="AgentRelay"/>). A relayed <c>prices update --apply</c> swaps the agent's
/// live catalog (<see cref="PriceUpdates.PriceUpdater"/>).
/// </summary>
internal static class CommandEndpoints
{
    public static void Map(RouteGroupBuilder api) => api.MapPost("/commands", Run);

    private static async Task<IResult> Run(HttpRequest request, LedgerStore store, CancellationToken cancellationToken)
    {
        AgentRelay.RelayRequest? body;
        try
        {
            body = await JsonSerializer.DeserializeAsync<AgentRelay.RelayRequest>(request.Body, cancellationToken: cancellationToken);
        }
        catch (JsonException exception)
        {
            return ReportEndpoints.Error($"The body must be {{\"args\": [\"report\", ...]}}: {exception.Message}");
        }

        if (body?.Args is not { Count: > 0 } args || !AgentRelay.IsRelayed(args))
        {
            return ReportEndpoints.Error($"args must start with one of: {string.Join(", ", AgentRelay.Commands)}.");
        }

        if (args.Any(arg => arg is null || arg.Contains('\0', StringComparison.Ordinal)))
        {
            return ReportEndpoints.Error("args must be strings without NUL characters.");
        }

        // The commands run DuckDB work synchronously: on a thread of their own, not on a pool thread.
        try
        {
            var result = await Task.Factory.StartNew(() => AgentRelay.RunInAgent(body, store, request.HttpContext.RequestServices), cancellationToken,
                TaskCreationOptions.LongRunning, TaskScheduler.Default);
            return Results.Json(result);
        }
        catch (FormatException exception)
        {
            return ReportEndpoints.Error(exception.Message);
        }
    }
}
