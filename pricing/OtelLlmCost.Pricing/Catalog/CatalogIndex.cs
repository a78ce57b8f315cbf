using System.Globalization;
using OtelLlmCost.Pricing.Matching;

namespace OtelLlmCost.Pricing.Catalog;

/// <summary>The catalog compiled for lookups: alias and exact-name dictionaries, precompiled rules, sorted rows.</summary>
internal sealed class CatalogIndex
{
    private readonly Dictionary<string, ProviderEntry> _byAlias = new(StringComparer.OrdinalIgnoreCase);

    public CatalogIndex(IReadOnlyList<ProviderDefinition> providers)
    {
        var entries = new List<ProviderEntry>(providers.Count);
        var byId = new Dictionary<string, ProviderEntry>(StringComparer.OrdinalIgnoreCase);
        foreach (var provider in providers)
        {
            var entry = new ProviderEntry(provider);
            if (!byId.TryAdd(provider.Id, entry))
            {
                throw new CatalogFormatException($"provider '{provider.Id}' is defined twice.");
            }

            entries.Add(entry);
        }

        // Ids win over aliases; among aliases the first provider that claims one keeps it.
        foreach (var entry in entries)
        {
            _byAlias[entry.Id] = entry;
        }

        foreach (var entry in entries)
        {
            foreach (var alias in entry.Definition.Aliases ?? [])
            {
                _byAlias.TryAdd(alias, entry);
            }
        }

        foreach (var entry in entries)
        {
            entry.ResolveFallbacks(byId);
        }

        Providers = entries;
    }

    public IReadOnlyList<ProviderEntry> Providers { get; }

    public ProviderEntry? FindProvider(string? name) =>
        name is not null && _byAlias.TryGetValue(name, out var entry) ? entry : null;
}

internal sealed class ProviderEntry
{
    private readonly Dictionary<string, ModelEntry> _exact = new(StringComparer.OrdinalIgnoreCase);
    private readonly ModelEntry[] _patterned;

    public ProviderEntry(ProviderDefinition definition)
    {
        Definition = definition;
        Id = definition.Id;
        ModelMatch = definition.ModelMatch is null
            ? null
            : MatchRule.Compile(definition.ModelMatch, $"provider '{definition.Id}' model_match");

        var models = new List<ModelEntry>();
        var patterned = new List<ModelEntry>();
        var names = new List<string>();
        foreach (var model in definition.Models ?? [])
        {
            var entry = new ModelEntry(this, model);
            models.Add(entry);
            names.Clear();
            entry.Rule.CollectExactNames(names);
            foreach (var name in names)
            {
                // An exact name belongs to the first model that lists it (the validator reports duplicates).
                _exact.TryAdd(name, entry);
            }

            if (!entry.Rule.IsExactOnly)
            {
                patterned.Add(entry);
            }
        }

        Models = models;
        _patterned = [.. patterned];
    }

    public ProviderDefinition Definition { get; }

    public string Id { get; }

    public MatchRule? ModelMatch { get; }

    public IReadOnlyList<ModelEntry> Models { get; }

    public IReadOnlyList<ProviderEntry> Fallbacks { get; private set; } = [];

    public void ResolveFallbacks(Dictionary<string, ProviderEntry> byId)
    {
        var fallbacks = new List<ProviderEntry>();
        foreach (var id in Definition.FallbackProviders ?? [])
        {
            if (byId.TryGetValue(id, out var entry) && entry != this)
            {
                fallbacks.Add(entry);
            }
        }

        Fallbacks = fallbacks;
    }

    /// <summary>Exact names first (one dictionary probe), then the pattern rules in file order.</summary>
    public ModelEntry? FindModel(string name)
    {
        if (_exact.TryGetValue(name, out var exact))
        {
            return exact;
        }

        foreach (var model in _patterned)
        {
            if (model.Rule.IsMatch(name))
            {
                return model;
            }
        }

        return null;
    }
}

internal sealed class ModelEntry
{
    public ModelEntry(ProviderEntry provider, ModelDefinition definition)
    {
        Provider = provider;
        Definition = definition;
        Id = definition.Id;
        var where = $"{provider.Id}/{definition.Id}";
        Rule = MatchRule.Compile(definition.Match ?? MatchClause.Exactly(definition.Id), where);
        Multiplier = (definition.Multiplier ?? 1m) * (provider.Definition.Multiplier ?? 1m);
        var rows = new List<RowEntry>();
        foreach (var row in definition.Prices ?? [])
        {
            rows.Add(new RowEntry(provider.Id, definition.Id, row));
        }

        rows.Sort((a, b) => a.From.CompareTo(b.From));
        Rows = [.. rows];
    }

