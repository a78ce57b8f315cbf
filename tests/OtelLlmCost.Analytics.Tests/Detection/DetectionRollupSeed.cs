using OtelLlmCost.Analytics.Detection;
using OtelLlmCost.Analytics.Store;

namespace OtelLlmCost.Analytics.Tests.Detection;

/// <summary>Traffic of one model in one bucket, priced per token class (USD per token) the way the ledger prices it.</summary>
internal sealed record SeedTraffic(string Model, long Calls, long InputPerCall, long OutputPerCall, double CacheHit, double InputPrice,
    double CacheReadPrice, double OutputPrice, long Errors = 0)
{
    public long Input => Calls * InputPerCall;

    public long CacheRead => (long)Math.Round(Input * CacheHit);

    public long Output => Calls * OutputPerCall;

    public decimal InputCost => Money((Input - CacheRead) * InputPrice);

    public decimal CacheReadCost => Money(CacheRead * CacheReadPrice);

    public decimal OutputCost => Money(Output * OutputPrice);

    public decimal Cost => InputCost + CacheReadCost + OutputCost;

    /// <summary>The same traffic as a rollup aggregate (one model).</summary>
    public BucketAggregate Aggregate()
    {
        var part = new BucketAggregate
        {
            Calls = Calls, Errors = Errors, InputTokens = Input, OutputTokens = Output, CacheReadTokens = CacheRead, CostUsd = Cost,
            InputCostUsd = InputCost, CacheReadCostUsd = CacheReadCost, OutputCostUsd = OutputCost,
        };
        var holder = new BucketAggregate();
        holder.Models[Model] = part;
        holder.Add(part, withModels: false);
        return holder;
    }

    private static decimal Money(double value) => Math.Round((decimal)value, 9);
}

/// <summary>Writes constructed rollup rows (minute and hour grain) whose cause is known, straight into a real DuckDB file.</summary>
internal static class DetectionRollupSeed
{
    public static BucketAggregate Combine(params SeedTraffic[] parts)
    {
        var sum = new BucketAggregate();
        foreach (var part in parts)
        {
            sum.Add(part.Aggregate());
        }

        return sum;
    }

    /// <summary>One rollup_minute row per traffic at its minute; rollup_hour is then derived from rollup_minute.</summary>
    public static void Write(LedgerStore store, IEnumerable<(DateTime Minute, string Feature, SeedTraffic Traffic)> rows) =>
        Write(store, rows.Select(r => (r.Minute, r.Feature, "support", "chat", r.Traffic)));

    /// <summary>The same with each row's team and workload.</summary>
    public static void Write(LedgerStore store, IEnumerable<(DateTime Minute, string Feature, string Team, string Workload, SeedTraffic Traffic)> rows)
    {
        using var connection = store.Connect();
        using (var minutes = connection.CreateAppender("rollup_minute"))
        {
            foreach (var (minute, feature, team, workload, traffic) in rows)
            {
                Append(minutes, minute, feature, team, workload, traffic);
            }
        }

        connection.Execute("""
            INSERT INTO rollup_hour
            SELECT time_bucket(INTERVAL 1 hour, bucket_start), service, environment, provider, model, team, feature, workload, tenant,
                   sum(calls), sum(errors), sum(unpriced_calls), sum(input_tokens), sum(output_tokens), sum(cache_read_tokens),
                   sum(cache_write_tokens), sum(reasoning_tokens), sum(cost_usd), sum(input_cost_usd), sum(output_cost_usd),
                   sum(cache_read_cost_usd), sum(cache_write_cost_usd), sum(duration_ms_sum), max(duration_ms_max), cost_center
            FROM rollup_minute GROUP BY ALL
            """);
    }

    private static void Append(OtelLlmCost.Analytics.Store.DuckDb.DuckDbAppender appender, DateTime minute, string feature, string team,
        string workload, SeedTraffic t)
    {
        appender.Append(minute).Append("svc").Append("prod").Append("anthropic").Append(t.Model).Append(team).Append(feature)
            .Append(workload).Append("acme")
            .Append(t.Calls).Append(t.Errors).Append(0L).Append(t.Input).Append(t.Output).Append(t.CacheRead).Append(0L).Append(0L)
            .Append(t.Cost).Append(t.InputCost).Append(t.OutputCost).Append(t.CacheReadCost).Append((decimal?)0m)
            .Append(100.0 * t.Calls).Append(150.0).Append("");
        appender.EndRow();
    }
}
