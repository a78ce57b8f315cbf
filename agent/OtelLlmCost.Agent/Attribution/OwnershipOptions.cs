using System.Globalization;
using OtelLlmCost.Analytics.Text;
using OtelLlmCost.SemanticConventions.Recognition.Attribution;
using YamlDotNet.Core;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace OtelLlmCost.Agent.Attribution;

/// <summary>
/// The ownership map's configuration (section <c>Ownership</c>): rules written in config, and/or a CSV or YAML file
/// of rules (read after them, so config rules come first). Empty: no map.
/// </summary>
internal sealed class OwnershipOptions
{
    public const string SectionName = "Ownership";

    /// <summary>A <c>.csv</c>, <c>.yaml</c> or <c>.yml</c> file of rules; null or empty: none.</summary>
    public string? File { get; set; }

    public List<OwnershipRule> Rules { get; set; } = [];

    /// <summary>The map, or null when no rule is configured. Throws <see cref="OwnershipMapException"/> with the reason.</summary>
    public OwnershipMap? Load()
    {
        var rules = new List<OwnershipRule>(Rules);
        if (!string.IsNullOrWhiteSpace(File))
        {
            rules.AddRange(OwnershipMapFile.Read(File));
        }

        return rules.Count == 0 ? null : new OwnershipMap(rules);
    }
}

/// <summary>
/// Reads ownership rules from a file. CSV: a header <c>name,match,team,cost_center,tenant,environment,override</c>
/// (any order; only <c>match</c> is required), <c>match</c> holding <c>key=pattern</c> pairs separated by <c>&amp;</c>.
/// YAML: a list of rules (<c>name</c>, <c>match</c> as a mapping, <c>team</c>, <c>cost_center</c>, <c>tenant</c>,
/// <c>environment</c>, <c>override</c>), or a mapping with that list under <c>rules</c>.
/// </summary>
internal static class OwnershipMapFile
{
    public static IReadOnlyList<OwnershipRule> Read(string path)
    {
        if (!System.IO.File.Exists(path))
        {
            throw new OwnershipMapException($"ownership map file '{path}' does not exist");
        }

        var text = System.IO.File.ReadAllText(path);
        return Path.GetExtension(path).ToLowerInvariant() switch
        {
            ".csv" => ReadCsv(text, path),
            ".yaml" or ".yml" => ReadYaml(text, path),
            _ => throw new OwnershipMapException($"ownership map file '{path}': use a .csv, .yaml or .yml file"),
        };
    }

    public static IReadOnlyList<OwnershipRule> ReadYaml(string text, string path)
    {
        var deserializer = new DeserializerBuilder().WithNamingConvention(UnderscoredNamingConvention.Instance).Build();
        try
        {
            var trimmed = text.TrimStart();
            var rules = trimmed.StartsWith('-') || trimmed.Length == 0
                ? deserializer.Deserialize<List<YamlRule>>(text) ?? []
                : deserializer.Deserialize<YamlMap>(text)?.Rules ?? [];
            return rules.Select(rule => new OwnershipRule
            {
                Name = rule.Name ?? "",
                Match = rule.Match ?? new Dictionary<string, string>(StringComparer.Ordinal),
                Team = rule.Team,
                CostCenter = rule.CostCenter,
                Tenant = rule.Tenant,
                Environment = rule.Environment,
                Override = rule.Override,
            }).ToList();
        }
        catch (YamlException exception)
        {
            throw new OwnershipMapException($"ownership map file '{path}' line {exception.Start.Line}: {exception.Message}");
        }
    }

    public static IReadOnlyList<OwnershipRule> ReadCsv(string text, string path)
    {
        var lines = text.ReplaceLineEndings("\n").Split('\n');
        var header = lines.Length == 0 ? [] : Csv.Fields(lines[0]).Select(h => h.Trim().ToLowerInvariant()).ToArray();
        var match = Array.IndexOf(header, "match");
        if (match < 0)
        {
            throw new OwnershipMapException($"ownership map file '{path}': the header must name a 'match' column (name,match,team,cost_center,tenant,environment,override)");
        }

        var rules = new List<OwnershipRule>();
        for (var n = 1; n < lines.Length; n++)
        {
            if (string.IsNullOrWhiteSpace(lines[n]) || lines[n].TrimStart().StartsWith('#'))
            {
                continue;
            }

            var fields = Csv.Fields(lines[n]);
            string? Field(string name)
            {
                var i = Array.IndexOf(header, name);
                return i >= 0 && i < fields.Count && fields[i].Trim() is { Length: > 0 } value ? value : null;
            }

            var conditions = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var pair in (Field("match") ?? "").Split('&', StringSplitOptions.RemoveEmptyEntries))
            {
                var equals = pair.IndexOf('=', StringComparison.Ordinal);
                if (equals <= 0)
                {
                    throw new OwnershipMapException($"ownership map file '{path}' line {n + 1}: match '{pair}' is not key=pattern");
                }

                conditions[pair[..equals].Trim()] = pair[(equals + 1)..].Trim();
            }

            var overrides = Field("override");
            if (overrides is not null && !bool.TryParse(overrides, out _))
            {
                throw new OwnershipMapException($"ownership map file '{path}' line {n + 1}: override must be true or false, not '{overrides}'");
            }

            rules.Add(new OwnershipRule
            {
                Name = Field("name") ?? string.Create(CultureInfo.InvariantCulture, $"line{n + 1}"),
                Match = conditions,
                Team = Field("team"),
                CostCenter = Field("cost_center"),
                Tenant = Field("tenant"),
                Environment = Field("environment"),
                Override = overrides is not null && bool.Parse(overrides),
            });
        }

        return rules;
    }

    private sealed class YamlMap
    {
        public List<YamlRule>? Rules { get; set; }
    }

    private sealed class YamlRule
    {
        public string? Name { get; set; }

        public Dictionary<string, string>? Match { get; set; }

        public string? Team { get; set; }

        public string? CostCenter { get; set; }

        public string? Tenant { get; set; }

        public string? Environment { get; set; }

        public bool Override { get; set; }
    }
}
