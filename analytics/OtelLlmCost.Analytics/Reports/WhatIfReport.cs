using System.Globalization;
using OtelLlmCost.Analytics.Store.DuckDb;
using OtelLlmCost.Pricing.Cost;
using OtelLlmCost.SemanticConventions.Calls;

namespace OtelLlmCost.Analytics.Reports;

/// <summary>
/// What to reprice and as what. Any of the three levers may be pulled alone or together: another model
/// (<see cref="TargetModel"/>; null keeps each call's own), another service tier, another cache behaviour.
/// </summary>
public sealed record WhatIfScenario(
    string? TargetModel,
    string? TargetProvider = null,
    string? FromModel = null,
    string? Provider = null,
    DateTime? From = null,
    DateTime? To = null,
    string? ServiceTier = null,
    CachePolicy? Cache = null)
{
    /// <summary>One line for titles: "gpt-4o-mini, batch tier, cache hit ratio 60%".</summary>
    public string Describe()
    {
        var parts = new List<string> { TargetModel ?? "each call's own model" };
        if (ServiceTier is not null)
        {
            parts.Add($"{ServiceTier} tier");
        }

        if (Cache is not null)
        {
            parts.Add(Cache.ToString());
        }

        return string.Join(", ", parts);
    }
}

/// <summary>
/// How prompt caching would have behaved. <see cref="None"/> prices every input token as uncached (what caching
/// saved); <see cref="HitRatio"/> reads that share of each call's input from the cache (what a better cache would
/// save). Cache writes are kept as observed under a hit ratio (a warmer cache still has to be written) and dropped
/// under <see cref="None"/>. Token counts stay whole: reads are rounded down and never exceed the input left after
/// writes.
/// </summary>
public sealed record CachePolicy
{
    private CachePolicy(decimal? hitRatio) => Ratio = hitRatio;

    /// <summary>The share of input read from cache, or null for no caching at all.</summary>
    public decimal? Ratio { get; }

    public static CachePolicy None { get; } = new((decimal?)null);

    public static CachePolicy HitRatio(decimal ratio) => ratio is >= 0m and <= 1m
        ? new CachePolicy(ratio)
        : throw new ArgumentOutOfRangeException(nameof(ratio), ratio, "A cache hit ratio is between 0 and 1.");

    /// <summary>Parses <c>none</c>, <c>hit-ratio:0.6</c>, <c>0.6</c> or <c>60%</c>.</summary>
    public static CachePolicy Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var value = text.Trim();
        if (value.Equals("none", StringComparison.OrdinalIgnoreCase) || value.Equals("off", StringComparison.OrdinalIgnoreCase))
        {
            return None;
        }

        const string Prefix = "hit-ratio:";
        if (value.StartsWith(Prefix, StringComparison.OrdinalIgnoreCase))
        {
            value = value[Prefix.Length..].Trim();
        }

        var percent = value.EndsWith('%');
        if (decimal.TryParse(percent ? value[..^1] : value, NumberStyles.Number, CultureInfo.InvariantCulture, out var number))
        {
            var ratio = percent ? number / 100m : number;
            if (ratio is >= 0m and <= 1m)
            {
                return new CachePolicy(ratio);
            }
        }

        throw new FormatException($"Cache policy '{text}' is not 'none' or a hit ratio between 0 and 1 (hit-ratio:0.6, 0.6 or 60%).");
    }

    /// <summary>The same call's usage under this policy (input and output totals unchanged).</summary>
    public TokenUsage Apply(TokenUsage usage)
    {
        if (Ratio is not { } ratio)
        {
            return usage with { CacheReadTokens = 0, CacheWriteTokens = 0, CacheWrite1hTokens = 0 };
        }

        var reads = (long)decimal.Floor(usage.InputTokens * ratio);
        return usage with { CacheReadTokens = Math.Min(reads, usage.InputTokens - usage.CacheWriteTokens) };
    }

    public override string ToString() => Ratio is { } ratio
        ? string.Create(CultureInfo.InvariantCulture, $"cache hit ratio {ratio:0.##%}")
        : "no prompt caching";
}

/// <summary>One original provider and model: what its calls cost and what they would have cost on the target.</summary>
public sealed record WhatIfLine(
    string? Provider,
    string? Model,
    long Calls,
    long RepricedCalls,
    decimal ActualCostUsd,
    decimal WhatIfCostUsd)
{
    /// <summary>Target cost minus actual cost over the calls both price (negative = savings).</summary>
    public decimal DifferenceUsd => WhatIfCostUsd - ActualCostUsd;
}

public sealed record WhatIfReport(WhatIfScenario Scenario, string CatalogVersion, IReadOnlyList<WhatIfLine> Lines, long UnpriceableCalls)
{
    public decimal ActualCostUsd => Lines.Sum(line => line.ActualCostUsd);

    public decimal WhatIfCostUsd => Lines.Sum(line => line.WhatIfCostUsd);

    public decimal DifferenceUsd => WhatIfCostUsd - ActualCostUsd;
}

