using System.Diagnostics;
using System.Text.Json;
using OtelLlmCost.Analytics.Store;
using OtelLlmCost.Analytics.Store.Ledger;
using OtelLlmCost.SemanticConventions.Calls;

namespace OtelLlmCost.Load.Runs;

/// <summary>
/// ledger mode (a diagnostic): the agent's exactly-once writer alone, in this process, on a fresh ledger —
/// commits of <c>--batch</c> realistic calls back to back for <c>--duration</c> — reporting, per 5-second
/// window, the ledger size and the cost per commit and per row. Shows whether the commit cost depends on
/// the size of the ledger, without HTTP, decoding or the agent's queue in the way.
/// </summary>
internal static class LedgerRun
{
    private const long MaxRows = 20_000_000;

    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public static int Run(LoadOptions options)
    {
        var directory = options.DataDirectory ?? Directory.CreateTempSubdirectory("otel-llm-cost-ledger-").FullName;
        var windows = new List<object>();
        Console.WriteLine($"ledger mode: {options.Batch} calls per commit, response ids {(options.ResponseIds ? "on" : "off")}, " +
            $"{options.DurationSeconds}s, loadavg={Targets.ProcessStats.LoadAverage()}");
        using (var store = LedgerStore.Open(directory))
        using (var writer = new LlmCallWriter(store))
        {
            MeasureBareAppender(store, options);
            var clock = Stopwatch.StartNew();
            var duration = TimeSpan.FromSeconds(options.DurationSeconds);
            var start = DateTime.UtcNow;

            // Numbered on from the rows already there, so a large ledger can be grown over several runs without repeating ids.
            long rows;
            using (var connection = store.Connect())
            {
                rows = Convert.ToInt64(connection.ExecuteScalar("SELECT count(*) FROM llm_call_rows"), System.Globalization.CultureInfo.InvariantCulture);
            }

            var firstRow = rows;
            var window = Stopwatch.StartNew();
            var windowCpu = Process.GetCurrentProcess().TotalProcessorTime;
            long windowRows = 0;
            var windowCommits = 0;
            while (clock.Elapsed < duration && rows - firstRow < MaxRows)
            {
                var batch = new List<LlmCall>(options.Batch);
                for (var i = 0; i < options.Batch; i++)
                {
                    batch.Add(Call(rows + i, start, options.ResponseIds));
                }

                writer.Write(batch);
                rows += batch.Count;
                windowRows += batch.Count;
                windowCommits++;
                if (window.Elapsed >= TimeSpan.FromSeconds(5))
                {
                    var cpu = Process.GetCurrentProcess().TotalProcessorTime;
                    var seconds = window.Elapsed.TotalSeconds;
                    var line = new
                    {
                        LedgerRows = rows,
                        RowsPerSecond = Math.Round(windowRows / seconds),
                        MsPerCommit = Math.Round(seconds * 1000 / windowCommits, 1),
                        CpuMicrosecondsPerRow = Math.Round((cpu - windowCpu).TotalMicroseconds / windowRows, 1),
                    };
                    Console.WriteLine($"ledger {rows,10:N0} rows: {line.RowsPerSecond,9:N0} rows/s, {line.MsPerCommit,7:F1} ms per commit, " +
                        $"{line.CpuMicrosecondsPerRow,6:F1} µs CPU per row (this process, all threads)");
                    windows.Add(line);
                    window.Restart();
                    windowCpu = cpu;
                    windowRows = 0;
                    windowCommits = 0;
                }
            }
        }

        Console.WriteLine("JSON " + JsonSerializer.Serialize(new { Mode = "ledger", options.Batch, options.ResponseIds, Windows = windows }, Json));
        if (options.DataDirectory is null && !options.KeepData)
        {
            Directory.Delete(directory, recursive: true);
        }

        return 0;
    }

    /// <summary>The same rows through the bare appender into an unindexed copy of the table: the floor under the writer.</summary>
    private static void MeasureBareAppender(LedgerStore store, LoadOptions options)
    {
        const int Rows = 20_000;
        var calls = Enumerable.Range(0, Rows).Select(i => Call(i, DateTime.UtcNow, options.ResponseIds)).ToList();
        using var connection = store.Connect();
        connection.Execute("CREATE TEMP TABLE llm_calls_unindexed AS SELECT * FROM llm_call_rows LIMIT 0");
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        using (var appender = connection.CreateAppender("llm_calls_unindexed"))
        {
            var now = DateTime.UtcNow;
            foreach (var call in calls)
            {
                LlmCallRow.Append(appender, call, now);
            }

            appender.Close();
        }

        var seconds = clock.Elapsed.TotalSeconds;
        var cpuPerRow = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMicroseconds / Rows;
        Console.WriteLine($"bare appender (LlmCallRow.Append, unindexed temp table): {Rows / seconds:N0} rows/s, {cpuPerRow:F1} µs CPU per row");
        connection.Execute("DROP TABLE llm_calls_unindexed");
    }

    private const int RequestSpans = 512;
    private const ulong IdNonce = 0xA5C3_0F1E_2D4B_6987;

    /// <summary>A priced, attributed call shaped like the ones the agent stores for the harness's GenAI spans.</summary>
    private static LlmCall Call(long n, DateTime start, bool responseId)
    {
        var input = 300 + (int)(n % 11_700);
        var cacheRead = n % 2 == 0 ? input / 2 : 0;
        var output = 40 + (int)(n % 1_160);

        // The ids the harness's requests carry (request number, span number), so the writer's dedup window sees what it sees in max/rate runs.
        var (request, span) = (n / RequestSpans, (int)(n % RequestSpans));
        var (traceId, spanId) = Traffic.RequestTemplate.Ids(IdNonce, request, span);
        return new LlmCall
        {
            TraceId = traceId,
            SpanId = spanId,
            ParentSpanId = Traffic.RequestTemplate.Ids(IdNonce, request, span / Traffic.RequestTemplate.SpansPerTrace * Traffic.RequestTemplate.SpansPerTrace).SpanId,
            StartTime = start.AddMilliseconds(-(n % 60_000)),
            DurationMs = 300 + (n % 9_000),
            Provider = "openai",
            Operation = "chat",
            RequestModel = "gpt-4o-mini",
            ResponseModel = "gpt-4o-mini-2024-07-18",
            ServerAddress = "api.openai.com",
            Status = "ok",
            FinishReason = "stop",
            Dialect = "otel-genai",
            ResponseId = responseId ? $"chatcmpl-{n:x16}" : null,
            Usage = new TokenUsage { InputTokens = input, OutputTokens = output, CacheReadTokens = cacheRead },
            UsageReported = true,
            CostUsd = ((input - cacheRead) * 0.00000015m) + (cacheRead * 0.000000075m) + (output * 0.0000006m),
            InputCostUsd = (input - cacheRead) * 0.00000015m,
            CacheReadCostUsd = cacheRead * 0.000000075m,
            OutputCostUsd = output * 0.0000006m,
            CacheWriteCostUsd = 0m,
            PricingStatus = "priced",
            PriceId = "openai/gpt-4o-mini@2024-07-18",
            CatalogVersion = "2026-11-22.1",
            Service = "svc-1",
            Environment = "production",
            Team = "support",
            Feature = "chat-assist",
            UserId = $"user-{n % 250}",
            Explanation = "otel-genai; priced openai/gpt-4o-mini@2024-07-18",
        };
    }
}
