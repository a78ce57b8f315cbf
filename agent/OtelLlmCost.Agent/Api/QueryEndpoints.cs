using System.Text.Json;
using OtelLlmCost.Agent.Cli;
using OtelLlmCost.Analytics.AdHoc;
using OtelLlmCost.Analytics.Store;

namespace OtelLlmCost.Agent.Api;

/// <summary>
/// <c>POST /api/v1/query</c>: ad-hoc read-only SQL on the ledger (issue 6). Body
/// <c>{"sql": "...", "limit": 1000, "timeout_ms": 10000}</c>; answer
/// <c>{"columns": [{"name", "type"}], "rows": [[...]], "row_count", "truncated", "truncated_by", "elapsed_ms"}</c> with decimals
/// exact (never through double) and timestamps ISO 8601 UTC. Every refusal is a 400 with
/// <c>{"error": "...", "code": "..."}</c> (a 422 <c>too_much_memory</c> when the agent's memory grew past
/// <c>Agent:AdHocQueryMemoryBytes</c> while the query ran); at most <see cref="MaxConcurrentQueries"/> run at once (429 beyond), so
/// analysts cannot starve ingest of its two cores.
/// </summary>
internal static class QueryEndpoints
{
    public const string Path = "/query";

    public const int MaxConcurrentQueries = 2;

    private static readonly SemaphoreSlim Slots = new(MaxConcurrentQueries, MaxConcurrentQueries);

    public static void Map(RouteGroupBuilder api)
    {
        ArgumentNullException.ThrowIfNull(api);
        api.MapPost(Path, RunAsync);
    }

    private static async Task RunAsync(HttpContext context, LedgerStore store, Hosting.AgentOptions options)
    {
        AdHocQuery query;
        try
        {
            query = await ReadQueryAsync(context.Request);
        }
        catch (AdHocQueryException exception)
        {
            await WriteErrorAsync(context.Response, StatusCodes.Status400BadRequest, exception.Message, exception.Code);
            return;
        }

        if (!await Slots.WaitAsync(TimeSpan.Zero, context.RequestAborted))
        {
            context.Response.Headers.RetryAfter = "1";
            await WriteErrorAsync(context.Response, StatusCodes.Status429TooManyRequests,
                $"{MaxConcurrentQueries} ad-hoc queries are already running; retry shortly.", "busy");
            return;
        }

        try
        {
            if (options.AdHocQueriesInProcess)
            {
                await RunInProcessAsync(context, store, options, query);
            }
            else
            {
                await RunInWorkerAsync(context, store, options, query);
            }
        }
        catch (AdHocQueryException exception)
        {
            // Too much memory is the query's doing, not the request's form: 422, and not worth retrying as it is.
            var status = exception.Refusal == AdHocRefusal.TooMuchMemory ? StatusCodes.Status422UnprocessableEntity : StatusCodes.Status400BadRequest;
            await WriteErrorAsync(context.Response, status, exception.Message, exception.Code);
        }
        finally
        {
            Slots.Release();
        }
    }

    /// <summary>The default: the query runs in a child process over the lake, and its answer is passed on as it is.</summary>
    private static Task RunInWorkerAsync(HttpContext context, LedgerStore store, Hosting.AgentOptions options, AdHocQuery query)
    {
        var request = new AdHocWorker.Request(query.Sql, query.RowLimit, query.Timeout is { } timeout ? (int)timeout.TotalMilliseconds : null,
            options.AdHocQueryMemoryBytes, Lake: options.Lake.FullPath(options.DataDirectory), Tables: LakeTables(store));
        return AdHocWorker.RunAsync(request, async (status, body) =>
        {
            context.Response.StatusCode = status;
            context.Response.ContentType = "application/json; charset=utf-8";
            await body.CopyToAsync(context.Response.Body, context.RequestAborted);
        }, context.RequestAborted);
    }

