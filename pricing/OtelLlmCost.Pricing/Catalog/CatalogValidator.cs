using System.Globalization;
using OtelLlmCost.Pricing.Matching;

namespace OtelLlmCost.Pricing.Catalog;

public enum CatalogIssueSeverity
{
    Warning,
    Error,
}

/// <summary>One finding of <see cref="CatalogValidator"/>; <see cref="Where"/> is <c>provider/model[/row]</c> or a file.</summary>
public sealed record CatalogIssue(CatalogIssueSeverity Severity, string Where, string Message)
{
    public override string ToString() =>
        $"{(Severity == CatalogIssueSeverity.Error ? "error" : "warning")}: {Where}: {Message}";
}

/// <summary>
/// Checks catalog documents beyond their JSON shape (which loading already enforces: unknown or missing members
/// are errors): unique ids, well-formed match rules, dated rows without overlaps (error) or gaps (warning),
/// non-negative prices, ordered tiers that also move cache prices, known service tiers, valid time windows, names
/// claimed by two models, and a manifest hash that matches its files.
/// </summary>
public static class CatalogValidator
{
    private static readonly HashSet<string> KnownServiceTiers = new(StringComparer.Ordinal) { "batch", "flex", "priority" };

    /// <summary>Validates a file: a catalog directory or manifest, a provider file, or a user layer.</summary>
    public static IReadOnlyList<CatalogIssue> ValidateFile(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var issues = new List<CatalogIssue>();
        try
        {
            var file = Directory.Exists(path) ? Path.Combine(path, "catalog.json") : path;
            var bytes = File.ReadAllBytes(file);
            switch (CatalogDocuments.Detect(bytes, file))
            {
                case CatalogDocumentKind.Manifest:
                    var catalog = PriceCatalog.Load(file);
                    issues.AddRange(Validate(catalog.Providers));
                    if (catalog.Manifest?.ContentSha256 is { } recorded && recorded != catalog.ContentHash)
                    {
                        issues.Add(new CatalogIssue(CatalogIssueSeverity.Error, file,
                            $"content_sha256 {recorded} does not match the provider files ({catalog.ContentHash}); regenerate or update the manifest."));
                    }

                    break;
                case CatalogDocumentKind.Provider:
                    issues.AddRange(Validate([CatalogJson.Deserialize<ProviderDefinition>(bytes, file)]));
                    break;
                case CatalogDocumentKind.Layer:
                    var layer = CatalogJson.Deserialize<CatalogLayer>(bytes, file);
                    issues.AddRange(Validate([.. layer.Providers], isLayer: true));
                    issues.AddRange(ValidateDecisions(layer));
                    break;
                default:
                    issues.Add(new CatalogIssue(CatalogIssueSeverity.Error, file,
                        "not a catalog document: expected a manifest (catalog_version), a provider (id, models) or a layer (layer, providers)."));
                    break;
            }
        }
        catch (Exception ex) when (ex is CatalogFormatException or IOException or UnauthorizedAccessException)
        {
            issues.Add(new CatalogIssue(CatalogIssueSeverity.Error, path, ex.Message));
        }

        return issues;
    }

    /// <summary>
    /// A layer with price decisions (<c>corrections.json</c>): every decision cites a URL and the date it was read, and
    /// every model whose prices the layer sets is named by a decision, so no price in it goes without its source.
    /// </summary>
    public static IReadOnlyList<CatalogIssue> ValidateDecisions(CatalogLayer layer)
    {
        ArgumentNullException.ThrowIfNull(layer);
        var issues = new List<CatalogIssue>();
        if (layer.Decisions is not { } decisions)
        {
            return issues;
        }

        foreach (var decision in decisions)
        {
            var where = $"decisions/{decision.Provider}/{decision.Model}";
            if (!Uri.TryCreate(decision.Source, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp))
            {
                issues.Add(new CatalogIssue(CatalogIssueSeverity.Error, where, $"source '{decision.Source}' is not the URL of the provider's page."));
            }

            if (!DateOnly.TryParseExact(decision.Checked, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out _))
            {
                issues.Add(new CatalogIssue(CatalogIssueSeverity.Error, where, $"checked '{decision.Checked}' is not a yyyy-MM-dd date."));
            }

            if (decision.Took is not ("genai-prices" or "litellm" or "correction"))
            {
                issues.Add(new CatalogIssue(CatalogIssueSeverity.Error, where, $"took '{decision.Took}' is not genai-prices, litellm or correction."));
            }
        }

        foreach (var provider in layer.Providers)
        {
            foreach (var model in provider.Models ?? [])
            {
                if (model.Prices is { Count: > 0 } && !decisions.Any(d =>
                        string.Equals(d.Provider, provider.Id, StringComparison.OrdinalIgnoreCase) &&
                        string.Equals(d.Model, model.Id, StringComparison.OrdinalIgnoreCase)))
                {
                    issues.Add(new CatalogIssue(CatalogIssueSeverity.Error, $"{provider.Id}/{model.Id}",
                        "the layer sets prices for this model but no decision cites their source."));
                }
            }
        }

        return issues;
    }

