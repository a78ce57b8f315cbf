using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace OtelLlmCost.Agent.Tests.Dashboards;

/// <summary>One query of one dashboard panel (a PromQL <c>expr</c> or a SQL <c>rawSql</c>).</summary>
internal sealed record PanelQuery(string Dashboard, int PanelId, string PanelTitle, string RefId, string DatasourceType, string Text, string? Format)
{
    public override string ToString() => $"{Dashboard} / {PanelTitle} ({RefId})";
}

/// <summary>A rule of dashboards/prometheus/rules.yml: a recording rule (<see cref="IsRecording"/>) or an alert.</summary>
internal sealed record PrometheusRule(string Name, bool IsRecording, string Expr);

/// <summary>Reads the checked-in dashboards, provisioning and Prometheus files under <c>dashboards/</c>.</summary>
internal static partial class DashboardFiles
{
    public static string Directory => Path.Combine(RepositoryPaths.Root, "dashboards");

    /// <summary>
    /// The metric names the agent may legitimately have no series for in the Prometheus proof. None now: budgets,
    /// open anomalies (zero per severity), anomaly scores (a planted incident) and detection runs all have data there.
    /// </summary>
    public static readonly IReadOnlySet<string> AllowedEmptyMetrics = new HashSet<string>(StringComparer.Ordinal);

    public static IReadOnlyList<(string File, JsonObject Json)> Dashboards() =>
        System.IO.Directory.GetFiles(Directory, "*.json").Order(StringComparer.Ordinal)
            .Select(file => (Path.GetFileName(file), JsonNode.Parse(File.ReadAllText(file))!.AsObject()))
            .ToList();

    /// <summary>Every panel, rows' nested panels included.</summary>
    public static IEnumerable<JsonObject> Panels(JsonObject dashboard)
    {
        foreach (var panel in dashboard["panels"]!.AsArray().Select(node => node!.AsObject()))
        {
            yield return panel;
            if (panel["panels"] is JsonArray nested)
            {
                foreach (var child in nested.Select(node => node!.AsObject()))
                {
                    yield return child;
                }
            }
        }
    }

    public static IEnumerable<JsonObject> Variables(JsonObject dashboard) =>
        dashboard["templating"]!["list"]!.AsArray().Select(node => node!.AsObject());

    public static IReadOnlyList<PanelQuery> Queries() =>
        Dashboards().SelectMany(dashboard => Panels(dashboard.Json)
            .Where(panel => panel["targets"] is JsonArray)
            .SelectMany(panel => panel["targets"]!.AsArray().Select(node => node!.AsObject()).Select(target => new PanelQuery(
                dashboard.File,
                (int)panel["id"]!,
                (string)panel["title"]!,
                (string)target["refId"]!,
                (string?)(target["datasource"] ?? panel["datasource"])?["type"] ?? string.Empty,
                (string?)target["expr"] ?? (string?)target["rawSql"] ?? string.Empty,
                (string?)target["format"]))))
            .ToList();

    /// <summary>label_values(selector, label) queries of the dashboards' query variables.</summary>
    public static IReadOnlyList<(string Dashboard, string Variable, string Selector, string Label)> VariableQueries() =>
        Dashboards().SelectMany(dashboard => Variables(dashboard.Json)
            .Where(variable => (string?)variable["type"] == "query")
            .Select(variable =>
            {
                var definition = (string)variable["definition"]!;
                var match = LabelValues().Match(definition);
                return match.Success
                    ? (dashboard.File, (string)variable["name"]!, match.Groups["selector"].Value.Trim(), match.Groups["label"].Value.Trim())
                    : throw new InvalidOperationException($"{dashboard.File}: variable {variable["name"]} is not label_values(selector, label): {definition}");
            }))
            .ToList();

    /// <summary>The provisioned datasources: uid → type.</summary>
    public static Dictionary<string, string> ProvisionedDatasources()
    {
        var text = File.ReadAllText(Path.Combine(Directory, "provisioning", "datasources", "otelllmcost.yaml"));
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var entry in text.Split("- name:").Skip(1))
        {
            var uid = YamlValue().Matches(entry).FirstOrDefault(match => match.Groups["key"].Value == "uid")?.Groups["value"].Value;
            var type = YamlValue().Matches(entry).FirstOrDefault(match => match.Groups["key"].Value == "type")?.Groups["value"].Value;
            result[uid ?? throw new InvalidOperationException("a datasource without uid")] = type ?? throw new InvalidOperationException("a datasource without type");
        }

        return result;
    }

    /// <summary>The rules of rules.yml (every expr is written on one line there, which this reader relies on).</summary>
    public static IReadOnlyList<PrometheusRule> Rules()
    {
        var rules = new List<PrometheusRule>();
        string? name = null;
        var recording = false;
        foreach (var line in File.ReadLines(Path.Combine(Directory, "prometheus", "rules.yml")))
        {
            var match = YamlValue().Match(line);
            if (!match.Success)
            {
                continue;
            }

            switch (match.Groups["key"].Value)
            {
                case "record" or "alert":
                    name = match.Groups["value"].Value;
                    recording = match.Groups["key"].Value == "record";
                    break;
                case "expr":
                    rules.Add(new PrometheusRule(name ?? throw new InvalidOperationException("expr before record/alert"), recording, match.Groups["value"].Value));
                    name = null;
                    break;
            }
        }

        return rules;
    }

    /// <summary>Metric and recording-rule names a PromQL expression selects (our namespace and <c>up</c>).</summary>
    public static IReadOnlyList<string> SelectedNames(string promql) =>
        MetricNames().Matches(StripStrings(promql)).Select(match => match.Value).Distinct(StringComparer.Ordinal).ToList();

    /// <summary>The expression with quoted strings blanked out, so label values cannot look like names or brackets.</summary>
    public static string StripStrings(string text) => QuotedString().Replace(text, "\"\"");

    [GeneratedRegex(@"^label_values\((?<selector>.+),\s*(?<label>[a-zA-Z_][a-zA-Z0-9_]*)\)$")]
    private static partial Regex LabelValues();

    [GeneratedRegex(@"^\s*-?\s*(?<key>[a-zA-Z_]+):[ \t]*(?<value>\S.*?)[ \t]*\r?$", RegexOptions.Multiline)]
    private static partial Regex YamlValue();

    [GeneratedRegex(@"(?<![a-zA-Z0-9_:])(otelllmcost[a-zA-Z0-9_:]*|up)(?![a-zA-Z0-9_:(])")]
    private static partial Regex MetricNames();

    [GeneratedRegex("\"(?:[^\"\\\\]|\\\\.)*\"")]
    private static partial Regex QuotedString();
}