    /// <summary>
    /// The lake's tables as this agent's ledger maps them (two DESCRIBEs, a few milliseconds), read per query so that the
    /// API answers 503 like every other while the ledger is being reopened.
    /// </summary>
    private static IReadOnlyList<AdHocLakeTable> LakeTables(LedgerStore store)
    {
        using var connection = store.Connect();
        return AdHocLake.Describe(connection);
    }

    /// <summary><c>Agent:AdHocQueriesInProcess</c>: the live ledger, in the agent's own process (a query can end it).</summary>
    private static async Task RunInProcessAsync(HttpContext context, LedgerStore store, Hosting.AgentOptions options, AdHocQuery query)
    {
        // DuckDB blocks the calling thread for the whole query; keep it off the request thread.
        var limits = new AdHocQueryOptions { MaxMemoryGrowthBytes = options.AdHocQueryMemoryBytes };
        var result = await Task.Run(() => new AdHocQueryRunner(store.Database, limits).Run(query, context.RequestAborted), context.RequestAborted);
        context.Response.ContentType = "application/json; charset=utf-8";
        await using var json = new Utf8JsonWriter(context.Response.Body);
        WriteResult(json, result);
        await json.FlushAsync(context.RequestAborted);
    }

    /// <summary>The answer's JSON for a result (also what the ad-hoc worker writes).</summary>
    internal static void WriteResult(Utf8JsonWriter json, AdHocResult result)
    {
        ArgumentNullException.ThrowIfNull(json);
        ArgumentNullException.ThrowIfNull(result);
        json.WriteStartObject();
        json.WriteStartArray("columns");
        foreach (var column in result.Columns)
        {
            json.WriteStartObject();
            json.WriteString("name", column.Name);
            json.WriteString("type", column.Type);
            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteStartArray("rows");
        foreach (var row in result.Rows)
        {
            json.WriteStartArray();
            foreach (var value in row)
            {
                ResultWriter.WriteJsonValue(json, value);
            }

            json.WriteEndArray();
        }

        json.WriteEndArray();
        json.WriteNumber("row_count", result.Rows.Count);
        json.WriteBoolean("truncated", result.Truncated);
        if (result.Truncation is { } truncation)
        {
            json.WriteString("truncated_by", truncation == AdHocTruncation.ByteLimit ? "byte_limit" : "row_limit");
        }

        json.WriteNumber("elapsed_ms", Math.Round(result.Elapsed.TotalMilliseconds, 3));
        json.WriteEndObject();
    }

    private static async Task<AdHocQuery> ReadQueryAsync(HttpRequest request)
    {
        if (!request.HasJsonContentType())
        {
            throw new AdHocQueryException(AdHocRefusal.InvalidRequest,
                "Send the query as JSON (Content-Type: application/json): {\"sql\": \"SELECT ...\", \"limit\": 1000}.");
        }

        QueryBody body;
        try
        {
            body = await ApiRequestJson.ReadAsync<QueryBody>(request, "{\"sql\": \"SELECT ...\", \"limit\": a whole number of rows, \"timeout_ms\": a whole number}");
        }
        catch (ApiRequestException exception)
        {
            throw new AdHocQueryException(AdHocRefusal.InvalidRequest, exception.Message);
        }

        if (body.Sql is null)
        {
            throw new AdHocQueryException(AdHocRefusal.InvalidRequest, "The body needs a string property \"sql\".");
        }

        return new AdHocQuery(body.Sql, body.Limit, body.TimeoutMs is { } milliseconds ? TimeSpan.FromMilliseconds(milliseconds) : null);
    }

    private sealed record QueryBody(string? Sql, int? Limit, int? TimeoutMs);

    internal static Task WriteErrorAsync(HttpResponse response, int status, string message, string code)
    {
        response.StatusCode = status;
        response.ContentType = "application/json; charset=utf-8";
        return response.WriteAsync(JsonSerializer.Serialize(new Dictionary<string, string> { ["error"] = message, ["code"] = code }));
    }
}
