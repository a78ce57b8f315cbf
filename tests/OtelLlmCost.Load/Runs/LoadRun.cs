using System.Globalization;
using System.Text.Json;
using OtelLlmCost.Analytics.Store;
using OtelLlmCost.Load.Targets;
using OtelLlmCost.Load.Traffic;

namespace OtelLlmCost.Load.Runs;

/// <summary>
/// max / rate mode: the read-and-discard baseline and then the agent, each warmed up and measured with the same
/// traffic; then the agent is stopped gracefully and its ledger counted. Prints a readable summary and one JSON line.
/// </summary>
internal static class LoadRun
{
    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public static async Task<int> RunAsync(LoadOptions options)
    {
        var source = new TrafficSource(options.Batch, options.GenAiShare, options.ResponseIds);
        var loadBefore = ProcessStats.LoadAverage();
        Console.WriteLine($"mode={options.Mode}{(options.Mode is "rate" or "soak" ? $" rate={options.Rate:F0} spans/s" : "")} transport={options.Transport} " +
            $"concurrency={options.Concurrency} batch={source.SpansPerRequest} genai={source.GenAiSpansPerRequest}/request " +
            $"({source.AverageSpanBytes:F0} B/span) duration={options.DurationSeconds}s warmup={options.WarmupSeconds}s " +
            $"cores={Environment.ProcessorCount} loadavg={loadBefore}");
        var phase = new LoadPhase(options, source);

        PhaseResult? baseline = null;
        if (!options.NoBaseline)
        {
            await using var discard = await DiscardReceiver.StartAsync();
            await WarmUpAsync(phase, discard, options);
            baseline = await phase.RunAsync(discard, options.DurationSeconds);
            Print(baseline);
        }

        var dataDirectory = options.DataDirectory ?? Directory.CreateTempSubdirectory("otel-llm-cost-load-").FullName;
        PhaseResult measured;
        long? peakHwm;
        long agentGenAiAcked;
        long unanswered;
        int exitCode;
        var stopwatch = System.Diagnostics.Stopwatch.StartNew();
        var agent = await AgentProcess.StartAsync(options.ResolveAgentDll(), dataDirectory, TimeSpan.FromSeconds(60));
        try
        {
            var startSeconds = stopwatch.Elapsed.TotalSeconds;
            var warm = await WarmUpAsync(phase, agent, options);
            measured = await phase.RunAsync(agent, options.DurationSeconds);
            Print(measured);
            agentGenAiAcked = warm.GenAiSpans + measured.GenAiSpans;
            unanswered = warm.Failures + warm.Abandoned + measured.Failures + measured.Abandoned;
            peakHwm = ProcessStats.MemoryBytes(agent.ProcessId!.Value, "VmHWM");
            Console.WriteLine($"agent: started in {startSeconds:F1}s; peak RSS over its life (VmHWM) {Mib(peakHwm)}");
        }
        finally
        {
            stopwatch.Restart();
            exitCode = await agent.StopAsync(TimeSpan.FromSeconds(60));
            await agent.DisposeAsync();
        }

        var stopSeconds = stopwatch.Elapsed.TotalSeconds;
        var rows = CountRows(LedgerStore.FilePathIn(dataDirectory));
        var loadAfter = ProcessStats.LoadAverage();
        if (options.Mode is "rate" or "soak" && measured.SpansPerSecond < options.Rate * 0.95)
        {
            Console.WriteLine($"agent: did NOT keep up with {options.Rate:F0} spans/s (achieved {measured.SpansPerSecond:F0} with {options.Concurrency} exporters)");
        }

        var ratio = baseline is null || baseline.Spans == 0 ? (double?)null : measured.SpansPerSecond / baseline.SpansPerSecond;
        // Rows beyond the acknowledged spans are allowed only from requests that ended without an answer the
        // client saw (a timeout, or given up after refusals): the agent may have committed those.
        var rowsConsistent = rows == agentGenAiAcked || (rows > agentGenAiAcked && unanswered > 0);
        Console.WriteLine($"agent: stopped (exit {exitCode}) in {stopSeconds:F1}s; llm_calls rows {rows:N0}, GenAI spans acknowledged {agentGenAiAcked:N0} " +
            $"({(rows == agentGenAiAcked ? "equal" : rows > agentGenAiAcked ? $"more rows: {unanswered} requests timed out or were given up, their rows may be committed" : "ROWS MISSING")})");
        if (ratio is { } r)
        {
            Console.WriteLine($"ratio agent / read-and-discard: {r:P1} of spans/s");
        }

        Console.WriteLine($"load average before {loadBefore}, after {loadAfter}");
        var summary = new
        {
            options.Mode,
            options.Transport,
            Rate = options.Mode is "rate" or "soak" ? options.Rate : (double?)null,
            options.Concurrency,
            options.Batch,
            options.GenAiShare,
            BytesPerSpan = Math.Round(source.AverageSpanBytes),
            Baseline = baseline,
            Agent = measured,
            AgentVmHwmBytes = peakHwm,
            RowsCommitted = rows,
            GenAiSpansAcknowledged = agentGenAiAcked,
            RequestsUnanswered = unanswered,
            Ratio = ratio,
            LoadAverageBefore = loadBefore,
            LoadAverageAfter = loadAfter,
            Cores = Environment.ProcessorCount,
        };
        Console.WriteLine("JSON " + JsonSerializer.Serialize(summary, Json));
        if (options.DataDirectory is null && !options.KeepData)
        {
            Directory.Delete(dataDirectory, recursive: true);
        }

        return rowsConsistent && exitCode == 0 ? 0 : 2;
    }

