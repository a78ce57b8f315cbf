using System.Globalization;
using System.Text;
using System.Text.Json;
using OtelLlmCost.Analytics.Store.DuckDb;
using OtelLlmCost.SemanticConventions.Calls;

namespace OtelLlmCost.Analytics.Exports;

/// <summary>
/// FinOps FOCUS 1.2 cost-and-usage CSV (<c>focus.csv</c>): one row per charge period (UTC day or hour) × provider ×
/// model × price × service tier × workload/team/feature/environment/service × token class, the grain FOCUS forces
/// because each token class has its own unit price (ListCost = ListUnitPrice × PricingQuantity).
/// Rules followed (shared/reference/dashboards-focus.md §2): the 1.2 mandatory columns, then conditional ones, then
/// <c>x_</c> columns; UTC ISO 8601 times with <c>Z</c>; plain decimals; real nulls (empty CSV fields); Tags and
/// SkuPriceDetails as flat JSON; PricingUnit "1000000 Tokens" (prices are published per million) and ConsumedUnit
/// "Tokens"; BillingPeriod = the calendar month of the charge. Our costs are catalog estimates, so Billed = Effective =
/// List = Contracted cost, and x_CostSource says "estimated". Unpriced calls have no cost and are left out (counted in
/// the result), never exported as zero. The output class carries any pico-dollar difference between a call's stored
/// total and its stored parts, so the file's BilledCost total equals the ledger's cost total exactly.
/// </summary>
public static class FocusExporter
{
    public const string FileName = "focus.csv";

    public const string PricingUnit = "1000000 Tokens";

    public static IReadOnlyList<string> Columns { get; } =
    [
        // FOCUS 1.2 mandatory
        "BilledCost", "BillingAccountId", "BillingAccountName", "BillingCurrency", "BillingPeriodEnd", "BillingPeriodStart",
        "ChargeCategory", "ChargeClass", "ChargeDescription", "ChargePeriodEnd", "ChargePeriodStart", "ContractedCost",
        "EffectiveCost", "InvoiceIssuerName", "ListCost", "PricingQuantity", "PricingUnit", "ProviderName", "PublisherName",
        "ServiceCategory", "ServiceName",
        // conditional and recommended
        "ChargeFrequency", "ConsumedQuantity", "ConsumedUnit", "ContractedUnitPrice", "InvoiceId", "ListUnitPrice", "PricingCategory",
        "ServiceSubcategory", "SkuId", "SkuMeter", "SkuPriceDetails", "SkuPriceId", "SubAccountId", "SubAccountName", "Tags",
        // ours
        "x_Model", "x_RequestCount", "x_PriceCatalogVersion", "x_CostSource", "x_ServiceName", "x_Workload",
    ];

    /// <summary>
    /// FOCUS 1.3 adds ServiceProviderName and HostProviderName (ProviderName and PublisherName stay, deprecated); they
    /// go after the 1.2 FOCUS columns, before ours.
    /// </summary>
    public static IReadOnlyList<string> ColumnsFor(FocusVersion version) => version == FocusVersion.V1_3
        ? [.. Columns.TakeWhile(c => !c.StartsWith("x_", StringComparison.Ordinal)), "HostProviderName", "ServiceProviderName",
            .. Columns.SkipWhile(c => !c.StartsWith("x_", StringComparison.Ordinal))]
        : Columns;

    private static readonly (string Class, string Meter)[] TokenClasses =
    [
        ("input", "Input Tokens"),
        ("cache_read", "Cached Input Tokens"),
        ("cache_write", "Cache Write Tokens"),
        ("output", "Output Tokens"),
    ];

    public static ExportResult Export(DuckDbConnection connection, ExportRequest request, IProgress<string>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(request);
        Directory.CreateDirectory(request.OutputDirectory);
        var file = Path.GetFullPath(Path.Combine(request.OutputDirectory, FileName));
        progress?.Report($"writing {file}");
        var grainMicros = request.Grain == ChargePeriodGrain.Hour ? 3_600_000_000L : 86_400_000_000L;
        var where = LedgerExporter.Where(request.From, request.To);
        var and = where.Length == 0 ? "WHERE" : where + " AND";
        long rows = 0;
        long calls = 0;
        var total = 0m;
        using (var writer = new StreamWriter(file, append: false, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false)))
        {
            var line = new StringBuilder();
            var columns = ColumnsFor(request.FocusVersion);
            WriteLine(writer, line, columns);
            using var reader = connection.Query($"""
                SELECT (epoch_us(start_time) // {grainMicros}) * {grainMicros} AS bucket,
                       coalesce(provider, 'unknown') AS provider, {CallDimensions.ModelSql} AS model, price_id,
                       NULLIF(service_tier, '') AS service_tier, NULLIF(workload, '') AS workload, NULLIF(team, '') AS team,
                       NULLIF(feature, '') AS feature, NULLIF(environment, '') AS environment, NULLIF(service, '') AS service,
                       count(*)::BIGINT, max(catalog_version),
                       sum(input_tokens - cache_read_tokens - cache_write_tokens)::BIGINT, sum(cache_read_tokens)::BIGINT,
                       sum(cache_write_tokens)::BIGINT, sum(output_tokens)::BIGINT,
                       sum(coalesce(input_cost_usd, 0)), sum(coalesce(cache_read_cost_usd, 0)), sum(coalesce(cache_write_cost_usd, 0)),
                       sum(cost_usd - coalesce(input_cost_usd, 0) - coalesce(cache_read_cost_usd, 0) - coalesce(cache_write_cost_usd, 0)),
                       NULLIF(cost_center, '') AS cost_center
                FROM llm_calls
                {and} cost_usd IS NOT NULL
                GROUP BY ALL
                ORDER BY ALL
                """);
            var values = new string?[Columns.Count];
            var output = new string?[columns.Count];
            while (reader.Read())
            {
                var group = Group.Read(reader, grainMicros);
                calls += group.Calls;
                for (var i = 0; i < TokenClasses.Length; i++)
                {
                    var tokens = group.Tokens[i];
                    var cost = group.Costs[i];
                    if (tokens == 0 && cost == 0)
                    {
                        continue;
                    }

                    Project(group, TokenClasses[i].Class, TokenClasses[i].Meter, tokens, cost, values);
                    WriteLine(writer, line, Profile(request.FocusVersion, group, values, output));
                    rows++;
                    total += cost;
                }
            }
        }

