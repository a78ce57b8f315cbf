using System.Globalization;
using System.Text.Json;
using OtelLlmCost.Analytics.Text;

namespace OtelLlmCost.Analytics.Reconciliation;

/// <summary>The providers whose exports can be reconciled.</summary>
public enum ReconcileProvider
{
    OpenAi,
    Anthropic,
}

/// <summary>
/// One line of a provider's usage or cost export, normalized: UTC day, model, the scope the provider grouped by
/// (OpenAI project or API key, Anthropic workspace or API key; null when absent), and the cost in USD and/or token
/// counts (input tokens including cached and cache-write tokens, as the ledger counts them).
/// </summary>
public sealed record ProviderLine(DateOnly Day, string Model, string? Scope, decimal? CostUsd, long? InputTokens, long? OutputTokens);

/// <summary>Thrown for a file that is not one of the supported export formats.</summary>
public sealed class ProviderExportException(string message) : Exception(message);

/// <summary>
/// Reads the providers' documented export formats:
/// <list type="bullet">
/// <item>OpenAI Costs API (<c>GET /v1/organization/costs</c>): pages of buckets (<c>start_time</c> in Unix seconds)
/// whose results carry <c>amount.value</c>/<c>amount.currency</c>, <c>line_item</c> (e.g. <c>gpt-4o-2024-08-06, input</c>;
/// the model is the part before the comma) and <c>project_id</c>.</item>
/// <item>OpenAI Usage API (<c>GET /v1/organization/usage/completions</c>): results with <c>input_tokens</c> (cached
/// included), <c>output_tokens</c>, <c>model</c>, <c>project_id</c>, <c>api_key_id</c>.</item>
/// <item>Anthropic Cost API (<c>GET /v1/organizations/cost_report</c>): buckets with <c>starting_at</c> (RFC 3339)
/// whose results carry <c>amount</c> as a decimal string <em>in cents</em>, <c>currency</c>, <c>model</c>,
/// <c>workspace_id</c>.</item>
/// <item>Anthropic Usage API (<c>GET /v1/organizations/usage_report/messages</c>): <c>uncached_input_tokens</c>,
/// <c>cache_read_input_tokens</c>, <c>cache_creation.ephemeral_5m_input_tokens</c> and <c>ephemeral_1h_input_tokens</c>,
/// <c>output_tokens</c>, <c>model</c>, <c>workspace_id</c>, <c>api_key_id</c>.</item>
/// <item>CSV exports of either console, read by header name (case-insensitive): a date column (<c>date</c>,
/// <c>day</c>, <c>usage_date_utc</c>, <c>start_time</c>, <c>starting_at</c>, <c>timestamp</c>), a model column (<c>model</c>,
/// <c>model_version</c>, <c>line_item</c>), a cost column in USD (<c>cost_usd</c>, <c>cost</c>, <c>amount_usd</c>, <c>amount</c>,
/// <c>amount_value</c>, <c>total_cost</c>), token columns (<c>input_tokens</c>, <c>output_tokens</c>, <c>uncached_input_tokens</c>,
/// <c>cache_read_input_tokens</c>, <c>cache_creation_input_tokens</c>, <c>n_context_tokens_total</c>,
/// <c>n_generated_tokens_total</c>), and a scope (<c>project_id</c>, <c>project</c>, <c>workspace_id</c>, <c>workspace</c>,
/// <c>api_key_id</c>, <c>api_key</c>). At least a date, a model and a cost or token column are needed.</item>
/// </list>
/// Amounts in a currency other than USD are refused rather than converted.
/// </summary>
public static class ProviderExport
{
    public static IReadOnlyList<ProviderLine> Read(ReconcileProvider provider, string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var text = File.ReadAllText(path);
        var trimmed = text.TrimStart();
        return trimmed.StartsWith('{') || trimmed.StartsWith('[') ? ReadJson(provider, text) : ReadCsv(text);
    }