    public static IReadOnlyList<CatalogIssue> Validate(IReadOnlyList<ProviderDefinition> providers, bool isLayer = false)
    {
        ArgumentNullException.ThrowIfNull(providers);
        var issues = new List<CatalogIssue>();
        void Error(string where, string message) => issues.Add(new CatalogIssue(CatalogIssueSeverity.Error, where, message));
        void Warn(string where, string message) => issues.Add(new CatalogIssue(CatalogIssueSeverity.Warning, where, message));

        var providerIds = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var aliasOwner = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var rowIds = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var provider in providers)
        {
            var pw = provider.Id;
            if (string.IsNullOrWhiteSpace(provider.Id))
            {
                Error("(provider)", "provider id is empty.");
                continue;
            }

            if (!providerIds.Add(provider.Id))
            {
                Error(pw, "provider id is defined twice.");
            }

            foreach (var alias in provider.Aliases ?? [])
            {
                if (aliasOwner.TryGetValue(alias, out var owner) && !string.Equals(owner, provider.Id, StringComparison.OrdinalIgnoreCase))
                {
                    Warn(pw, $"alias '{alias}' is also claimed by provider '{owner}'; '{owner}' keeps it.");
                }
                else
                {
                    aliasOwner.TryAdd(alias, provider.Id);
                }
            }

            if (provider.ModelMatch is not null)
            {
                CheckRule(provider.ModelMatch, pw + " model_match", Error);
            }

            CheckMultiplier(provider.Multiplier, pw, Error);
            CheckServiceTiers(provider.ServiceTiers, pw, Error, Warn);
            var modelIds = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            var exactOwner = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            foreach (var model in provider.Models ?? [])
            {
                var mw = $"{provider.Id}/{model.Id}";
                if (string.IsNullOrWhiteSpace(model.Id))
                {
                    Error(pw, "a model has an empty id.");
                    continue;
                }

                if (!modelIds.Add(model.Id))
                {
                    Error(mw, "model id is defined twice in this provider.");
                }

                var rule = CheckRule(model.Match ?? MatchClause.Exactly(model.Id), mw + " match", Error);
                if (rule is not null)
                {
                    var names = new List<string>();
                    rule.CollectExactNames(names);
                    foreach (var name in names)
                    {
                        if (exactOwner.TryGetValue(name, out var other) && !string.Equals(other, model.Id, StringComparison.OrdinalIgnoreCase))
                        {
                            Error(mw, $"exact name '{name}' is also claimed by model '{other}'; the first model wins, so this is ambiguous.");
                        }
                        else
                        {
                            exactOwner.TryAdd(name, model.Id);
                        }
                    }
                }

                CheckMultiplier(model.Multiplier, mw, Error);
                if (model.Prices is not { Count: > 0 })
                {
                    if (!(isLayer && (model.Multiplier is not null || model.Match is not null)))
                    {
                        Error(mw, "a model needs at least one price row.");
                    }

                    continue;
                }

                CheckRows(provider.Id, model, mw, rowIds, Error, Warn);
            }

            foreach (var fallback in provider.FallbackProviders ?? [])
            {
                if (!isLayer && !providers.Any(p => string.Equals(p.Id, fallback, StringComparison.OrdinalIgnoreCase)))
                {
                    Error(pw, $"fallback provider '{fallback}' is not in the catalog.");
                }
            }
        }

