using OtelLlmCost.Analytics.Store;
using OtelLlmCost.Analytics.Store.DuckDb;
using OtelLlmCost.Analytics.Store.Ledger;
using OtelLlmCost.Analytics.Store.Schema;
using OtelLlmCost.Pricing.Cost;
using OtelLlmCost.SemanticConventions.Calls;
using OtelLlmCost.SemanticConventions.Spans;

namespace OtelLlmCost.Analytics.Repricing;

/// <summary>What re-pricing changed (or would change) for one provider and model.</summary>
public sealed record RepriceLine(
    string Provider,
    string Model,
    long Rows,
    long RowsChanged,
    decimal OldCostUsd,
    decimal NewCostUsd,
    long NewlyPriced,
    long NoLongerPriced)
{
    public decimal DeltaUsd => NewCostUsd - OldCostUsd;
}

public sealed record RepriceReport(
    string CatalogVersion,
    DateTime? From,
    DateTime? To,
    bool DryRun,
    IReadOnlyList<RepriceLine> Lines)
{
    public long Rows => Lines.Sum(line => line.Rows);

    public long RowsChanged => Lines.Sum(line => line.RowsChanged);

    public decimal OldCostUsd => Lines.Sum(line => line.OldCostUsd);

    public decimal NewCostUsd => Lines.Sum(line => line.NewCostUsd);
}

/// <summary>
/// Recomputes stored costs with another catalog (a price fix, a negotiated discount, a model that was unknown).
/// A price applies at the call's start time, so history changes only through this explicit step. The dry run
/// computes the same report without writing; a real run updates every changed row and records the catalog
/// version in one transaction, so a crash leaves either the old or the new costs, never a mix.
/// </summary>
public sealed class LedgerRepricer(CostCalculator calculator, TimeProvider? clock = null)
{
    private const string UpdatesTable = "reprice_updates";

    private readonly TimeProvider _clock = clock ?? TimeProvider.System;

    /// <param name="onlyStatus">Only rows with this pricing status (<c>unpriced_model</c> after a price update: priced history is left as it is).</param>
    public RepriceReport Reprice(LedgerStore store, DateTime? from, DateTime? to, bool dryRun, IProgress<long>? progress = null,
        string? onlyStatus = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        store.CatchUp(); // acknowledged calls still in the writer's spool are repriced too
        using var connection = store.Connect();
        var lines = new Dictionary<(string, string), LineTotals>();
        var changes = new List<(TraceId TraceId, SpanId SpanId, CostBreakdown Cost)>();
        using (var select = connection.Prepare("""
            SELECT trace_id, span_id, start_time, provider, request_model, response_model, service_tier, server_address,
                   input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, cache_write_1h_tokens, reasoning_tokens,
                   input_audio_tokens, output_audio_tokens, input_image_tokens, output_image_tokens, usage_reported,
                   cost_usd, pricing_status, price_id, catalog_version
            FROM llm_calls
            WHERE ($1 IS NULL OR start_time >= $1) AND ($2 IS NULL OR start_time < $2) AND ($3 IS NULL OR pricing_status = $3)
            """))
        {
            BindOptional(select, 1, from);
            BindOptional(select, 2, to);
            if (onlyStatus is null)
            {
                select.BindNull(3);
            }
            else
            {
                select.Bind(3, onlyStatus);
            }

            using var reader = select.Query();
            long seen = 0;
            while (reader.Read())
            {
                var call = ReadCall(reader);
                var oldCost = reader.IsDBNull(19) ? (decimal?)null : reader.GetDecimal(19);
                var oldStatus = reader.GetString(20);
                var oldPriceId = reader.GetString(21);
                var oldVersion = reader.GetString(22);
                var cost = calculator.Calculate(call);
                // A row counts as changed when what it costs or how it is priced changes; every row in the window is
                // still stamped with the catalog version that priced it last.
                var changed = LlmCallRow.Money(cost.TotalCost) != oldCost || cost.Status != oldStatus || cost.PriceId != oldPriceId;
                var restamp = changed || cost.CatalogVersion != oldVersion;
                var key = (call.Provider ?? "", call.ResponseModel ?? call.RequestModel ?? "");
                if (!lines.TryGetValue(key, out var totals))
                {
                    totals = new LineTotals();
                    lines[key] = totals;
                }

                totals.Rows++;
                totals.OldCost += oldCost ?? 0m;
                totals.NewCost += cost.TotalCost ?? 0m;
                if (changed)
                {
                    totals.Changed++;
                }

                if (restamp)
                {
                    changes.Add((call.TraceId, call.SpanId, cost));
                }

                if (oldStatus != PricingStatuses.Priced && cost.Status == PricingStatuses.Priced)
                {
                    totals.NewlyPriced++;
                }
                else if (oldStatus == PricingStatuses.Priced && cost.Status != PricingStatuses.Priced)
                {
                    totals.NoLongerPriced++;
                }

                if (++seen % 100_000 == 0)
                {
                    progress?.Report(seen);
                }
            }
        }

        if (!dryRun)
        {
            Write(connection, changes);
        }

        var report = lines
            .Select(pair => new RepriceLine(pair.Key.Item1, pair.Key.Item2, pair.Value.Rows, pair.Value.Changed,
                pair.Value.OldCost, pair.Value.NewCost, pair.Value.NewlyPriced, pair.Value.NoLongerPriced))
            .OrderByDescending(line => Math.Abs(line.DeltaUsd)).ThenBy(line => line.Provider, StringComparer.Ordinal)
            .ThenBy(line => line.Model, StringComparer.Ordinal)
            .ToList();
        return new RepriceReport(calculator.Catalog.Version, from, to, dryRun, report);
    }