    public static IReadOnlyList<ProviderLine> ReadJson(ReconcileProvider provider, string json)
    {
        using var document = JsonDocument.Parse(json);
        var lines = new List<ProviderLine>();
        var pages = document.RootElement.ValueKind == JsonValueKind.Array
            ? document.RootElement.EnumerateArray().ToList()
            : [document.RootElement];
        foreach (var page in pages)
        {
            if (!page.TryGetProperty("data", out var buckets) || buckets.ValueKind != JsonValueKind.Array)
            {
                throw new ProviderExportException("not a usage or cost API page: no 'data' array");
            }

            foreach (var bucket in buckets.EnumerateArray())
            {
                var day = BucketDay(bucket);
                if (!bucket.TryGetProperty("results", out var results))
                {
                    continue;
                }

                foreach (var result in results.EnumerateArray())
                {
                    lines.Add(provider == ReconcileProvider.OpenAi ? OpenAiResult(day, result) : AnthropicResult(day, result));
                }
            }
        }

        return lines;
    }

    public static IReadOnlyList<ProviderLine> ReadCsv(string csv)
    {
        ArgumentNullException.ThrowIfNull(csv);
        var records = Csv.Parse(csv);
        if (records.Count == 0)
        {
            throw new ProviderExportException("the CSV file is empty");
        }

        var header = records[0].Select(name => name.Trim().ToLowerInvariant()).ToList();
        int Column(params string[] names) => names.Select(name => header.IndexOf(name)).FirstOrDefault(index => index >= 0, -1);
        var date = Column("date", "day", "usage_date_utc", "start_time", "starting_at", "timestamp", "bucket");
        var model = Column("model", "model_version", "line_item");
        var cost = Column("cost_usd", "cost", "amount_usd", "amount", "amount_value", "total_cost");
        var currency = Column("currency", "amount_currency");
        var input = Column("input_tokens", "n_context_tokens_total", "uncached_input_tokens");
        var cacheRead = Column("cache_read_input_tokens");
        var cacheWrite = Column("cache_creation_input_tokens");
        var output = Column("output_tokens", "n_generated_tokens_total");
        var scope = Column("project_id", "project", "workspace_id", "workspace", "api_key_id", "api_key");
        if (date < 0 || model < 0 || (cost < 0 && input < 0 && output < 0))
        {
            throw new ProviderExportException("the CSV needs a date, a model and a cost or token column (see `reconcile --help`)");
        }

        var lines = new List<ProviderLine>();
        foreach (var record in records.Skip(1))
        {
            string Field(int index) => index >= 0 && index < record.Count ? record[index].Trim() : "";
            if (record.All(string.IsNullOrWhiteSpace))
            {
                continue;
            }

            if (currency >= 0 && Field(currency) is { Length: > 0 } code && !code.Equals("usd", StringComparison.OrdinalIgnoreCase))
            {
                throw new ProviderExportException($"amounts in {code} are not supported (only USD)");
            }

            lines.Add(new ProviderLine(
                ParseDay(Field(date)),
                ModelOf(Field(model)),
                Field(scope) is { Length: > 0 } s ? s : null,
                Field(cost) is { Length: > 0 } c ? decimal.Parse(c.TrimStart('$'), NumberStyles.Float, CultureInfo.InvariantCulture) : null,
                SumTokens(Field(input), Field(cacheRead), Field(cacheWrite)),
                Field(output) is { Length: > 0 } o ? long.Parse(o, NumberStyles.Integer, CultureInfo.InvariantCulture) : null));
        }

        return lines;
    }

    /// <summary>The model of a cost line item: <c>gpt-4o-2024-08-06, input</c> → <c>gpt-4o-2024-08-06</c>.</summary>
    public static string ModelOf(string lineItem)
    {
        ArgumentNullException.ThrowIfNull(lineItem);
        var comma = lineItem.IndexOf(',', StringComparison.Ordinal);
        var model = (comma < 0 ? lineItem : lineItem[..comma]).Trim();
        return model.Length == 0 ? "(none)" : model;
    }

