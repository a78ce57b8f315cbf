using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using OtelLlmCost.Agent.Tests.EndToEnd;

namespace OtelLlmCost.Agent.Tests.Hardening;

/// <summary>
/// Issue 16: the real OTel JS exporters (0.301, tests/interop/js) against refusals. The ledger writer is held on a
/// gate (its free-disk probe blocks, so nothing commits) while the queue is full or the disk "low", so every export
/// sent meanwhile is refused, deterministically; the gate opens once the agent has refused each export, and what
/// the exporter did about it is read from its results and the ledger. HTTP exporters retry 429 and 503 after
/// Retry-After and every span lands once; the gRPC exporter gives up on UNAVAILABLE at once (docs/backpressure.md).
/// </summary>
[TestClass]
public sealed partial class JsExporterBackpressureTests
{
    private const int QueueCalls = 20;
    private const int Exports = 5;
    private const int LlmSpansPerExport = 4;

    [TestMethod]
    [DataRow("http-json")]
    [DataRow("http-proto")]
    public async Task QueueFull_TheJsHttpExporterRetriesThe429AfterRetryAfter_AndEverySpanIsStoredOnce(string protocol)
    {
        using var writer = new LedgerGate();
        await using var agent = await StartAsync(writer);
        var held = await FillTheQueueWhileHeldAsync(agent, writer);

        var exporting = NodeScript.RunAsync("export-concurrently.mjs", protocol, agent.TracesHttpUri.ToString(), Count(Exports), Count(LlmSpansPerExport));
        await WaitForOutcomesAsync(agent, "queue_full", Exports, exporting);
        writer.Open();
        var sent = await exporting;

        (await held).Accepted.ShouldBeTrue();
        Results(sent).ShouldAllBe(result => result.Ok, "every export ended in success after its retry");
        ShouldBeStoredOnce(agent, SpanIds(sent));
        agent.Scalar("SELECT count(*) FROM llm_calls").ShouldBe((long)(QueueCalls + (Exports * LlmSpansPerExport)));
    }

    [TestMethod]
    public async Task LedgerUnavailable_TheJsHttpExporterRetriesThe503AfterRetryAfter_AndEverySpanIsStoredOnce()
    {
        using var writer = new LedgerGate();
        await using var agent = await StartAsync(writer);
        writer.ReportLowDisk = true;

        var exporting = NodeScript.RunAsync("export-concurrently.mjs", "http-proto", agent.TracesHttpUri.ToString(), Count(Exports), Count(LlmSpansPerExport));
        await WaitForOutcomesAsync(agent, "unavailable", Exports, exporting);
        writer.ReportLowDisk = false;
        var sent = await exporting;

        Results(sent).ShouldAllBe(result => result.Ok, "every export ended in success after its retry (Retry-After: 5)");
        ShouldBeStoredOnce(agent, SpanIds(sent));
        agent.Scalar("SELECT count(*) FROM llm_calls").ShouldBe((long)(Exports * LlmSpansPerExport));
    }

    [TestMethod]
    public async Task QueueFull_TheJsGrpcExporterMakesOneAttemptOnUnavailable_AndDropsTheExport()
    {
        using var writer = new LedgerGate();
        await using var agent = await StartAsync(writer);
        var held = await FillTheQueueWhileHeldAsync(agent, writer);

        // The script ends while the writer is still held: each export has had its answer, so its attempts are over.
        var sent = await NodeScript.RunAsync("export-concurrently.mjs", "grpc", agent.Host.GrpcAddress.ToString().TrimEnd('/'), Count(Exports), Count(LlmSpansPerExport));
        (await OutcomesAsync(agent, "queue_full")).ShouldBe(Exports, "one attempt per export: the JS gRPC exporter does not retry UNAVAILABLE");
        writer.Open();

        (await held).Accepted.ShouldBeTrue();
        Results(sent).ShouldAllBe(result => !result.Ok && result.Error.Contains("UNAVAILABLE", StringComparison.Ordinal));
        agent.Scalar("SELECT count(*) FROM llm_calls").ShouldBe((long)QueueCalls, "the refused spans were dropped by the exporter");
    }

    private static Task<AgentFixture> StartAsync(LedgerGate writer) => AgentFixture.StartAsync(options =>
    {
        options.Ledger.MaxQueuedCalls = QueueCalls;
        options.FreeDiskProbe = writer.FreeDiskBytes;
    });