    internal static long CountRows(string ledgerFile)
    {
        using var database = LedgerStore.OpenReadOnly(ledgerFile);
        using var connection = database.Connect();
        return Convert.ToInt64(connection.ExecuteScalar("SELECT count(*) FROM llm_calls"), CultureInfo.InvariantCulture);
    }

    private static async Task<PhaseResult> WarmUpAsync(LoadPhase phase, ILoadTarget target, LoadOptions options)
    {
        if (options.WarmupSeconds <= 0)
        {
            return new PhaseResult(target.Name, 0, 0, 0, 0, 0, 0, 0, null, 0, 0, null, null, []);
        }

        return await phase.RunAsync(target, options.WarmupSeconds);
    }

    private static void Print(PhaseResult result)
    {
        var cpu = result.CpuPercentOfOneCore is { } percent
            ? $"{percent:F1}% of one core ({(result.CpuMicrosecondsPerSpan is { } perSpan ? $"{perSpan:F1} µs" : "n/a")} CPU per span)"
            : "n/a (in the harness process)";
        Console.WriteLine($"{result.Target,-17} {result.SpansPerSecond,12:N0} spans/s acknowledged ({result.Requests:N0} requests in {result.Seconds:F1}s), " +
            $"ack latency p50 {Ms(result.LatencyP50Ms)} p99 {Ms(result.LatencyP99Ms)}, refusals {result.Refusals}, failures {result.Failures}" +
            $"{(result.LastFailure is null ? "" : $" (last: {result.LastFailure})")}, abandoned {result.Abandoned}, CPU {cpu}, peak RSS {Mib(result.PeakRssBytes)}");
        Console.WriteLine($"{"",-17} spans/s per 5 s: {string.Join(' ', result.TimelineSpansPerSecond.Select(v => v.ToString("F0", CultureInfo.InvariantCulture)))}");
    }

    private static string Ms(double? milliseconds) => milliseconds is { } ms ? $"{ms:F1} ms" : "n/a";

    internal static string Mib(long? bytes) => bytes is { } b ? $"{b / (1024.0 * 1024.0):F0} MiB" : "n/a";
}
