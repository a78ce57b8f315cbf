using System.Diagnostics.Metrics;
using OtelLlmCost.Agent.Budgets;
using OtelLlmCost.Agent.Metrics;
using OtelLlmCost.Agent.Pipeline;
using OtelLlmCost.Agent.Traces;
using OtelLlmCost.Analytics.Store.Ledger;
using OtelLlmCost.Agent.PriceUpdates;
using OtelLlmCost.SemanticConventions.Recognition;

namespace OtelLlmCost.Agent.Hosting;

/// <summary>
/// The one place the ingest chain is put together: receive → decode → the stages below, in order → ledger → the
/// observers of committed calls below, in order. Adding a stage or an observer is one file (the class) plus one line
/// here; an observer may instead be registered in DI (<c>services.AddSingleton&lt;ICommittedCallsObserver, X&gt;()</c>),
/// and is then told after the built-in ones, in registration order (docs/pipeline.md).
/// </summary>
internal static class IngestComposition
{
    public static IngestPipeline Compose(
        AgentOptions options, IServiceProvider services, GroupCommitLedgerWriter writer, LivePrices prices, TraceFeatures traces)
    {
        var ownership = options.Ownership.Load();
        IReadOnlyList<ICallStage> Stages(Meter meter) => Present<ICallStage>(
            new RecognizeStage(new LlmCallRecognizer(options.Recognizer), meter),
            new PriceStage(prices, meter),
            traces.Stage,
            ownership is null ? null : new OwnershipStage(ownership));

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
            services.GetRequiredService<IMeterFactory>(),
            traces.Stage?.Keys);
    }

    /// <summary>The parts that are switched on, in the order given (an optional part that is off is null).</summary>
    private static List<T> Present<T>(params T?[] parts)
        where T : class => [.. parts.OfType<T>()];
}
