using System.Diagnostics.Metrics;
using OtelLlmCost.Agent.Budgets;
using OtelLlmCost.Agent.Metrics;
using OtelLlmCost.Agent.Pipeline;
using OtelLlmCost.Agent.Receivers.Otlp;
using OtelLlmCost.Agent.Traces;
using OtelLlmCost.Analytics.Store.Ledger;
using OtelLlmCost.Agent.PriceUpdates;
using OtelLlmCost.SemanticConventions.Recognition;

namespace OtelLlmCost.Agent.Hosting;

/// <summary>
/// The one place the ingest chain is put together: receive → decode (showing every span to the span visitors below)
/// → the stages below, in order → ledger → the observers of committed calls below, in order. Adding a stage, a span
/// visitor or an observer is one file (the class) plus one line here, or one line registering it in DI
/// (<c>services.AddSingleton&lt;ICallStage, X&gt;()</c>, <c>ISpanVisitor</c>, <c>ICommittedCallsObserver</c>): those
/// run after the built-in ones, in registration order (docs/pipeline.md).
/// </summary>
internal static class IngestComposition
{
    public static IngestPipeline Compose(
        AgentOptions options, IServiceProvider services, GroupCommitLedgerWriter writer, LivePrices prices, TraceFeatures traces)
    {
        var ownership = options.Ownership.Load();
        IReadOnlyList<ICallStage> Stages(Meter meter) =>
        [
            .. Present<ICallStage>(
                new RecognizeStage(new LlmCallRecognizer(options.Recognizer), meter),
                new PriceStage(prices, meter),
                traces.Stage,
                ownership is null ? null : new OwnershipStage(ownership)),
            .. services.GetServices<ICallStage>(),
        ];

        var observers = Present<ICommittedCallsObserver>(
            services.GetRequiredService<BudgetSnapshot>(),
            services.GetRequiredService<LlmMetrics>(),
            traces.Stage,
            traces.Forwarder);
        observers.AddRange(services.GetServices<ICommittedCallsObserver>());

        return new IngestPipeline(
            Stages,
            writer,
            observers,
            services.GetRequiredService<ILoggerFactory>().CreateLogger("OtelLlmCost.Ingest"),
            services.GetRequiredService<IMeterFactory>());
    }

    /// <summary>The readers of every valid span the decoder shows each request to, in order (<see cref="ISpanVisitor"/>).</summary>
    public static IReadOnlyList<ISpanVisitor> SpanVisitors(TraceFeatures traces, IServiceProvider services) =>
    [
        .. Present<ISpanVisitor>(traces.Stage?.SpanVisitor),
        .. services.GetServices<ISpanVisitor>(),
    ];

    /// <summary>The parts that are switched on, in the order given (an optional part that is off is null).</summary>
    private static List<T> Present<T>(params T?[] parts)
        where T : class => [.. parts.OfType<T>()];
}
