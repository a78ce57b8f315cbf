using System.Globalization;
using System.Text.Json;
using OtelLlmCost.Pricing.Catalog;

namespace OtelLlmCost.Pricing.Import;

/// <summary>
/// Reads pydantic/genai-prices v2 data (<c>prices/new_data/v2/data.json</c>) into catalog providers. Conditional
/// prices become dated rows (<c>start_date</c>) or UTC time windows (<c>start_time</c>/<c>end_time</c>); per-key
/// tier tables become long-context tiers; price keys we do not bill (web searches, requests, video) are listed in
/// the model's provenance note.
/// </summary>
public static class GenAiPricesImporter
{
    /// <summary>Rows without a known start carry this date: "no earlier history known".</summary>
    public static readonly DateTime NoHistoryBefore = new(2000, 1, 1, 0, 0, 0, DateTimeKind.Utc);

    private static readonly Dictionary<string, string> KeyMap = new(StringComparer.Ordinal)
    {
        ["input_mtok"] = "input",
        ["output_mtok"] = "output",
        ["cache_read_mtok"] = "cache_read",
        ["cache_write_mtok"] = "cache_write_5m",
        ["cache_write_5m_mtok"] = "cache_write_5m",
        ["cache_write_1h_mtok"] = "cache_write_1h",
        ["output_reasoning_mtok"] = "reasoning",
        ["input_audio_mtok"] = "input_audio",
        ["output_audio_mtok"] = "output_audio",
        ["input_image_mtok"] = "input_image",
        ["output_image_mtok"] = "output_image",
    };

    public static IReadOnlyList<ProviderDefinition> Import(string path, ImportSource source)
    {
        ArgumentNullException.ThrowIfNull(path);
        return Import(File.ReadAllBytes(path), source);
    }

    public static IReadOnlyList<ProviderDefinition> Import(byte[] utf8, ImportSource source)
    {
        ArgumentNullException.ThrowIfNull(source);
        using var document = JsonDocument.Parse(utf8);
        if (document.RootElement.ValueKind != JsonValueKind.Array)
        {
            throw new CatalogFormatException("genai-prices v2 data must be a JSON array of providers.");
        }

        var providers = new List<ProviderDefinition>();
        foreach (var p in document.RootElement.EnumerateArray())
        {
            var id = p.GetProperty("id").GetString()!;
            var models = new List<ModelDefinition>();
            foreach (var m in p.GetProperty("models").EnumerateArray())
            {
                models.Add(ImportModel(id, m, source));
            }

            providers.Add(new ProviderDefinition
            {
                Id = id,
                Name = OptionalString(p, "name"),
                Aliases = ProviderAliases.For(id),
                ModelMatch = p.TryGetProperty("model_match", out var mm) ? ReadClause(mm) : null,
                FallbackProviders = p.TryGetProperty("fallback_model_providers", out var fb)
                    ? [.. fb.EnumerateArray().Select(e => e.GetString()!)]
                    : null,
                Models = models,
            });
        }

        return providers;
    }

    private static ModelDefinition ImportModel(string providerId, JsonElement m, ImportSource source)
    {
        var id = m.GetProperty("id").GetString()!;
        var skipped = new SortedSet<string>(StringComparer.Ordinal);
        var rows = new List<PriceRowDefinition>();
        var windows = new List<TimeWindowPrice>();
        var prices = m.GetProperty("prices");
        if (prices.ValueKind == JsonValueKind.Array)
        {
            var dated = new List<(DateTime From, JsonElement Prices)>();
            foreach (var entry in prices.EnumerateArray())
            {
                if (!entry.TryGetProperty("constraint", out var constraint) || constraint.ValueKind == JsonValueKind.Null)
                {
                    dated.Add((NoHistoryBefore, entry.GetProperty("prices")));
                }
                else if (constraint.TryGetProperty("start_date", out var start))
                {
                    var from = CatalogJson.ParseUtc(start.GetString()!)
                        ?? throw new CatalogFormatException($"genai-prices {providerId}/{id}: bad start_date '{start}'.");
                    dated.Add((from, entry.GetProperty("prices")));
                }
                else if (constraint.TryGetProperty("start_time", out var startTime))
                {
                    var window = new TimeWindowPrice
                    {
                        Start = TrimClock(startTime.GetString()!),
                        End = TrimClock(constraint.GetProperty("end_time").GetString()!),
                    };
                    FillPrices(window, null, entry.GetProperty("prices"), skipped);
                    windows.Add(window);
                }
                else
                {
                    throw new CatalogFormatException($"genai-prices {providerId}/{id}: unsupported constraint {constraint}.");
                }
            }

            dated.Sort((a, b) => a.From.CompareTo(b.From));
            for (var i = 0; i < dated.Count; i++)
            {
                var row = NewRow(providerId, id, dated[i].From, i + 1 < dated.Count ? dated[i + 1].From : null);
                FillPrices(row, row, dated[i].Prices, skipped);
                rows.Add(row);
            }
        }
        else
        {
            var row = NewRow(providerId, id, NoHistoryBefore, null);
            FillPrices(row, row, prices, skipped);
            rows.Add(row);
        }

        if (windows.Count > 0)
        {
            foreach (var row in rows)
            {
                row.TimeWindows = windows;
            }
        }

        return new ModelDefinition
        {
            Id = id,
            Name = OptionalString(m, "name"),
            Match = m.TryGetProperty("match", out var match) ? ReadClause(match) : null,
            ContextWindow = m.TryGetProperty("context_window", out var cw) && cw.ValueKind == JsonValueKind.Number ? cw.GetInt64() : null,
            Deprecated = m.TryGetProperty("deprecated", out var dep) && dep.ValueKind == JsonValueKind.True ? true : null,
            Provenance =
            [
                new Provenance
                {
                    Source = source.Source,
                    Commit = source.Commit,
                    Date = source.Date,
                    Key = id,
                    Note = skipped.Count > 0 ? "not imported: " + string.Join(", ", skipped) : null,
                },
            ],
            Prices = rows,
        };
    }