        return issues;
    }

    private static void CheckRows(string providerId, ModelDefinition model, string mw, Dictionary<string, string> rowIds,
        Action<string, string> error, Action<string, string> warn)
    {
        var rows = model.Prices!.OrderBy(r => r.EffectiveFrom).ToList();
        for (var i = 0; i < rows.Count; i++)
        {
            var row = rows[i];
            var id = row.Id ?? PriceIds.For(providerId, model.Id, row.EffectiveFrom);
            var rw = $"{mw} [{id}]";
            if (rowIds.TryGetValue(id, out var owner))
            {
                error(rw, $"price row id is not unique (also in {owner}).");
            }
            else
            {
                rowIds.Add(id, mw);
            }

            if (row.EffectiveTo is { } to && to <= row.EffectiveFrom)
            {
                error(rw, $"effective_to {CatalogJson.FormatUtc(to)} is not after effective_from {CatalogJson.FormatUtc(row.EffectiveFrom)}.");
            }

            if (i + 1 < rows.Count)
            {
                var next = rows[i + 1];
                var nextFrom = CatalogJson.FormatUtc(next.EffectiveFrom);
                if (row.EffectiveTo is null || row.EffectiveTo > next.EffectiveFrom)
                {
                    error(rw, row.EffectiveTo is null
                        ? $"overlaps the next row (from {nextFrom}): this row has no effective_to; set effective_to: {nextFrom}."
                        : $"overlaps the next row: effective_to {CatalogJson.FormatUtc(row.EffectiveTo.Value)} is after the next row's effective_from {nextFrom}.");
                }
                else if (row.EffectiveTo < next.EffectiveFrom)
                {
                    warn(rw, $"gap from {CatalogJson.FormatUtc(row.EffectiveTo.Value)} to {nextFrom}: calls in it are priced with the nearest earlier row.");
                }
            }

            if (row.Input is null && row.Output is null)
            {
                error(rw, "the row prices neither input nor output.");
            }

            CheckPrices(row, rw, error);
            long previous = -1;
            foreach (var tier in (row.Tiers ?? []).OrderBy(t => t.AboveInputTokens))
            {
                var tw = string.Create(CultureInfo.InvariantCulture, $"{rw} tier >{tier.AboveInputTokens}");
                if (tier.AboveInputTokens <= 0)
                {
                    error(tw, "above_input_tokens must be positive.");
                }

                if (tier.AboveInputTokens == previous)
                {
                    error(tw, "two tiers have the same threshold.");
                }

                previous = tier.AboveInputTokens;
                CheckPrices(tier, tw, error);
                if (tier.Input is not null && tier.Input != row.Input && row.CacheRead is not null && tier.CacheRead is null)
                {
                    warn(tw, "the tier moves the input price but not cache_read; long-context tiers apply to cache reads too.");
                }
            }

            CheckServiceTiers(row.ServiceTiers, rw, error, warn);
            foreach (var (region, multiplier) in row.RegionalMultipliers ?? new Dictionary<string, decimal>())
            {
                if (multiplier <= 0m)
                {
                    error(rw, $"regional multiplier for '{region}' must be positive.");
                }
            }

            foreach (var window in row.TimeWindows ?? [])
            {
                try
                {
                    var entry = new WindowEntry(window, rw + " time window");
                    if (entry.Start == entry.End)
                    {
                        error(rw, $"time window {window.Start}-{window.End} is empty.");
                    }
                }
                catch (CatalogFormatException ex)
                {
                    error(rw, ex.Message);
                }

                CheckPrices(window, rw + " time window", error);
            }
        }
    }

    private static void CheckServiceTiers(IDictionary<string, ServiceTierPrice>? tiers, string where,
        Action<string, string> error, Action<string, string> warn)
    {
        foreach (var (name, tier) in tiers ?? new Dictionary<string, ServiceTierPrice>())
        {
            if (!KnownServiceTiers.Contains(name))
            {
                warn(where, $"service tier '{name}' is not one of batch, flex, priority; calls must name it exactly.");
            }

            if (tier.Multiplier is null && !tier.HasAnyPrice)
            {
                error(where, $"service tier '{name}' has neither a multiplier nor prices.");
            }

            CheckMultiplier(tier.Multiplier, $"{where} service tier '{name}'", error);
            CheckPrices(tier, $"{where} service tier '{name}'", error);
        }
    }

    private static void CheckPrices(TokenPrices prices, string where, Action<string, string> error)
    {
        foreach (var (name, value) in prices.Classes())
        {
            if (value < 0m)
            {
                error(where, $"{name} price is negative ({value}).");
            }
        }
    }

    private static void CheckMultiplier(decimal? multiplier, string where, Action<string, string> error)
    {
        if (multiplier is <= 0m)
        {
            error(where, $"multiplier must be positive (is {multiplier}).");
        }
    }

    private static MatchRule? CheckRule(MatchClause clause, string where, Action<string, string> error)
    {
        try
        {
            return MatchRule.Compile(clause, where);
        }
        catch (CatalogFormatException ex)
        {
            error(where, ex.Message);
            return null;
        }
    }
}
