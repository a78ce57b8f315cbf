using System.Globalization;
using OtelLlmCost.Analytics.Store.DuckDb;
using OtelLlmCost.Pricing.Cost;
using OtelLlmCost.SemanticConventions.Calls;

namespace OtelLlmCost.Analytics.Reports.Savings;

/// <summary>
/// Finds what could be saved in a period and how, from the ledger's priced calls: each call's stored usage is priced
/// again under the opportunity's assumption with the what-if pricing (<see cref="WhatIfReporter"/>: the prices in effect
/// at the call's start, rounded as the ledger stores money), so every figure is an exact sum of per-call decimals.
/// A call enters an opportunity only when it prices both ways; unpriced calls are counted apart.
/// </summary>
public sealed class SavingsReporter(CostCalculator calculator, SavingsOptions options)
{
    private const decimal LedgerScaleZero = 0.000000000000m;

    private readonly WhatIfReporter _pricing = new(calculator);
    private readonly IReadOnlyDictionary<string, string> _downgrades = options.EffectiveDowngrades();
    private readonly IReadOnlySet<string> _frontier = options.EffectiveFrontierModels();
    private readonly HashSet<string> _nonInteractive = new(options.NonInteractiveWorkloads, StringComparer.Ordinal);
    private readonly Dictionary<(string?, string?), string?> _catalogIds = [];

    public SavingsReport Build(DuckDbConnection connection, ReportPeriod period)
    {
        ArgumentNullException.ThrowIfNull(connection);
        options.Validate();
        var firstWeek = WeekStart(period.From);
        var lastWeek = WeekStart(period.To.AddTicks(-1));
        var groups = new Dictionary<(string Kind, string? Feature, string? Team, string? Workload, string? Provider, string? Model, string? Target), Sums>();
        var weeks = new Dictionary<(string? Feature, DateTime Week), (decimal Cost, decimal Frontier)>();
        long priced = 0, unpriced = 0;
        var cost = 0m;
        using var statement = connection.Prepare($"""
            SELECT NULLIF(feature, ''), NULLIF(team, ''), NULLIF(workload, ''), provider, {CallDimensions.ModelSql},
                   start_time, service_tier, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, cache_write_1h_tokens,
                   reasoning_tokens, input_audio_tokens, output_audio_tokens, input_image_tokens, output_image_tokens, cost_usd
            FROM llm_calls
            WHERE start_time >= $1 AND start_time < $2
            """);
        statement.Bind(1, new DateTimeOffset(firstWeek.AddDays(-7)));
        statement.Bind(2, new DateTimeOffset(lastWeek.AddDays(7)));
        using var reader = statement.Query();
        while (reader.Read())
        {
            var at = DateTime.SpecifyKind(reader.GetDateTime(5), DateTimeKind.Utc);
            var inPeriod = at >= period.From && at < period.To;
            if (reader.IsDBNull(17))
            {
                unpriced += inPeriod ? 1 : 0;
                continue;
            }

            var feature = Text(reader, 0);
            var provider = Text(reader, 3);
            var model = Text(reader, 4);
            var actual = reader.GetDecimal(17);
            var catalogId = CatalogId(provider, model);
            var week = (feature, WeekStart(at));
            weeks.TryGetValue(week, out var spend);
            weeks[week] = (spend.Cost + actual, spend.Frontier + (catalogId is not null && _frontier.Contains(catalogId) ? actual : 0m));
            if (!inPeriod)
            {
                continue;
            }

            priced++;
            cost += actual;
            var team = Text(reader, 1);
            var workload = Text(reader, 2);
            var tier = Text(reader, 6);
            var usage = new TokenUsage
            {
                InputTokens = reader.GetInt64(7),
                OutputTokens = reader.GetInt64(8),
                CacheReadTokens = reader.GetInt64(9),
                CacheWriteTokens = reader.GetInt64(10),
                CacheWrite1hTokens = reader.GetInt64(11),
                ReasoningTokens = reader.GetInt64(12),
                InputAudioTokens = reader.GetInt64(13),
                OutputAudioTokens = reader.GetInt64(14),
                InputImageTokens = reader.GetInt64(15),
                OutputImageTokens = reader.GetInt64(16),
            };

            if (catalogId is not null && _downgrades.TryGetValue(catalogId, out var cheaper)
                && _pricing.Reprice(provider, cheaper, usage, tier, at, findProvider: false) is { } downgraded)
            {
                Add(groups, (SavingsKinds.ModelDowngrade, feature, team, null, provider, model, cheaper), actual, downgraded, usage);
            }

            if (_pricing.Reprice(provider, model, WithCacheHits(usage), tier, at, findProvider: false) is { } cached)
            {
                Add(groups, (SavingsKinds.PromptCaching, feature, team, null, provider, model, null), actual, cached, usage);
            }

            if (workload is not null && _nonInteractive.Contains(workload) && !string.Equals(tier, options.BatchTier, StringComparison.OrdinalIgnoreCase)
                && _pricing.Reprice(provider, model, usage, options.BatchTier, at, findProvider: false) is { } batched)
            {
                Add(groups, (SavingsKinds.Batch, feature, team, workload, provider, model, null), actual, batched, usage);
            }
        }

        var monthFactor = MonthFactor(period);
        var opportunities = groups
            .Where(pair => pair.Value.Projected < pair.Value.Actual && (pair.Key.Kind != SavingsKinds.PromptCaching || IsCachingCandidate(pair.Value)))
            .Select(pair => Opportunity(pair.Key, pair.Value, monthFactor))
            .OrderByDescending(o => o.SavingsPerMonthUsd)
            .ThenBy(o => o.Kind, StringComparer.Ordinal)
            .ThenBy(o => o.Feature, StringComparer.Ordinal)
            .ThenBy(o => o.Model, StringComparer.Ordinal)
            .ToList();
        return new SavingsReport(period.From, period.To, calculator.Catalog.Version, monthFactor, priced, unpriced, cost, opportunities,
            FrontierShares(weeks, firstWeek, lastWeek));
    }

