using System.Globalization;
using System.Text.Json;
using OtelLlmCost.Pricing.Catalog;

namespace OtelLlmCost.Pricing.Diff;

public enum CatalogChangeKind
{
    Added,
    Removed,
    Changed,
}

/// <summary>One difference between two catalogs, by price row id (or model, for model-level changes).</summary>
public sealed record CatalogChange(CatalogChangeKind Kind, string Provider, string Model, string? PriceId, string Detail);

/// <summary><c>prices diff A B</c>: price rows added, removed and changed from catalog A to catalog B.</summary>
public static class CatalogDiff
{
    public static IReadOnlyList<CatalogChange> Compare(PriceCatalog before, PriceCatalog after)
    {
        ArgumentNullException.ThrowIfNull(before);
        ArgumentNullException.ThrowIfNull(after);
        var a = Rows(before);
        var b = Rows(after);
        var changes = new List<CatalogChange>();
        foreach (var (id, old) in a)
        {
            if (!b.TryGetValue(id, out var now))
            {
                changes.Add(new CatalogChange(CatalogChangeKind.Removed, old.Provider, old.Model, id, Describe(old.Row)));
            }
            else if (old.Json != now.Json)
            {
                changes.Add(new CatalogChange(CatalogChangeKind.Changed, now.Provider, now.Model, id, Changes(old.Row, now.Row)));
            }
        }

        foreach (var (id, now) in b)
        {
            if (!a.ContainsKey(id))
            {
                changes.Add(new CatalogChange(CatalogChangeKind.Added, now.Provider, now.Model, id, Describe(now.Row)));
            }
        }

        return [.. changes.OrderBy(c => c.Provider, StringComparer.Ordinal).ThenBy(c => c.Model, StringComparer.Ordinal)
            .ThenBy(c => c.PriceId, StringComparer.Ordinal)];
    }

    private static Dictionary<string, (string Provider, string Model, PriceRowDefinition Row, string Json)> Rows(PriceCatalog catalog)
    {
        var rows = new Dictionary<string, (string, string, PriceRowDefinition, string)>(StringComparer.Ordinal);
        foreach (var provider in catalog.Providers)
        {
            foreach (var model in provider.Models ?? [])
            {
                foreach (var row in model.Prices ?? [])
                {
                    var id = row.Id ?? PriceIds.For(provider.Id, model.Id, row.EffectiveFrom);
                    rows.TryAdd(id, (provider.Id, model.Id, row, JsonSerializer.Serialize(row, CatalogJson.Options)));
                }
            }
        }

        return rows;
    }

    private static string Describe(PriceRowDefinition row) =>
        string.Join(", ", row.Classes().Where(c => c.Value is not null).Select(c => string.Create(CultureInfo.InvariantCulture, $"{c.Name} {c.Value}")));

    private static string Changes(PriceRowDefinition before, PriceRowDefinition after)
    {
        var parts = new List<string>();
        foreach (var ((name, x), (_, y)) in before.Classes().Zip(after.Classes()))
        {
            if (x != y)
            {
                parts.Add(string.Create(CultureInfo.InvariantCulture, $"{name} {x?.ToString(CultureInfo.InvariantCulture) ?? "-"} → {y?.ToString(CultureInfo.InvariantCulture) ?? "-"}"));
            }
        }

        if (before.EffectiveTo != after.EffectiveTo)
        {
            parts.Add($"effective_to {Date(before.EffectiveTo)} → {Date(after.EffectiveTo)}");
        }

        if (parts.Count == 0)
        {
            parts.Add("tiers, service tiers, windows or regional multipliers changed");
        }

        return string.Join("; ", parts);
    }

    private static string Date(DateTime? value) => value is { } v ? CatalogJson.FormatUtc(v) : "-";
}
