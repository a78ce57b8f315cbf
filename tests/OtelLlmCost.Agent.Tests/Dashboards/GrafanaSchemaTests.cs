using System.Text.Json.Nodes;
using Json.Schema;

namespace OtelLlmCost.Agent.Tests.Dashboards;

/// <summary>
/// No Grafana build can be had here, so every dashboard is checked against Grafana 12's own dashboard JSON schema
/// (GrafanaSchema/SOURCE.md says where it comes from): the shape Grafana validates on import and provisioning.
/// </summary>
[TestClass]
public sealed class GrafanaSchemaTests
{
    private static readonly JsonSchema Schema = JsonSchema.FromFile(
        Path.Combine(RepositoryPaths.Root, "tests", "OtelLlmCost.Agent.Tests", "Dashboards", "GrafanaSchema", "dashboard.jsonschema.json"));

    public static IEnumerable<object[]> DashboardFileNames =>
        Directory.GetFiles(Path.Combine(RepositoryPaths.Root, "dashboards"), "*.json").Order(StringComparer.Ordinal).Select(path => new object[] { Path.GetFileName(path) });

    [TestMethod]
    [DynamicData(nameof(DashboardFileNames))]
    public void Dashboard_MatchesGrafanasDashboardSchema(string fileName)
    {
        var dashboard = JsonNode.Parse(File.ReadAllText(Path.Combine(RepositoryPaths.Root, "dashboards", fileName)));

        var result = Schema.Evaluate(dashboard, new EvaluationOptions { OutputFormat = OutputFormat.List });

        var errors = (result.Details ?? []).Where(detail => detail.Errors is { Count: > 0 })
            .SelectMany(detail => detail.Errors!.Select(error => $"{detail.InstanceLocation}: {error.Value}"));
        result.IsValid.ShouldBeTrue($"{fileName}: {string.Join("; ", errors.Take(10))}");
    }

    [TestMethod]
    public void Schema_RejectsADashboardGrafanaWouldRefuse()
    {
        var broken = JsonNode.Parse("""{ "title": "x", "schemaVersion": "forty-one", "templating": { "list": [] }, "annotations": { "list": [] } }""");

        Schema.Evaluate(broken).IsValid.ShouldBeFalse();
    }
}