    private static ProviderLine OpenAiResult(DateOnly day, JsonElement result)
    {
        decimal? cost = null;
        if (result.TryGetProperty("amount", out var amount) && amount.ValueKind == JsonValueKind.Object)
        {
            CheckUsd(Text(amount, "currency"));
            cost = amount.TryGetProperty("value", out var value) && value.ValueKind == JsonValueKind.Number ? value.GetDecimal() : null;
            return new ProviderLine(day, ModelOf(Text(result, "line_item") ?? "(all)"), Text(result, "project_id"), cost, null, null);
        }

        return new ProviderLine(day, Text(result, "model") ?? "(all)", Text(result, "project_id") ?? Text(result, "api_key_id"), null,
            Number(result, "input_tokens"), Number(result, "output_tokens"));
    }

    private static ProviderLine AnthropicResult(DateOnly day, JsonElement result)
    {
        var scope = Text(result, "workspace_id") ?? Text(result, "api_key_id");
        if (result.TryGetProperty("amount", out var amount))
        {
            CheckUsd(Text(result, "currency"));

            // The cost report gives the amount in the currency's lowest unit (cents) as a decimal string.
            var cents = amount.ValueKind == JsonValueKind.String
                ? decimal.Parse(amount.GetString()!, NumberStyles.Float, CultureInfo.InvariantCulture)
                : amount.GetDecimal();
            return new ProviderLine(day, Text(result, "model") ?? "(" + (Text(result, "cost_type") ?? "other") + ")", scope, cents / 100m, null, null);
        }

        long? cacheWrite = null;
        if (result.TryGetProperty("cache_creation", out var creation) && creation.ValueKind == JsonValueKind.Object)
        {
            cacheWrite = (Number(creation, "ephemeral_5m_input_tokens") ?? 0) + (Number(creation, "ephemeral_1h_input_tokens") ?? 0);
        }

        var input = (Number(result, "uncached_input_tokens") ?? 0) + (Number(result, "cache_read_input_tokens") ?? 0) + (cacheWrite ?? 0);
        return new ProviderLine(day, Text(result, "model") ?? "(all)", scope, null, input, Number(result, "output_tokens"));
    }

    private static DateOnly BucketDay(JsonElement bucket)
    {
        if (bucket.TryGetProperty("start_time", out var start) && start.ValueKind == JsonValueKind.Number)
        {
            return DateOnly.FromDateTime(DateTimeOffset.FromUnixTimeSeconds(start.GetInt64()).UtcDateTime);
        }

        if (Text(bucket, "starting_at") is { } startingAt)
        {
            return ParseDay(startingAt);
        }

        throw new ProviderExportException("a bucket has neither start_time nor starting_at");
    }

    private static DateOnly ParseDay(string text)
    {
        if (long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var seconds))
        {
            return DateOnly.FromDateTime(DateTimeOffset.FromUnixTimeSeconds(seconds).UtcDateTime);
        }

        if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var instant))
        {
            return DateOnly.FromDateTime(instant.UtcDateTime);
        }

        throw new ProviderExportException($"'{text}' is not a date");
    }

    private static void CheckUsd(string? currency)
    {
        if (currency is not null && !currency.Equals("usd", StringComparison.OrdinalIgnoreCase))
        {
            throw new ProviderExportException($"amounts in {currency} are not supported (only USD)");
        }
    }

    private static long? SumTokens(params string[] fields)
    {
        long? total = null;
        foreach (var field in fields)
        {
            if (field.Length > 0)
            {
                total = (total ?? 0) + long.Parse(field, NumberStyles.Integer, CultureInfo.InvariantCulture);
            }
        }

        return total;
    }

    private static string? Text(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static long? Number(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number ? value.GetInt64() : null;
}