    private static PriceRowDefinition NewRow(string providerId, string modelId, DateTime from, DateTime? to) => new()
    {
        Id = PriceIds.For(providerId, modelId, from),
        EffectiveFrom = from,
        EffectiveTo = to,
    };

    /// <summary>Copies base prices into <paramref name="target"/>; tier tables go to <paramref name="row"/>'s tiers.</summary>
    private static void FillPrices(TokenPrices target, PriceRowDefinition? row, JsonElement prices, SortedSet<string> skipped)
    {
        if (row is not null && !prices.EnumerateObject().Any())
        {
            // genai-prices lists free models (":free" variants, moderation) with an empty price set.
            target.Input = 0m;
            target.Output = 0m;
            row.Note = "free in the source";
            return;
        }

        foreach (var property in prices.EnumerateObject())
        {
            if (!KeyMap.TryGetValue(property.Name, out var name))
            {
                skipped.Add(property.Name);
                continue;
            }

            if (property.Value.ValueKind == JsonValueKind.Number)
            {
                Set(target, name, property.Value.GetDecimal());
                continue;
            }

            Set(target, name, property.Value.GetProperty("base").GetDecimal());
            if (row is null)
            {
                skipped.Add(property.Name + " (tiers inside a time window)");
                continue;
            }

            foreach (var tier in property.Value.GetProperty("tiers").EnumerateArray())
            {
                var start = tier.GetProperty("start").GetInt64();
                row.Tiers ??= [];
                var existing = row.Tiers.FirstOrDefault(t => t.AboveInputTokens == start);
                if (existing is null)
                {
                    existing = new LongContextTier { AboveInputTokens = start };
                    row.Tiers.Add(existing);
                }

                Set(existing, name, tier.GetProperty("price").GetDecimal());
            }
        }

        if (row?.Tiers is { Count: > 1 } tiers)
        {
            // A key whose table starts lower keeps its higher-tier price at every higher threshold (cliffs are cumulative).
            var ordered = tiers.OrderBy(t => t.AboveInputTokens).ToList();
            for (var i = 1; i < ordered.Count; i++)
            {
                Inherit(ordered[i], ordered[i - 1]);
            }

            row.Tiers = ordered;
        }
    }

    private static void Inherit(LongContextTier higher, LongContextTier lower)
    {
        higher.Input ??= lower.Input;
        higher.Output ??= lower.Output;
        higher.CacheRead ??= lower.CacheRead;
        higher.CacheWrite5m ??= lower.CacheWrite5m;
        higher.CacheWrite1h ??= lower.CacheWrite1h;
        higher.Reasoning ??= lower.Reasoning;
        higher.InputAudio ??= lower.InputAudio;
        higher.OutputAudio ??= lower.OutputAudio;
        higher.InputImage ??= lower.InputImage;
        higher.OutputImage ??= lower.OutputImage;
    }

    internal static void Set(TokenPrices target, string name, decimal value)
    {
        // Per-million prices never need more than 6 decimals (1e-12 USD per token, the store's scale); more digits
        // are float noise from per-token sources (LiteLLM's 1.8000000000000002e-07).
        value = CatalogJson.Normalize(Math.Round(value, 6, MidpointRounding.ToEven));
        switch (name)
        {
            case "input": target.Input = value; break;
            case "output": target.Output = value; break;
            case "cache_read": target.CacheRead = value; break;
            case "cache_write_5m": target.CacheWrite5m = value; break;
            case "cache_write_1h": target.CacheWrite1h = value; break;
            case "reasoning": target.Reasoning = value; break;
            case "input_audio": target.InputAudio = value; break;
            case "output_audio": target.OutputAudio = value; break;
            case "input_image": target.InputImage = value; break;
            case "output_image": target.OutputImage = value; break;
            default: throw new ArgumentOutOfRangeException(nameof(name), name, "unknown token class");
        }
    }

    private static string TrimClock(string text)
    {
        var clock = text.EndsWith('Z') ? text[..^1] : text;
        return clock.EndsWith(":00", StringComparison.Ordinal) && clock.Length == 8 ? clock[..5] : clock;
    }

    private static MatchClause ReadClause(JsonElement clause)
    {
        var result = new MatchClause();
        foreach (var property in clause.EnumerateObject())
        {
            switch (property.Name)
            {
                case "equals": result.EqualsTo = property.Value.GetString(); break;
                case "starts_with": result.StartsWith = property.Value.GetString(); break;
                case "ends_with": result.EndsWith = property.Value.GetString(); break;
                case "contains": result.Contains = property.Value.GetString(); break;
                case "regex": result.Regex = property.Value.GetString(); break;
                case "or": result.Or = [.. property.Value.EnumerateArray().Select(ReadClause)]; break;
                case "and": result.And = [.. property.Value.EnumerateArray().Select(ReadClause)]; break;
                default:
                    throw new CatalogFormatException(string.Create(CultureInfo.InvariantCulture, $"genai-prices: unknown match clause '{property.Name}'."));
            }
        }

        return result;
    }

    private static string? OptionalString(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}
