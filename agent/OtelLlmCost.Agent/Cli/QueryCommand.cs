using System.CommandLine;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using OtelLlmCost.Agent.Hosting;
using OtelLlmCost.Analytics.AdHoc;
using OtelLlmCost.Analytics.Store;
using OtelLlmCost.Analytics.Store.DuckDb;

namespace OtelLlmCost.Agent.Cli;

/// <summary>
/// <c>otel-llm-cost query "SQL"</c>: runs one read-only query on the ledger and prints the result. When an agent is
/// running on the data directory (its <c>agent.json</c> names a live process) the query goes through the agent's
/// <c>POST /api/v1/query</c>, since the agent holds the file's lock; otherwise the file is opened read-only with file
/// access disabled. Both paths apply the same rules (one SELECT-like statement, row limit, timeout) and print the
/// same output. Exit 0 on success, 1 with a one-line reason on stderr otherwise.
/// </summary>
internal static class QueryCommand
{
    public const string AdminTokenVariable = "OTELLLMCOST__Agent__AdminToken";

    public static Command Create()
    {
        var dataDirectory = CommonOptions.DataDirectory();
        var format = CommonOptions.Format();
        var limit = new Option<int>("--limit")
        {
            Description = $"Print at most this many rows (1 to {AdHocQueryOptions.MaxRowLimit}).",
            DefaultValueFactory = _ => AdHocQueryOptions.DefaultRowLimit,
        };
        var timeout = new Option<double>("--timeout")
        {
            Description = "Stop the query after this many seconds.",
            DefaultValueFactory = _ => 10,
        };
        var adminToken = new Option<string?>("--admin-token")
        {
            Description = $"The running agent's admin token, if it has one (default: ${AdminTokenVariable}).",
            DefaultValueFactory = _ => Environment.GetEnvironmentVariable(AdminTokenVariable),
        };
        var sql = new Argument<string>("sql") { Description = "The SQL to run, e.g. \"SELECT model, sum(cost_usd) FROM llm_calls GROUP BY ALL\"." };
        var command = new Command("query", "Run read-only SQL on the ledger (through the running agent, or on the file) and print the result.");
        foreach (var option in new Option[] { dataDirectory, format, limit, timeout, adminToken })
        {
            command.Options.Add(option);
        }

        command.Arguments.Add(sql);
        command.SetAction((parseResult, cancellationToken) => RunAsync(
            parseResult.GetValue(dataDirectory)!,
            new AdHocQuery(parseResult.GetValue(sql)!, parseResult.GetValue(limit), TimeSpan.FromSeconds(parseResult.GetValue(timeout))),
            parseResult.GetValue(format),
            parseResult.GetValue(adminToken),
            parseResult.InvocationConfiguration.Output,
            parseResult.InvocationConfiguration.Error,
            cancellationToken));
        return command;
    }

    internal static async Task<int> RunAsync(string dataDirectory, AdHocQuery query, OutputFormat format, string? adminToken,
        TextWriter output, TextWriter error, CancellationToken cancellationToken = default)
    {
        try
        {
            AdHocResult? result = null;
            if (RunningAgent.Find(dataDirectory) is { } api)
            {
                result = await RunningAgent.QueryAsync(api, query, adminToken, cancellationToken);
            }

            result ??= await RunOnFileAsync(dataDirectory, query, cancellationToken);
            ResultWriter.Write(result, format, output);
            if (result.Truncation == AdHocTruncation.ByteLimit)
            {
                error.WriteLine($"note: only the first {result.Rows.Count} rows are shown; the result reached the byte limit ({AdHocQueryOptions.DefaultMaxResultBytes / (1024 * 1024)} MiB), select fewer or narrower columns.");
            }
            else if (result.Truncated)
            {
                error.WriteLine($"note: only the first {result.Rows.Count} rows are shown; raise --limit (at most {AdHocQueryOptions.MaxRowLimit}) for more.");
            }

            return 0;
        }
        catch (AdHocQueryException exception)
        {
            error.WriteLine($"error: {exception.Message}{MissingLedgerHint(LedgerStore.FilePathIn(dataDirectory), exception.Message)}");
            return 1;
        }
        catch (DuckDbException exception)
        {
            error.WriteLine($"error: {OneLine(exception.Message)}{MissingLedgerHint(LedgerStore.FilePathIn(dataDirectory), exception.Message)}");
            return 1;
        }
    }

    /// <summary>
    /// No agent runs: the query runs on the ledger file (read-only, live) in a child process of its own
    /// (<see cref="AdHocWorker"/>), so a query that takes all memory or crashes DuckDB ends that process, not this one.
    /// A query needs no ledger when it reads no table (<c>SELECT 42</c>); the worker uses an empty database then.
    /// </summary>
    private static Task<AdHocResult> RunOnFileAsync(string dataDirectory, AdHocQuery query, CancellationToken cancellationToken) =>
        AdHocWorker.QueryAsync(new AdHocWorker.Request(query.Sql, query.RowLimit,
            query.Timeout is { } timeout ? (int)Math.Ceiling(timeout.TotalMilliseconds) : null,
            AdHocQueryOptions.DefaultMaxMemoryGrowthBytes, Ledger: LedgerStore.FilePathIn(dataDirectory)), cancellationToken);

    private static string MissingLedgerHint(string filePath, string message)
    {
        if (!File.Exists(filePath) && message.Contains("Table with name", StringComparison.Ordinal))
        {
            return $" (no ledger at {filePath}; run 'otel-llm-cost serve' or pass --data-dir)";
        }

        return message.Contains("Conflicting lock", StringComparison.Ordinal)
            ? " (a running agent holds this ledger; stop it to query the file directly)"
            : "";
    }

