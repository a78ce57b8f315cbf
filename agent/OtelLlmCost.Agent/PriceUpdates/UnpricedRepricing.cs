using System.Globalization;
using OtelLlmCost.Analytics.Repricing;
using OtelLlmCost.Analytics.Store;
using OtelLlmCost.Pricing.Cost;

namespace OtelLlmCost.Agent.PriceUpdates;

/// <summary>
/// After a price update: reprices the calls stored as <c>unpriced_model</c> with the catalog now in force (recorded in
/// <c>catalog_versions</c> like <c>reprice</c>) and recomputes the rollups of the minutes they fall in. Calls that were
/// priced are never touched: a price change for a priced model goes through a reviewed catalog and <c>reprice</c>.
/// </summary>
internal static class UnpricedRepricing
{
    /// <summary>The report, or null when the ledger holds no unpriced_model call (nothing is written then).</summary>
    public static RepriceReport? Run(LedgerStore store, CostCalculator calculator, TimeProvider? clock = null)
    {
        DateTime from, to;
        using (var connection = store.Connect())
        using (var select = connection.Prepare("SELECT min(start_time), max(start_time) FROM llm_calls WHERE pricing_status = $1"))
        using (var reader = select.Bind(1, PricingStatuses.UnpricedModel).Query())
        {
            if (!reader.Read() || reader.IsDBNull(0))
            {
                return null;
            }

            from = reader.GetDateTime(0);
            to = reader.GetDateTime(1).AddMicroseconds(1);
        }

        var report = new LedgerRepricer(calculator, clock).Reprice(store, from, to, dryRun: false, onlyStatus: PricingStatuses.UnpricedModel);
        if (report.RowsChanged > 0)
        {
            Cli.RollupsCommand.RecomputeAfterReprice(store, from, to);
        }

        return report;
    }

    public static string Describe(RepriceReport? report) => report is null
        ? "no unpriced_model calls to reprice"
        : string.Create(CultureInfo.InvariantCulture,
            $"repriced {report.Rows} unpriced_model calls: {report.Lines.Sum(line => line.NewlyPriced)} now priced, {report.NewCostUsd} USD (catalog {report.CatalogVersion})");
}