        var unpriced = (long)connection.ExecuteScalar($"SELECT count(*) FROM llm_calls {and} cost_usd IS NULL")!;
        progress?.Report($"wrote {rows} FOCUS rows to {file}");
        return new ExportResult(file, rows, calls, total, unpriced);
    }

    private static void Project(Group group, string tokenClass, string meter, long tokens, decimal cost, string?[] values)
    {
        var quantity = tokens * 0.000001m;
        decimal? unitPrice = tokens == 0 ? null : decimal.Round(cost / quantity, 12, MidpointRounding.ToEven);
        var tier = group.ServiceTier ?? "standard";
        var provider = ProviderNames.For(group.Provider);
        var model = group.Model ?? "unknown";
        var month = new DateTime(group.PeriodStart.Year, group.PeriodStart.Month, 1, 0, 0, 0, DateTimeKind.Utc);
        var i = 0;
        values[i++] = Decimal(cost);                                      // BilledCost
        values[i++] = group.Provider;                                     // BillingAccountId
        values[i++] = provider.Company;                                   // BillingAccountName
        values[i++] = "USD";                                              // BillingCurrency
        values[i++] = Time(month.AddMonths(1));                           // BillingPeriodEnd
        values[i++] = Time(month);                                        // BillingPeriodStart
        values[i++] = "Usage";                                            // ChargeCategory
        values[i++] = null;                                               // ChargeClass
        values[i++] = $"{model} {meter.ToLowerInvariant()}, {tier} tier"; // ChargeDescription
        values[i++] = Time(group.PeriodEnd);                              // ChargePeriodEnd
        values[i++] = Time(group.PeriodStart);                            // ChargePeriodStart
        values[i++] = Decimal(cost);                                      // ContractedCost
        values[i++] = Decimal(cost);                                      // EffectiveCost
        values[i++] = provider.Company;                                   // InvoiceIssuerName
        values[i++] = Decimal(cost);                                      // ListCost
        values[i++] = Decimal(quantity);                                  // PricingQuantity
        values[i++] = PricingUnit;                                        // PricingUnit
        values[i++] = provider.Company;                                   // ProviderName
        values[i++] = provider.Company;                                   // PublisherName
        values[i++] = "AI and Machine Learning";                          // ServiceCategory
        values[i++] = provider.Service;                                   // ServiceName
        values[i++] = "Usage-Based";                                      // ChargeFrequency
        values[i++] = tokens.ToString(CultureInfo.InvariantCulture);      // ConsumedQuantity
        values[i++] = "Tokens";                                           // ConsumedUnit
        values[i++] = unitPrice is { } contracted ? Decimal(contracted) : null; // ContractedUnitPrice
        values[i++] = null;                                               // InvoiceId
        values[i++] = unitPrice is { } list ? Decimal(list) : null;       // ListUnitPrice
        values[i++] = "Standard";                                         // PricingCategory
        values[i++] = "Generative AI";                                    // ServiceSubcategory
        values[i++] = $"{group.Provider}/{model}:{tokenClass}";           // SkuId
        values[i++] = meter;                                              // SkuMeter
        values[i++] = Json([("x_TokenClass", tokenClass), ("x_ServiceTier", tier)]); // SkuPriceDetails
        values[i++] = group.PriceId is null ? null : $"{group.PriceId}:{tokenClass}:{tier}"; // SkuPriceId
        values[i++] = group.Team;                                         // SubAccountId
        values[i++] = group.Team;                                         // SubAccountName
        values[i++] = Json([("team", group.Team), ("feature", group.Feature), ("environment", group.Environment),
            ("workload", group.Workload), ("service", group.Service), ("cost_center", group.CostCenter)]); // Tags
        values[i++] = model;                                              // x_Model
        values[i++] = group.Calls.ToString(CultureInfo.InvariantCulture); // x_RequestCount
        values[i++] = group.CatalogVersion;                               // x_PriceCatalogVersion
        values[i++] = "estimated";                                        // x_CostSource
        values[i++] = group.Service;                                      // x_ServiceName
        values[i] = group.Workload;                                       // x_Workload
    }

    /// <summary>1.2 values as they are; for 1.3 the two provider columns inserted before the x_ columns.</summary>
    private static string?[] Profile(FocusVersion version, Group group, string?[] values, string?[] output)
    {
        if (version == FocusVersion.V1_2)
        {
            return values;
        }

        var focusColumns = Columns.Count(c => !c.StartsWith("x_", StringComparison.Ordinal));
        Array.Copy(values, output, focusColumns);
        var company = ProviderNames.For(group.Provider).Company;
        // The host is not visible from a span (Azure/Bedrock hosting shows as the provider itself), so it equals the provider.
        output[focusColumns] = company;
        output[focusColumns + 1] = company;
        Array.Copy(values, focusColumns, output, focusColumns + 2, values.Length - focusColumns);
        return output;
    }

    /// <summary>A flat JSON object of the non-null pairs, keys in the given order.</summary>
    private static string Json(IEnumerable<(string Key, string? Value)> pairs)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            foreach (var (key, value) in pairs)
            {
                if (value is not null)
                {
                    json.WriteString(key, value);
                }
            }

            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static string Time(DateTime value) => value.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    /// <summary>Plain decimal text, trailing zeros dropped (no exponent, no thousands separators).</summary>
    private static string Decimal(decimal value)
    {
        var text = value.ToString(CultureInfo.InvariantCulture);
        return text.Contains('.', StringComparison.Ordinal) ? text.TrimEnd('0').TrimEnd('.') : text;
    }

    private static void WriteLine(TextWriter writer, StringBuilder line, IReadOnlyList<string?> values)
    {
        line.Clear();
        for (var i = 0; i < values.Count; i++)
        {
            if (i > 0)
            {
                line.Append(',');
            }

            var text = values[i];
            if (text is null)
            {
                continue;
            }

            if (text.AsSpan().IndexOfAny(",\"\r\n") >= 0)
            {
                line.Append('"').Append(text.Replace("\"", "\"\"", StringComparison.Ordinal)).Append('"');
            }
            else
            {
                line.Append(text);
            }
        }

        writer.Write(line.Append("\r\n"));
    }

    private sealed record Group(
        DateTime PeriodStart,
        DateTime PeriodEnd,
        string Provider,
        string? Model,
        string? PriceId,
        string? ServiceTier,
        string? Workload,
        string? Team,
        string? Feature,
        string? Environment,
        string? Service,
        long Calls,
        string? CatalogVersion,
        long[] Tokens,
        decimal[] Costs,
        string? CostCenter)
    {
        public static Group Read(DuckDbDataReader reader, long grainMicros)
        {
            var start = DateTime.UnixEpoch.AddTicks(reader.GetInt64(0) * 10);
            return new Group(start, start.AddTicks(grainMicros * 10), reader.GetString(1)!, Text(reader, 2), Text(reader, 3),
                Text(reader, 4), Text(reader, 5), Text(reader, 6), Text(reader, 7), Text(reader, 8), Text(reader, 9), reader.GetInt64(10),
                Text(reader, 11), [reader.GetInt64(12), reader.GetInt64(13), reader.GetInt64(14), reader.GetInt64(15)],
                [reader.GetDecimal(16), reader.GetDecimal(17), reader.GetDecimal(18), reader.GetDecimal(19)], Text(reader, 20));
        }

        private static string? Text(DuckDbDataReader reader, int column) => reader.IsDBNull(column) ? null : reader.GetString(column);
    }
}

/// <summary>FOCUS names for our normalized provider ids: the company (ProviderName, PublisherName, InvoiceIssuerName) and its service.</summary>
internal static class ProviderNames
{
    public static (string Company, string Service) For(string provider) => provider switch
    {
        "openai" => ("OpenAI", "OpenAI API"),
        "anthropic" => ("Anthropic", "Claude API"),
        "aws.bedrock" => ("Amazon Web Services", "Amazon Bedrock"),
        "azure.ai.openai" or "azure.ai.inference" => ("Microsoft", "Azure OpenAI"),
        "gcp.vertex_ai" => ("Google", "Vertex AI"),
        "gcp.gemini" or "gcp.gen_ai" => ("Google", "Gemini API"),
        "mistral_ai" or "mistral" => ("Mistral AI", "Mistral API"),
        "cohere" => ("Cohere", "Cohere API"),
        "deepseek" => ("DeepSeek", "DeepSeek API"),
        "groq" => ("Groq", "GroqCloud"),
        "x_ai" or "x-ai" or "xai" => ("xAI", "xAI API"),
        _ => (provider, provider + " API"),
    };
}
