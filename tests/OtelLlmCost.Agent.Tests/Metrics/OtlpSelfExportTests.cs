using System.Net;
using Microsoft.Extensions.Logging;
using OtelLlmCost.Agent.Metrics;

namespace OtelLlmCost.Agent.Tests.Metrics;

/// <summary>
/// The README tells apps to set OTEL_EXPORTER_OTLP_ENDPOINT to the agent; an agent started in the same shell must not
/// push its own metrics into its own receiver (issue 19 saw 5 metrics requests in 12 s), and must say why it does not.
/// </summary>
[TestClass]
public sealed class OtlpSelfExportTests
{
    private static readonly IPEndPoint[] LoopbackReceivers = [new(IPAddress.Loopback, 4317), new(IPAddress.Loopback, 4318)];

    [TestMethod]
    [DataRow("http://127.0.0.1:4317", "127.0.0.1", true)]
    [DataRow("http://localhost:4318/v1/metrics", "127.0.0.1", true)]
    [DataRow("http://127.0.0.1:4317", "0.0.0.0", true)]
    [DataRow("http://10.1.2.3:4317", "10.1.2.3", true)]
    [DataRow("http://127.0.0.1:4319", "127.0.0.1", false)]
    [DataRow("http://collector:4317", "0.0.0.0", false)]
    [DataRow("http://10.1.2.3:4317", "127.0.0.1", false)]
    public void IsOwnReceiver_SamePortAndReachableHost_IsDetected(string endpoint, string listenAddress, bool own)
    {
        var receivers = new[] { new IPEndPoint(IPAddress.Parse(listenAddress), 4317), new IPEndPoint(IPAddress.Parse(listenAddress), 4318) };

        OtlpMetricsExport.IsOwnReceiver(endpoint, receivers).ShouldBe(own);
    }

    [TestMethod]
    public void Create_EndpointIsTheAgentsOwnReceiver_ExportsNothingAndLogsWhy()
    {
        var environment = new Dictionary<string, string?> { ["OTEL_EXPORTER_OTLP_ENDPOINT"] = "http://127.0.0.1:4317" };
        var logger = new CapturingLogger();

        OtlpMetricsExport.Create(name => environment.GetValueOrDefault(name), LoopbackReceivers, logger).ShouldBeNull();

        logger.Messages.ShouldHaveSingleItem().ShouldContain("OTEL_EXPORTER_OTLP_ENDPOINT (http://127.0.0.1:4317) is this agent's own OTLP receiver");
    }

    [TestMethod]
    public void Create_EndpointIsAnotherCollector_StillExports()
    {
        var environment = new Dictionary<string, string?> { ["OTEL_EXPORTER_OTLP_ENDPOINT"] = "http://127.0.0.1:14317" };
        var logger = new CapturingLogger();

        using var provider = OtlpMetricsExport.Create(name => environment.GetValueOrDefault(name), LoopbackReceivers, logger);

        provider.ShouldNotBeNull();
        logger.Messages.ShouldBeEmpty();
    }

    private sealed class CapturingLogger : ILogger
    {
        public List<string> Messages { get; } = [];

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Messages.Add(formatter(state, exception));
    }
}