/// <summary>
/// Reprices historical traffic as if it had gone to another model, service tier or cache policy: each call's stored usage is
/// priced with <see cref="CostCalculator.Calculate(string?, string?, TokenUsage, string?, DateTime, string?)"/> at the
/// call's own start time, so the comparison uses the prices that would have applied then. Only calls that are priced
/// both ways enter the sums, so a difference never comes from a missing price; the rest are counted.
/// </summary>
public sealed class WhatIfReporter(CostCalculator calculator)
{
    public WhatIfReport Build(DuckDbConnection connection, WhatIfScenario scenario)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(scenario);
        var lines = new Dictionary<(string?, string?), (long Calls, long Repriced, decimal Actual, decimal WhatIf)>();
        long unpriceable = 0;
        using var statement = connection.Prepare($"""
            SELECT provider, {CallDimensions.ModelSql} AS model, start_time, service_tier,
                   input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, cache_write_1h_tokens, reasoning_tokens,
                   input_audio_tokens, output_audio_tokens, input_image_tokens, output_image_tokens, cost_usd
            FROM llm_calls
            WHERE ($1 IS NULL OR start_time >= $1) AND ($2 IS NULL OR start_time < $2)
              AND ($3 IS NULL OR request_model = $3 OR response_model = $3)
              AND ($4 IS NULL OR provider = $4)
            """);
        BindTime(statement, 1, scenario.From);
        BindTime(statement, 2, scenario.To);
        statement.Bind(3, scenario.FromModel);
        statement.Bind(4, scenario.Provider);
        using var reader = statement.Query();
        while (reader.Read())
        {
            var provider = reader.IsDBNull(0) ? null : reader.GetString(0);
            var model = reader.IsDBNull(1) ? null : reader.GetString(1);
            var usage = new TokenUsage
            {
                InputTokens = reader.GetInt64(4),
                OutputTokens = reader.GetInt64(5),
                CacheReadTokens = reader.GetInt64(6),
                CacheWriteTokens = reader.GetInt64(7),
                CacheWrite1hTokens = reader.GetInt64(8),
                ReasoningTokens = reader.GetInt64(9),
                InputAudioTokens = reader.GetInt64(10),
                OutputAudioTokens = reader.GetInt64(11),
                InputImageTokens = reader.GetInt64(12),
                OutputImageTokens = reader.GetInt64(13),
            };
            var at = reader.GetDateTime(2);
            var tier = scenario.ServiceTier ?? (reader.IsDBNull(3) ? null : reader.GetString(3));
            var actual = reader.IsDBNull(14) ? (decimal?)null : reader.GetDecimal(14);
            var target = Reprice(scenario, provider, model, scenario.Cache?.Apply(usage) ?? usage, tier, at);

            var key = (provider, model);
            lines.TryGetValue(key, out var line);
            line.Calls++;
            if (actual is { } a && target is { } t)
            {
                line.Repriced++;
                line.Actual += a;
                line.WhatIf += t;
            }
            else
            {
                unpriceable++;
            }

            lines[key] = line;
        }

        var result = lines
            .Select(pair => new WhatIfLine(pair.Key.Item1, pair.Key.Item2, pair.Value.Calls, pair.Value.Repriced, pair.Value.Actual, pair.Value.WhatIf))
            .OrderByDescending(line => line.ActualCostUsd)
            .ThenBy(line => line.Provider, StringComparer.Ordinal)
            .ThenBy(line => line.Model, StringComparer.Ordinal)
            .ToList();
        return new WhatIfReport(scenario, calculator.Catalog.Version, result, unpriceable);
    }

    /// <summary>The target cost rounded as the ledger stores money, or null when the target cannot price this usage.</summary>
    private decimal? Reprice(WhatIfScenario scenario, string? provider, string? model, TokenUsage usage, string? tier, DateTime at) =>
        Reprice(scenario.TargetProvider ?? provider, scenario.TargetModel ?? model, usage, tier, at,
            findProvider: scenario.TargetProvider is null && scenario.TargetModel is not null);

    /// <summary>
    /// <paramref name="usage"/> priced on <paramref name="model"/> at <paramref name="at"/>, rounded as the ledger stores money;
    /// null when it cannot be priced. <paramref name="findProvider"/>: when the provider does not serve the model, let the
    /// matcher find the model's provider (switching providers without naming the new one).
    /// </summary>
    internal decimal? Reprice(string? provider, string? model, TokenUsage usage, string? tier, DateTime at, bool findProvider)
    {
        var cost = calculator.Calculate(provider, model, usage, tier, at);
        if (cost.Status != PricingStatuses.Priced && findProvider)
        {
            cost = calculator.Calculate(null, model, usage, tier, at);
        }

        return cost.Status == PricingStatuses.Priced && cost.TotalCost is { } total
            ? decimal.Round(total, Store.Ledger.LlmCallRow.MoneyScale, MidpointRounding.ToEven)
            : null;
    }

    private static void BindTime(DuckDbPreparedStatement statement, int index, DateTime? value)
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
}