    public ProviderEntry Provider { get; }

    public ModelDefinition Definition { get; }

    public string Id { get; }

    public MatchRule Rule { get; }

    public decimal Multiplier { get; }

    public RowEntry[] Rows { get; }

    /// <summary>The row in effect at <paramref name="at"/>; outside every row, the nearest one (and says so).</summary>
    public RowEntry? RowAt(DateTime at, out string? fallback)
    {
        fallback = null;
        var rows = Rows;
        if (rows.Length == 0)
        {
            return null;
        }

        for (var i = rows.Length - 1; i >= 0; i--)
        {
            var row = rows[i];
            if (at >= row.From)
            {
                if (row.To is { } to && at >= to)
                {
                    fallback = $"no price row covers {CatalogJson.FormatUtc(at)}; used '{row.Id}', which ended {CatalogJson.FormatUtc(to)}";
                }

                return row;
            }
        }

        fallback = $"call precedes the first price row; used '{rows[0].Id}' from {CatalogJson.FormatUtc(rows[0].From)}";
        return rows[0];
    }
}

internal sealed class RowEntry
{
    public RowEntry(string providerId, string modelId, PriceRowDefinition definition)
    {
        Definition = definition;
        From = DateTime.SpecifyKind(definition.EffectiveFrom, DateTimeKind.Utc);
        To = definition.EffectiveTo is { } to ? DateTime.SpecifyKind(to, DateTimeKind.Utc) : null;
        Id = definition.Id ?? PriceIds.For(providerId, modelId, From);
        Tiers = definition.Tiers is null
            ? []
            : [.. definition.Tiers.OrderByDescending(t => t.AboveInputTokens)];
        Windows = definition.TimeWindows is null
            ? []
            : [.. definition.TimeWindows.Select(w => new WindowEntry(w, $"{Id} time window"))];
    }

    public PriceRowDefinition Definition { get; }

    public string Id { get; }

    public DateTime From { get; }

    public DateTime? To { get; }

    /// <summary>Highest threshold first.</summary>
    public LongContextTier[] Tiers { get; }

    public WindowEntry[] Windows { get; }
}

internal sealed class WindowEntry
{
    private readonly bool[]? _days;

    public WindowEntry(TimeWindowPrice definition, string where)
    {
        Definition = definition;
        Start = ParseClock(definition.Start, where);
        End = ParseClock(definition.End, where);
        if (definition.Days is { Count: > 0 } days)
        {
            _days = new bool[7];
            foreach (var day in days)
            {
                _days[(int)ParseDay(day, where)] = true;
            }
        }

        Label = $"{definition.Start}-{definition.End} UTC" + (definition.Days is { Count: > 0 } d ? " " + string.Join(",", d) : string.Empty);
    }

    public TimeWindowPrice Definition { get; }

    public TimeSpan Start { get; }

    public TimeSpan End { get; }

    public string Label { get; }

    public bool Contains(DateTime utc)
    {
        if (_days is not null && !_days[(int)utc.DayOfWeek])
        {
            return false;
        }

        var t = utc.TimeOfDay;
        return Start <= End ? t >= Start && t < End : t >= Start || t < End;
    }

    internal static TimeSpan ParseClock(string text, string where)
    {
        var trimmed = text.EndsWith('Z') ? text[..^1] : text;
        string[] formats = ["hh\\:mm", "hh\\:mm\\:ss"];
        if (TimeSpan.TryParseExact(trimmed, formats, CultureInfo.InvariantCulture, out var value) && value < TimeSpan.FromDays(1))
        {
            return value;
        }

        throw new CatalogFormatException($"{where}: '{text}' is not a UTC clock time (HH:mm or HH:mm:ss).");
    }

    internal static DayOfWeek ParseDay(string text, string where) => text.ToLowerInvariant() switch
    {
        "sun" or "sunday" => DayOfWeek.Sunday,
        "mon" or "monday" => DayOfWeek.Monday,
        "tue" or "tuesday" => DayOfWeek.Tuesday,
        "wed" or "wednesday" => DayOfWeek.Wednesday,
        "thu" or "thursday" => DayOfWeek.Thursday,
        "fri" or "friday" => DayOfWeek.Friday,
        "sat" or "saturday" => DayOfWeek.Saturday,
        _ => throw new CatalogFormatException($"{where}: '{text}' is not a day of the week (mon..sun)."),
    };
}

/// <summary>The stable id convention of price rows: <c>provider/model@yyyy-MM-dd</c>.</summary>
public static class PriceIds
{
    public static string For(string providerId, string modelId, DateTime effectiveFrom) =>
        $"{providerId}/{modelId}@{CatalogJson.FormatUtc(effectiveFrom)}";
}