    /// <summary>Holds the writer and queues a batch of <see cref="QueueCalls"/> calls, so the queue is full until the gate opens.</summary>
    private static async Task<Task<ExportAnswer>> FillTheQueueWhileHeldAsync(AgentFixture agent, LedgerGate writer)
    {
        writer.Hold();
        var spans = Enumerable.Range(0, QueueCalls).Select(i => LlmExport.Span(0xA0, (byte)i, "gpt-4o", 100, 10)).ToArray();
        var held = LlmExport.SendAsync(LlmExport.Http, agent.Host.HttpAddress, agent.Host.GrpcAddress, LlmExport.Request(spans));
        while (agent.Host.Writer.QueuedCalls < QueueCalls)
        {
            held.IsCompleted.ShouldBeFalse("the held batch was answered before the queue filled");
            await Task.Delay(10);
        }

        return held;
    }

    /// <summary>Waits until the agent has answered <paramref name="outcome"/> <paramref name="count"/> times (or the script ended).</summary>
    private static async Task WaitForOutcomesAsync(AgentFixture agent, string outcome, int count, Task script)
    {
        var deadline = Environment.TickCount64 + 20_000;
        while (await OutcomesAsync(agent, outcome) < count)
        {
            script.IsCompleted.ShouldBeFalse($"the script ended before the agent answered {outcome} {count} times");
            (Environment.TickCount64 < deadline).ShouldBeTrue($"the agent did not answer {outcome} {count} times");
            await Task.Delay(20);
        }
    }

    private static void ShouldBeStoredOnce(AgentFixture agent, List<(string TraceId, string SpanId)> spans)
    {
        spans.Count.ShouldBe(Exports * LlmSpansPerExport);
        foreach (var (traceId, spanId) in spans)
        {
            agent.Scalar($"SELECT count(*) FROM llm_calls WHERE trace_id = '{traceId}' AND span_id = '{spanId}'").ShouldBe(1L, $"span {spanId}");
        }
    }

    private static List<(bool Ok, string Error)> Results(JsonElement sent) =>
        [.. sent.GetProperty("exports").EnumerateArray().Select(e => (e.GetProperty("ok").GetBoolean(), e.GetProperty("error").GetString() ?? ""))];

    private static List<(string TraceId, string SpanId)> SpanIds(JsonElement sent) =>
        [.. sent.GetProperty("exports").EnumerateArray().SelectMany(e => e.GetProperty("llmSpans").EnumerateArray())
            .Select(span => (span.GetProperty("traceId").GetString()!, span.GetProperty("spanId").GetString()!))];

    private static async Task<long> OutcomesAsync(AgentFixture agent, string outcome)
    {
        using var client = new HttpClient();
        var metrics = await client.GetStringAsync(new Uri(agent.Host.ApiAddress!, "/metrics"));
        return RequestsLine().Matches(metrics).Where(match => match.Groups["outcome"].Value == outcome)
            .Sum(match => (long)double.Parse(match.Groups["value"].Value, CultureInfo.InvariantCulture));
    }

    private static string Count(int value) => value.ToString(CultureInfo.InvariantCulture);

    [GeneratedRegex(@"^otelllmcost_receiver_requests_total\{[^}]*outcome=""(?<outcome>[^""]+)""[^}]*\} (?<value>\S+)", RegexOptions.Multiline)]
    private static partial Regex RequestsLine();

    /// <summary>
    /// The ledger writer's free-disk probe, which it calls on its own thread before every commit: held, it blocks
    /// that thread (nothing commits, the queue stays full); with <see cref="ReportLowDisk"/> it reports 1 MiB free
    /// (the writer refuses every batch as unavailable, 503 / UNAVAILABLE with Retry-After 5 s).
    /// </summary>
    private sealed class LedgerGate : IDisposable
    {
        private readonly ManualResetEventSlim _open = new(initialState: true);
        private volatile bool _lowDisk;

        public bool ReportLowDisk { get => _lowDisk; set => _lowDisk = value; }

        public void Hold() => _open.Reset();

        public void Open() => _open.Set();

        public long FreeDiskBytes()
        {
            _open.Wait(TimeSpan.FromSeconds(30));
            return _lowDisk ? 1024 * 1024 : long.MaxValue / 2;
        }

        public void Dispose()
        {
            _open.Set();
            _open.Dispose();
        }
    }
}