    /// <summary>1 for a calendar month; else the period scaled to 30 days.</summary>
    internal static decimal MonthFactor(ReportPeriod period) =>
        period.From.Day == 1 && period.From.TimeOfDay == TimeSpan.Zero && period.To == period.From.AddMonths(1)
            ? 1m
            : 30m * TimeSpan.TicksPerDay / (period.To - period.From).Ticks;

    /// <summary>
    /// The call at the target hit ratio: that share of its input read from the cache (never fewer reads than it had),
    /// and one cache write per <see cref="SavingsOptions.CacheReadsPerWrite"/> reads (never fewer writes than it had).
    /// </summary>
    internal TokenUsage WithCacheHits(TokenUsage usage)
    {
        var reads = Math.Max(usage.CacheReadTokens, (long)decimal.Floor(usage.InputTokens * options.TargetCacheHitRatio));
        var writes = Math.Max(usage.CacheWriteTokens, (reads + options.CacheReadsPerWrite - 1) / options.CacheReadsPerWrite);
        writes = Math.Min(writes, usage.InputTokens);
        return usage with { CacheReadTokens = Math.Min(reads, usage.InputTokens - writes), CacheWriteTokens = writes };
    }

    private bool IsCachingCandidate(Sums sums) =>
        sums.Calls >= options.MinCacheCalls
        && sums.InputTokens >= options.MinCacheInputTokens * sums.Calls
        && sums.CacheReadTokens < options.LowCacheHitRatio * sums.InputTokens;

