using OtelLlmCost.Analytics.Budgets;
using OtelLlmCost.Analytics.Store;

namespace OtelLlmCost.Agent.Budgets;

/// <summary>The budget parts' registrations, so the host adds them in one line and attaches the metrics source in another.</summary>
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

    /// <summary>
    /// <c>/metrics</c> reads each budget's used ratio from the snapshot that committed calls raise (the snapshot is
    /// an observer of committed calls, see <see cref="Hosting.IngestComposition"/>), by budget id: ids are unique
    /// and stable, names may repeat.
    /// </summary>
    public static void Attach(IServiceProvider services)
    {
        var snapshot = services.GetRequiredService<BudgetSnapshot>();
        var clock = services.GetRequiredService<TimeProvider>();
        services.GetRequiredService<Metrics.LlmMetrics>().RegisterBudgetSource(() => UsedRatios(snapshot, clock.GetUtcNow().UtcDateTime));
    }

    private static IEnumerable<(string Budget, double Ratio)> UsedRatios(BudgetSnapshot snapshot, DateTime now)
    {
        foreach (var entry in snapshot.Entries)
        {
            if (entry.Budget.LimitUsd > 0)
            {
                yield return (entry.Budget.Id, (double)(entry.ReadSpent(now) / entry.Budget.LimitUsd));
            }
        }
    }
}