    private void Write(DuckDbConnection connection, List<(TraceId TraceId, SpanId SpanId, CostBreakdown Cost)> changes)
    {
        using var transaction = connection.BeginTransaction();
        connection.Execute($"""
            CREATE OR REPLACE TEMP TABLE {UpdatesTable} (
                trace_id_hi UBIGINT, trace_id_lo UBIGINT, span_id UBIGINT, cost_usd DECIMAL(18,12), input_cost_usd DECIMAL(18,12),
                output_cost_usd DECIMAL(18,12), cache_read_cost_usd DECIMAL(18,12), cache_write_cost_usd DECIMAL(18,12),
                pricing_status VARCHAR, price_id VARCHAR, catalog_version VARCHAR)
            """);
        using (var appender = connection.CreateAppender(UpdatesTable))
        {
            foreach (var (traceId, spanId, cost) in changes)
            {
                var key = CallKey.Of(traceId, spanId);
                appender.Append(key.TraceHigh).Append(key.TraceLow).Append(key.Span).Append(LlmCallRow.Money(cost.TotalCost)).Append(LlmCallRow.Money(cost.InputCost))
                    .Append(LlmCallRow.Money(cost.OutputCost)).Append(LlmCallRow.Money(cost.CacheReadCost))
                    .Append(LlmCallRow.Money(cost.CacheWriteCost)).Append(cost.Status).Append(cost.PriceId)
                    .Append(cost.CatalogVersion);
                appender.EndRow();
            }
        }

        connection.Execute($"""
            UPDATE {LedgerRowSchema.Table} SET cost_usd = u.cost_usd, input_cost_usd = u.input_cost_usd, output_cost_usd = u.output_cost_usd,
                cache_read_cost_usd = u.cache_read_cost_usd, cache_write_cost_usd = u.cache_write_cost_usd,
                pricing_status = u.pricing_status, price_id = u.price_id, catalog_version = u.catalog_version
            FROM {UpdatesTable} u
            WHERE {LedgerRowSchema.Table}.span_id = u.span_id AND {LedgerRowSchema.Table}.trace_id_lo = u.trace_id_lo
                AND {LedgerRowSchema.Table}.trace_id_hi = u.trace_id_hi
            """);
        using (var record = connection.Prepare("INSERT OR REPLACE INTO catalog_versions VALUES ($1, $2, $3)"))
        {
            record.Bind(1, calculator.Catalog.Version).Bind(2, calculator.Catalog.ContentHash).Bind(3, _clock.GetUtcNow()).Execute();
        }

        connection.Execute($"DROP TABLE {UpdatesTable}");
        transaction.Commit();
    }

    private static LlmCall ReadCall(DuckDbDataReader reader) => new()
    {
        TraceId = reader.GetString(0)!,
        SpanId = reader.GetString(1)!,
        StartTime = reader.GetDateTime(2),
        Provider = reader.GetString(3),
        RequestModel = reader.GetString(4),
        ResponseModel = reader.GetString(5),
        ServiceTier = reader.GetString(6),
        ServerAddress = reader.GetString(7),
        Usage = new TokenUsage
        {
            InputTokens = reader.GetInt64(8),
            OutputTokens = reader.GetInt64(9),
            CacheReadTokens = reader.GetInt64(10),
            CacheWriteTokens = reader.GetInt64(11),
            CacheWrite1hTokens = reader.GetInt64(12),
            ReasoningTokens = reader.GetInt64(13),
            InputAudioTokens = reader.GetInt64(14),
            OutputAudioTokens = reader.GetInt64(15),
            InputImageTokens = reader.GetInt64(16),
            OutputImageTokens = reader.GetInt64(17),
        },
        UsageReported = reader.GetBoolean(18),
    };

    private static void BindOptional(DuckDbPreparedStatement statement, int index, DateTime? value)
    {
        if (value is { } time)
        {
            statement.Bind(index, new DateTimeOffset(DateTime.SpecifyKind(time, DateTimeKind.Utc)));
        }
        else
        {
            statement.BindNull(index);
        }
    }

    private sealed class LineTotals
    {
        public long Rows { get; set; }

        public long Changed { get; set; }

        public decimal OldCost { get; set; }

        public decimal NewCost { get; set; }

        public long NewlyPriced { get; set; }

        public long NoLongerPriced { get; set; }
    }
}
