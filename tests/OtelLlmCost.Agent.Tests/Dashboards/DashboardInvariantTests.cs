using System.Text.RegularExpressions;
using OtelLlmCost.Agent.Tests.EndToEnd;

namespace OtelLlmCost.Agent.Tests.Dashboards;

/// <summary>Offline checks of the checked-in dashboards, provisioning and rules (no Grafana or Prometheus needed).</summary>
[TestClass]
public sealed partial class DashboardInvariantTests
{
    // Grafana's backend migrator supports inputs from 9 up to 42 (docs: ../shared/reference/dashboards-focus.md §1.1).
    private const int MinSchemaVersion = 36;
    private const int MaxSchemaVersion = 42;

    private static readonly string[] ExpectedDashboards =
        ["agent-health.json", "attribution.json", "budgets-anomalies.json", "deep-views-duckdb.json", "models-latency.json", "overview.json"];

    [TestMethod]
    public void Dashboards_AllFiveViewsAndTheDeepViewExist() =>
        DashboardFiles.Dashboards().Select(dashboard => dashboard.File).ShouldBe(ExpectedDashboards);

    [TestMethod]
    public void Dashboards_HaveUniqueUidsAndTitlesAndAValidSchemaVersion()
    {
        var dashboards = DashboardFiles.Dashboards();
        dashboards.Select(dashboard => (string)dashboard.Json["uid"]!).ShouldBeUnique();
        dashboards.Select(dashboard => (string)dashboard.Json["title"]!).ShouldBeUnique();
        foreach (var (file, json) in dashboards)
        {
            ((string)json["uid"]!).Length.ShouldBeInRange(8, 40, file);
            ((int)json["schemaVersion"]!).ShouldBeInRange(MinSchemaVersion, MaxSchemaVersion, file);
            json.ContainsKey("__inputs").ShouldBeFalse($"{file}: ${{DS_...}} inputs are only resolved by the import UI, not by provisioning");
            json.ContainsKey("id").ShouldBeFalse($"{file}: id is per Grafana instance; leave it out");
            json["annotations"]!["list"].ShouldNotBeNull(file);
        }
    }

    [TestMethod]
    public void Panels_HaveUniqueIdsAndFitTheGrid()
    {
        foreach (var (file, json) in DashboardFiles.Dashboards())
        {
            var panels = DashboardFiles.Panels(json).ToList();
            panels.Count.ShouldBeGreaterThan(3, file);
            panels.Select(panel => (int)panel["id"]!).ShouldBeUnique(file);
            foreach (var panel in panels)
            {
                var grid = panel["gridPos"]!;
                ((int)grid["x"]!).ShouldBeGreaterThanOrEqualTo(0);
                ((int)grid["w"]!).ShouldBeGreaterThan(0);
                ((int)grid["x"]! + (int)grid["w"]!).ShouldBeLessThanOrEqualTo(24, $"{file}: {panel["title"]}");
                if ((string?)panel["type"] != "row")
                {
                    ((string?)panel["title"]).ShouldNotBeNullOrWhiteSpace(file);
                    panel["targets"]!.AsArray().Count.ShouldBeGreaterThan(0, $"{file}: {panel["title"]}");
                }
            }
        }
    }

    [TestMethod]
    public void Datasources_AreTheTemplateVariableWhoseDefaultIsAProvisionedUidOfTheSameType()
    {
        var provisioned = DashboardFiles.ProvisionedDatasources();
        provisioned.ShouldContainKey("otelllmcost-prometheus");
        foreach (var (file, json) in DashboardFiles.Dashboards())
        {
            var variable = DashboardFiles.Variables(json).Single(variable => (string?)variable["type"] == "datasource");
            ((string)variable["name"]!).ShouldBe("datasource", file);
            var pluginType = (string)variable["query"]!;
            var defaultUid = (string)variable["current"]!["value"]!;
            provisioned.ShouldContainKey(defaultUid, file);
            provisioned[defaultUid].ShouldBe(pluginType, file);

            var refs = DashboardFiles.Panels(json).Where(panel => (string?)panel["type"] != "row")
                .SelectMany(panel => new[] { panel["datasource"] }.Concat(panel["targets"]!.AsArray().Select(target => target!["datasource"])))
                .Concat(DashboardFiles.Variables(json).Where(variable => (string?)variable["type"] == "query").Select(variable => variable["datasource"]));
            foreach (var reference in refs)
            {
                reference.ShouldNotBeNull(file);
                ((string)reference["uid"]!).ShouldBe("${datasource}", file);
                ((string)reference["type"]!).ShouldBe(pluginType, file);
            }
        }
    }

