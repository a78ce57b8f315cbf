using System.Collections.Concurrent;
using System.Net;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using OtelLlmCost.Agent.Hosting;
using OtelLlmCost.Agent.Receivers.Otlp;
using OtelLlmCost.Agent.Tests.EndToEnd;
using OtelLlmCost.Agent.Tests.Receivers;

namespace OtelLlmCost.Agent.Tests.Hardening;

/// <summary>
/// Issue 14, item 13: a client sending bad requests (OTLP over HTTP and gRPC, API bodies, broken framing) gets one
/// warning line per refusal, no stack trace, at most N lines per interval, and the next interval's first line
/// counts what was left out. The clock is a <see cref="FakeTimeProvider"/>.
/// </summary>
[TestClass]
public sealed class ClientErrorLogTests
{
    private const int MaxLines = 3;

    [TestMethod]
    public async Task BadRequestsFromAClient_LogOneWarningLineEachRateLimitedWithoutStackTraces()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 12, 1, 12, 0, 0, TimeSpan.Zero));
        var logs = new CapturingLoggerProvider();
        ClientErrorLog? errorLog = null;
        await using var agent = await AgentFixture.StartAsync(services: services =>
        {
            services.AddSingleton<ILoggerProvider>(logs);
            services.AddSingleton(provider => errorLog = new ClientErrorLog(provider.GetRequiredService<ILogger<ClientErrorLog>>(), clock, MaxLines, TimeSpan.FromMinutes(1)));
        });

        var sent = 0;
        for (var round = 0; round < 4; round++)
        {
            sent += await SendBadRequestsAsync(agent);
        }

        // The middleware logs after the reply has gone out; wait until it has seen the last refusal.
        await WaitUntilAsync(() => errorLog!.Suppressed == sent - MaxLines);
        var lines = logs.Entries.Where(e => e.Category == typeof(ClientErrorLog).FullName).ToList();
        lines.Count.ShouldBe(MaxLines);
        lines.ShouldAllBe(e => e.Level == LogLevel.Warning && e.Exception == null && !e.Message.Contains('\n'));
        // Each line is written after its reply went out, so under load the gRPC refusal can be logged first.
        lines.ShouldContain(e => e.Message.Contains("Refused POST /v1/traces") && e.Message.Contains(OtlpResponses.InvalidGzipMessage));
        logs.Entries.ShouldNotContain(e => e.Level >= LogLevel.Error, string.Join("\n", logs.Entries.Where(e => e.Level >= LogLevel.Error).Select(e => e.Message)));

        clock.Advance(TimeSpan.FromMinutes(1));
        using var client = new HttpClient();
        using var response = await client.PostAsync(agent.TracesHttpUri, OtlpWire.Content(ReceiverBadInputTests.BrokenGzip("truncated"), "application/x-protobuf", "gzip"));
        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);

        await WaitUntilAsync(() => logs.Entries.Count(e => e.Category == typeof(ClientErrorLog).FullName) > MaxLines);
        var after = logs.Entries.Where(e => e.Category == typeof(ClientErrorLog).FullName).ToList();
        after.Count.ShouldBe(MaxLines + 1);
        after[^1].Message.ShouldContain($"({sent - MaxLines} more client errors were not logged)");
        (await client.GetStringAsync(new Uri(agent.Host.ApiAddress!, "/healthz"))).ShouldBe("ok");
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = Environment.TickCount64 + 10_000;
        while (!condition() && Environment.TickCount64 < deadline)
        {
            await Task.Delay(10);
        }
    }

    /// <summary>One bad request of each kind; returns how many were sent.</summary>
    private static async Task<int> SendBadRequestsAsync(AgentFixture agent)
    {
        using var client = new HttpClient();
        using (var response = await client.PostAsync(agent.TracesHttpUri, OtlpWire.Content(ReceiverBadInputTests.BrokenGzip("corrupt"), "application/x-protobuf", "gzip")))
        {
            response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        }

        var grpc = await OtlpWire.CallAsync(agent.Host.GrpcAddress, OtlpGrpcReceiver.TraceExportPath, OtlpWire.GrpcFrame([0x0A, 0x7F, 0x01], compressed: false));
        grpc.Status.ShouldBe(3);

        // Frames Grpc.AspNetCore refuses itself: a compressed flag that is neither 0 nor 1, and a compressed message without an encoding.
        var badFlag = OtlpWire.GrpcFrame([0x0A, 0x00], compressed: false);
        badFlag[0] = 2;
        grpc = await OtlpWire.CallAsync(agent.Host.GrpcAddress, OtlpGrpcReceiver.TraceExportPath, badFlag);
        grpc.Status.ShouldBe(3, grpc.Message);
        grpc = await OtlpWire.CallAsync(agent.Host.GrpcAddress, OtlpGrpcReceiver.TraceExportPath, OtlpWire.GrpcFrame([0x0A, 0x00], compressed: true));
        grpc.Status.ShouldBe(3, grpc.Message);

        using (var response = await client.PostAsync(new Uri(agent.Host.ApiAddress!, "/api/v1/budgets"),
            new StringContent("""{"id":"b","scope":{"teem":"x"},"limit_usd":1}""", Encoding.UTF8, "application/json")))
        {
            response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        }

        var chunked = await ReceiverBadInputTests.RawHttpAsync(agent.TracesHttpUri,
            "POST /v1/traces HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFFFF\r\nabc\r\n0\r\n\r\n");
        chunked.ShouldStartWith("HTTP/1.1 400");

        var apiChunked = await ReceiverBadInputTests.RawHttpAsync(agent.Host.ApiAddress!,
            "POST /api/v1/estimate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFFFF\r\nabc\r\n0\r\n\r\n");
        apiChunked.ShouldStartWith("HTTP/1.1 400");
        return 7;
    }
}

/// <summary>Keeps every log entry the agent writes, for assertions on levels, messages and exceptions.</summary>
internal sealed class CapturingLoggerProvider : ILoggerProvider
{
    public ConcurrentQueue<(string Category, LogLevel Level, string Message, Exception? Exception)> Entries { get; } = new();

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    private sealed class Logger(CapturingLoggerProvider owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            owner.Entries.Enqueue((category, logLevel, formatter(state, exception), exception));
    }
}