    private static string OneLine(string message)
    {
        var firstLine = message.Split('\n', 2)[0].Trim();
        return firstLine.Length > 0 ? firstLine : message.Trim();
    }

    /// <summary>Finds and talks to an agent running on a data directory.</summary>
    internal static class RunningAgent
    {
        /// <summary>The API address from <c>agent.json</c> when the process it names is alive; null otherwise.</summary>
        public static Uri? Find(string dataDirectory) =>
            AgentAddressFile.TryReadLive(dataDirectory) is { } agent && Uri.TryCreate(agent.Api, UriKind.Absolute, out var api) ? api : null;

        /// <summary>Runs the query on the agent; null when the agent cannot be reached (it stopped meanwhile).</summary>
        public static async Task<AdHocResult?> QueryAsync(Uri api, AdHocQuery query, string? adminToken, CancellationToken cancellationToken)
        {
            using var client = new HttpClient { BaseAddress = api, Timeout = (query.Timeout ?? TimeSpan.FromSeconds(10)) + TimeSpan.FromSeconds(30) };
            using var request = new HttpRequestMessage(HttpMethod.Post, "api/v1/query")
            {
                Content = new StringContent(RequestBody(query), Encoding.UTF8, "application/json"),
            };
            if (!string.IsNullOrEmpty(adminToken))
            {
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", adminToken);
            }

            HttpResponseMessage response;
            try
            {
                response = await client.SendAsync(request, cancellationToken);
            }
            catch (HttpRequestException exception) when (UntrustedCertificate(exception, api) is { } untrusted)
            {
                // Not "the agent stopped": falling back to the file would only report the agent's lock on it.
                throw new AdHocQueryException(AdHocRefusal.Rejected, untrusted);
            }
            catch (HttpRequestException)
            {
                return null;
            }

            using (response)
            {
                var body = await response.Content.ReadAsStringAsync(cancellationToken);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return ParseResult(body);
                }

                var message = ErrorMessage(body) ?? $"the agent at {api} answered {(int)response.StatusCode} {response.ReasonPhrase}";
                if (response.StatusCode == HttpStatusCode.Unauthorized)
                {
                    message += $" (pass --admin-token or set {AdminTokenVariable})";
                }

                throw new AdHocQueryException(AdHocRefusal.Rejected, message);
            }
        }

        /// <summary>The one-line reason when the agent's https API presented a certificate this machine does not trust; else null.</summary>
        public static string? UntrustedCertificate(HttpRequestException exception, Uri api) =>
            exception.InnerException is System.Security.Authentication.AuthenticationException refused
                ? $"the agent's API at {api} presented a certificate this machine does not trust ({refused.Message}); trust it (on Linux: SSL_CERT_FILE=<its PEM file>) or serve the API without TLS (Tls:Api=false) on loopback"
                : null;

        private static string RequestBody(AdHocQuery query)
        {
            using var buffer = new MemoryStream();
            using (var json = new Utf8JsonWriter(buffer))
            {
                json.WriteStartObject();
                json.WriteString("sql", query.Sql);
                if (query.RowLimit is { } limit)
                {
                    json.WriteNumber("limit", limit);
                }

                if (query.Timeout is { } timeout)
                {
                    json.WriteNumber("timeout_ms", (long)Math.Ceiling(timeout.TotalMilliseconds));
                }

                json.WriteEndObject();
            }

            return Encoding.UTF8.GetString(buffer.ToArray());
        }

        private static string? ErrorMessage(string body)
        {
            try
            {
                using var document = JsonDocument.Parse(body);
                return document.RootElement.TryGetProperty("error", out var error) ? error.GetString() : null;
            }
            catch (JsonException)
            {
                return null;
            }
        }

        /// <summary>The agent's JSON back into CLR values: numbers as exact decimals, objects as maps, arrays as lists.</summary>
        internal static AdHocResult ParseResult(string body)
        {
            using var document = JsonDocument.Parse(body);
            var root = document.RootElement;
            var columns = root.GetProperty("columns").EnumerateArray()
                .Select(column => new AdHocColumn(column.GetProperty("name").GetString()!, column.GetProperty("type").GetString()!, DuckDbTypeId.Invalid))
                .ToList();
            var rows = root.GetProperty("rows").EnumerateArray()
                .Select(row => row.EnumerateArray().Select(ToValue).ToArray())
                .ToList();
            return new AdHocResult(columns, rows, root.GetProperty("truncated").GetBoolean(),
                TimeSpan.FromMilliseconds(root.GetProperty("elapsed_ms").GetDouble()))
            {
                Truncation = root.TryGetProperty("truncated_by", out var truncatedBy) ? truncatedBy.GetString() switch
                {
                    "byte_limit" => AdHocTruncation.ByteLimit,
                    "row_limit" => AdHocTruncation.RowLimit,
                    _ => null,
                } : null,
            };
        }

        private static object? ToValue(JsonElement value) => value.ValueKind switch
        {
            JsonValueKind.Null or JsonValueKind.Undefined => null,
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            JsonValueKind.String => value.GetString(),
            JsonValueKind.Number => decimal.TryParse(value.GetRawText(), NumberStyles.Float, CultureInfo.InvariantCulture, out var number)
                ? number
                : value.GetRawText(),
            JsonValueKind.Array => value.EnumerateArray().Select(ToValue).ToList(),
            _ => value.EnumerateObject().ToDictionary(property => (object)property.Name, property => ToValue(property.Value)),
        };
    }
}