    private SavingsOpportunity Opportunity(
        (string Kind, string? Feature, string? Team, string? Workload, string? Provider, string? Model, string? Target) key, Sums sums, decimal monthFactor)
    {
        // Repriced sums carry the scale their prices give (0.21000000); at the ledger's scale they print like the actual cost.
        var projected = sums.Projected + LedgerScaleZero;
        var savings = sums.Actual - projected;
        var assumption = key.Kind switch
        {
            SavingsKinds.ModelDowngrade => $"the same calls and token counts on {key.Target}, one rung down the reviewed model ladder "
                + "(Savings:Downgrades overrides it); the answers' quality is not judged: try it on an evaluation set first",
            SavingsKinds.PromptCaching => string.Create(CultureInfo.InvariantCulture,
                $"the calls average {sums.InputTokens / sums.Calls} input tokens with a {Ratio(sums.CacheReadTokens, sums.InputTokens)} cache hit ratio; priced at a {options.TargetCacheHitRatio:0.##%} hit ratio with one cache write per {options.CacheReadsPerWrite} reads at the model's cache-read and cache-write prices; assumes the calls share a stable prefix (the ledger does not see prompt content)"),
            _ => $"workload '{key.Workload}' is marked non-interactive (Savings:NonInteractiveWorkloads): the same calls at the "
                + $"{options.BatchTier} tier, answered within the provider's batch window (up to 24 hours)",
        };
        return new SavingsOpportunity(key.Kind, key.Feature, key.Team, key.Workload, key.Provider, key.Model, key.Target,
            key.Kind == SavingsKinds.Batch ? options.BatchTier : null,
            key.Kind == SavingsKinds.PromptCaching ? options.TargetCacheHitRatio : null,
            sums.Calls, sums.Actual, projected, savings, decimal.Round(savings * monthFactor, Store.Ledger.LlmCallRow.MoneyScale, MidpointRounding.ToEven),
            assumption);
    }

    private static List<FrontierShareLine> FrontierShares(Dictionary<(string? Feature, DateTime Week), (decimal Cost, decimal Frontier)> weeks,
        DateTime firstWeek, DateTime lastWeek)
    {
        var lines = new List<FrontierShareLine>();
        foreach (var ((feature, week), spend) in weeks)
        {
            if (week < firstWeek || week > lastWeek)
            {
                continue;
            }

            var share = Share(spend.Frontier, spend.Cost);
            decimal? previous = weeks.TryGetValue((feature, week.AddDays(-7)), out var before) ? Share(before.Frontier, before.Cost) : null;
            if (spend.Frontier == 0 && (previous ?? 0) == 0)
            {
                continue;
            }

            lines.Add(new FrontierShareLine(feature, week, spend.Cost, spend.Frontier, share, previous, (share - previous) * 100));
        }

        return lines.OrderBy(line => line.WeekStart).ThenByDescending(line => line.FrontierCostUsd).ThenBy(line => line.Feature, StringComparer.Ordinal).ToList();
    }

    private static decimal Share(decimal part, decimal whole) => whole == 0 ? 0m : decimal.Round(part / whole, 6, MidpointRounding.ToEven);

    private static string Ratio(long part, long whole) => whole == 0
        ? "0%"
        : ((decimal)part / whole).ToString("0.#%", CultureInfo.InvariantCulture);

    private static void Add(Dictionary<(string, string?, string?, string?, string?, string?, string?), Sums> groups,
        (string, string?, string?, string?, string?, string?, string?) key, decimal actual, decimal projected, TokenUsage usage)
    {
        if (!groups.TryGetValue(key, out var sums))
        {
            groups[key] = sums = new Sums();
        }

        sums.Calls++;
        sums.Actual += actual;
        sums.Projected += projected;
        sums.InputTokens += usage.InputTokens;
        sums.CacheReadTokens += usage.CacheReadTokens;
    }

    private string? CatalogId(string? provider, string? model)
    {
        if (!_catalogIds.TryGetValue((provider, model), out var id))
        {
            _catalogIds[(provider, model)] = id = calculator.Matcher.Match(provider, model)?.ModelId;
        }

        return id;
    }

    private static DateTime WeekStart(DateTime at)
    {
        var day = at.Date;
        return DateTime.SpecifyKind(day.AddDays(-(((int)day.DayOfWeek + 6) % 7)), DateTimeKind.Utc);
    }

    private static string? Text(DuckDbDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);

    private sealed class Sums
    {
        public long Calls;
        public decimal Actual;
        public decimal Projected;
        public long InputTokens;
        public long CacheReadTokens;
    }
}
