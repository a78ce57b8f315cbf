using System.Text.RegularExpressions;
using OtelLlmCost.Analytics.Store.DuckDb;
using OtelLlmCost.SemanticConventions.Calls;

namespace OtelLlmCost.Analytics.Reconciliation;

/// <summary>How a reconciliation line was matched.</summary>
public enum ReconcileStatus
{
    Matched,
    ProviderOnly,
    LedgerOnly,
}

/// <summary>
/// One day × model (× scope) line: the provider's figures beside the ledger's and their difference. A figure the
/// export does not have (costs in a usage export, tokens in a cost export) is null on both sides.
/// </summary>
public sealed record ReconcileLine(
    DateOnly Day,
    string Model,
    string? Scope,
    ReconcileStatus Status,
    decimal? ProviderCostUsd,
    decimal? LedgerCostUsd,
    decimal? CostDifferenceUsd,
    long? ProviderInputTokens,
    long? LedgerInputTokens,
    long? ProviderOutputTokens,
    long? LedgerOutputTokens,
    long LedgerCalls);

public sealed record ReconcileReport(string Provider, DateOnly From, DateOnly To, IReadOnlyList<ReconcileLine> Lines)
{
    public decimal ProviderCostUsd => Lines.Sum(line => line.ProviderCostUsd ?? 0m);

    public decimal LedgerCostUsd => Lines.Sum(line => line.LedgerCostUsd ?? 0m);

    public IEnumerable<ReconcileLine> Unmatched => Lines.Where(line => line.Status != ReconcileStatus.Matched);
}

/// <summary>
/// Compares a provider's export with the ledger per UTC day × model, and per scope when a ledger column is named
/// to stand for the provider's project/workspace/key (e.g. <c>workload</c> when each project is a workload);
/// otherwise the provider's scopes are summed. Models are compared case-insensitively with a trailing date
/// version removed (<c>gpt-4o-2024-08-06</c> and <c>gpt-4o</c>, <c>claude-sonnet-4-20250514</c> and
/// <c>claude-sonnet-4</c> are one model), because one side often reports the alias and the other the snapshot.
/// Only ledger calls of the provider (<c>openai</c> or <c>anthropic</c>) on the export's days are counted.
/// </summary>
public static partial class Reconciler
{
    /// <summary>Ledger columns that may stand for the provider's scope: the stored rollup dimensions but the provider itself.</summary>
    public static IReadOnlyList<string> ScopeColumns { get; } = CallDimensions.With(DimensionUses.Rollup)
        .Where(dimension => dimension.Column is not null && dimension != CallDimensions.Provider).Select(dimension => dimension.Column!).ToArray();

    public static ReconcileReport Compare(DuckDbConnection ledger, ReconcileProvider provider, IReadOnlyList<ProviderLine> lines, string? scopeColumn = null)
    {
        ArgumentNullException.ThrowIfNull(ledger);
        ArgumentNullException.ThrowIfNull(lines);
        if (scopeColumn is not null && !ScopeColumns.Contains(scopeColumn))
        {
            throw new ArgumentException($"scope column must be one of {string.Join(", ", ScopeColumns)}", nameof(scopeColumn));
        }

        var providerName = provider == ReconcileProvider.OpenAi ? "openai" : "anthropic";
        if (lines.Count == 0)
        {
            return new ReconcileReport(providerName, default, default, []);
        }

        var hasCost = lines.Any(line => line.CostUsd is not null);
        var hasTokens = lines.Any(line => line.InputTokens is not null || line.OutputTokens is not null);
        var from = lines.Min(line => line.Day);
        var to = lines.Max(line => line.Day).AddDays(1);

        var theirs = new Dictionary<(DateOnly, string, string?), Figures>();
        foreach (var line in lines)
        {
            var key = (line.Day, ModelKey(line.Model), scopeColumn is null ? null : line.Scope);
            theirs[key] = theirs.GetValueOrDefault(key).Add(line.CostUsd ?? 0m, line.InputTokens ?? 0, line.OutputTokens ?? 0, 0);
        }

        var ours = new Dictionary<(DateOnly, string, string?), Figures>();
        var scope = scopeColumn is null ? "NULL" : $"coalesce({scopeColumn}, '')";
        using (var statement = ledger.Prepare($"""
            SELECT CAST(timezone('UTC', start_time) AS DATE) AS day, coalesce({CallDimensions.ModelSql}, '') AS model,
                   {scope} AS scope, coalesce(sum(cost_usd), 0), CAST(sum(input_tokens) AS BIGINT), CAST(sum(output_tokens) AS BIGINT), count(*)
            FROM llm_calls
            WHERE provider = $1 AND start_time >= $2 AND start_time < $3
            GROUP BY ALL
            """))
        {
            using var reader = statement.Bind(1, providerName)
                .Bind(2, DateTime.SpecifyKind(from.ToDateTime(TimeOnly.MinValue), DateTimeKind.Utc))
                .Bind(3, DateTime.SpecifyKind(to.ToDateTime(TimeOnly.MinValue), DateTimeKind.Utc))
                .Query();
            while (reader.Read())
            {
                var day = reader.GetValue(0) switch
                {
                    DateOnly date => date,
                    DateTime time => DateOnly.FromDateTime(time),
                    var other => throw new InvalidOperationException($"unexpected day value {other}"),
                };
                var key = (day, ModelKey(reader.GetString(1)!), reader.IsDBNull(2) ? null : reader.GetString(2));
                ours[key] = ours.GetValueOrDefault(key).Add(reader.GetDecimal(3), reader.GetInt64(4), reader.GetInt64(5), reader.GetInt64(6));
            }
        }

        var result = new List<ReconcileLine>();
        foreach (var key in theirs.Keys.Union(ours.Keys).OrderBy(k => k.Item1).ThenBy(k => k.Item2, StringComparer.Ordinal).ThenBy(k => k.Item3, StringComparer.Ordinal))
        {
            var inTheirs = theirs.TryGetValue(key, out var p);
            var inOurs = ours.TryGetValue(key, out var o);
            var status = inTheirs && inOurs ? ReconcileStatus.Matched : inTheirs ? ReconcileStatus.ProviderOnly : ReconcileStatus.LedgerOnly;
            result.Add(new ReconcileLine(
                key.Item1, key.Item2, key.Item3, status,
                hasCost ? p.Cost : null, hasCost ? o.Cost : null, hasCost ? o.Cost - p.Cost : null,
                hasTokens ? p.Input : null, hasTokens ? o.Input : null,
                hasTokens ? p.Output : null, hasTokens ? o.Output : null,
                o.Calls));
        }

        return new ReconcileReport(providerName, from, to.AddDays(-1), result);
    }

    /// <summary>Lower case, without a trailing date version (<c>-2024-08-06</c>, <c>-20250514</c>).</summary>
    public static string ModelKey(string model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return DateSuffix().Replace(model.Trim().ToLowerInvariant(), "");
    }

    [GeneratedRegex(@"-(\d{4}-\d{2}-\d{2}|\d{8})$")]
    private static partial Regex DateSuffix();

    private readonly record struct Figures(decimal Cost, long Input, long Output, long Calls)
    {
        public Figures Add(decimal cost, long input, long output, long calls) => new(Cost + cost, Input + input, Output + output, Calls + calls);
    }
}
