using OtelLlmCost.Agent.Pipeline;
using OtelLlmCost.Analytics.Budgets;
using OtelLlmCost.Analytics.Store;

namespace OtelLlmCost.Agent.Budgets;

/// <summary>The budget parts' registrations, so the host adds them in one line and attaches the pipeline hook in another.</summary>
internal static class BudgetServices
{
    public static void Add(IServiceCollection services)
    {
        services.AddSingleton(provider => new BudgetRepository(provider.GetRequiredService<LedgerStore>(), provider.GetRequiredService<TimeProvider>()));
        services.AddSingleton<BudgetRegistry>();
        services.AddSingleton<BudgetSnapshot>();
        services.AddSingleton<BudgetService>();
        services.AddHostedService(provider => provider.GetRequiredService<BudgetService>());
    }

    /// <summary>Committed calls raise the snapshot's spent amounts between refreshes.</summary>
    public static void Attach(IServiceProvider services, IngestPipeline pipeline)
    {
        ArgumentNullException.ThrowIfNull(pipeline);
        pipeline.Committed = services.GetRequiredService<BudgetSnapshot>().Record;
    }
}