    [TestMethod]
    public void Variables_EveryReferencedVariableIsDeclared()
    {
        foreach (var (file, json) in DashboardFiles.Dashboards())
        {
            var declared = DashboardFiles.Variables(json).Select(variable => (string)variable["name"]!).ToHashSet(StringComparer.Ordinal);
            var texts = DashboardFiles.Panels(json)
                .SelectMany(panel => new[] { (string?)panel["title"] }
                    .Concat(panel["targets"]?.AsArray().Select(target => (string?)target!["expr"] ?? (string?)target["rawSql"]) ?? []))
                .Concat(DashboardFiles.Variables(json).Select(variable => (string?)variable["definition"]))
                .OfType<string>();
            foreach (var text in texts)
            {
                foreach (Match use in VariableUse().Matches(text))
                {
                    var name = use.Groups["plain"].Success ? use.Groups["plain"].Value : use.Groups["braced"].Value;
                    if (!name.StartsWith("__", StringComparison.Ordinal))
                    {
                        declared.ShouldContain(name, $"{file}: '{text}' uses ${name}");
                    }
                }
            }
        }
    }

    [TestMethod]
    public void Queries_PromQlIsBalancedAndSqlHasAFormat()
    {
        var queries = DashboardFiles.Queries();
        queries.Count.ShouldBeGreaterThan(40);
        foreach (var query in queries)
        {
            query.Text.ShouldNotBeNullOrWhiteSpace(query.ToString());
            if (query.DatasourceType == "prometheus")
            {
                Unbalanced(query.Text).ShouldBeNull(query.ToString());
            }
            else
            {
                query.Format.ShouldBeOneOf(["table", "time_series"], query.ToString());
            }
        }

        foreach (var rule in DashboardFiles.Rules())
        {
            Unbalanced(rule.Expr).ShouldBeNull(rule.Name);
        }
    }

    [TestMethod]
    public async Task Queries_SelectOnlyMetricsTheAgentExposesOrRecordingRules()
    {
        await using var agent = await AgentFixture.StartAsync();
        using var http = new HttpClient();
        var exposition = await http.GetStringAsync(new Uri(agent.Host.ApiAddress!, "metrics"));
        var exposed = TypeLine().Matches(exposition).SelectMany(match => match.Groups["type"].Value == "histogram"
                ? new[] { "_bucket", "_sum", "_count" }.Select(suffix => match.Groups["name"].Value + suffix)
                : [match.Groups["name"].Value])
            .ToHashSet(StringComparer.Ordinal);
        var rules = DashboardFiles.Rules();
        rules.Count.ShouldBeGreaterThanOrEqualTo(10);
        var known = exposed.Concat(rules.Where(rule => rule.IsRecording).Select(rule => rule.Name)).Append("up").ToHashSet(StringComparer.Ordinal);
        foreach (var name in DashboardFiles.AllowedEmptyMetrics)
        {
            exposed.ShouldContain(name, "an allowed-empty metric must still be defined by the agent");
        }

        var expressions = DashboardFiles.Queries().Where(query => query.DatasourceType == "prometheus").Select(query => (query.ToString(), query.Text))
            .Concat(rules.Select(rule => (rule.Name, rule.Expr)))
            .Concat(DashboardFiles.VariableQueries().Select(variable => ($"{variable.Dashboard} ${variable.Variable}", variable.Selector)));
        foreach (var (where, expression) in expressions)
        {
            var names = DashboardFiles.SelectedNames(expression);
            names.ShouldNotBeEmpty(where);
            foreach (var name in names)
            {
                known.ShouldContain(name, $"{where} selects {name}, which the agent does not expose");
            }
        }
    }

    /// <summary>Null when brackets and quotes balance outside string literals, else what is wrong.</summary>
    private static string? Unbalanced(string promql)
    {
        var text = DashboardFiles.StripStrings(promql);
        if (text.Count(c => c == '"') % 2 != 0)
        {
            return "unclosed string";
        }

        var stack = new Stack<char>();
        foreach (var c in text)
        {
            switch (c)
            {
                case '(' or '{' or '[':
                    stack.Push(c);
                    break;
                case ')' or '}' or ']':
                    var open = c switch { ')' => '(', '}' => '{', _ => '[' };
                    if (stack.Count == 0 || stack.Pop() != open)
                    {
                        return $"unbalanced '{c}'";
                    }

                    break;
            }
        }

        return stack.Count == 0 ? null : $"unclosed '{stack.Peek()}'";
    }

    [GeneratedRegex(@"\$(?:(?<plain>[a-zA-Z_][a-zA-Z0-9_]*)|\{(?<braced>[a-zA-Z_][a-zA-Z0-9_]*)(?::[a-z]+)?\})")]
    private static partial Regex VariableUse();

    [GeneratedRegex(@"^# TYPE (?<name>\S+) (?<type>\S+)$", RegexOptions.Multiline)]
    private static partial Regex TypeLine();
}
